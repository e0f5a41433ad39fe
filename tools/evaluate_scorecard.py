#!/usr/bin/env python3
"""Does the default scorecard predict who pays late?  (评估信用管理效果)

    python3 tools/evaluate_scorecard.py PATH/TO/ar_invoices_2012.csv [--as-of 2012-07-01]
                                        [-d DB] [--keep-db] [--dates 2012-05-01,...]

Loads the accounts-receivable history of the CSV (IBM's "Accounts Receivable" sample: 100
customers, 1,277 invoices issued in 2012, each with its due date and settlement date)
through the ORM into an Odoo database with the add-on installed:

- one customer (res.partner, a company) per customerID, its ID as reference and its
  country code as a partner tag ("AR country 391");
- one posted customer invoice per row: invoice date, due date (InvoiceDate + 30 days),
  one tax-free line of InvoiceAmount, the invoice number as payment reference;
- one payment per invoice dated SettledDate (some in 2013), registered with Odoo's
  payment wizard and so reconciled with the invoice.

It then rates every customer AS OF a date inside 2012 with the default scorecard (the same
``credit.rating.engine._rate_partners`` the batch wizard and the cron use: only invoices
and payments dated up to that day count) and compares the ratings with what happened next,
on the invoices issued AFTER that date:

- AUC of the score for lateness (DaysLate > 0): the probability that a late invoice's
  customer scored lower than an on-time invoice's customer (0.5 = chance, 1 = perfect);
- AUC of the baseline "customer's own past late share" (the amount-weighted share paid
  late up to the date, as the scorecard sees it; and the invoice-count share);
- the late share of the later invoices per grade.

Default date 2012-07-01: half a year of history for every customer (all 100 have paid
invoices by then, about 600 payments) and half a year of outcomes (662 invoices, 244 of
them late). Earlier dates leave customers with thin or no history; later ones leave fewer
outcomes. ``--dates`` repeats the AUC comparison for other dates to show it is not a
fluke of one date.

Without ``-d`` a throwaway database is created (add-on installed without demo data)
and dropped at the end (unless ``--keep-db``). The CSV is read from where it is; it is
never copied into the add-on.
"""

import argparse
import csv
import os
import sys
import time
from collections import defaultdict
from datetime import date, datetime

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from benchmark_rating import ADDON_NAME, drop_database, start_odoo  # noqa: E402

DEFAULT_AS_OF = "2012-07-01"
DEFAULT_DATES = "2012-05-01,2012-06-01,2012-07-01,2012-08-01,2012-09-01,2012-10-01"


def parse_date(text):
    return datetime.strptime(text, "%m/%d/%Y").date()


def read_invoices(path):
    """The CSV rows with parsed dates, amounts and outcomes."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    invoices = []
    for row in rows:
        invoices.append(
            {
                "customer": row["customerID"],
                "country": row["countryCode"],
                "number": row["invoiceNumber"],
                "invoice_date": parse_date(row["InvoiceDate"]),
                "due_date": parse_date(row["DueDate"]),
                "amount": float(row["InvoiceAmount"]),
                "settled_date": parse_date(row["SettledDate"]),
                "days_late": int(row["DaysLate"]),
            }
        )
    return invoices


# ------------------------------------------------------------
# Loading through the ORM
# ------------------------------------------------------------


def load(registry, invoices):
    """Customers, posted invoices and reconciled payments, committed.

    Returns ``{customer ID: partner id}``.
    """
    from odoo import SUPERUSER_ID, Command, api

    started = time.perf_counter()
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        countries = sorted({invoice["country"] for invoice in invoices})
        tags = {
            code: env["res.partner.category"].create({"name": f"AR country {code}"}) for code in countries
        }
        customers = {}
        for invoice in invoices:
            customers.setdefault(invoice["customer"], invoice["country"])
        partners = env["res.partner"].create(
            [
                {
                    "name": f"AR customer {customer}",
                    "ref": customer,
                    "is_company": True,
                    "category_id": [Command.set(tags[country].ids)],
                }
                for customer, country in sorted(customers.items())
            ]
        )
        by_customer = {partner.ref: partner.id for partner in partners}
        print(f"  {len(partners)} customers in {len(countries)} countries", flush=True)
        moves = env["account.move"].create(
            [
                {
                    "move_type": "out_invoice",
                    "partner_id": by_customer[invoice["customer"]],
                    "invoice_date": invoice["invoice_date"],
                    "invoice_date_due": invoice["due_date"],
                    "payment_reference": invoice["number"],
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "name": f"Invoice {invoice['number']}",
                                "quantity": 1,
                                "price_unit": invoice["amount"],
                                "tax_ids": [Command.clear()],
                            }
                        )
                    ],
                }
                for invoice in sorted(
                    invoices, key=lambda invoice: (invoice["invoice_date"], invoice["number"])
                )
            ]
        )
        moves.action_post()
        by_number = {move.payment_reference: move.id for move in moves}
        print(f"  {len(moves)} invoices posted ({time.perf_counter() - started:.0f} s)", flush=True)

    # One payment per invoice on its settlement date, through Odoo's payment wizard; a fresh
    # transaction every few dates (Odoo slows down as one transaction gathers environments).
    by_settled = defaultdict(list)
    for invoice in invoices:
        by_settled[invoice["settled_date"]].append(by_number[invoice["number"]])
    dates = sorted(by_settled)
    for chunk in range(0, len(dates), 20):
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            for settled_date in dates[chunk : chunk + 20]:
                move_ids = by_settled[settled_date]
                env["account.payment.register"].with_context(
                    active_model="account.move", active_ids=move_ids
                ).create({"payment_date": settled_date, "group_payment": False})._create_payments()
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        moves = env["account.move"].browse(list(by_number.values()))
        unpaid = moves.filtered(lambda move: move.payment_state not in ("paid", "in_payment"))
        print(
            f"  {len(moves) - len(unpaid)} invoices paid on {len(by_settled)} settlement dates "
            f"({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
        if unpaid:
            raise SystemExit(f"{len(unpaid)} invoices were not reconciled with their payment")
        check_lateness(
            invoices, {number: env["account.move"].browse(move_id) for number, move_id in by_number.items()}
        )
    return by_customer


def check_lateness(invoices, by_number):
    """The days late Odoo sees (partial reconciliation date - due date) must be the CSV's DaysLate."""
    mismatches = 0
    for invoice in invoices:
        move = by_number[invoice["number"]]
        receivable = move.line_ids.filtered(lambda line: line.account_type == "asset_receivable")
        partial = receivable.matched_credit_ids
        days = max(0, (max(partial.mapped("max_date")) - receivable.date_maturity).days)
        mismatches += days != invoice["days_late"]
    if mismatches:
        raise SystemExit(f"{mismatches} invoices have other days late in Odoo than in the CSV")


# ------------------------------------------------------------
# Evaluation
# ------------------------------------------------------------


def evaluate(env, invoices, by_customer, as_of):
    """Rate everyone as of ``as_of``; AUCs and late share per grade on the invoices issued after."""
    from odoo.addons.sale_credit_control.credit_policy.evaluation import auc, late_share_by_grade

    company = env.company
    partners = env["res.partner"].browse(list(by_customer.values()))
    ratings = env["credit.rating.engine"]._rate_partners(partners, company, as_of=as_of, trigger="batch")
    rating_of = {rating.partner_id.ref: rating for rating in ratings}
    facts = env["credit.rating.engine"]._customer_facts(partners.ids, company, as_of)
    amount_share = {partner.ref: facts[partner.id]["values"]["late_share"] for partner in partners}
    # the invoice-count share, straight from the CSV: invoices settled by as_of
    settled = defaultdict(lambda: [0, 0])
    for invoice in invoices:
        if invoice["settled_date"] <= as_of:
            settled[invoice["customer"]][0] += 1
            settled[invoice["customer"]][1] += invoice["days_late"] > 0
    count_share = {customer: late / count for customer, (count, late) in settled.items()}

    later = [invoice for invoice in invoices if invoice["invoice_date"] > as_of]
    is_late = [invoice["days_late"] > 0 for invoice in later]
    scores = [rating_of[invoice["customer"]].score for invoice in later]

    def baseline(shares):
        known = [share for share in shares.values() if share is not None]
        neutral = sum(known) / len(known)  # customers without history: the average
        return [
            shares.get(invoice["customer"]) if shares.get(invoice["customer"]) is not None else neutral
            for invoice in later
        ]

    result = {
        "as_of": as_of,
        "invoices": len(later),
        "late": sum(is_late),
        "scorecard": ratings[:1].scorecard_id.name,
        "auc_score": auc(scores, is_late, higher_is_riskier=False),
        "auc_amount_share": auc(baseline(amount_share), is_late),
        "auc_count_share": auc(baseline(count_share), is_late),
        "no_history": sum(1 for invoice in later if amount_share.get(invoice["customer"]) is None),
    }
    table = ratings[:1].scorecard_id._grade_table()
    result["by_grade"] = late_share_by_grade(
        (
            (rating_of[invoice["customer"]].grade_code, late)
            for invoice, late in zip(later, is_late, strict=True)
        ),
        grades=table.codes,
    )
    customers_by_grade = defaultdict(int)
    for rating in ratings:
        customers_by_grade[rating.grade_code] += 1
    result["customers_by_grade"] = customers_by_grade
    return result


def print_result(result):
    print()
    print(
        f"As of {result['as_of']} with the {result['scorecard']!r}: {result['invoices']} invoices "
        f"issued after, {result['late']} paid late ({result['late'] / result['invoices']:.0%})"
    )
    print()
    print(f"  {'ranking of the later invoices by':<52} | {'AUC':>5}")
    print(f"  {'-' * 52}-+-{'-' * 5}")
    print(f"  {'default scorecard score (lower = riskier)':<52} | {result['auc_score']:.3f}")
    print(f"  {'baseline: own past late share (amount-weighted)':<52} | {result['auc_amount_share']:.3f}")
    print(f"  {'baseline: own past late share (invoice count)':<52} | {result['auc_count_share']:.3f}")
    print()
    print(
        f"  {'grade':<5} | {'customers':>9} | {'later invoices':>14} | {'paid late':>9} | {'late share':>10}"
    )
    print(f"  {'-' * 5}-+-{'-' * 9}-+-{'-' * 14}-+-{'-' * 9}-+-{'-' * 10}")
    for grade, (count, late, share) in result["by_grade"].items():
        shown = "-" if share is None else f"{share:.0%}"
        customers = result["customers_by_grade"].get(grade, 0)
        print(f"  {grade:<5} | {customers:>9} | {count:>14} | {late:>9} | {shown:>10}")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("csv", help="path to ar_invoices_2012.csv")
    parser.add_argument("--as-of", default=DEFAULT_AS_OF, help="rating date (default: %(default)s)")
    parser.add_argument(
        "--dates", default=DEFAULT_DATES, help="other dates for the AUC comparison ('' for none)"
    )
    parser.add_argument("-d", "--db", help="database to load into (default: a new scc_evaluate_<time>)")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database at the end")
    args = parser.parse_args()
    invoices = read_invoices(args.csv)
    as_of = date.fromisoformat(args.as_of)
    print(
        f"{len(invoices)} invoices of {len({invoice['customer'] for invoice in invoices})} customers read "
        f"from {args.csv}",
        flush=True,
    )

    import odoo  # noqa: F401 - fail early when Odoo is not importable
    import odoo.service.db
    from odoo import SUPERUSER_ID, api

    dbname = args.db or f"scc_evaluate_{int(time.time())}"
    install = dbname not in odoo.service.db.list_dbs(force=True)
    registry = start_odoo(dbname, install)
    drop = not args.db and not args.keep_db
    try:
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            module = env["ir.module.module"].search([("name", "=", ADDON_NAME), ("state", "=", "installed")])
            if not module:
                raise SystemExit(f"{ADDON_NAME} is not installed in {dbname}")
        print(f"Loading through the ORM into {dbname}:", flush=True)
        by_customer = load(registry, invoices)
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            result = evaluate(env, invoices, by_customer, as_of)
            print_result(result)
            others = [date.fromisoformat(text) for text in args.dates.split(",") if text.strip()]
            if others:
                print()
                print(
                    f"  {'as of':<10} | {'later invoices':>14} | {'score AUC':>9} | {'late share AUC':>14} "
                    f"| {'count share AUC':>15}"
                )
                print(f"  {'-' * 10}-+-{'-' * 14}-+-{'-' * 9}-+-{'-' * 14}-+-{'-' * 15}")
                for other in sorted(others):
                    row = evaluate(env, invoices, by_customer, other)
                    print(
                        f"  {other.isoformat():<10} | {row['invoices']:>14} | {row['auc_score']:>9.3f} | "
                        f"{row['auc_amount_share']:>14.3f} | {row['auc_count_share']:>15.3f}"
                    )
                # leave the ratings as of the main date as the current ones
                evaluate(env, invoices, by_customer, as_of)
        if not drop:
            print(f"\nkept database {dbname}")
    finally:
        if drop:
            drop_database(dbname)


if __name__ == "__main__":
    main()
