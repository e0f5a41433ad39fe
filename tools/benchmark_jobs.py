#!/usr/bin/env python3
"""Time, memory and rows written of the add-on's nightly jobs, run as Odoo's cron runs them.

    python3 tools/benchmark_jobs.py [--sizes 1000,10000,100000] [--jobs held,temporary,...]
                                    [--calm] [--db NAME] [--keep-db]

Standalone: creates a throwaway base database, installs the add-on (without demo data) and
seeds N customers by bulk SQL (tools/benchmark_reports.py's portfolio: a credit profile, a
credit limit -- none for one in five --, three posted open invoices from not yet due to four
months overdue and one confirmed, uninvoiced order each), plus, for the jobs to have work:

- one customer in 20 has a quotation held by the credit check (``blocked``);
- one in 10 has a credit review due (overdue, or within the company's lead days) and one in 10
  a limit valid until a date within 30 days;
- one in 50 has an applied temporary limit that ended yesterday (to be reverted);
- nobody is rated yet (the rating cron rates every invoiced customer: its first night);
- with ``--calm``, nine customers in ten get a limit of 20,000 and invoices due in 10 days
  (otherwise nearly every customer is over 80 % of its limit or overdue: the first warning run
  raises two alerts per customer).

For each N the base is cloned (``CREATE DATABASE ... TEMPLATE``) and each job runs on that
clone, in the order below, in its own process (so one job's memory does not hide in another's),
exactly as a cron worker runs it: the job is made due, acquired with ``ir.cron._acquire_one_job``
and run with ``ir.cron._process_job`` (its own cursor, which the job may commit; as superuser or
the cron's user; ``_notify_progress`` honoured: a partially done job is acquired again until it is
done), nothing rolled back. Columns:

- *seconds*: wall-clock time until the job is fully done (all its calls);
- *peak MB*: growth of the process's peak resident set (VmHWM, reset before the job) over its
  resident set before the job (registry loaded);
- *rows*: rows inserted, updated and deleted in the database by the job
  (``pg_stat_user_tables``, read after the job's process ended), with the main tables;
- *calls*: how many times the cron called the job's method (``ir.cron.progress`` records).

Jobs (``--jobs``, default all): ``temporary`` (apply and revert temporary limits), ``held``
(re-evaluate held quotations), ``warning`` (early-warning rules, first run on the portfolio:
every condition raises an alert), ``warning_again`` (the same the next night: the alerts are
open, nothing new), ``review`` (schedule credit reviews), ``rating`` (rate customers due).
Targets (issue 9 section 2): each job under 120 s and 500 MB at 100,000 customers. Customers
accumulate in the base: the 10,000 include the 1,000 of the first size.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from contextlib import closing
from datetime import timedelta

from bench_common import copy_orders, drop_database, read_status, reset_peak_rss
from benchmark import clone_database, release
from benchmark_rating import insert_copies, start_odoo
from benchmark_reports import PortfolioSeeder

HELD_EVERY = 20
REVIEW_EVERY = 10
LIMIT_EXPIRING_EVERY = 10
TEMPORARY_EVERY = 50
MAX_ROUNDS = 100  # acquisitions of one job before the benchmark gives up on it

# name -> (cron XML id, title); run in this order
JOBS = {
    "temporary": ("ir_cron_credit_limit_request_temporary", "revert temporary limits"),
    "held": ("ir_cron_credit_reevaluate_held", "re-evaluate held quotations"),
    "warning": ("ir_cron_credit_warning", "warning rules (first run)"),
    "warning_again": ("ir_cron_credit_warning", "warning rules (next night)"),
    "review": ("ir_cron_credit_review", "schedule reviews"),
    "rating": ("credit_rating_cron", "rate customers due"),
}


# ------------------------------------------------------------
# Seeding
# ------------------------------------------------------------


class JobSeeder(PortfolioSeeder):
    """The reports benchmark's portfolio plus held quotations, review and limit dates, and
    temporary limits ending, made by the ORM once and copied by SQL."""

    def __init__(self, env):
        super().__init__(env)
        admin = env.ref("base.user_admin")
        admin.groups_id |= env.ref("sale_credit_control.group_credit_manager")
        # Alerts and reviews go to someone: the company's responsible credit manager.
        self.company.credit_manager_id = admin
        self.request = env["credit.limit.request"].create(
            {
                "partner_id": self.template.id,
                "amount": 1500.0,
                "reason": "Benchmark season",
                "request_type": "temporary",
                "date_from": self.today - timedelta(days=10),
                "date_to": self.today + timedelta(days=10),
            }
        )
        env.flush_all()

    def add_customers(self, count, calm=False):
        first = len(self.customer_ids)
        super().add_customers(count)
        ids = self.customer_ids[first:]
        # The first customer of every 50 has a limit of 1,500 (PortfolioSeeder: g mod 5 x 1,500, g from 1).
        temporary = ids[::TEMPORARY_EVERY]
        if calm:
            self._calm(sorted(set(ids) - set(temporary)))
        self._held_quotations(ids[::HELD_EVERY])
        self._profile_dates(ids)
        self._temporary_limits(temporary)

    def _calm(self, partner_ids):
        """Nine customers in ten well within a limit of 20,000 and nothing overdue (invoices due
        in 10 days), so that the first warning run alerts about one in ten, not everyone (the
        customers with a temporary limit keep theirs, so that it is reverted)."""
        from odoo.tools import SQL

        cr = self.env.cr
        calm = SQL("partner_id = ANY(%s) AND mod(partner_id, 10) <> 0", partner_ids)
        cr.execute(
            SQL(
                "UPDATE res_partner SET credit_limit = jsonb_build_object(%s::text, 20000.0)"
                " WHERE id = ANY(%s) AND mod(id, 10) <> 0",
                str(self.company.id),
                partner_ids,
            )
        )
        due = self.today + timedelta(days=10)
        cr.execute(
            SQL(
                "UPDATE account_move SET invoice_date_due = %s WHERE move_type = 'out_invoice' AND %s",
                due,
                calm,
            )
        )
        cr.execute(
            SQL(
                "UPDATE account_move_line SET date_maturity = %s WHERE display_type = 'payment_term' AND %s",
                due,
                calm,
            )
        )

    def _held_quotations(self, partner_ids):
        """A quotation held by the credit check for each of ``partner_ids``."""
        copy_orders(
            self.env.cr,
            self.order.id,
            partner_ids,
            "JBQ/",
            order_overrides={
                "state": "'draft'",
                "invoice_status": "'no'",
                "credit_check_state": "'blocked'",
                "credit_check_recorded_message": "'Seeded: blocked by the credit check.'",
                "credit_reevaluated_date": "NULL",
            },
            line_overrides={"state": "'draft'", "invoice_status": "'no'", "qty_to_invoice": "0"},
        )

    def _profile_dates(self, partner_ids):
        """Review dates from 20 days ago to 19 days ahead for one customer in 10 (later for the
        others); a limit valid until within 30 days for another one in 10."""
        from odoo.tools import SQL

        self.env.cr.execute(
            SQL(
                """
                UPDATE credit_profile
                   SET review_date = CASE WHEN mod(partner_id, %(review)s) = 0
                                          THEN %(today)s::date + mod(partner_id / %(review)s, 40) - 20
                                          ELSE %(today)s::date + 200 + mod(partner_id, 100) END,
                       review_activity_date = NULL,
                       limit_valid_until = CASE WHEN mod(partner_id, %(limit)s) = 1
                                                THEN %(today)s::date + 1 + mod(partner_id / %(limit)s, 29) END
                 WHERE company_id = %(company)s AND partner_id = ANY(%(ids)s)
                """,
                review=REVIEW_EVERY,
                limit=LIMIT_EXPIRING_EVERY,
                today=self.today,
                company=self.company.id,
                ids=partner_ids,
            )
        )

    def _temporary_limits(self, partner_ids):
        """An approved temporary limit of 1,500 (up from 1,000), applied, that ended yesterday."""
        from odoo.tools import SQL

        cr = self.env.cr
        cr.execute("DROP TABLE IF EXISTS bench_request")
        cr.execute(
            SQL(
                "CREATE TEMP TABLE bench_request AS SELECT c.id AS partner_id,"
                " nextval('credit_limit_request_id_seq') AS id FROM unnest(%s::int[]) c(id)",
                partner_ids,
            )
        )
        insert_copies(
            cr,
            "credit_limit_request",
            f"credit_limit_request t JOIN bench_request d ON t.id = {self.request.id}",
            {
                "id": "d.id",
                "name": "'JBLR/' || d.id",
                "partner_id": "d.partner_id",
                "state": "'approved'",
                "application_state": "'applied'",
                "date_from": f"'{self.today - timedelta(days=10)}'::date",
                "date_to": f"'{self.today - timedelta(days=1)}'::date",
                "applied_limit": "1500.0",
                "previous_limit": "1000.0",
                "applied_date": f"'{self.today - timedelta(days=10)}'::timestamp",
            },
        )
        cr.execute("DROP TABLE bench_request")

    def analyze(self):
        super().analyze()
        for table in ("credit_limit_request", "credit_alert", "mail_activity"):
            self.env.cr.execute(f"ANALYZE {table}")  # noqa: S608 - constant table names


# ------------------------------------------------------------
# One job, in its own process (--run-job)
# ------------------------------------------------------------


def run_job(dbname, job):
    """Run ``job`` on ``dbname`` as a cron worker does; print one JSON line with the figures."""
    import odoo
    from odoo import SUPERUSER_ID, api

    registry = start_odoo(dbname, install=False)
    xmlid = "sale_credit_control." + JOBS[job][0]
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        cron = env.ref(xmlid)
        cron.write({"active": True, "nextcall": odoo.fields.Datetime.now() - timedelta(minutes=1)})
        cron_id = cron.id
        cr.execute("SELECT COALESCE(MAX(id), 0) FROM ir_cron_progress WHERE cron_id = %s", [cron_id])
        last_progress = cr.fetchone()[0]
    IrCron = registry["ir.cron"]
    db = odoo.sql_db.db_connect(dbname)
    rss_before = read_status("VmRSS")
    peak_reset = reset_peak_rss()
    started = time.perf_counter()
    rounds = 0
    with db.cursor() as cron_cr:
        while rounds < MAX_ROUNDS:
            job_row = IrCron._acquire_one_job(cron_cr, cron_id)
            if not job_row:
                break
            IrCron._process_job(db, cron_cr, job_row)
            rounds += 1
    elapsed = time.perf_counter() - started
    peak = read_status("VmHWM") - rss_before if peak_reset else None
    with registry.cursor() as cr:
        cr.execute(
            "SELECT COUNT(*), SUM(done) FROM ir_cron_progress WHERE cron_id = %s AND id > %s",
            [cron_id, last_progress],
        )
        calls, done = cr.fetchone()
        cr.execute("SELECT failure_count FROM ir_cron WHERE id = %s", [cron_id])
        failures = cr.fetchone()[0]
    odoo.sql_db.close_all()  # the connections' statistics reach pg_stat_user_tables on exit
    print(
        "RESULT "
        + json.dumps(
            {
                "seconds": elapsed,
                "peak_mb": peak,
                "calls": calls,
                "done": done,
                "failures": failures,
                "rounds": rounds,
            }
        ),
        flush=True,
    )


# ------------------------------------------------------------
# Orchestration
# ------------------------------------------------------------


def table_stats(dbname):
    """``{table: inserted + updated + deleted rows}`` of ``dbname`` so far."""
    import odoo

    with closing(odoo.sql_db.db_connect(dbname).cursor()) as cr:
        cr.execute("SELECT pg_stat_clear_snapshot()")
        cr.execute("SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables")
        stats = dict(cr.fetchall())
    release(dbname)
    return stats


def measure(dbname, job):
    """Run ``job`` in a child process on ``dbname``; its figures and the rows it wrote."""
    before = table_stats(dbname)
    command = [sys.executable, os.path.abspath(__file__), "--run-job", job, "--db", dbname]
    process = subprocess.run(command, capture_output=True, text=True, check=False)
    result = None
    for line in process.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT ") :])
    errors = [line for line in process.stderr.splitlines() if " ERROR " in line or "Traceback" in line]
    if process.returncode or result is None:
        print(process.stdout[-3000:], process.stderr[-6000:], sep="\n", file=sys.stderr)
        raise SystemExit(f"job {job} failed (exit code {process.returncode})")
    if errors:
        print(f"  {job}: errors logged:\n    " + "\n    ".join(errors[:10]), flush=True)
    time.sleep(1.0)  # let the exited backends' statistics land
    after = table_stats(dbname)
    delta = {table: after.get(table, 0) - before.get(table, 0) for table in after}
    delta = {table: rows for table, rows in delta.items() if rows > 0}
    result["rows"] = sum(delta.values())
    result["tables"] = sorted(delta.items(), key=lambda item: -item[1])
    result["errors"] = len(errors)
    return result


def print_table(rows):
    print()
    header = f"{'job':<29} | {'customers':>9} | {'seconds':>7} | {'peak MB':>7} | {'rows':>9} | {'calls':>5}"
    print(header)
    print("-" * len(header))
    for job, size, result in rows:
        peak = result["peak_mb"]
        print(
            f"{JOBS[job][1]:<29} | {size:>9,} | {result['seconds']:>7.1f} | "
            f"{'n/a' if peak is None else f'{peak:.0f}':>7} | {result['rows']:>9,} | {result['calls']:>5}"
        )
    print("(target per job at 100,000 customers: under 120 s and under 500 MB)")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000,100000", help="customers (default: %(default)s)")
    parser.add_argument("--jobs", default=",".join(JOBS), help="jobs to run, in this order (default: all)")
    parser.add_argument("--db", help="base database name (default: a new scc_jobs_bench_<time>)")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the databases at the end")
    parser.add_argument(
        "--calm",
        action="store_true",
        help="nine customers in ten far within their limit and not overdue (default: the reports "
        "benchmark's portfolio, where nearly every customer is over 80%% or overdue)",
    )
    parser.add_argument("--run-job", choices=list(JOBS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_job:
        run_job(args.db, args.run_job)
        return
    sizes = sorted(int(size) for size in args.sizes.split(","))
    jobs = [job for job in JOBS if job in args.jobs.split(",")]

    import odoo  # noqa: F401 - fail early when Odoo is not importable
    from odoo import SUPERUSER_ID, api

    base = args.db or f"scc_jobs_bench_{int(time.time())}"
    registry = start_odoo(base, True)
    rows = []
    clones = []
    try:
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            seeder = JobSeeder(env)
            cr.commit()
        for size in sizes:
            registry = odoo.modules.registry.Registry(base)
            with registry.cursor() as cr:
                cr.execute("SET jit = off")
                seeder.env = api.Environment(cr, SUPERUSER_ID, {})
                started = time.perf_counter()
                seeder.add_customers(size - len(seeder.customer_ids), calm=args.calm)
                seeder.analyze()
                cr.commit()
                profiles, invoices, orders = seeder.counts()
            print(
                f"N={size:,}: {profiles:,} profiles, {invoices:,} open invoices, {orders:,} confirmed orders "
                f"(seeded in {time.perf_counter() - started:.1f} s)",
                flush=True,
            )
            release(base)
            clone = f"{base}_{size}"
            clone_database(base, clone)
            clones.append(clone)
            for job in jobs:
                result = measure(clone, job)
                tables = ", ".join(f"{table} {count:,}" for table, count in result["tables"][:6])
                print(
                    f"  {JOBS[job][1]}: {result['seconds']:.1f} s, peak {result['peak_mb'] or 0:.0f} MB, "
                    f"{result['rows']:,} rows ({tables}), {result['calls']} call(s)",
                    flush=True,
                )
                rows.append((job, size, result))
            if not args.keep_db:
                drop_database(clone)
                clones.remove(clone)
    finally:
        if not args.keep_db:
            for clone in clones:
                drop_database(clone)
            drop_database(base)
    print_table(rows)


if __name__ == "__main__":
    main()
