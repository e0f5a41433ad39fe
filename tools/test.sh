#!/usr/bin/env bash
# The project's test command: tier 1 (policy core, pytest, then the linters) always; tier 2
# (Odoo's own test runner on real Odoo 18 + PostgreSQL, in a throwaway database) whenever Odoo 18
# is importable.
#   SCC_TEST_TAGS  Odoo --test-tags (default: /sale_credit_control,/sale: the add-on's tests and
#                  Odoo's own sale suite, which must stay green with the add-on installed)
#   SCC_DEMO=0     install without demo data (default: with demo data, as Odoo does)
#   SCC_LINT=0     skip the linters of tier 1 (tools/lint.sh), e.g. while iterating on a test
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/odoo-env.sh"
cd "$ADDON_DIR"

echo "== Tier 1: policy core (pytest)"
"$PYTHON" -m pytest
tier1=$?
if [ $tier1 -ne 0 ]; then
    echo "Tier 1 failed (pytest exit $tier1)"
    exit $tier1
fi

if [ "${SCC_LINT:-1}" != 0 ]; then
    echo "== Tier 1: lint as OCA does (tools/lint.sh: ruff, pylint-odoo, oca-checks-odoo-module)"
    bash tools/lint.sh
    lint=$?
    if [ $lint -ne 0 ]; then
        echo "Tier 1 failed: lint findings or missing linters (tools/lint.sh exit $lint); SCC_LINT=0 skips lint"
        exit $lint
    fi
fi

echo "== Tier 2: Odoo tests"
if ! odoo_detect; then
    echo "Odoo tier skipped: $ODOO_WHY."
    exit 0
fi
postgres_ensure || { echo "Odoo tier failed: PostgreSQL unavailable"; exit 1; }
odoo_addons_path
db="scc_test_$(date +%s)_$$"
db_nodemo="${db}_nodemo"
log=$(mktemp /tmp/scc-test-log.XXXXXX)
cleanup() {
    dropdb --if-exists "$db" >/dev/null 2>&1
    dropdb --if-exists "$db_nodemo" >/dev/null 2>&1
    rm -rf "$ADDONS_TMP"
}
trap cleanup EXIT
demo_flag=()
if [ "${SCC_DEMO:-1}" = 0 ]; then demo_flag=(--without-demo=all); fi

"$PYTHON" -m odoo -d "$db" --addons-path="$ODOO_ADDONS_PATH" -i "$ADDON_NAME" "${demo_flag[@]}" \
    --test-enable --test-tags "${SCC_TEST_TAGS:-/$ADDON_NAME,/sale}" --stop-after-init \
    --http-interface 127.0.0.1 --http-port "$(free_port)" --log-level=info --max-cron-threads=0 \
    2>&1 | tee "$log" | grep -E "(ERROR|CRITICAL|FAIL|WARNING|odoo.tests.result|tests in)" | grep -v "odoo.modules.loading: Transient module states"
rc=${PIPESTATUS[0]}

summary=$(grep -Eo "[0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests" "$log" | tail -n 1)
errors=$(grep -cE " (ERROR|CRITICAL) " "$log")
if [ -z "$summary" ]; then
    echo "Odoo tier failed: no test result reported (exit $rc); full log in $log"
    exit 1
fi
read -r failed _ errs _ _ run _ <<<"$summary"
report() {
    echo "Odoo tier: $summary (exit $rc, $errors ERROR/CRITICAL log lines; full log in $log)"
    echo "odoo: $((run - failed - errs)) passed, $((failed + errs)) failed"
}
if [ "$rc" -ne 0 ] || [ "$errors" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$errs" -ne 0 ] || [ "$run" -eq 0 ]; then
    report
    exit 1
fi

echo "== Install and uninstall checks"
"$PYTHON" tools/install_check.py --addons-path "$ODOO_ADDONS_PATH" -d "$db" || exit 1
if [ "${SCC_DEMO:-1}" != 0 ]; then
    # The tests ran on a database with demo data; also install on a fresh one without.
    "$PYTHON" -m odoo -d "$db_nodemo" --addons-path="$ODOO_ADDONS_PATH" -i "$ADDON_NAME" --without-demo=all \
        --stop-after-init --http-interface 127.0.0.1 --http-port "$(free_port)" --log-level=warn \
        --max-cron-threads=0 >"$log.nodemo" 2>&1
    if [ $? -ne 0 ] || grep -qE " (ERROR|CRITICAL) " "$log.nodemo"; then
        echo "install check failed without demo data; log in $log.nodemo"
        exit 1
    fi
    echo "install check passed without demo data"
    "$PYTHON" tools/install_check.py --addons-path "$ODOO_ADDONS_PATH" -d "$db_nodemo" || exit 1
fi
report
