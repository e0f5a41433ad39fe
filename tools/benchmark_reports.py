#!/usr/bin/env python3
"""Speed and memory of the accountants' outputs: the portfolio workbook and the credit report.

    python3 tools/benchmark_reports.py [--sizes 1000,10000,100000] [--report-invoices 2000]
                                       [--tracemalloc] [--db NAME] [--keep-db]

Standalone: creates a throwaway database, installs the add-on (without demo data) and gives
N customers a credit profile, a credit limit (one in five without), three posted open
invoices of various ages (not due to four months overdue) and one confirmed, uninvoiced
order. For each N it times the portfolio workbook of the whole company
(``credit.portfolio.export``: five sheets, XLSX in xlsxwriter's constant_memory mode, stored
as an attachment) and measures its peak memory: the growth of this process's peak resident
set (VmHWM, reset before the run); with ``--tracemalloc`` a second run gives Python's
allocation peak (tracemalloc slows Python down, so it is not timed). It also times the HTML
of one customer's credit report (``_render_qweb_html`` of
``sale_credit_control.credit_profile_report``) for a customer with 2,000 open invoices
(median of 5 renders after a warm-up). Each timed run is rolled back.

Targets (issue): 100,000 customers in under 60 s and under 300 MB peak; one customer's
report in under 2 s whatever its history.

Seeding is done at the SQL level (tools/bench_common.py, tools/benchmark_rating.py): one
customer, one open invoice, one confirmed order and one credit profile are made by the ORM;
their rows are copied with new ids, customers, dates and amounts. Customers accumulate: the
10,000 include the 1,000 of the first size.
"""

import argparse
import statistics
import time
import tracemalloc
from datetime import date, timedelta

from bench_common import copy_orders, copy_rows, drop_database, read_status, reset_peak_rss
from benchmark_rating import insert_copies, open_database

INVOICES_PER_CUSTOMER = 3
REPORT_CUSTOMER = "Report Bench Customer"


class PortfolioSeeder:
    """Customers with profiles, open invoices and an order, made by the ORM once and copied by SQL."""

    def __init__(self, env):
        from odoo import Command

        self.env = env
        self.company = env.company
        self.today = date.today()
        self.customer_ids = []
        company = self.company
        company.write({"credit_control_enabled": False, "credit_count_draft_invoices": False})
        template = env["res.partner"].create(
            {
                "name": "Portfolio Bench Template",
                "is_company": True,
                "user_id": env.user.id,
                "vat": "BE0477472701",
            }
        )
        product = env["product.product"].create(
            {
                "name": "Bench Widget",
                "type": "consu",
                "invoice_policy": "order",
                "list_price": 500.0,
                "taxes_id": [Command.clear()],
            }
        )
        start = self.today - timedelta(days=40)
        invoice = env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": template.id,
                "invoice_date": start,
                "invoice_date_due": start + timedelta(days=30),
                "invoice_line_ids": [
                    Command.create({"name": "Goods", "quantity": 1, "price_unit": 1000.0, "tax_ids": []})
                ],
            }
        )
        invoice.action_post()
        order = env["sale.order"].create(
            {
                "partner_id": template.id,
                "order_line": [
                    Command.create(
                        {
                            "product_id": product.id,
                            "product_uom_qty": 1,
                            "price_unit": 500.0,
                            "tax_id": [Command.clear()],
                        }
                    )
                ],
            }
        )
        order.action_confirm()
        profile = env["credit.profile"]._get_or_create(template, company)
        env.flush_all()
        company.credit_control_enabled = True
        self.template, self.invoice, self.order, self.profile = template, invoice, order, profile

    def _partners(self, count, name):
        """``count`` copies of the template customer named ``name N``, each with a limit in the
        company (0 for one in five: no limit) and a credit profile."""
        from odoo.tools import SQL

        cr = self.env.cr
        first = len(self.customer_ids)
        ids = copy_rows(
            cr,
            "res_partner",
            self.template.id,
            count,
            {
                "name": f"'{name} ' || lpad(({first} + g)::text, 7, '0')",
                "complete_name": f"'{name} ' || lpad(({first} + g)::text, 7, '0')",
                "commercial_partner_id": "NULL",
                "customer_rank": "1",
                "credit_limit": f"jsonb_build_object('{self.company.id}', (mod(g, 5) * 1500)::float)",
            },
        )
        cr.execute(SQL("UPDATE res_partner SET commercial_partner_id = id WHERE id = ANY(%s)", ids))
        cr.execute("DROP TABLE IF EXISTS bench_customer")
        cr.execute(SQL("CREATE TEMP TABLE bench_customer AS SELECT unnest(%s::int[]) AS partner_id", ids))
        insert_copies(
            cr,
            "credit_profile",
            f"credit_profile t JOIN bench_customer d ON t.id = {self.profile.id}",
            {"id": "nextval('credit_profile_id_seq')", "partner_id": "d.partner_id"},
        )
        return ids

    def _invoices(self, partner_ids, per_customer, spread_days):
        """``per_customer`` open invoices of each of ``partner_ids``, due from ``spread_days``
        days ago to a month ahead, amounts scaled from 0.2 to 2.2 times the template's."""
        from odoo.tools import SQL

        cr = self.env.cr
        cr.execute("DROP TABLE IF EXISTS bench_doc")
        cr.execute(
            SQL(
                """
                CREATE TEMP TABLE bench_doc AS
                SELECT c.id AS partner_id, k,
                       nextval('account_move_id_seq') AS inv_id,
                       %(today)s::date - mod(c.id * 13 + k * 37, %(spread)s) AS inv_date,
                       %(today)s::date - mod(c.id * 13 + k * 37, %(spread)s) + 30 AS due_date,
                       (0.2 + mod(c.id * 37 + k * 11, 100) / 50.0)::numeric AS factor
                  FROM unnest(%(ids)s::int[]) c(id), generate_series(1, %(n)s) k
                """,
                today=self.today,
                spread=spread_days,
                ids=partner_ids,
                n=per_customer,
            )
        )
        move = {
            "partner_id": "d.partner_id",
            "commercial_partner_id": "d.partner_id",
            "partner_shipping_id": "d.partner_id",
            "access_token": "NULL",
            "origin_payment_id": "NULL",
        }
        insert_copies(
            cr,
            "account_move",
            f"account_move t JOIN bench_doc d ON t.id = {self.invoice.id}",
            {
                **move,
                "id": "d.inv_id",
                "name": "'PBINV/' || d.inv_id",
                "date": "d.inv_date",
                "invoice_date": "d.inv_date",
                "invoice_date_due": "d.due_date",
            },
        )
        insert_copies(
            cr,
            "account_move_line",
            f"account_move_line t JOIN bench_doc d ON t.move_id = {self.invoice.id}",
            {
                "id": "nextval('account_move_line_id_seq')",
                "move_id": "d.inv_id",
                "move_name": "'PBINV/' || d.inv_id",
                "partner_id": "d.partner_id",
                "date": "d.inv_date",
                "invoice_date": "d.inv_date",
                "date_maturity": (
                    "CASE WHEN t.display_type = 'payment_term' THEN d.due_date ELSE t.date_maturity END"
                ),
                "full_reconcile_id": "NULL",
                "matching_number": "NULL",
            },
        )
        cr.execute("DROP TABLE bench_doc")

    def _orders(self, partner_ids):
        """One confirmed, uninvoiced order of each of ``partner_ids``."""
        copy_orders(self.env.cr, self.order.id, partner_ids, "PBSO/")

    def add_customers(self, count):
        ids = self._partners(count, "Portfolio Bench")
        self._invoices(ids, INVOICES_PER_CUSTOMER, 150)
        self._orders(ids)
        self.customer_ids += ids

    def report_customer(self, invoices):
        """The customer of the credit report, with ``invoices`` open invoices over two years."""
        [partner_id] = self._partners(1, REPORT_CUSTOMER)
        self.customer_ids.append(partner_id)
        self._invoices([partner_id], invoices, 730)
        self._orders([partner_id])
        return self.env["credit.profile"].search([("partner_id", "=", partner_id)])

    def analyze(self):
        for table in (
            "res_partner",
            "credit_profile",
            "account_move",
            "account_move_line",
            "sale_order",
            "sale_order_line",
        ):
            self.env.cr.execute(f"ANALYZE {table}")  # noqa: S608 - constant table names

    def counts(self):
        cr = self.env.cr
        cr.execute(
            "SELECT (SELECT COUNT(*) FROM credit_profile WHERE company_id = %(c)s),"
            " (SELECT COUNT(*) FROM account_move WHERE company_id = %(c)s AND state = 'posted'"
            "  AND move_type = 'out_invoice' AND payment_state = 'not_paid'),"
            " (SELECT COUNT(*) FROM sale_order WHERE company_id = %(c)s AND state = 'sale')",
            {"c": self.company.id},
        )
        return cr.fetchone()


def export_once(env, measure_python=False):
    """Seconds, peak RSS growth (MB), Python allocation peak (MB, or None), workbook size (MB)
    and Exposure rows of one export of the whole portfolio, rolled back."""
    import openpyxl  # noqa: F401 - only to fail early if missing

    cr = env.cr
    savepoint = cr.savepoint()
    try:
        env.invalidate_all()
        wizard = env["credit.portfolio.export"].create({})
        env.flush_all()
        env.invalidate_all()
        rss_before = read_status("VmRSS")
        peak_reset = reset_peak_rss()
        if measure_python:
            tracemalloc.start()
        started = time.perf_counter()
        attachment = wizard._create_workbook_attachment()
        env.flush_all()
        elapsed = time.perf_counter() - started
        python_peak = None
        if measure_python:
            python_peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        rss_peak = read_status("VmHWM") - rss_before if peak_reset else None
        size = attachment.file_size / 2**20
    finally:
        savepoint.close(rollback=True)
        env.invalidate_all()
    return elapsed, rss_peak, python_peak, size


def render_report(env, profile, runs=5):
    """Median seconds of the credit report's HTML for ``profile`` (after one warm-up render)."""
    report = env["ir.actions.report"]
    html, _type = report._render_qweb_html("sale_credit_control.credit_profile_report", profile.ids)
    assert profile.partner_id.name.encode() in html
    times = []
    for _run in range(runs):
        env.invalidate_all()
        started = time.perf_counter()
        report._render_qweb_html("sale_credit_control.credit_profile_report", profile.ids)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000,100000", help="customers (default: %(default)s)")
    parser.add_argument(
        "--report-invoices",
        type=int,
        default=2000,
        help="open invoices of the report's customer (%(default)s)",
    )
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="also measure Python's allocation peak (an extra, untimed run)",
    )
    parser.add_argument("--db", help="database name (default: a new scc_reports_bench_<time>)")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database at the end")
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))

    import odoo  # noqa: F401 - fail early when Odoo is not importable
    from odoo import SUPERUSER_ID, api

    dbname, registry = open_database(args.db, "scc_reports_bench")
    rows = []
    try:
        with registry.cursor() as cr:
            cr.execute("SET jit = off")
            env = api.Environment(cr, SUPERUSER_ID, {})
            seeder = PortfolioSeeder(env)
            started = time.perf_counter()
            report_profile = seeder.report_customer(args.report_invoices)
            cr.commit()
            print(
                f"report customer: {args.report_invoices:,} open invoices "
                f"(seeded in {time.perf_counter() - started:.1f} s)",
                flush=True,
            )
            for size in sizes:
                started = time.perf_counter()
                seeder.add_customers(size - len(seeder.customer_ids))
                seeder.analyze()
                cr.commit()
                profiles, invoices, orders = seeder.counts()
                print(
                    f"N={size:,}: {profiles:,} profiles, {invoices:,} open invoices, "
                    f"{orders:,} confirmed orders "
                    f"(seeded in {time.perf_counter() - started:.1f} s)",
                    flush=True,
                )
                seconds, rss_peak, _none, size_mb = export_once(env)
                python_peak = export_once(env, measure_python=True)[2] if args.tracemalloc else None
                report_seconds = render_report(env, report_profile)
                print(
                    f"  workbook {seconds:.1f} s, peak RSS +{rss_peak or 0:.0f} MB, {size_mb:.1f} MB; "
                    f"report {report_seconds:.2f} s",
                    flush=True,
                )
                rows.append((profiles, seconds, rss_peak, python_peak, size_mb, report_seconds))
    finally:
        if not args.keep_db:
            drop_database(dbname)
    print()
    header = (
        "customers",
        "workbook s",
        "peak RSS MB",
        "tracemalloc MB",
        "xlsx MB",
        f"report s ({args.report_invoices:,} inv.)",
    )
    lines = [
        (
            f"{n:,}",
            f"{s:.1f}",
            "n/a" if rss is None else f"{rss:.0f}",
            "-" if py is None else f"{py:.0f}",
            f"{mb:.1f}",
            f"{rep:.2f}",
        )
        for n, s, rss, py, mb, rep in rows
    ]
    widths = [max(len(cell) for cell in column) for column in zip(header, *lines, strict=True)]
    print(" | ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for cells in lines:
        print(" | ".join(cell.rjust(w) for cell, w in zip(cells, widths, strict=True)))
    print(
        "(workbook: credit.portfolio.export of every profile of the company, five sheets, attachment "
        "included; peak RSS: growth of this process's peak resident set during the export; report: median "
        "HTML render of one customer's credit report)"
    )
    print("targets: 100,000 customers in < 60 s and < 300 MB; one customer's report < 2 s")


if __name__ == "__main__":
    main()
