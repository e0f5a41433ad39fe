# Sourced by tools/test.sh and tools/run.sh: find the installed Odoo 18, make PostgreSQL
# available, and expose this checkout to Odoo as the add-on `sale_credit_control`.
# It installs nothing: Odoo must already be importable by $PYTHON.
#   PYTHON  the Python that imports Odoo 18 (default python3), e.g. a virtualenv's:
#           make run PYTHON=~/venvs/odoo18/bin/python

ADDON_NAME=sale_credit_control
ADDON_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}

# Prints nothing and returns 1 when Odoo 18 is not importable; sets ODOO_WHY.
odoo_detect() {
    local info
    if ! info=$("$PYTHON" -c 'import odoo.release as r, os, odoo; print(r.version_info[0], os.path.dirname(os.path.abspath(odoo.__file__)))' 2>/dev/null); then
        ODOO_WHY="$PYTHON cannot import odoo (Odoo 18 is not installed for it; if Odoo is in a virtualenv, run e.g. make run PYTHON=~/venvs/odoo18/bin/python)"
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

# Addons path: Odoo's own add-ons plus a folder holding a link named after the add-on, so the
# checkout folder may have any name. By default the folder is temporary (ADDONS_TMP: the caller
# removes it when done, as tools/test.sh does). `odoo_addons_path stable` uses instead one folder
# per checkout and user, reused by every run (tools/run.sh: the running Odoo keeps reading it).
odoo_addons_path() {
    local links
    if [ "${1:-}" = stable ]; then
        local key
        key=$(printf '%s' "$ADDON_DIR" | sha1sum | cut -c1-12)
        links="${TMPDIR:-/tmp}/scc-addons-$(id -u)-$key"
        mkdir -p "$links" && ln -sfn "$ADDON_DIR" "$links/$ADDON_NAME"
    else
        ADDONS_TMP=$(mktemp -d /tmp/scc-addons.XXXXXX)
        links=$ADDONS_TMP
        ln -s "$ADDON_DIR" "$links/$ADDON_NAME"
    fi
    local paths="$links,$ODOO_PKG_DIR/addons"
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

# SHA-1 of what an update of the add-on loads (Python, data, views, translations, web assets),
# over the files' names and contents: tools/run.sh updates the add-on when it changes.
addon_source_hash() {
    (
        cd "$ADDON_DIR" || exit 1
        { git ls-files --cached --others --exclude-standard 2>/dev/null || find . -type f -printf '%P\n'; } \
            | grep -E '\.(py|xml|csv|po|pot|js|scss|css)$' | grep -vE '^(tools|tests|credit_policy/tests)/' \
            | LC_ALL=C sort -u | while IFS= read -r file; do [ -f "$file" ] && sha1sum "$file"; done
    ) | sha1sum | cut -c1-40
}
