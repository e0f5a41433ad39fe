#!/usr/bin/env bash
# Start Odoo 18 on http://127.0.0.1:8069 with this add-on and demo data in the local
# database `sale_credit_control` (created and installed on first run). Login: admin / admin.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/odoo-env.sh"
odoo_detect || { echo "Cannot start: $ODOO_WHY."; exit 1; }
postgres_ensure || exit 1
odoo_addons_path
db=${SCC_DB:-sale_credit_control}
init=()
if ! psql -d "$db" -Atc "select 1 from ir_module_module where name='$ADDON_NAME' and state='installed'" 2>/dev/null | grep -q 1; then
    init=(-i "$ADDON_NAME")
fi
exec "$PYTHON" -m odoo -d "$db" --addons-path="$ODOO_ADDONS_PATH" "${init[@]}" \
    --db-filter="^$db\$" --http-interface 127.0.0.1 --http-port "${SCC_PORT:-8069}"
