#!/usr/bin/env bash
# Lint as OCA's pre-commit does (.pre-commit-config.yaml); part of tier 1 of tools/test.sh.
#   tools/lint.sh [ruff|pylint|pylint-mandatory|oca ...]   (default: ruff pylint oca)
#   ruff              ruff check and ruff format --check (settings in pyproject.toml)
#   pylint            pylint with pylint-odoo and .pylintrc: the mandatory checks AND the optional
#                     ones (.pylintrc enables all of .pylintrc-mandatory), so one run covers both
#   pylint-mandatory  the same with .pylintrc-mandatory only (the blocking pre-commit hook)
#   oca               oca-checks-odoo-module (XML, CSV, manifest) and oca-checks-po (i18n/*.po, *.pot)
# Exits 1 when a linter reports anything, naming the linters that did; exits 2 when ruff or
# pylint-odoo is not installed (pip install -r requirements-test.txt); the OCA checks are skipped
# when oca-odoo-pre-commit-hooks is not installed.
# The OCA checks look for the add-on's manifest below the git top folder, and this checkout IS the
# add-on, so they (and pylint, for module names) run on a copy in a temporary folder named after it.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/odoo-env.sh"
cd "$ADDON_DIR"

tools=("$@")
[ ${#tools[@]} -eq 0 ] && tools=(ruff pylint oca)
failed=()
missing=()
LINT_TMP=

have() { "$PYTHON" -c "import $1" 2>/dev/null; }

# Runs a linter, showing its output with the copy's paths turned back into the checkout's.
lint() {
    local name=$1
    shift
    echo "-- $name"
    local copy=${LINT_TMP:-/nonexistent}
    if ! "$@" 2>&1 | sed -e "s#/\?${copy#/}/$ADDON_NAME/##g" -e "s#^$ADDON_NAME/##"; then
        failed+=("$name")
    fi
}

copy_addon() {
    [ -n "$LINT_TMP" ] && return
    LINT_TMP=$(mktemp -d /tmp/scc-lint.XXXXXX)
    trap 'rm -rf "$LINT_TMP"' EXIT
    mkdir "$LINT_TMP/$ADDON_NAME"
    tar -C "$ADDON_DIR" --exclude=.git --exclude=__pycache__ --exclude=.hypothesis \
        --exclude=.pytest_cache --exclude=.ruff_cache --exclude=.benchmarks -cf - . |
        tar -C "$LINT_TMP/$ADDON_NAME" -xf -
}

for tool in "${tools[@]}"; do
    case $tool in
    ruff)
        if ! have ruff; then missing+=(ruff); continue; fi
        lint "ruff check" "$PYTHON" -m ruff check --no-fix --output-format=concise .
        lint "ruff format --check" "$PYTHON" -m ruff format --check .
        ;;
    pylint | pylint-mandatory)
        if ! have pylint_odoo; then missing+=(pylint-odoo); continue; fi
        copy_addon
        rc=.pylintrc
        [ "$tool" = pylint-mandatory ] && rc=.pylintrc-mandatory
        lint "pylint-odoo ($rc)" bash -c 'cd "$1" && "$2" -m pylint --rcfile="$3" --output-format=text "$4"' \
            _ "$LINT_TMP" "$PYTHON" "$ADDON_DIR/$rc" "$ADDON_NAME"
        ;;
    oca)
        if ! have oca_pre_commit_hooks; then
            echo "-- oca-checks-odoo-module skipped: oca-odoo-pre-commit-hooks is not installed"
            continue
        fi
        copy_addon
        lint "oca-checks-odoo-module" bash -c \
            'cd "$1" && "$2" -c "from oca_pre_commit_hooks.cli import main; main()" --config "$3" "$4"' \
            _ "$LINT_TMP" "$PYTHON" "$ADDON_DIR/.oca_hooks.cfg" "$ADDON_NAME"
        mapfile -t po_files < <(cd "$LINT_TMP" && ls "$ADDON_NAME"/i18n/*.po "$ADDON_NAME"/i18n/*.pot 2>/dev/null)
        if [ ${#po_files[@]} -gt 0 ]; then
            lint "oca-checks-po" bash -c \
                'cd "$1" && shift && "$1" -c "from oca_pre_commit_hooks.cli_po import main; main()" \
                    --disable=po-pretty-format "${@:2}"' _ "$LINT_TMP" "$PYTHON" "${po_files[@]}"
        fi
        ;;
    *)
        echo "tools/lint.sh: unknown linter '$tool' (expected ruff, pylint, pylint-mandatory or oca)" >&2
        exit 2
        ;;
    esac
done

if [ ${#missing[@]} -gt 0 ]; then
    echo "Lint failed: not installed: ${missing[*]} (pip install -r requirements-test.txt)"
    exit 2
fi
if [ ${#failed[@]} -gt 0 ]; then
    echo "Lint failed: findings from ${failed[*]} (see above; fix them or disable one in place with a reason)"
    exit 1
fi
echo "Lint passed: ${tools[*]}"
