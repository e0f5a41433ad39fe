#!/usr/bin/env python3
"""Throughput of the batch credit rating: customers rated per second.

    python3 tools/benchmark_rating.py [--sizes 1000,10000,100000] [--db NAME] [--keep-db]

Standalone: creates a throwaway database, installs the add-on (without demo data) and
gives N customers a realistic payment history in the company: four posted invoices each
over the last year (of varying amounts), three of them paid by a reconciled payment (some
early, some up to 25 days late) and the newest one still open (overdue for most). Each
customer is then rated with the default scorecard by ``credit.rating.engine._rate_partners``
in one call, as the batch wizard and the cron do, and the run is timed until everything is
written (ratings inserted, profiles created and updated, ORM flushed):

- "first rating": no customer has a credit profile or a rating yet (profiles are created);
- "re-rating": every customer already has a profile and a current rating.

Each timed run is rolled back afterwards, so every size starts from the same state.
Target (issue): at least 1,000 customers per second.

Seeding is done at the SQL level for speed: one paid invoice with its payment and partial
reconciliation, and one open invoice, are made by the ORM; their rows (account_move,
account_move_line, account_partial_reconcile; res_partner for the customers) are copied
with new ids, partners, dates and amounts, so the copies are the rows the ORM produced.
Customers accumulate: the 10,000 include the 1,000 of the first size.
"""

import argparse
import tempfile
import time
from datetime import date, timedelta

from bench_common import ADDON_NAME, columns, copy_rows, drop_database, odoo_addons_path, start_odoo_config

INVOICES_PER_CUSTOMER = 4  # the last one stays open
SCALED_COLUMNS = {
    "account_move": (
        "amount_untaxed",
        "amount_tax",
        "amount_total",
        "amount_residual",
        "amount_untaxed_signed",
        "amount_untaxed_in_currency_signed",
        "amount_tax_signed",
        "amount_total_signed",
        "amount_total_in_currency_signed",
        "amount_residual_signed",
    ),
    "account_move_line": (
        "debit",
        "credit",
        "balance",
        "amount_currency",
        "amount_residual",
        "amount_residual_currency",
        "price_unit",
        "price_subtotal",
        "price_total",
    ),
    "account_partial_reconcile": ("amount", "debit_amount_currency", "credit_amount_currency"),
}


# ------------------------------------------------------------
# Odoo setup (also used by tools/evaluate_scorecard.py)
# ------------------------------------------------------------


def start_odoo(dbname, install):
    """The registry of ``dbname``; with ``install``, the database is created and the add-on
    installed in it (without demo data)."""
    import odoo
    from odoo.modules.registry import Registry

    start_odoo_config(dbname, odoo_addons_path(tempfile.mkdtemp(prefix="scc-addons.")), install)
    if install:
        odoo.service.db._create_empty_database(dbname)
    started = time.perf_counter()
    registry = Registry.new(dbname, update_module=install)
    if install:
        print(f"installed {ADDON_NAME} in {dbname} in {time.perf_counter() - started:.0f} s", flush=True)
    return registry


def open_database(name, prefix):
    """``(dbname, registry)`` of the database ``name``, or of a new ``<prefix>_<time>`` one; the add-on
    is installed in a database that does not exist yet."""
    import odoo.service.db

    dbname = name or f"{prefix}_{int(time.time())}"
    install = dbname not in odoo.service.db.list_dbs(force=True)
    return dbname, start_odoo(dbname, install)


def insert_copies(cr, table, source, overrides):
    """``INSERT INTO table SELECT ...``: every column of the template row ``t`` unless overridden.

    ``source`` is the FROM clause (it must name the template row ``t``); ``overrides`` maps
    columns to SQL expressions; amount columns are scaled by ``d.factor`` unless overridden.
    """
    from odoo.tools import SQL

    overrides = dict(overrides)
    for column in SCALED_COLUMNS.get(table, ()):
        overrides.setdefault(column, f"t.{column} * d.factor")
    kept = [column for column in columns(cr, table) if column not in overrides]
    target = SQL(", ").join(SQL.identifier(column) for column in [*kept, *overrides])
    values = SQL(", ").join(
        [
            *(SQL.identifier("t", column) for column in kept),
            *(SQL(expression) for expression in overrides.values()),
        ]
    )
    cr.execute(
        SQL("INSERT INTO %s (%s) SELECT %s FROM %s", SQL.identifier(table), target, values, SQL(source))
    )


class RatingSeeder:
    """Customers with invoices and payments, made by the ORM once and copied by SQL."""

    def __init__(self, env):
        from odoo import Command

        self.env = env
        self.company = env.company
        self.today = date.today()
        self.customer_ids = []
        template = env["res.partner"].create({"name": "Rating Bench Template", "is_company": True})
        term = env.ref("account.account_payment_term_immediate")

        def invoice(invoice_date, due_date):
            move = env["account.move"].create(
                {
                    "move_type": "out_invoice",
                    "partner_id": template.id,
                    "invoice_date": invoice_date,
                    "invoice_date_due": due_date,
                    "invoice_payment_term_id": False if due_date else term.id,
                    "invoice_line_ids": [
                        Command.create({"name": "Goods", "quantity": 1, "price_unit": 1000.0, "tax_ids": []})
                    ],
                }
            )
            move.action_post()
            return move

        start = self.today - timedelta(days=60)
        self.paid = invoice(start, start + timedelta(days=30))
        env["account.payment.register"].with_context(
            active_model="account.move", active_ids=self.paid.ids
        ).create({"payment_date": start + timedelta(days=40)})._create_payments()
        self.open = invoice(start, start + timedelta(days=30))
        env.flush_all()
        self.partial = self.paid.line_ids.matched_credit_ids
        assert len(self.partial) == 1, self.partial
        self.payment_move = self.partial.credit_move_id.move_id
        self.template = template

    def _receivable(self, move):
        return move.line_ids.filtered(lambda line: line.account_type == "asset_receivable")

    def add_customers(self, count):
        """``count`` more customers with their invoices, payments and reconciliations."""
        from odoo.tools import SQL

        cr = self.env.cr
        first = len(self.customer_ids)
        ids = copy_rows(
            cr,
            "res_partner",
            self.template.id,
            count,
            {
                "name": f"'Rating Bench ' || ({first} + g)",
                "complete_name": f"'Rating Bench ' || ({first} + g)",
                "commercial_partner_id": "NULL",
                "customer_rank": "1",
            },
        )
        cr.execute(SQL("UPDATE res_partner SET commercial_partner_id = id WHERE id = ANY(%s)", ids))
        # One row per invoice: pre-allocated ids, dates, lateness and amount factor.
        cr.execute("DROP TABLE IF EXISTS bench_doc")
        cr.execute(
            SQL(
                """
                CREATE TEMP TABLE bench_doc AS
                SELECT docs.*,
                       docs.due_date + docs.days_late AS pay_date,
                       CASE WHEN docs.k < %(n)s THEN nextval('account_move_id_seq') END AS pay_id,
                       CASE WHEN docs.k < %(n)s THEN nextval('account_move_line_id_seq') END
                            AS pay_receivable_id,
                       CASE WHEN docs.k < %(n)s THEN nextval('account_move_line_id_seq') END AS pay_other_id
                  FROM (
                      SELECT c.id AS partner_id, k,
                             nextval('account_move_id_seq') AS inv_id,
                             nextval('account_move_line_id_seq') AS inv_receivable_id,
                             nextval('account_move_line_id_seq') AS inv_other_id,
                             %(today)s::date - (400 - k * 90 + mod(c.id, 20)) AS inv_date,
                             %(today)s::date - (400 - k * 90 + mod(c.id, 20)) + 30 AS due_date,
                             mod(c.id * 7 + k * 13, 41) - 15 AS days_late,
                             (0.2 + mod(c.id * 37 + k * 11, 100) / 50.0)::numeric AS factor
                        FROM unnest(%(ids)s::int[]) c(id), generate_series(1, %(n)s) k
                  ) docs
                """,
                n=INVOICES_PER_CUSTOMER,
                today=self.today,
                ids=ids,
            )
        )
        paid_receivable = self._receivable(self.paid).id
        open_receivable = self._receivable(self.open).id
        pay_receivable = self.partial.credit_move_id.id
        move = {
            "partner_id": "d.partner_id",
            "commercial_partner_id": "d.partner_id",
            "access_token": "NULL",
            "origin_payment_id": "NULL",
        }
        # invoices: the paid template for the first ones, the open template for the last one
        insert_copies(
            cr,
            "account_move",
            f"account_move t JOIN bench_doc d ON t.id = CASE WHEN d.k < {INVOICES_PER_CUSTOMER} "
            f"THEN {self.paid.id} ELSE {self.open.id} END",
            {
                **move,
                "id": "d.inv_id",
                "name": "'RBINV/' || d.inv_id",
                "date": "d.inv_date",
                "invoice_date": "d.inv_date",
                "invoice_date_due": "d.due_date",
            },
        )
        insert_copies(
            cr,
            "account_move_line",
            f"account_move_line t JOIN bench_doc d ON t.move_id = CASE WHEN d.k < {INVOICES_PER_CUSTOMER} "
            f"THEN {self.paid.id} ELSE {self.open.id} END",
            {
                "id": f"CASE WHEN t.id IN ({paid_receivable}, {open_receivable}) "
                "THEN d.inv_receivable_id ELSE d.inv_other_id END",
                "move_id": "d.inv_id",
                "move_name": "'RBINV/' || d.inv_id",
                "partner_id": "d.partner_id",
                "date": "d.inv_date",
                "invoice_date": "d.inv_date",
                "date_maturity": f"CASE WHEN t.id IN ({paid_receivable}, {open_receivable}) "
                "THEN d.due_date ELSE t.date_maturity END",
                "full_reconcile_id": "NULL",
                "matching_number": "NULL",
            },
        )
        # payments of the paid invoices, and their partial reconciliations
        insert_copies(
            cr,
            "account_move",
            f"account_move t JOIN bench_doc d ON t.id = {self.payment_move.id} AND d.pay_id IS NOT NULL",
            {**move, "id": "d.pay_id", "name": "'RBPAY/' || d.pay_id", "date": "d.pay_date"},
        )
        insert_copies(
            cr,
            "account_move_line",
            f"account_move_line t JOIN bench_doc d"
            f" ON t.move_id = {self.payment_move.id} AND d.pay_id IS NOT NULL",
            {
                "id": f"CASE WHEN t.id = {pay_receivable} THEN d.pay_receivable_id ELSE d.pay_other_id END",
                "move_id": "d.pay_id",
                "move_name": "'RBPAY/' || d.pay_id",
                "partner_id": "d.partner_id",
                "date": "d.pay_date",
                "full_reconcile_id": "NULL",
                "matching_number": "NULL",
                "payment_id": "NULL",
            },
        )
        insert_copies(
            cr,
            "account_partial_reconcile",
            f"account_partial_reconcile t JOIN bench_doc d"
            f" ON t.id = {self.partial.id} AND d.pay_id IS NOT NULL",
            {
                "id": "nextval('account_partial_reconcile_id_seq')",
                "debit_move_id": "d.inv_receivable_id",
                "credit_move_id": "d.pay_receivable_id",
                "full_reconcile_id": "NULL",
                "max_date": "GREATEST(d.inv_date, d.pay_date)",
            },
        )
        cr.execute("DROP TABLE bench_doc")
        self.customer_ids += ids

    def analyze(self):
        for table in ("res_partner", "account_move", "account_move_line", "account_partial_reconcile"):
            self.env.cr.execute(f"ANALYZE {table}")  # noqa: S608 - constant table names


def rate_once(env, partner_ids, rerate):
    """Seconds to rate ``partner_ids`` (after a first untimed run when ``rerate``), rolled back."""
    cr = env.cr
    engine = env["credit.rating.engine"]
    partners = env["res.partner"].browse(partner_ids)
    savepoint = cr.savepoint()
    try:
        if rerate:
            engine._rate_partners(partners, env.company, trigger="batch")
            env.flush_all()
        env.invalidate_all()
        started = time.perf_counter()
        ratings = engine._rate_partners(partners, env.company, trigger="batch")
        env.flush_all()
        elapsed = time.perf_counter() - started
        assert len(ratings) == len(partner_ids), (len(ratings), len(partner_ids))
        cr.execute(
            "SELECT grade_code, COUNT(*) FROM credit_rating WHERE id = ANY(%s) GROUP BY 1 ORDER BY 1",
            [ratings.ids],
        )
        grades = dict(cr.fetchall())
    finally:
        savepoint.close(rollback=True)
        env.invalidate_all()
    return elapsed, grades


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="1000,10000,100000", help="customers to rate (default: %(default)s)"
    )
    parser.add_argument("--db", help="database name (default: a new scc_rating_bench_<time>)")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database at the end")
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))

    import odoo  # noqa: F401 - fail early when Odoo is not importable
    from odoo import SUPERUSER_ID, api

    dbname, registry = open_database(args.db, "scc_rating_bench")
    rows = []
    try:
        with registry.cursor() as cr:
            cr.execute("SET jit = off")  # the seeding statements gain nothing from JIT compilation
            env = api.Environment(cr, SUPERUSER_ID, {})
            seeder = RatingSeeder(env)
            cr.commit()
            for size in sizes:
                started = time.perf_counter()
                seeder.add_customers(size - len(seeder.customer_ids))
                seeder.analyze()
                cr.commit()
                print(
                    f"N={size}: {size * INVOICES_PER_CUSTOMER:,} invoices, "
                    f"{size * (INVOICES_PER_CUSTOMER - 1):,} payments "
                    f"(seeded in {time.perf_counter() - started:.1f} s)",
                    flush=True,
                )
                first, grades = rate_once(env, seeder.customer_ids, rerate=False)
                again, _grades = rate_once(env, seeder.customer_ids, rerate=True)
                print(f"  grades: {grades}", flush=True)
                rows.append((size, first, again))
    finally:
        if not args.keep_db:
            drop_database(dbname)
    print()
    print(
        f"{'customers':>10} | {'first rating s':>14} | {'customers/s':>11} "
        f"| {'re-rating s':>11} | {'customers/s':>11}"
    )
    print(f"{'-' * 10}-+-{'-' * 14}-+-{'-' * 11}-+-{'-' * 11}-+-{'-' * 11}")
    for size, first, again in rows:
        print(
            f"{size:>10,} | {first:>14.2f} | {size / first:>11,.0f} | {again:>11.2f} | {size / again:>11,.0f}"
        )
    print("(one _rate_partners() call per run, everything flushed; target: >= 1,000 customers/second)")


if __name__ == "__main__":
    main()
