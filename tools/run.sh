#!/usr/bin/env bash
# Start Odoo 18 on http://127.0.0.1:8069 with this add-on and demo data in the local database
# `sale_credit_control`: installed on the first run, updated (-u) on a later run when the add-on's
# source changed since the last install or update, then served. Login: admin / admin.
#   --reset   drop the database (and its filestore) first: fresh demo data
#   PYTHON    the Python that imports Odoo 18 (default python3), e.g. ~/venvs/odoo18/bin/python
#   SCC_DB, SCC_PORT   database (default sale_credit_control) and HTTP port (default 8069)
# The SHA-1 of the source installed last is kept in the database, as the system parameter
# sale_credit_control.run_source_sha1. Odoo reads the add-on through a link in one folder per
# checkout (/tmp/scc-addons-<uid>-<key>), reused by every run.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/odoo-env.sh"
odoo_detect || { echo "Cannot start: $ODOO_WHY."; exit 1; }
postgres_ensure || exit 1
odoo_addons_path stable
db=${SCC_DB:-sale_credit_control}
port=${SCC_PORT:-8069}
hash_key="$ADDON_NAME.run_source_sha1"
odoo=("$PYTHON" -m odoo -d "$db" --addons-path="$ODOO_ADDONS_PATH" --db-filter="^$db\$"
    --http-interface 127.0.0.1 --http-port "$port")

db_query() {
    psql -d "$db" -Atc "$1" 2>/dev/null
}

if [ "${1:-}" = --reset ]; then
    echo "Dropping database $db and its filestore"
    "$PYTHON" -m odoo db drop "$db" 2>/dev/null || dropdb --if-exists "$db"
fi

source_hash=$(addon_source_hash)
step=()
if ! db_query "SELECT 1 FROM ir_module_module WHERE name = '$ADDON_NAME' AND state = 'installed'" | grep -q 1; then
    step=(-i "$ADDON_NAME")
    echo "Installing $ADDON_NAME with demo data in database $db"
elif [ "$(db_query "SELECT value FROM ir_config_parameter WHERE key = '$hash_key'")" != "$source_hash" ]; then
    step=(-u "$ADDON_NAME")
    echo "The add-on changed since the database was last updated: updating $ADDON_NAME in $db"
fi
if [ ${#step[@]} -gt 0 ]; then
    if ! "${odoo[@]}" "${step[@]}" --stop-after-init --max-cron-threads=0; then
        echo "Installing or updating $ADDON_NAME failed (see the log above); Odoo not started."
        exit 1
    fi
    db_query "INSERT INTO ir_config_parameter (key, value, create_uid, write_uid, create_date, write_date)
        VALUES ('$hash_key', '$source_hash', 1, 1, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')
        ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, write_date = EXCLUDED.write_date" >/dev/null
fi
exec "${odoo[@]}"
