# Sourced by tools/test.sh and tools/run.sh: find the installed Odoo 18, make PostgreSQL
# available, and expose this checkout to Odoo as the add-on `sale_credit_control`.
# It installs nothing: Odoo must already be importable by python3.

ADDON_NAME=sale_credit_control
ADDON_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}

# Prints nothing and returns 1 when Odoo 18 is not importable; sets ODOO_WHY.
odoo_detect() {
    local info
    if ! info=$("$PYTHON" -c 'import odoo.release as r, os, odoo; print(r.version_info[0], os.path.dirname(os.path.abspath(odoo.__file__)))' 2>/dev/null); then
        ODOO_WHY="python3 cannot import odoo (Odoo 18 is not installed on this machine)"
        return 1
    fi
    local major=${info%% *}
    ODOO_PKG_DIR=${info#* }
    if [ "$major" != "18" ]; then
        ODOO_WHY="the installed Odoo is version $major, this add-on needs 18"
        return 1
    fi
    return 0
}

# Addons path: Odoo's own add-ons plus a temporary folder holding a link named after the add-on,
# so the checkout folder may have any name.
odoo_addons_path() {
    ADDONS_TMP=$(mktemp -d /tmp/scc-addons.XXXXXX)
    ln -s "$ADDON_DIR" "$ADDONS_TMP/$ADDON_NAME"
    local paths="$ADDONS_TMP,$ODOO_PKG_DIR/addons"
    if [ -d "$ODOO_PKG_DIR/../addons" ]; then
        paths="$paths,$(cd "$ODOO_PKG_DIR/../addons" && pwd)"
    fi
    ODOO_ADDONS_PATH=$paths
}

# Start the local PostgreSQL cluster when it is not running, and make sure the current
# user has a role allowed to create databases (peer authentication over the socket).
postgres_ensure() {
    if ! pg_isready -q 2>/dev/null; then
        if command -v pg_lsclusters >/dev/null 2>&1; then
            local version cluster
            read -r version cluster _ < <(pg_lsclusters --no-header | head -n 1)
            if [ -n "${version:-}" ]; then
                echo "Starting PostgreSQL cluster $version/$cluster"
                pg_ctlcluster "$version" "$cluster" start || return 1
            fi
        fi
        for _ in $(seq 1 30); do pg_isready -q 2>/dev/null && break; sleep 1; done
        pg_isready -q 2>/dev/null || { echo "PostgreSQL is not running and could not be started"; return 1; }
    fi
    local me
    me=$(id -un)
    if ! psql -d postgres -Atc 'select 1' >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ]; then
            su postgres -c "psql -qc \"CREATE ROLE \\\"$me\\\" LOGIN CREATEDB\"" >/dev/null || return 1
        else
            echo "No PostgreSQL role for $me: create one with 'createuser -d $me' as the postgres user"
            return 1
        fi
    fi
}

# A free TCP port on loopback for the (unused but bound) HTTP server of a test run.
free_port() {
    "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
