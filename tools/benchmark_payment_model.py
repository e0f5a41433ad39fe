#!/usr/bin/env python3
"""How long does training the late-payment model take?  (付款预测模型训练耗时)

    python3 tools/benchmark_payment_model.py [--sizes 10000,100000] [--customers-per 20]
                                             [--db NAME] [--keep-db] [--core-only]

Two measures:

- **core**: ``credit_policy.payment_model.fit_payment_model`` alone (pure Python, no Odoo) on
  N synthetic rows of the core's ``DEFAULT_FEATURES`` (a fixed seed; some values missing),
  then ``validate_model`` on N / 4 more rows. ``--core-only`` stops there (no database).
- **Odoo**: a throwaway database (add-on installed, no demo data) seeded with N paid customer
  invoices over N / ``--customers-per`` customers, then a training run through the wizard
  (``credit.payment.model.train.action_train`` with its defaults: the invoices of the last 24
  months, split 6 months ago, the default features, penalty 1), and the same steps one by one
  to time its phases: (a) the training and validation rows from the database
  (``credit.payment.features._invoice_rows``: grouped SQL), (b) the fit, (c) the validation on
  the later part, (d) storing the model record. Both runs are rolled back.

Seeding is done at the SQL level for speed, as tools/benchmark_rating.py does: one paid invoice
with its payment and partial reconciliation is made by the ORM and its rows (account_move,
account_move_line, account_partial_reconcile; res_partner for the customers) are copied with new
ids, partners, dates, terms, amounts, delivery and payment delays:

- invoice dates over 20 months inside the wizard's window (the last one 100 days ago, so that
  every invoice is paid by today), terms of 15 to 60 days, amounts 0.2 to 2.2 times the
  template's, three in five sent electronically;
- each customer has its own habit of paying (from two weeks early to a week late), plus noise,
  plus a few days for paper invoices: about 38 % are paid late, and the model has something to
  learn.

Customers accumulate: the 100,000 invoices include the 10,000 of the first size.
Target (issue 11): training on 100,000 invoices in under 60 s.
"""

import argparse
import os
import random
import sys
import time

from bench_common import copy_rows, drop_database
from benchmark_rating import RatingSeeder, insert_copies, open_database

sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the pure-Python core
from credit_policy import payment_model  # noqa: E402

TARGET_SECONDS = 60
FIRST_INVOICE_DAYS_AGO = 720  # inside the wizard's default window of 24 months
LAST_INVOICE_DAYS_AGO = 100


# ------------------------------------------------------------
# The pure-Python core alone
# ------------------------------------------------------------


def synthetic_rows(count, seed):
    """``count`` rows of ``DEFAULT_FEATURES`` and their labels, from a fixed seed.

    A hidden "habit" per row drives the behaviour figures and the label, so the fit has a
    signal to find; one row in ten has no history (its behaviour figures are missing), one
    in five an unknown delivery.
    """
    rng = random.Random(seed)
    rows, labels = [], []
    for _index in range(count):
        habit = rng.gauss(0.0, 1.0)
        has_history = rng.random() > 0.1
        late_share = min(1.0, max(0.0, 0.35 + 0.2 * habit + rng.gauss(0.0, 0.1)))
        electronic = None if rng.random() < 0.2 else float(rng.random() < 0.6)
        row = {
            "late_share": late_share if has_history else None,
            "late_count_share": min(1.0, max(0.0, late_share + rng.gauss(0.0, 0.05)))
            if has_history
            else None,
            "weighted_days_late": max(0.0, 4.0 + 4.0 * habit + rng.gauss(0.0, 2.0)) if has_history else None,
            "avg_days_to_pay": 28.0 + 6.0 * habit + rng.gauss(0.0, 4.0) if has_history else None,
            "amount_ratio": rng.lognormvariate(0.0, 0.4) if has_history else None,
            "term_days": rng.choice((15, 30, 30, 45, 60)),
            "electronic": electronic,
        }
        odds = -0.6 + 1.5 * habit + 0.3 * (electronic == 0.0) + rng.gauss(0.0, 0.8)
        rows.append({name: row[name] for name in payment_model.DEFAULT_FEATURES})
        labels.append(odds > 0)
    return rows, labels


def core_timing(size, seed=42):
    """``(fit seconds, validation seconds, model, validation)`` on ``size`` synthetic rows."""
    rows, labels = synthetic_rows(size, seed)
    later_rows, later_labels = synthetic_rows(max(1, size // 4), seed + 1)
    started = time.perf_counter()
    model = payment_model.fit_payment_model(rows, labels, features=payment_model.DEFAULT_FEATURES)
    fitted = time.perf_counter()
    validation = payment_model.validate_model(model, later_rows, later_labels)
    return fitted - started, time.perf_counter() - fitted, model, validation


def print_core(results):
    print()
    print("core alone (credit_policy.payment_model, pure Python, synthetic rows of DEFAULT_FEATURES)")
    print(
        f"{'rows':>10} | {'fit s':>7} | {'Newton steps':>12} | {'validation rows':>15} | "
        f"{'validate s':>10} | AUC"
    )
    print(f"{'-' * 10}-+-{'-' * 7}-+-{'-' * 12}-+-{'-' * 15}-+-{'-' * 10}-+-{'-' * 5}")
    for size, fit_seconds, validate_seconds, model, validation in results:
        print(
            f"{size:>10,} | {fit_seconds:>7.2f} | {model.iterations:>12} | {validation.size:>15,} | "
            f"{validate_seconds:>10.2f} | {validation.auc:.3f}"
        )


# ------------------------------------------------------------
# Seeding paid invoices by SQL copies
# ------------------------------------------------------------


class PaidInvoiceSeeder(RatingSeeder):
    """Customers with paid invoices: the ORM-made paid invoice of :class:`RatingSeeder`, its
    payment and reconciliation copied by SQL, with varied dates, terms, amounts, delivery and
    delays."""

    def __init__(self, env, per_customer):
        super().__init__(env)
        self.per_customer = per_customer
        self.invoice_count = 0

    def add_invoices(self, count):
        """``count`` more paid invoices, ``per_customer`` per new customer."""
        from odoo.tools import SQL

        cr = self.env.cr
        customers = -(-count // self.per_customer)
        first = len(self.customer_ids)
        ids = copy_rows(
            cr,
            "res_partner",
            self.template.id,
            customers,
            {
                "name": f"'Payment Model Bench ' || ({first} + g)",
                "complete_name": f"'Payment Model Bench ' || ({first} + g)",
                "commercial_partner_id": "NULL",
                "customer_rank": "1",
            },
        )
        cr.execute(SQL("UPDATE res_partner SET commercial_partner_id = id WHERE id = ANY(%s)", ids))
        cr.execute("DROP TABLE IF EXISTS bench_doc")
        cr.execute(
            SQL(
                """
                CREATE TEMP TABLE bench_doc AS
                SELECT docs.*,
                       docs.due_date + GREATEST(docs.days_late, -docs.term) AS pay_date,
                       nextval('account_move_id_seq') AS pay_id,
                       nextval('account_move_line_id_seq') AS pay_receivable_id,
                       nextval('account_move_line_id_seq') AS pay_other_id
                  FROM (
                      SELECT base.*, base.inv_date + base.term AS due_date,
                             -- the customer's habit (-17 .. +7 days), noise (-11 .. +11), paper +5
                             mod(base.partner_id * 7, 9) * 3 - 17
                                 + mod(base.partner_id * 13 + base.k * 29, 23) - 11
                                 + CASE WHEN base.electronic THEN 0 ELSE 5 END AS days_late
                        FROM (
                            SELECT c.id AS partner_id, k,
                                   nextval('account_move_id_seq') AS inv_id,
                                   nextval('account_move_line_id_seq') AS inv_receivable_id,
                                   nextval('account_move_line_id_seq') AS inv_other_id,
                                   %(today)s::date - %(last)s - mod(c.id * 31 + k * 37, %(span)s)
                                       AS inv_date,
                                   (ARRAY[15, 30, 30, 45, 60])[1 + mod(c.id + k * 3, 5)] AS term,
                                   mod(c.id * 3 + k, 5) < 3 AS electronic,
                                   (0.2 + mod(c.id * 37 + k * 11, 100) / 50.0)::numeric AS factor
                              FROM unnest(%(ids)s::int[]) c(id), generate_series(1, %(n)s) k
                        ) base
                  ) docs
                 LIMIT %(count)s
                """,
                n=self.per_customer,
                count=count,
                today=self.today,
                last=LAST_INVOICE_DAYS_AGO,
                span=FIRST_INVOICE_DAYS_AGO - LAST_INVOICE_DAYS_AGO,
                ids=ids,
            )
        )
        self._copy_documents()
        cr.execute("DROP TABLE bench_doc")
        self.customer_ids += ids
        self.invoice_count += count

    def _copy_documents(self):
        """Copy the paid template invoice, its payment and their reconciliation for each row of
        ``bench_doc``."""
        cr = self.env.cr
        paid_receivable = self._receivable(self.paid).id
        pay_receivable = self.partial.credit_move_id.id
        move = {
            "partner_id": "d.partner_id",
            "commercial_partner_id": "d.partner_id",
            "access_token": "NULL",
            "origin_payment_id": "NULL",
        }
        insert_copies(
            cr,
            "account_move",
            f"account_move t JOIN bench_doc d ON t.id = {self.paid.id}",
            {
                **move,
                "credit_invoice_delivery": "CASE WHEN d.electronic THEN 'electronic' ELSE 'paper' END",
                "id": "d.inv_id",
                "name": "'PMINV/' || d.inv_id",
                "date": "d.inv_date",
                "invoice_date": "d.inv_date",
                "invoice_date_due": "d.due_date",
                "invoice_payment_term_id": "NULL",
            },
        )
        insert_copies(
            cr,
            "account_move_line",
            f"account_move_line t JOIN bench_doc d ON t.move_id = {self.paid.id}",
            {
                "id": f"CASE WHEN t.id = {paid_receivable} THEN d.inv_receivable_id ELSE d.inv_other_id END",
                "move_id": "d.inv_id",
                "move_name": "'PMINV/' || d.inv_id",
                "partner_id": "d.partner_id",
                "date": "d.inv_date",
                "invoice_date": "d.inv_date",
                "date_maturity": f"CASE WHEN t.id = {paid_receivable} THEN d.due_date "
                "ELSE t.date_maturity END",
                "full_reconcile_id": "NULL",
                "matching_number": "NULL",
            },
        )
        insert_copies(
            cr,
            "account_move",
            f"account_move t JOIN bench_doc d ON t.id = {self.payment_move.id}",
            {**move, "id": "d.pay_id", "name": "'PMPAY/' || d.pay_id", "date": "d.pay_date"},
        )
        insert_copies(
            cr,
            "account_move_line",
            f"account_move_line t JOIN bench_doc d ON t.move_id = {self.payment_move.id}",
            {
                "id": f"CASE WHEN t.id = {pay_receivable} THEN d.pay_receivable_id ELSE d.pay_other_id END",
                "move_id": "d.pay_id",
                "move_name": "'PMPAY/' || d.pay_id",
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
            f"account_partial_reconcile t JOIN bench_doc d ON t.id = {self.partial.id}",
            {
                "id": "nextval('account_partial_reconcile_id_seq')",
                "debit_move_id": "d.inv_receivable_id",
                "credit_move_id": "d.pay_receivable_id",
                "full_reconcile_id": "NULL",
                "max_date": "GREATEST(d.inv_date, d.pay_date)",
            },
        )

    def late_count(self):
        """How many of the seeded invoices were paid after their due date."""
        self.env.cr.execute(
            """
            SELECT COUNT(*) FILTER (WHERE part.max_date > line.date_maturity), COUNT(*)
              FROM account_partial_reconcile part
              JOIN account_move_line line ON line.id = part.debit_move_id
             WHERE line.partner_id = ANY(%s)
            """,
            [self.customer_ids],
        )
        return self.env.cr.fetchone()


# ------------------------------------------------------------
# Timing one training run in Odoo
# ------------------------------------------------------------


PHASES = ("rows (SQL)", "fit", "validation", "store")


def _rolled_back(env, run):
    """``run()``'s result and seconds, everything flushed, then rolled back."""
    cr = env.cr
    savepoint = cr.savepoint()
    try:
        env.invalidate_all()
        started = time.perf_counter()
        result = run()
        env.flush_all()
        return result, time.perf_counter() - started
    finally:
        savepoint.close(rollback=True)
        env.invalidate_all()


def train_once(env):
    """Train as the wizard does (``credit.payment.model.train.action_train``, default window,
    split and features), then the same steps one by one to time its phases. Both rolled back.

    Returns ``(wizard seconds, {phase: seconds}, (training, validation rows, AUC) of the wizard's
    model, (rows, training, validation rows, Newton steps) of the phases)``.
    """
    from odoo import Command

    Model = env["credit.payment.model"]
    company = env.company
    defaults = Model._training_defaults(company)
    window = {name: defaults[name] for name in ("date_from", "date_to", "split_date")}

    def wizard():
        action = env["credit.payment.model.train"].create(window).action_train()
        model = Model.browse(action["res_id"])
        return model.training_size, model.validation_size, model.validation_auc

    counts, wizard_seconds = _rolled_back(env, wizard)

    def phases():
        split = window["split_date"]
        features = env["credit.payment.feature"]._default_features()
        codes = features.sorted(lambda feature: (feature.sequence, feature.id)).mapped("code")
        seconds = {}
        started = time.perf_counter()
        rows = env["credit.payment.features"]._invoice_rows(
            company, window["date_from"], window["date_to"], 0
        )
        training = [row for row in rows if row["invoice_date"] < split and row["due_date"] < split]
        validation = [row for row in rows if row["invoice_date"] >= split]
        seconds["rows (SQL)"] = time.perf_counter() - started
        started = time.perf_counter()
        fitted = payment_model.fit_payment_model(
            [row["features"] for row in training],
            [row["late"] for row in training],
            features=codes,
            penalty=defaults["penalty"],
        )
        seconds["fit"] = time.perf_counter() - started
        started = time.perf_counter()
        checked = payment_model.validate_model(
            fitted, [row["features"] for row in validation], [row["late"] for row in validation]
        )
        seconds["validation"] = time.perf_counter() - started
        started = time.perf_counter()
        Model.create(
            {
                **window,
                "company_id": company.id,
                "late_beyond_days": 0,
                "penalty": defaults["penalty"],
                "feature_ids": [Command.set(features.ids)],
                **Model._prepare_fit_vals(fitted, checked),
            }
        )
        env.flush_all()
        seconds["store"] = time.perf_counter() - started
        return seconds, (len(rows), len(training), len(validation), fitted.iterations)

    (seconds, steps), _total = _rolled_back(env, phases)
    return wizard_seconds, seconds, counts, steps


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="10000,100000", help="paid invoices to train on (default: %(default)s)"
    )
    parser.add_argument(
        "--customers-per",
        type=int,
        default=20,
        help="invoices per customer (default: %(default)s: 5,000 customers for 100,000 invoices)",
    )
    parser.add_argument("--db", help="database name (default: a new scc_payment_model_bench_<time>)")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--core-only", action="store_true", help="only the pure-Python fit (no database)")
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))

    core = []
    for size in sizes:
        core.append((size, *core_timing(size)))
        print(f"core: {size:,} rows fitted in {core[-1][1]:.2f} s", flush=True)
    print_core(core)
    if args.core_only:
        return

    import odoo  # noqa: F401 - fail early when Odoo is not importable
    from odoo import SUPERUSER_ID, api

    dbname, registry = open_database(args.db, "scc_payment_model_bench")
    rows = []
    try:
        with registry.cursor() as cr:
            cr.execute("SET jit = off")  # the seeding statements gain nothing from JIT compilation
            env = api.Environment(cr, SUPERUSER_ID, {})
            seeder = PaidInvoiceSeeder(env, args.customers_per)
            cr.commit()
            for size in sizes:
                started = time.perf_counter()
                seeder.add_invoices(size - seeder.invoice_count)
                seeder.analyze()
                cr.commit()
                late, paid = seeder.late_count()
                print(
                    f"N={size:,}: {paid:,} paid invoices ({late / paid:.0%} late) of "
                    f"{len(seeder.customer_ids):,} customers "
                    f"(seeded in {time.perf_counter() - started:.1f} s)",
                    flush=True,
                )
                wizard, seconds, (training, validation, auc), steps = train_once(env)
                print(
                    f"  wizard: {wizard:.1f} s; {steps[0]:,} invoices with a known outcome in the window, "
                    f"{training:,} training rows (Newton steps: {steps[3]}), {validation:,} validation rows "
                    f"(AUC {auc:.3f})",
                    flush=True,
                )
                rows.append((size, steps[0], training, validation, seconds, wizard))
    finally:
        if not args.keep_db:
            drop_database(dbname)
    print_odoo(rows)


def print_odoo(rows):
    print()
    print("training in Odoo (one run per size, rolled back): the phases timed one by one, and the wizard")
    head = ("invoices", "in window", "training", "validation", *PHASES, "sum", "wizard s")
    print(" | ".join(f"{title:>10}" for title in head))
    print("-+-".join("-" * 10 for _title in head))
    for size, window, training, validation, seconds, wizard in rows:
        figures = [f"{count:>10,}" for count in (size, window, training, validation)]
        figures += [f"{seconds[phase]:>10.2f}" for phase in PHASES]
        figures += [f"{sum(seconds.values()):>10.2f}", f"{wizard:>10.2f}"]
        print(" | ".join(figures))
    if rows:
        size, window, training, validation, seconds, wizard = rows[-1]
        print(
            f"benchmark line: training a late-payment model on {size:,} paid invoices "
            f"({training:,} training, {validation:,} validation rows) takes {wizard:.1f} s through the "
            f"wizard (SQL rows {seconds['rows (SQL)']:.1f} s, fit {seconds['fit']:.1f} s, validation "
            f"{seconds['validation']:.1f} s, store {seconds['store']:.1f} s); target < {TARGET_SECONDS} s: "
            f"{'met' if wizard < TARGET_SECONDS else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
