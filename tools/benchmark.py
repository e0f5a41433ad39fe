#!/usr/bin/env python3
"""Cost of the credit check when a quotation is confirmed, against the customer's history.

    python3 tools/benchmark.py [--sizes 0,2000,20000] [--reps 15] [--history M]
                               [--compare-indexes] [--explain] [--db NAME] [--keep-db]

Standalone: creates a throwaway database, installs the add-on (without demo data),
gives ONE customer N open documents (half confirmed, uninvoiced sales orders, half
posted, unpaid invoices), and for each N times the confirmation of a fresh small
quotation of that customer (as a salesman) with credit control on and off, in the
same transaction, each repetition rolled back to a savepoint. The overhead is the
difference of the medians (wall clock, and CPU time of this process, which a busy
machine disturbs less); the query count is the difference of the SQL statements run.
The exposure queries are also timed alone (EXPLAIN ANALYZE, fastest of 15 runs).
``--compare-indexes`` measures each N a second time without the add-on's exposure
indexes (dropped inside a savepoint, restored afterwards). The database is dropped
at the end (unless --keep-db).

Targets (issue): overhead <= 5 ms at 2,000 open documents, <= 10 ms at 20,000.

Seeding is done at the SQL level for speed: one order and one invoice are made and
posted by the ORM, then their rows (sale_order + sale_order_line, account_move +
account_move_line) are copied with new ids and names, so the copies are exactly the
rows the ORM produced. ``--history M`` adds M closed documents (fully invoiced orders,
paid invoices) of the same customer, the usual shape of a long-standing customer.
"""

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import closing

from bench_common import ADDON_NAME, columns, copy_rows, drop_database, odoo_addons_path, start_odoo_config
CUSTOMER_NAME = "Benchmark Customer"
# Partial indexes the add-on creates for the exposure queries (credit.profile.init()).
EXPOSURE_INDEXES = (
    "account_move_line_credit_open_partner_idx",
    "sale_order_line_credit_uninvoiced_partner_idx",
)

# ------------------------------------------------------------
# Odoo setup
# ------------------------------------------------------------


def load_registry(dbname, install):
    """The registry of ``dbname``, installing the add-on first when ``install``."""
    from odoo.modules.registry import Registry

    started = time.perf_counter()
    registry = Registry.new(dbname, update_module=install)
    if install:
        print(f"installed {ADDON_NAME} in {dbname} in {time.perf_counter() - started:.0f} s", flush=True)
    return registry



# ------------------------------------------------------------
# Seeding
# ------------------------------------------------------------


def copy_children(cr, table, parent_column, template_parent_id, new_parent_ids, overrides=None):
    """Copy the rows of ``table`` belonging to ``template_parent_id`` under each new parent
    (``p.id``); ``overrides`` may use ``t`` (template row), ``p.id`` and ``p.n`` (copy number)."""
    from odoo.tools import SQL

    overrides = dict(overrides or {})
    overrides[parent_column] = "p.id"
    cols = columns(cr, table, {"id", *overrides})
    target = SQL(", ").join(SQL.identifier(c) for c in [*cols, *overrides])
    source = SQL(", ").join([*(SQL.identifier("t", c) for c in cols), *(SQL(e) for e in overrides.values())])
    cr.execute(
        SQL(
            "INSERT INTO %s (%s) SELECT %s FROM %s t, unnest(%s::int[]) WITH ORDINALITY p(id, n)"
            " WHERE t.%s = %s",
            SQL.identifier(table),
            target,
            source,
            SQL.identifier(table),
            new_parent_ids,
            SQL.identifier(parent_column),
            template_parent_id,
        )
    )


class Seeder:
    """Documents of the benchmark customer, made by the ORM once and copied by SQL."""

    def __init__(self, env):
        from odoo import Command

        self.env = env
        self.company = env.company
        self.customer = env["res.partner"].search([("name", "=", CUSTOMER_NAME)], limit=1)
        if not self.customer:
            self.customer = env["res.partner"].create({"name": CUSTOMER_NAME, "is_company": True})
        product = env["product.product"].search([("default_code", "=", "SCC-BENCH")], limit=1)
        if not product:
            product = env["product.product"].create(
                {
                    "name": "Benchmark Widget",
                    "default_code": "SCC-BENCH",
                    "type": "consu",
                    "invoice_policy": "order",
                    "list_price": 10.0,
                    "taxes_id": [Command.clear()],
                }
            )
        self.product = product
        self.salesman = env["res.users"].search([("login", "=", "scc_bench_salesman")], limit=1)
        if not self.salesman:
            self.salesman = (
                env["res.users"]
                .with_context(no_reset_password=True)
                .create(
                    {
                        "name": "Benchmark Salesman",
                        "login": "scc_bench_salesman",
                        "email": "scc.bench.salesman@example.com",
                        "groups_id": [Command.set([env.ref("sales_team.group_sale_salesman").id])],
                    }
                )
            )
        # A limit no order of the benchmark reaches: every check runs in full and passes.
        self.customer.with_company(self.company).credit_limit = 1e12
        self._templates = {}
        self._counted = set()  # templates already counted as one of the documents

    def quotation(self, amount=10.0, user=None):
        from odoo import Command

        env = self.env(user=user.id) if user else self.env
        return env["sale.order"].create(
            {
                "partner_id": self.customer.id,
                "user_id": self.salesman.id,
                "order_line": [
                    Command.create(
                        {
                            "product_id": self.product.id,
                            "product_uom_qty": 1.0,
                            "price_unit": amount,
                            "tax_id": [Command.clear()],
                        }
                    )
                ],
            }
        )

    def _template_order(self, closed):
        key = ("order", closed)
        if key not in self._templates:
            order = self.quotation()
            enabled = self.company.credit_control_enabled
            self.company.credit_control_enabled = False
            order.action_confirm()
            self.company.credit_control_enabled = enabled
            if closed:
                invoice = order._create_invoices()
                invoice.action_post()
                self._pay(invoice)
            self.env.flush_all()
            self._templates[key] = order
        return self._templates[key]

    def _template_invoice(self, closed):
        from odoo import Command

        key = ("invoice", closed)
        if key not in self._templates:
            invoice = self.env["account.move"].create(
                {
                    "move_type": "out_invoice",
                    "partner_id": self.customer.id,
                    "invoice_date": time.strftime("%Y-%m-%d"),
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "product_id": self.product.id,
                                "quantity": 1.0,
                                "price_unit": 10.0,
                                "tax_ids": [Command.clear()],
                            }
                        )
                    ],
                }
            )
            invoice.action_post()
            if closed:
                self._pay(invoice)
            self.env.flush_all()
            self._templates[key] = invoice
        return self._templates[key]

    def _pay(self, invoice):
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoice.ids
        ).create({})._create_payments()

    def add_orders(self, count, closed=False):
        """``count`` more confirmed orders (closed: fully invoiced, not in the exposure)."""
        if count <= 0:
            return
        cr = self.env.cr
        template = self._template_order(closed)
        count -= 1 if ("order", closed) not in self._counted else 0
        self._counted.add(("order", closed))
        if count > 0:
            ids = copy_rows(
                cr, "sale_order", template.id, count, {"name": "t.name || '/' || g", "access_token": "NULL"}
            )
            copy_children(cr, "sale_order_line", "order_id", template.id, ids)

    def add_invoices(self, count, closed=False):
        """``count`` more posted invoices (closed: paid; the payment rows are not copied,
        only the invoice's own, reconciled, lines)."""
        if count <= 0:
            return
        cr = self.env.cr
        template = self._template_invoice(closed)
        count -= 1 if ("invoice", closed) not in self._counted else 0
        self._counted.add(("invoice", closed))
        if count > 0:
            # Numbered on from the journal's last invoice, as the ORM would number them.
            cr.execute(
                "SELECT MAX(sequence_number) FROM account_move"
                " WHERE journal_id = %s AND sequence_prefix = %s",
                [template.journal_id.id, template.sequence_prefix],
            )
            start = cr.fetchone()[0]
            name = f"t.sequence_prefix || lpad(({start} + g)::text, 5, '0')"
            ids = copy_rows(
                cr,
                "account_move",
                template.id,
                count,
                {"name": name, "sequence_number": f"{start} + g", "access_token": "NULL"},
            )
            copy_children(
                cr,
                "account_move_line",
                "move_id",
                template.id,
                ids,
                {"move_name": "(SELECT m.name FROM account_move m WHERE m.id = p.id)"},
            )

    def vacuum(self):
        """What autovacuum does to a live database after the bulk copies: statistics for
        the planner, and the visibility map index-only scans rely on. Commits first."""
        import odoo
        from odoo.tools import SQL

        self.env.cr.commit()
        with closing(odoo.sql_db.db_connect(self.env.cr.dbname).cursor()) as cr:
            cr._cnx.autocommit = True
            tables = ("sale_order", "sale_order_line", "account_move", "account_move_line", "res_partner")
            for table in tables:
                cr.execute(SQL("VACUUM ANALYZE %s", SQL.identifier(table)))

    def open_documents(self):
        cr = self.env.cr
        cr.execute(
            """SELECT (SELECT COUNT(*) FROM sale_order o JOIN sale_order_line l ON l.order_id = o.id
                        WHERE o.partner_id = %(p)s AND o.state = 'sale' AND l.untaxed_amount_to_invoice <> 0),
                      (SELECT COUNT(*) FROM account_move m WHERE m.partner_id = %(p)s
                          AND m.move_type = 'out_invoice' AND m.state = 'posted'
                          AND m.payment_state = 'not_paid')""",
            {"p": self.customer.id},
        )
        return cr.fetchone()


# ------------------------------------------------------------
# Measuring
# ------------------------------------------------------------


def confirm_once(env, seeder, enabled):
    """Time one confirmation of a fresh quotation, as the salesman, in a savepoint rolled
    back afterwards. Returns ``(wall-clock ms, CPU ms of this process, queries)``."""
    import odoo
    from odoo.addons.sale_credit_control.models.sale_order import CHECKED_KEY

    cr = env.cr
    savepoint = cr.savepoint()
    try:
        env.company.credit_control_enabled = enabled
        order = seeder.quotation(user=seeder.salesman)
        cr.flush()
        env.invalidate_all()  # a fresh request: nothing cached
        queries = odoo.sql_db.sql_counter
        started, cpu_started = time.perf_counter(), time.process_time()
        order.action_confirm()
        cr.flush()  # what the RPC layer does before committing (tracking included)
        elapsed = (time.perf_counter() - started) * 1000
        cpu = (time.process_time() - cpu_started) * 1000
        queries = odoo.sql_db.sql_counter - queries
        assert order.state == "sale", order.state
        if enabled:
            assert order.credit_check_state == "ok", order.credit_check_state
    finally:
        savepoint.close(rollback=True)
        cr.postcommit.clear()
        cr.cache.pop(CHECKED_KEY, None)
        env.invalidate_all()
    return elapsed, cpu, queries


def measure(env, seeder, reps, warmup=3):
    """Medians of ``reps`` interleaved confirmations with the check on and off:
    ``(plain ms, with check ms, overhead ms, extra queries, overhead in CPU ms)``.

    The CPU overhead counts this process only (Python and the driver, not the
    database server); unlike the wall clock it hardly moves when other processes
    compete for the machine."""
    for _ in range(warmup):
        confirm_once(env, seeder, True)
        confirm_once(env, seeder, False)
    on, off = [], []
    for _ in range(reps):
        # Interleaved, so a drift of the machine weighs on both sides alike.
        on.append(confirm_once(env, seeder, True))
        off.append(confirm_once(env, seeder, False))
    on_ms, on_cpu, on_queries = (statistics.median(column) for column in zip(*on, strict=True))
    off_ms, off_cpu, off_queries = (statistics.median(column) for column in zip(*off, strict=True))
    return off_ms, on_ms, on_ms - off_ms, on_queries - off_queries, on_cpu - off_cpu


def capture_queries(env, seeder):
    """The exposure queries the check runs for the benchmark customer, as SQL objects."""
    profile_model = env["credit.profile"]
    captured = []
    original = type(env).execute_query

    def spy(self, query):
        captured.append(query)
        return original(self, query)

    type(env).execute_query = spy
    today = time.strftime("%Y-%m-%d")
    partner_ids = (seeder.customer.id,)
    calls = {
        "_query_receivables": lambda: profile_model._query_receivables(partner_ids, env.company, today),
        "_query_uninvoiced_orders": lambda: profile_model._query_uninvoiced_orders(
            partner_ids, env.company, today, (0,)
        ),
    }
    queries = {}
    try:
        for name, call in calls.items():
            captured.clear()
            call()
            queries[name] = captured[-1]  # the figure's own query, after any lookup it needs
    finally:
        type(env).execute_query = original
    return queries


def explain(env, seeder, runs=15, show_plan=False):
    """EXPLAIN ANALYZE the exposure queries ``runs`` times each. Returns the sum of their
    fastest execution times (ms); prints each one's fastest and median time, and its plan."""
    import re

    from odoo.tools import SQL

    total = 0.0
    for name, query in capture_queries(env, seeder).items():
        times = []
        for _ in range(runs):
            env.cr.execute(SQL("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) %s", query))
            plan = [line for (line,) in env.cr.fetchall()]
            times.append(float(re.search(r"Execution Time: ([\d.]+)", plan[-1]).group(1)))
        total += min(times)
        print(f"  {name}: fastest {min(times):.2f} ms, median {statistics.median(times):.2f} ms")
        if show_plan:
            print("\n".join(f"    {line}" for line in plan))
    return total


# ------------------------------------------------------------
# Main
# ------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="0,2000,20000", help="open documents of the customer (default: %(default)s)"
    )
    parser.add_argument("--reps", type=int, default=15, help="timed confirmations per size and mode")
    parser.add_argument("--history", type=int, default=0, help="closed documents added before measuring")
    parser.add_argument(
        "--explain", action="store_true", help="print the EXPLAIN ANALYZE plans of the exposure queries"
    )
    parser.add_argument(
        "--compare-indexes",
        action="store_true",
        help="also measure each size without the add-on's exposure indexes (before/after)",
    )
    parser.add_argument(
        "--db", help="database name (default: a new scc_bench_<time>); an existing one is reused and kept"
    )
    parser.add_argument("--keep-db", action="store_true", help="do not drop the created database at the end")
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))

    try:
        import odoo.service.db
        from odoo import SUPERUSER_ID, api
        from odoo.tools import SQL
    except ImportError:
        sys.exit("Odoo 18 is not importable by this Python: nothing to measure.")

    dbname = args.db or f"scc_bench_{int(time.time())}"
    tmpdir = tempfile.mkdtemp(prefix="scc-bench-addons.")
    install = dbname not in odoo.service.db.list_dbs(force=True)
    start_odoo_config(dbname, odoo_addons_path(tmpdir), install)
    created = False
    rows = []
    try:
        if install:
            odoo.service.db._create_empty_database(dbname)
            created = True
        registry = load_registry(dbname, install)
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env.company.write({"credit_control_enabled": True, "credit_count_draft_invoices": False})
            seeder = Seeder(env)
            if args.history:
                started = time.perf_counter()
                seeder.add_orders(args.history // 2, closed=True)
                seeder.add_invoices(args.history - args.history // 2, closed=True)
                print(
                    f"seeded {args.history} closed documents in {time.perf_counter() - started:.1f} s",
                    flush=True,
                )
            cr.commit()
            have_orders, have_invoices = seeder.open_documents()  # a reused database may have some
            for size in sizes:
                if size < have_orders + have_invoices:
                    print(
                        f"N={size}: skipped, the customer already has {have_orders + have_invoices} documents"
                    )
                    continue
                started = time.perf_counter()
                seeder.add_orders(size // 2 - have_orders)
                seeder.add_invoices(size - size // 2 - have_invoices)
                have_orders, have_invoices = size // 2, size - size // 2
                seeder.vacuum()
                open_orders, open_invoices = seeder.open_documents()
                print(
                    f"N={size}: {open_orders} open orders + {open_invoices} unpaid invoices "
                    f"(seeded in {time.perf_counter() - started:.1f} s)",
                    flush=True,
                )
                assert open_orders + open_invoices == size, (open_orders, open_invoices)
                sql_ms = explain(env, seeder, show_plan=args.explain)
                rows.append((f"{size:,}", *measure(env, seeder, args.reps), sql_ms))
                if args.compare_indexes:
                    # The same, without the add-on's exposure indexes (dropped in a savepoint:
                    # PostgreSQL's DDL is transactional, they come back at the rollback).
                    with closing(cr.savepoint(flush=False)):
                        for index in EXPOSURE_INDEXES:
                            cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(index)))
                        print("  without the exposure indexes:")
                        sql_ms = explain(env, seeder, show_plan=args.explain)
                        rows.append((f"{size:,} (no idx)", *measure(env, seeder, args.reps), sql_ms))
                cr.commit()
    finally:
        # Only a database this run created; an existing one given by --db is kept.
        if created and not args.keep_db:
            drop_database(dbname)
        shutil.rmtree(tmpdir, ignore_errors=True)
    print()
    header = (
        "N documents",
        "plain confirm ms",
        "with check ms",
        "overhead ms",
        "queries",
        "overhead CPU ms",
        "exposure SQL ms",
    )
    lines = [
        [row[0], *(f"{v:.1f}" for v in row[1:4]), f"{row[4]:.0f}", *(f"{v:.1f}" for v in row[5:])]
        for row in rows
    ]
    widths = [max(len(cell) for cell in column) for column in zip(header, *lines, strict=True)]
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for cells in lines:
        print(" | ".join(cell.rjust(w) for cell, w in zip(cells, widths, strict=True)))
    print(
        f"(medians of {args.reps} confirmations each; overhead CPU: the same in CPU time of this process "
        "(Python side); exposure SQL: fastest execution of the two exposure queries)"
    )
    print("targets: overhead <= 5 ms at 2,000 open documents, <= 10 ms at 20,000")


if __name__ == "__main__":
    main()
