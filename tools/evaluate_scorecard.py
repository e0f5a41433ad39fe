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

It also compares, per invoice, three rankings on a time split inside 2012 (``--split``,
default 2012-07-01): the invoices issued before that date train a late-payment model
(``credit_policy.payment_model``: L2-regularised logistic regression on the customer's
payment features), the invoices issued on or after it validate it. Every invoice is
described AS OF its own invoice date (only payments made before that day count), and
scored by:

- the customer's own past late share (amount-weighted, and by invoice count);
- the default scorecard, rating the customer as of the day before the invoice (the rating
  engine counts payments up to and including its date, so this is the same information);
- the fitted model.

It reports the AUC for "paid late" and for "paid more than N days late" (``--late-beyond``),
the Brier score where the ranking is a probability, the model's calibration by decile and
its coefficients. Training uses only the invoices whose outcome was known by the split
date (paid before it, or still unpaid after their due date); the others would leak
outcomes of the validation period. ``--no-odoo`` runs this comparison alone, in seconds,
without the scorecard (no database needed).

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
from datetime import date, datetime, timedelta

TOOLS_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS_DIR)
sys.path.insert(1, os.path.dirname(TOOLS_DIR))  # the pure-Python core, importable without Odoo

from benchmark_rating import ADDON_NAME, drop_database, start_odoo  # noqa: E402

from credit_policy import payment_model  # noqa: E402
from credit_policy.evaluation import auc  # noqa: E402

DEFAULT_AS_OF = "2012-07-01"
DEFAULT_SPLIT = "2012-07-01"
DEFAULT_PENALTY = 1.0
DEFAULT_LATE_BEYOND = 10
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


# ------------------------------------------------------------
# Per-invoice comparison on a time split: past late share, scorecard, fitted model
# ------------------------------------------------------------


def invoice_features(invoices):
    """``{invoice number: (Invoice, features as of its invoice date)}``, from the CSV alone.

    Each invoice's features come from its customer's invoices paid before its invoice date
    (:func:`credit_policy.payment_model.build_features`), its amount and its terms.
    """
    as_model = {
        invoice["number"]: payment_model.Invoice(
            invoice_date=invoice["invoice_date"],
            due_date=invoice["due_date"],
            amount=invoice["amount"],
            paid_date=invoice["settled_date"],
        )
        for invoice in invoices
    }
    history = defaultdict(list)
    for invoice in invoices:
        history[invoice["customer"]].append(as_model[invoice["number"]])
    result = {}
    for invoice in invoices:
        item = as_model[invoice["number"]]
        result[invoice["number"]] = (
            item,
            payment_model.build_features(
                history[invoice["customer"]], item.invoice_date, amount=item.amount, term_days=item.term_days
            ),
        )
    return result


def compare_models(
    invoices,
    split,
    *,
    penalty=DEFAULT_PENALTY,
    late_beyond=DEFAULT_LATE_BEYOND,
    features=payment_model.FEATURE_NAMES,
):
    """Fit the model on the invoices issued before ``split``, score those issued on or after.

    Training rows: invoices issued before ``split`` and due before it (due + ``late_beyond``
    days for the second label), so that every training outcome was known on ``split``
    (paid by then, or late already) and none is picked by its outcome: keeping the invoices
    "paid before ``split``" among those due after it would keep only the early payers.
    Models: ``late`` on ``features``, ``late_beyond`` (paid more than ``late_beyond`` days
    late) on ``features``, and ``no_count``: ``late`` without ``paid_count`` (every customer of
    the data set starts on 2012-01-01, so the count of paid invoices grows with the date: a
    validation invoice has three times the training count). Returns a dict for
    :func:`print_comparison`; the scorecard's scores are added by :func:`scorecard_per_invoice`
    when Odoo runs.
    """
    started = time.perf_counter()
    features = tuple(features)
    invoice_rows = invoice_features(invoices)
    before, after = payment_model.time_split(invoices, split)
    train, labels = {}, {}
    for name, beyond in (("late", 0), ("late_beyond", late_beyond)):
        rows = []
        for invoice in before:
            item = invoice_rows[invoice["number"]][0]
            if item.due_date + timedelta(days=beyond) < split:
                known = payment_model.label_late(item, beyond, as_of=split)
                assert known is not None and known == payment_model.is_late(item, beyond)
                rows.append((invoice_rows[invoice["number"]][1], known))
        train[name] = rows
        labels[name] = [
            payment_model.is_late(invoice_rows[invoice["number"]][0], beyond) for invoice in after
        ]

    def fit(label, names):
        return payment_model.fit_payment_model(
            [row for row, _late in train[label]],
            [late for _row, late in train[label]],
            features=names,
            penalty=penalty,
        )

    models = {
        "late": fit("late", features),
        "late_beyond": fit("late_beyond", features),
        "no_count": fit("late", tuple(name for name in features if name != "paid_count")),
    }
    valid_rows = [invoice_rows[invoice["number"]][1] for invoice in after]
    base = models["late"].base_late_rate

    def past_share(name):
        # customers without paid invoices yet: the training late rate (no information)
        return [base if row[name] is None else row[name] for row in valid_rows]

    probabilities = {
        "amount_share": past_share("late_share"),
        "count_share": past_share("late_count_share"),
        **{name: model.predict_proba(valid_rows) for name, model in models.items()},
    }
    return {
        "split": split,
        "penalty": penalty,
        "late_beyond": late_beyond,
        "before": before,
        "after": after,
        "train": train,
        "is_late": labels["late"],
        "is_late_beyond": labels["late_beyond"],
        "features": invoice_rows,
        "models": models,
        "probabilities": probabilities,
        "no_history": sum(1 for row in valid_rows if row["paid_count"] == 0),
        "scorecard": None,
        "seconds": time.perf_counter() - started,
    }


def scorecard_per_invoice(env, comparison, by_customer):
    """The default scorecard's score of every validation invoice's customer, rated as of the
    day before the invoice (read-only: the engine's facts and the policy core's ``score``;
    no rating is stored). Also checks that the engine's late share as of that day is the
    model's ``late_share`` feature as of the invoice date.
    """
    from odoo.addons.sale_credit_control.credit_policy.scoring import score

    started = time.perf_counter()
    engine = env["credit.rating.engine"]
    company = env.company
    scorecard = env["credit.scorecard"].sudo()._for_company(company)
    country_risks = engine._query_country_risks(list(by_customer.values()), company)
    by_day = defaultdict(list)
    for invoice in comparison["after"]:
        by_day[invoice["invoice_date"]].append(invoice)
    scores, mismatches = {}, 0
    for day, items in sorted(by_day.items()):
        as_of = day - timedelta(days=1)
        partner_ids = sorted({by_customer[invoice["customer"]] for invoice in items})
        facts = engine._customer_facts(partner_ids, company, as_of, country_risks=country_risks)
        card = scorecard._to_policy(company, as_of)
        for invoice in items:
            values = facts[by_customer[invoice["customer"]]]["values"]
            scores[invoice["number"]] = score(card, values).score
            ours = comparison["features"][invoice["number"]][1]["late_share"]
            theirs = values["late_share"]
            if (ours is None) != (theirs is None) or (ours is not None and abs(ours - theirs) > 1e-9):
                mismatches += 1
    comparison["scorecard"] = {
        "name": scorecard.name,
        "scores": [scores[invoice["number"]] for invoice in comparison["after"]],
        "dates": len(by_day),
        "late_share_mismatches": mismatches,
        "seconds": time.perf_counter() - started,
    }
    return comparison


def _fmt(value, width, digits=3):
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.{digits}f}"


def print_comparison(comparison):
    split = comparison["split"]
    before, after = comparison["before"], comparison["after"]
    is_late, is_beyond = comparison["is_late"], comparison["is_late_beyond"]
    beyond = comparison["late_beyond"]
    models = comparison["models"]
    model = models["late"]
    train = comparison["train"]["late"]
    train_beyond = comparison["train"]["late_beyond"]
    print()
    print(f"Per-invoice comparison, time split at {split}: every invoice described as of its invoice date")
    print(
        f"  train:    invoices issued {min(i['invoice_date'] for i in before)} .. "
        f"{max(i['invoice_date'] for i in before)} (before {split}): {len(before)}; those also due "
        f"before {split}: {len(train)}, {sum(late for _r, late in train)} paid late "
        f"({len(train_beyond)} due {beyond} days before it: {sum(late for _r, late in train_beyond)} "
        f"paid more than {beyond} days late)"
    )
    print(
        f"  validate: invoices issued {min(i['invoice_date'] for i in after)} .. "
        f"{max(i['invoice_date'] for i in after)} (on or after {split}): {len(after)}, "
        f"{sum(is_late)} paid late ({sum(is_late) / len(after):.0%}), {sum(is_beyond)} more than "
        f"{beyond} days late; {comparison['no_history']} of them for a customer without a paid invoice yet"
    )
    steps = ", ".join(
        f"{name} {m.iterations}{'' if m.converged else ' NOT converged'}" for name, m in models.items()
    )
    print(
        f"  models: L2 logistic regression (credit_policy.payment_model), penalty {comparison['penalty']:g}; "
        f"Newton steps: {steps}; features, fits and predictions in {comparison['seconds']:.1f} s"
    )
    probabilities = comparison["probabilities"]
    rows = [
        ("customer's past late share (amount-weighted)", probabilities["amount_share"], True, True),
        ("customer's past late share (invoice count)", probabilities["count_share"], True, True),
    ]
    card = comparison["scorecard"]
    if card:
        rows.append((f"{card['name']} score (lower = riskier)", card["scores"], False, False))
    else:
        rows.append(("default scorecard: needs Odoo (run without --no-odoo)", None, False, False))
    rows.append(("fitted model, all features", probabilities["late"], True, True))
    rows.append(("fitted model without paid_count", probabilities["no_count"], True, True))
    print()
    print(
        f"  {'ranking of the validation invoices by':<54} | {'AUC late':>8} | {'Brier':>6} | "
        f"{f'AUC >{beyond}d late':>14}"
    )
    print(f"  {'-' * 54}-+-{'-' * 8}-+-{'-' * 6}-+-{'-' * 14}")
    for label, scores, riskier, is_probability in rows:
        if scores is None:
            print(f"  {label:<54} | {'-':>8} | {'-':>6} | {'-':>14}")
            continue
        area = auc(scores, is_late, higher_is_riskier=riskier)
        brier = payment_model.brier_score(scores, is_late) if is_probability else None
        area_beyond = auc(scores, is_beyond, higher_is_riskier=riskier)
        print(f"  {label:<54} | {_fmt(area, 8)} | {_fmt(brier, 6)} | {_fmt(area_beyond, 14)}")
    beyond_model = probabilities["late_beyond"]
    print(
        f"  {f'fitted model for >{beyond}d late, all features':<54} | {'-':>8} | {'-':>6} | "
        f"{_fmt(auc(beyond_model, is_beyond), 14)}"
    )
    base = model.base_late_rate
    print(
        f"  {f'(reference: everyone at the training late rate {base:.0%})':<54} | {0.5:>8.3f} | "
        f"{_fmt(payment_model.brier_score([base] * len(after), is_late), 6)} | {0.5:>14.3f}"
    )
    print(
        f"  Brier of the >{beyond}d model for >{beyond}d late: "
        f"{payment_model.brier_score(beyond_model, is_beyond):.3f} (everyone at its training rate: "
        f"{payment_model.brier_score([models['late_beyond'].base_late_rate] * len(after), is_beyond):.3f})"
    )
    if card:
        check = card["late_share_mismatches"]
        print(
            f"  scorecard: rated as of the day before each invoice ({card['dates']} dates, "
            f"{card['seconds']:.1f} s); the engine's late share then "
            f"{'equals' if not check else 'DIFFERS from'} the model's late_share feature"
            f"{'' if not check else f' for {check} invoices'}"
        )
    print()
    print("  calibration of the fitted model (all features) on the validation invoices, by decile")
    print(f"  {'decile':>6} | {'invoices':>8} | {'predicted':>9} | {'observed':>8} | {'range':>15}")
    print(f"  {'-' * 6}-+-{'-' * 8}-+-{'-' * 9}-+-{'-' * 8}-+-{'-' * 15}")
    for line in payment_model.calibration_table(probabilities["late"], is_late):
        print(
            f"  {line.index + 1:>6} | {line.count:>8} | {line.predicted_mean:>9.1%} | "
            f"{line.observed_share:>8.1%} | {line.lowest:>6.1%}..{line.highest:>6.1%}"
        )
    print()
    print("  its coefficients (log odds per standard deviation of the training rows; 0 = constant there)")
    print(f"  {'column':<28} | {'mean':>9} | {'std':>9} | {'coefficient':>11}")
    print(f"  {'-' * 28}-+-{'-' * 9}-+-{'-' * 9}-+-{'-' * 11}")
    for column, mean, std, coefficient in zip(
        model.columns, model.means, model.stds, model.coefficients, strict=True
    ):
        print(f"  {column:<28} | {mean:>9.3f} | {std:>9.3f} | {coefficient:>+11.3f}")
    print(f"  {'(intercept)':<28} | {'':>9} | {'':>9} | {model.intercept:>+11.3f}")


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
    parser.add_argument(
        "--split",
        default=DEFAULT_SPLIT,
        help="train/validation date of the model comparison (default: %(default)s)",
    )
    parser.add_argument(
        "--penalty",
        type=float,
        default=DEFAULT_PENALTY,
        help="L2 penalty of the model (default: %(default)s)",
    )
    parser.add_argument(
        "--late-beyond",
        type=int,
        default=DEFAULT_LATE_BEYOND,
        help="second label: paid more than this many days late (default: %(default)s)",
    )
    parser.add_argument(
        "--no-odoo",
        action="store_true",
        help="only the model comparison, without the scorecard (no database)",
    )
    args = parser.parse_args()
    invoices = read_invoices(args.csv)
    as_of = date.fromisoformat(args.as_of)
    print(
        f"{len(invoices)} invoices of {len({invoice['customer'] for invoice in invoices})} customers read "
        f"from {args.csv}",
        flush=True,
    )
    comparison = compare_models(
        invoices, date.fromisoformat(args.split), penalty=args.penalty, late_beyond=args.late_beyond
    )
    if args.no_odoo:
        print_comparison(comparison)
        return

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
            print_comparison(scorecard_per_invoice(env, comparison, by_customer))
        if not drop:
            print(f"\nkept database {dbname}")
    finally:
        if drop:
            drop_database(dbname)


if __name__ == "__main__":
    main()
