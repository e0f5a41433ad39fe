#!/usr/bin/env python3
"""Does the default scorecard predict who pays late, and does the late-payment model do better?
(评估信用管理效果)

    python3 tools/evaluate_scorecard.py PATH/TO/ar_invoices_2012.csv [--as-of 2012-07-01]
                                        [--split 2012-07-01] [--penalty 1] [--late-beyond 10]
                                        [-d DB] [--keep-db] [--dates 2012-05-01,...] [--no-odoo]

Loads the accounts-receivable history of the CSV (IBM's "Accounts Receivable" sample: 100
customers, 1,277 invoices issued in 2012, each with its due date and settlement date)
through the ORM into an Odoo database with the add-on installed:

- one customer (res.partner, a company) per customerID, its ID as reference and its
  country code as a partner tag ("AR country 391");
- one posted customer invoice per row: invoice date, due date (InvoiceDate + 30 days),
  one tax-free line of InvoiceAmount, the invoice number as payment reference, and how it
  was sent (``credit_invoice_delivery``: electronic or paper, from PaperlessBill);
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

Then the comparison with the late-payment model (issue 11), on a time split inside 2012
(``--split``, default 2012-07-01): the invoices issued before it and due before it train
the model (``credit_policy.payment_model``: L2-regularised logistic regression; every
training outcome was known on the split date), the invoices issued on or after it are
ranked, each at two levels:

- *invoice level*: every invoice described AS OF its own invoice date (only payments made
  before that day count; its amount against the customer's average, its terms, how it was
  sent) -- what the model would have said when it was issued; the scorecard rates the
  customer as of the day before the invoice (the rating engine counts payments up to and
  including its date, so this is the same information);
- *customer level*: every customer ranked once as of the split date (the model: a typical
  next invoice of the customer, ``customer_row``; the scorecard: its score as of the day
  before), that rank given to all its later invoices -- as a rating is used.

Rankings: the customer's own past late share (amount-weighted, and by invoice count), the
default scorecard, the model on the core's ``DEFAULT_FEATURES`` and (for transparency) on
all the features, fitted on the CSV, and with Odoo the model trained INSIDE Odoo by the
add-on's training wizard (``credit.payment.model.train``: SQL training rows from
``credit.payment.features``) and scored by the add-on (``_predict_invoices_at_invoice_date``,
``_predict_customers``). The table gives the AUC for "paid late" at both levels and the
Brier score where the ranking is a probability; then the model's calibration by decile and
its coefficients (next to those of the model trained in Odoo). The tool checks that the
add-on's SQL features of every invoice and customer, and its training rows and labels,
equal those computed from the CSV, and that the rating engine's late share equals the
model's. ``--late-beyond`` adds a model for "paid more than N days late". ``--no-odoo``
runs the comparison alone, in seconds, without the scorecard and the Odoo model (no
database needed).

Without ``-d`` a throwaway database is created (add-on installed without demo data)
and dropped at the end (unless ``--keep-db``). With ``-d`` naming a database where an
earlier run loaded the CSV, it is not loaded again. The CSV is read from where it is; it
is never copied into the add-on.
"""

import argparse
import csv
import os
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

TOOLS_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS_DIR)
sys.path.insert(1, os.path.dirname(TOOLS_DIR))  # the pure-Python core, importable without Odoo

from benchmark_rating import ADDON_NAME, drop_database, open_database  # noqa: E402

from credit_policy import payment_model  # noqa: E402
from credit_policy.evaluation import auc  # noqa: E402

DEFAULT_AS_OF = "2012-07-01"
DEFAULT_SPLIT = "2012-07-01"
DEFAULT_PENALTY = 1.0
DEFAULT_LATE_BEYOND = 10
DEFAULT_DATES = "2012-05-01,2012-06-01,2012-07-01,2012-08-01,2012-09-01,2012-10-01"
# PaperlessBill of the CSV -> account.move credit_invoice_delivery (False: unknown)
DELIVERY = {True: "electronic", False: "paper", None: False}


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
                # how this invoice was sent; unknown when the column is absent or empty
                "electronic": {"Electronic": True, "Paper": False}.get(row.get("PaperlessBill")),
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
                    "credit_invoice_delivery": DELIVERY[invoice["electronic"]],
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


def loaded_customers(registry, invoices):
    """``{customer ID: partner id}`` when an earlier run loaded the CSV into this database
    (``--keep-db``), else ``{}``."""
    from odoo import SUPERUSER_ID, api

    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        customers = {invoice["customer"] for invoice in invoices}
        partners = env["res.partner"].search(
            [("ref", "in", sorted(customers)), ("name", "=like", "AR customer %")]
        )
        invoice_count = env["account.move"].search_count(
            [("move_type", "=", "out_invoice"), ("partner_id", "in", partners.ids)]
        )
        if len(partners) != len(customers) or invoice_count != len(invoices):
            if partners:
                raise SystemExit("the database holds part of the CSV: use another one")
            return {}
        return {partner.ref: partner.id for partner in partners}


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
# Comparison on a time split: past late share, scorecard, fitted model; invoice and customer level
# ------------------------------------------------------------


def _as_invoice(invoice):
    return payment_model.Invoice(
        invoice_date=invoice["invoice_date"],
        due_date=invoice["due_date"],
        amount=invoice["amount"],
        paid_date=invoice["settled_date"],
    )


def _electronic(invoice):
    """The core's ``electronic`` feature of a CSV invoice: 1.0, 0.0, or None when unknown."""
    return None if invoice["electronic"] is None else float(invoice["electronic"])


def invoice_features(invoices):
    """``{invoice number: (Invoice, features as of its invoice date)}``, from the CSV alone.

    Each invoice's features come from its customer's invoices paid before its invoice date
    (:func:`credit_policy.payment_model.build_features`), its amount, its terms and how it
    was sent (``PaperlessBill``).
    """
    as_model = {invoice["number"]: _as_invoice(invoice) for invoice in invoices}
    history = defaultdict(list)
    for invoice in invoices:
        history[invoice["customer"]].append(as_model[invoice["number"]])
    result = {}
    for invoice in invoices:
        item = as_model[invoice["number"]]
        features = payment_model.build_features(
            history[invoice["customer"]],
            item.invoice_date,
            amount=item.amount,
            term_days=item.term_days,
            electronic=_electronic(invoice),
        )
        result[invoice["number"]] = (item, features)
    return result


def customer_features(invoices, as_of):
    """``{customer: features of a typical next invoice as of as_of}`` (payments before ``as_of``).

    The row the model scores a customer on, as the add-on's ``_predict_customers`` builds it
    (:func:`credit_policy.payment_model.customer_row`): the customer's behaviour, its usual
    amount (``amount_ratio`` 1), no terms or delivery (unknown: the model's training means).
    """
    history = defaultdict(list)
    for invoice in invoices:
        history[invoice["customer"]].append(_as_invoice(invoice))
    return {
        customer: payment_model.customer_row(payment_model.build_features(items, as_of))
        for customer, items in history.items()
    }


@dataclass
class Ranking:
    """One way of ranking the validation invoices: a score per invoice as of its invoice date
    (``invoice``) and/or the score of its customer as of the split date (``customer``)."""

    label: str
    invoice: list | None
    customer: list | None = None
    higher_is_riskier: bool = True
    is_probability: bool = True
    note: str = ""


def training_rows(invoices, invoice_rows, split, beyond):
    """``[(features, late)]`` of the invoices issued before ``split`` and due (+ ``beyond`` days)
    before it: every outcome known on ``split`` (paid by then, or late already), none picked by
    its outcome (keeping only the invoices paid before ``split`` among those due after it would
    keep only the early payers)."""
    rows = []
    for invoice in invoices:
        item, features = invoice_rows[invoice["number"]]
        if item.invoice_date < split and item.due_date + timedelta(days=beyond) < split:
            known = payment_model.label_late(item, beyond, as_of=split)
            assert known is not None and known == payment_model.is_late(item, beyond)
            rows.append((features, known))
    return rows


def compare_models(invoices, split, *, penalty=DEFAULT_PENALTY, late_beyond=DEFAULT_LATE_BEYOND):
    """Fit the models on the invoices issued before ``split``, rank those issued on or after.

    Models (L2 logistic regression of the core): ``default`` on the core's
    ``DEFAULT_FEATURES``, ``all`` on every feature (for transparency: ``late_share_trend`` and
    ``paid_count`` shift with the calendar on this data set) and ``late_beyond`` (paid more
    than ``late_beyond`` days late) on the default features. Each validation invoice is ranked
    at invoice level (its own features as of its invoice date) and at customer level (its
    customer's typical next invoice as of ``split``, as the scorecard rates a customer once).
    Returns a dict for :func:`print_comparison`; the scorecard and the model trained in Odoo
    are added by :func:`scorecard_rankings` and :func:`odoo_model_rankings`.
    """
    started = time.perf_counter()
    invoice_rows = invoice_features(invoices)
    before, after = payment_model.time_split(invoices, split)
    train = {"late": training_rows(invoices, invoice_rows, split, 0)}
    train["late_beyond"] = training_rows(invoices, invoice_rows, split, late_beyond)

    def fit(label, names):
        return payment_model.fit_payment_model(
            [row for row, _late in train[label]],
            [late for _row, late in train[label]],
            features=names,
            penalty=penalty,
        )

    models = {
        "default": fit("late", payment_model.DEFAULT_FEATURES),
        "all": fit("late", payment_model.FEATURE_NAMES),
        "late_beyond": fit("late_beyond", payment_model.DEFAULT_FEATURES),
    }
    valid_rows = [invoice_rows[invoice["number"]][1] for invoice in after]
    by_customer = customer_features(invoices, split)
    customer_rows = [by_customer[invoice["customer"]] for invoice in after]
    base = models["default"].base_late_rate

    def past_share(rows, name):
        # customers without paid invoices yet: the training late rate (no information)
        return [base if row[name] is None else row[name] for row in rows]

    rankings = [
        Ranking(
            "customer's past late share (amount-weighted)",
            past_share(valid_rows, "late_share"),
            past_share(customer_rows, "late_share"),
        ),
        Ranking(
            "customer's past late share (invoice count)",
            past_share(valid_rows, "late_count_share"),
            past_share(customer_rows, "late_count_share"),
        ),
    ]
    for key, label in (("default", "model, DEFAULT_FEATURES (CSV)"), ("all", "model, all features (CSV)")):
        rankings.append(
            Ranking(label, models[key].predict_proba(valid_rows), models[key].predict_proba(customer_rows))
        )
    return {
        "split": split,
        "penalty": penalty,
        "late_beyond": late_beyond,
        "before": before,
        "after": after,
        "train": train,
        "is_late": [payment_model.is_late(invoice_rows[invoice["number"]][0]) for invoice in after],
        "is_late_beyond": [
            payment_model.is_late(invoice_rows[invoice["number"]][0], late_beyond) for invoice in after
        ],
        "features": invoice_rows,
        "customer_features": by_customer,
        "models": models,
        "rankings": rankings,
        "beyond_probabilities": models["late_beyond"].predict_proba(valid_rows),
        "no_history": sum(1 for row in valid_rows if row["late_share"] is None),
        "notes": [],
        "odoo_model": None,
        "seconds": time.perf_counter() - started,
    }


def _same(ours, theirs):
    if ours is None or theirs is None:
        return ours is None and theirs is None
    return abs(ours - theirs) <= 1e-6 * max(1.0, abs(ours))


def scorecard_rankings(env, comparison, by_customer):
    """Add the default scorecard's ranking (read-only: the engine's facts and the policy core's
    ``score``; no rating is stored): at invoice level the customer rated as of the day before
    each invoice, at customer level as of the day before the split (the engine counts payments
    up to and including its date: the same information as the model's features). Also checks
    that the engine's late share then is the model's ``late_share`` feature.
    """
    from odoo.addons.sale_credit_control.credit_policy.scoring import score

    started = time.perf_counter()
    engine = env["credit.rating.engine"]
    company = env.company
    scorecard = env["credit.scorecard"].sudo()._for_company(company)
    country_risks = engine._query_country_risks(list(by_customer.values()), company)

    def scores_as_of(as_of, customers):
        partner_ids = sorted({by_customer[customer] for customer in customers})
        facts = engine._customer_facts(partner_ids, company, as_of, country_risks=country_risks)
        card = scorecard._to_policy(company, as_of)
        return {
            customer: (
                score(card, facts[by_customer[customer]]["values"]).score,
                facts[by_customer[customer]]["values"]["late_share"],
            )
            for customer in customers
        }

    by_day = defaultdict(list)
    for invoice in comparison["after"]:
        by_day[invoice["invoice_date"]].append(invoice)
    invoice_scores, mismatches = {}, 0
    for day, items in sorted(by_day.items()):
        rated = scores_as_of(day - timedelta(days=1), {invoice["customer"] for invoice in items})
        for invoice in items:
            invoice_scores[invoice["number"]], theirs = rated[invoice["customer"]]
            mismatches += not _same(comparison["features"][invoice["number"]][1]["late_share"], theirs)
    split = comparison["split"]
    at_split = scores_as_of(split - timedelta(days=1), set(by_customer))
    for customer, (_score, theirs) in at_split.items():
        mismatches += not _same(comparison["customer_features"][customer]["late_share"], theirs)
    after = comparison["after"]
    comparison["rankings"].insert(
        2,
        Ranking(
            f"{scorecard.name} score (lower = riskier)",
            [invoice_scores[invoice["number"]] for invoice in after],
            [at_split[invoice["customer"]][0] for invoice in after],
            higher_is_riskier=False,
            is_probability=False,
        ),
    )
    comparison["notes"].append(
        f"scorecard: rated as of the day before each invoice ({len(by_day)} dates) and as of "
        f"{split - timedelta(days=1)} ({time.perf_counter() - started:.1f} s); the engine's late share "
        + (
            "equals the model's late_share feature everywhere"
            if not mismatches
            else f"DIFFERS {mismatches} times"
        )
    )
    return comparison


def _fmt(value, width, digits=3):
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.{digits}f}"


def ranking_figures(ranking, is_late):
    """``(AUC invoice level, AUC customer level, Brier invoice level, Brier customer level)``."""
    figures = []
    for scores in (ranking.invoice, ranking.customer):
        figures.append(
            None if scores is None else auc(scores, is_late, higher_is_riskier=ranking.higher_is_riskier)
        )
    for scores in (ranking.invoice, ranking.customer):
        figures.append(
            payment_model.brier_score(scores, is_late)
            if scores is not None and ranking.is_probability
            else None
        )
    return figures


def print_comparison(comparison):
    split = comparison["split"]
    before, after = comparison["before"], comparison["after"]
    is_late, is_beyond = comparison["is_late"], comparison["is_late_beyond"]
    beyond = comparison["late_beyond"]
    models = comparison["models"]
    model = models["default"]
    train = comparison["train"]["late"]
    train_beyond = comparison["train"]["late_beyond"]
    print()
    print(f"Comparison on a time split at {split}")
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
        f"DEFAULT_FEATURES = {', '.join(payment_model.DEFAULT_FEATURES)}; Newton steps: {steps}; "
        f"features, fits and predictions in {comparison['seconds']:.1f} s"
    )
    print(
        "  invoice level: each invoice ranked as of its own invoice date; customer level: each customer "
        f"ranked once as of {split} (payments before it), that rank given to all its later invoices"
    )
    print()
    head = ("AUC invoice", "AUC customer", "Brier invoice", "Brier customer")
    print(f"  {'ranking of the later invoices (paid late?)':<52} | " + " | ".join(head))
    print(f"  {'-' * 52}-+-" + "-+-".join("-" * len(title) for title in head))
    rankings = comparison["rankings"]
    if not any(not ranking.is_probability for ranking in rankings):
        rankings = [
            *rankings[:2],
            Ranking("default scorecard: needs Odoo (without --no-odoo)", None),
            *rankings[2:],
        ]
    for ranking in rankings:
        figures = ranking_figures(ranking, is_late)
        print(
            f"  {ranking.label:<52} | "
            + " | ".join(_fmt(figure, len(title)) for figure, title in zip(figures, head, strict=True))
        )
    base = model.base_late_rate
    reference = payment_model.brier_score([base] * len(after), is_late)
    print(
        f"  {f'(everyone at the training late rate {base:.0%})':<52} | {0.5:>11.3f} | {0.5:>12.3f} | "
        f"{reference:>13.3f} | {reference:>14.3f}"
    )
    beyond_model = comparison["beyond_probabilities"]
    print(
        f"  model for >{beyond}d late (DEFAULT_FEATURES, CSV) on the >{beyond}d label: AUC invoice "
        f"{auc(beyond_model, is_beyond):.3f}, Brier {payment_model.brier_score(beyond_model, is_beyond):.3f} "
        f"(everyone at its training rate: "
        f"{payment_model.brier_score([models['late_beyond'].base_late_rate] * len(after), is_beyond):.3f})"
    )
    for note in comparison["notes"]:
        print(f"  {note}")
    print_calibration("model, DEFAULT_FEATURES (CSV)", rankings, is_late)
    if comparison["odoo_model"]:
        label = comparison["odoo_model"]["label"]
        ours = next(ranking for ranking in rankings if ranking.label == "model, DEFAULT_FEATURES (CSV)")
        theirs = next(ranking for ranking in rankings if ranking.label == label)
        if all(abs(a - b) <= 1e-9 for a, b in zip(ours.invoice, theirs.invoice, strict=True)):
            print(f"  the {label}: the same table (its predictions equal the CSV model's within 1e-9)")
        else:
            print_calibration(label, rankings, is_late)
    print_coefficients(model, comparison["odoo_model"])


def print_calibration(label, rankings, is_late):
    ranking = next(ranking for ranking in rankings if ranking.label == label)
    print()
    print(f"  calibration of the {label} on the later invoices (invoice level), by decile")
    print(f"  {'decile':>6} | {'invoices':>8} | {'predicted':>9} | {'observed':>8} | {'range':>15}")
    print(f"  {'-' * 6}-+-{'-' * 8}-+-{'-' * 9}-+-{'-' * 8}-+-{'-' * 15}")
    for line in payment_model.calibration_table(ranking.invoice, is_late):
        print(
            f"  {line.index + 1:>6} | {line.count:>8} | {line.predicted_mean:>9.1%} | "
            f"{line.observed_share:>8.1%} | {line.lowest:>6.1%}..{line.highest:>6.1%}"
        )


def print_coefficients(model, odoo_model):
    print()
    print(
        "  coefficients of the model, DEFAULT_FEATURES (log odds per standard deviation of the training "
        "rows; 0 = constant there)"
    )
    other = odoo_model["model"] if odoo_model else None
    theirs = dict(zip(other.columns, other.coefficients, strict=True)) if other else {}
    extra = f" | {'trained in Odoo':>15}" if other else ""
    print(f"  {'column':<28} | {'mean':>9} | {'std':>9} | {'coefficient':>11}{extra}")
    print(f"  {'-' * 28}-+-{'-' * 9}-+-{'-' * 9}-+-{'-' * 11}{'-+-' + '-' * 15 if other else ''}")
    for column, mean, std, coefficient in zip(
        model.columns, model.means, model.stds, model.coefficients, strict=True
    ):
        shown = f" | {theirs[column]:>+15.3f}" if column in theirs else f" | {'-':>15}" if other else ""
        print(f"  {column:<28} | {mean:>9.3f} | {std:>9.3f} | {coefficient:>+11.3f}{shown}")
    shown = f" | {other.intercept:>+15.3f}" if other else ""
    print(f"  {'(intercept)':<28} | {'':>9} | {'':>9} | {model.intercept:>+11.3f}{shown}")


# ------------------------------------------------------------
# The model trained inside Odoo
# ------------------------------------------------------------

FEATURE_TOLERANCE = 1e-6


def moves_by_number(env, by_customer):
    """``{invoice number: account.move}`` of the loaded invoices."""
    moves = env["account.move"].search(
        [("move_type", "=", "out_invoice"), ("partner_id", "in", list(by_customer.values()))]
    )
    return {move.payment_reference: move for move in moves}


def _float(value):
    return None if value is None else float(value)


def feature_differences(ours, theirs, names):
    """The names of ``names`` whose values differ between two feature dicts."""
    different = []
    for name in names:
        mine, other = _float(ours.get(name)), _float(theirs.get(name))
        if (mine is None) != (other is None) or (
            mine is not None and abs(mine - other) > FEATURE_TOLERANCE * max(1.0, abs(mine))
        ):
            different.append(name)
    return different


def check_features(label, pairs, names):
    """One line: how many of ``pairs`` (``(key, ours, theirs)``) have equal features, and the
    first differences."""
    mismatches = [(key, feature_differences(ours, theirs, names)) for key, ours, theirs in pairs]
    mismatches = [(key, names) for key, names in mismatches if names]
    if not mismatches:
        return f"{label}: the features of all {len(pairs)} equal the CSV-computed ones"
    shown = "; ".join(f"{key}: {', '.join(names)}" for key, names in mismatches[:5])
    return f"{label}: {len(mismatches)} of {len(pairs)} DIFFER from the CSV-computed features ({shown} ...)"


def check_odoo_features(env, comparison, by_customer, by_number):
    """Compare the add-on's SQL features (``credit.payment.features``) with the CSV-computed
    ones: every invoice as of its invoice date, every customer as of the day before the split."""
    started = time.perf_counter()
    features = env["credit.payment.features"]
    moves = env["account.move"].browse([move.id for move in by_number.values()])
    theirs = features._invoice_features(moves)
    names = payment_model.FEATURE_NAMES
    invoice_pairs = [
        (number, comparison["features"][number][1], theirs[move.id]) for number, move in by_number.items()
    ]
    split = comparison["split"]
    customers = features._customer_features(
        list(by_customer.values()), env.company, split - timedelta(days=1)
    )
    # the customer targets carry no invoice figures: compare the behaviour figures only
    behaviour = tuple(name for name in names if name not in ("amount_ratio", "term_days", "electronic"))
    customer_pairs = [
        (customer, comparison["customer_features"][customer], customers[partner_id])
        for customer, partner_id in by_customer.items()
    ]
    comparison["notes"].append(
        check_features("credit.payment.features, invoices as of their invoice date", invoice_pairs, names)
    )
    comparison["notes"].append(
        check_features(
            f"credit.payment.features, customers as of {split - timedelta(days=1)} (behaviour figures)",
            customer_pairs,
            behaviour,
        )
        + f" ({time.perf_counter() - started:.1f} s)"
    )


def check_training_rows(comparison, rows, number_of):
    """Compare the training rows the add-on built with the CSV tool's: the same invoices, labels
    and features. Returns a note."""
    ours = {}
    for invoice in comparison["before"]:
        item, features = comparison["features"][invoice["number"]]
        ours[invoice["number"]] = (features, payment_model.is_late(item))
    pairs, wrong_labels, unknown = [], 0, 0
    for row in rows:
        number = number_of.get(row["move_id"])
        if number not in ours:
            unknown += 1
            continue
        features, late = ours[number]
        pairs.append((number, features, row["features"]))
        wrong_labels += bool(row["late"]) != late
    csv_rows = len(comparison["train"]["late"])
    note = check_features(
        f"Odoo training rows ({len(rows)}; the CSV tool trains on {csv_rows})",
        pairs,
        payment_model.FEATURE_NAMES,
    )
    if wrong_labels or unknown:
        note += f"; {wrong_labels} labels differ, {unknown} rows are not CSV invoices issued before the split"
    else:
        note += "; the labels too"
    return note


def odoo_wizard_model(env, comparison, by_customer, by_number):
    """Train a ``credit.payment.model`` with the add-on's training wizard on the loaded invoices
    (window: the CSV's invoice dates, split and penalty of the comparison, the default features),
    check its training rows against the CSV's and add its rankings: invoice level
    (``_predict_invoices_at_invoice_date``), customer level (``_predict_customers`` with the
    payments up to the day before the split)."""
    started = time.perf_counter()
    split = comparison["split"]
    invoices = comparison["before"] + comparison["after"]
    date_from = min(invoice["invoice_date"] for invoice in invoices)
    date_to = max(invoice["invoice_date"] for invoice in invoices)
    wizard = env["credit.payment.model.train"].create(
        {
            "date_from": date_from,
            "date_to": date_to,
            "split_date": split,
            "late_beyond_days": 0,
            "penalty": comparison["penalty"],
        }
    )
    record = env["credit.payment.model"].browse(wizard.action_train()["res_id"])
    trained = time.perf_counter() - started
    # the rows the model was trained on, as _train_model selects them
    rows = env["credit.payment.features"]._invoice_rows(env.company, date_from, date_to, 0)
    rows = [row for row in rows if row["invoice_date"] < split and row["due_date"] < split]
    number_of = {move.id: number for number, move in by_number.items()}
    comparison["notes"].append(check_training_rows(comparison, rows, number_of))
    after = comparison["after"]
    moves = env["account.move"].browse([by_number[invoice["number"]].id for invoice in after])
    at_invoice_date = record._predict_invoices_at_invoice_date(moves)
    customers = record._predict_customers(list(by_customer.values()), split - timedelta(days=1))
    base = record.base_late_rate
    shares = {
        customer: base if customers.get(partner_id) is None else customers[partner_id]
        for customer, partner_id in by_customer.items()
    }
    label = "model trained in Odoo (wizard, default features)"
    comparison["rankings"].append(
        Ranking(
            label,
            [at_invoice_date[by_number[invoice["number"]].id] for invoice in after],
            [shares[invoice["customer"]] for invoice in after],
        )
    )
    comparison["odoo_model"] = {"label": label, "model": record._core_model()}
    comparison["notes"].append(
        f"Odoo model {record.display_name!r} ({', '.join(record.feature_ids.mapped('code'))}): trained "
        f"in {trained:.1f} s on {record.training_size} invoices ({record.late_count} late); its stored "
        f"validation: {record.validation_size} invoices, AUC {record.validation_auc:.3f}, "
        f"Brier {record.validation_brier:.3f}"
    )


def odoo_model_rankings(env, comparison, by_customer):
    """Check the add-on's SQL features against the CSV's, train the model in Odoo and add its
    rankings (invoice and customer level)."""
    by_number = moves_by_number(env, by_customer)
    check_odoo_features(env, comparison, by_customer, by_number)
    odoo_wizard_model(env, comparison, by_customer, by_number)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("csv", help="path to ar_invoices_2012.csv")
    parser.add_argument("--as-of", default=DEFAULT_AS_OF, help="rating date (default: %(default)s)")
    parser.add_argument(
        "--dates", default=DEFAULT_DATES, help="other dates for the AUC comparison ('' for none)"
    )
    parser.add_argument(
        "-d",
        "--db",
        help="database to load into, or one an earlier run loaded (default: a new scc_evaluate_<time>)",
    )
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
        help="only the model comparison, without the scorecard and the Odoo model (no database)",
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
    from odoo import SUPERUSER_ID, api

    dbname, registry = open_database(args.db, "scc_evaluate")
    drop = not args.db and not args.keep_db
    try:
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            module = env["ir.module.module"].search([("name", "=", ADDON_NAME), ("state", "=", "installed")])
            if not module:
                raise SystemExit(f"{ADDON_NAME} is not installed in {dbname}")
        by_customer = loaded_customers(registry, invoices)
        if by_customer:
            print(f"The CSV is already loaded in {dbname} (kept from an earlier run): not loaded again")
        else:
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
            scorecard_rankings(env, comparison, by_customer)
            odoo_model_rankings(env, comparison, by_customer)
            print_comparison(comparison)
        if not drop:
            print(f"\nkept database {dbname}")
    finally:
        if drop:
            drop_database(dbname)


if __name__ == "__main__":
    main()
