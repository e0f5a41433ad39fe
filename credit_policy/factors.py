"""From a customer's gathered figures to scorecard factor values (the rating's inputs).

The Odoo layer sums invoices, payments, financial statements and bureau
reports in the database; these functions decide what each factor's value is
and, above all, when it is "no data" (``None``). A missing value is scored by
the scorecard's missing-data rule (neutral points or a configured penalty),
so it must never be disguised as a real 0:

- payment factors are missing when the customer has no invoice history yet;
  paid-invoice factors also when nothing has been paid yet;
- a financial ratio is missing when its statement is missing or its
  denominator is zero;
- the relationship length, sales volume, bureau score and country risk are
  missing when their source is;
- the predicted late share (the company's active late-payment model's
  probability that the customer's next typical invoice is paid late) is missing
  when the company has no active model or the model gave no prediction.

``rating_trend`` compares a new grade with the previous one on a grade table.
"""

from datetime import date, datetime

from ._checks import is_number as _is_number

#: Every factor the rating computes, in the order the Odoo layer lists them.
FACTOR_CODES = (
    "late_share",
    "weighted_days_late",
    "max_days_late",
    "max_days_overdue",
    "overdue_ratio",
    "dso",
    "late_share_trend",
    "predicted_late_share",
    "debt_to_asset",
    "current_ratio",
    "equity_ratio",
    "net_margin",
    "relationship_years",
    "sales_volume",
    "bureau_score",
    "country_risk",
)

#: How a factor's value reads (its unit): a share of 0..1 shown as a percentage, a number
#: of days, a ratio in "times" (current ratio 1.5), years, a money amount in the rated
#: company's currency, or a score / class on the factor's own scale.
KIND_SHARE = "share"
KIND_DAYS = "days"
KIND_RATIO = "ratio"
KIND_YEARS = "years"
KIND_AMOUNT = "amount"
KIND_SCORE = "score"
FACTOR_KINDS = (KIND_SHARE, KIND_DAYS, KIND_RATIO, KIND_YEARS, KIND_AMOUNT, KIND_SCORE)
#: The kind of every factor of :data:`FACTOR_CODES`.
FACTOR_KIND = {
    "late_share": KIND_SHARE,
    "weighted_days_late": KIND_DAYS,
    "max_days_late": KIND_DAYS,
    "max_days_overdue": KIND_DAYS,
    "overdue_ratio": KIND_SHARE,
    "dso": KIND_DAYS,
    "late_share_trend": KIND_SHARE,
    "predicted_late_share": KIND_SHARE,
    "debt_to_asset": KIND_SHARE,
    "current_ratio": KIND_RATIO,
    "equity_ratio": KIND_SHARE,
    "net_margin": KIND_SHARE,
    "relationship_years": KIND_YEARS,
    "sales_volume": KIND_AMOUNT,
    "bureau_score": KIND_SCORE,
    "country_risk": KIND_SCORE,
}

DAYS_PER_YEAR = 365.25

TREND_NEW = "new"
TREND_UP = "up"
TREND_SAME = "same"
TREND_DOWN = "down"


def _check_optional_number(value, name):
    if value is not None and not _is_number(value):
        raise ValueError(f"{name} must be a finite number or None, not {value!r}")


def _check_share(value, name):
    if value is not None and not (_is_number(value) and 0 <= value <= 1):
        raise ValueError(f"{name} must be a number from 0 to 1 or None, not {value!r}")


def _check_date(value, name):
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValueError(f"{name} must be a date, not {value!r}")


def ratio(numerator, denominator):
    """``numerator / denominator``, or ``None`` when either is missing or the denominator is 0."""
    _check_optional_number(numerator, "numerator")
    _check_optional_number(denominator, "denominator")
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def financial_ratios(
    revenue=None,
    total_assets=None,
    total_liabilities=None,
    current_assets=None,
    current_liabilities=None,
    equity=None,
    net_profit=None,
):
    """The four ratios of a financial statement, each ``None`` when it cannot be computed.

    debt-to-asset = total liabilities / total assets; current ratio = current
    assets / current liabilities; equity ratio = equity / total assets; net
    margin = net profit / revenue.
    """
    return {
        "debt_to_asset": ratio(total_liabilities, total_assets),
        "current_ratio": ratio(current_assets, current_liabilities),
        "equity_ratio": ratio(equity, total_assets),
        "net_margin": ratio(net_profit, revenue),
    }


def overdue_ratio(overdue_amount, open_amount):
    """Share (0..1) of the open invoice amount that is overdue; 0 when nothing is open."""
    for name, value in (("overdue_amount", overdue_amount), ("open_amount", open_amount)):
        if not _is_number(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0, not {value!r}")
    if open_amount == 0:
        return 0.0
    return min(1.0, overdue_amount / open_amount)


def relationship_years(first_invoice_date, as_of):
    """Years from the first invoice to ``as_of`` (never negative); ``None`` without any invoice."""
    _check_date(as_of, "as_of")
    if first_invoice_date is None:
        return None
    _check_date(first_invoice_date, "first_invoice_date")
    return max(0, (as_of - first_invoice_date).days) / DAYS_PER_YEAR


def factor_values(
    behaviour=None,
    *,
    open_amount=0.0,
    first_invoice_date=None,
    as_of=None,
    sales_volume=None,
    ratios=None,
    bureau_score=None,
    country_risk=None,
    predicted_late_share=None,
):
    """The ``{factor code: value or None}`` dict a scorecard scores, for one customer.

    ``behaviour`` is the customer's :class:`credit_policy.behaviour.PaymentBehaviour`
    (``None`` or no ``first_invoice_date``: no invoice history, every payment
    factor is missing). ``open_amount`` is the customer's open invoice amount
    (for the overdue ratio), ``ratios`` a dict from :func:`financial_ratios`
    (``None``: no statement), ``sales_volume`` the invoiced amount of the last
    12 months. ``predicted_late_share`` is the late-payment model's probability (0..1)
    that the customer's next typical invoice is paid late, ``None`` without a model: it
    does not need an invoice history (the model predicts for a new customer too).
    """
    _check_optional_number(sales_volume, "sales_volume")
    _check_share(predicted_late_share, "predicted_late_share")
    _check_optional_number(bureau_score, "bureau_score")
    _check_optional_number(country_risk, "country_risk")
    values = dict.fromkeys(FACTOR_CODES)
    has_history = behaviour is not None and first_invoice_date is not None
    if has_history:
        if as_of is None:
            raise ValueError("as_of is required to measure the relationship length")
        paid_something = behaviour.late_share is not None
        values.update(
            late_share=behaviour.late_share,
            weighted_days_late=behaviour.weighted_days_late,
            max_days_late=behaviour.max_days_late if paid_something else None,
            max_days_overdue=behaviour.max_days_overdue,
            overdue_ratio=overdue_ratio(behaviour.overdue_amount, open_amount),
            dso=behaviour.dso,
            late_share_trend=behaviour.late_share_trend,
            relationship_years=relationship_years(first_invoice_date, as_of),
            sales_volume=sales_volume,
        )
    for code, value in (ratios or {}).items():
        if code not in ("debt_to_asset", "current_ratio", "equity_ratio", "net_margin"):
            raise ValueError(f"unknown financial ratio {code!r}")
        _check_optional_number(value, code)
        values[code] = value
    values["bureau_score"] = bureau_score
    values["country_risk"] = country_risk
    values["predicted_late_share"] = predicted_late_share
    return values


def rating_trend(grade_table, previous_code, new_code):
    """``'new'``, ``'up'``, ``'same'`` or ``'down'``: the new grade against the previous one.

    ``'new'`` when there is no previous grade, or when the previous grade is not
    on ``grade_table`` (the scale changed, so the two cannot be compared).
    """
    if not previous_code:
        return TREND_NEW
    if previous_code == new_code:
        return TREND_SAME
    codes = grade_table.codes
    if previous_code not in codes:
        return TREND_NEW
    new_rank = grade_table.rank(new_code)
    previous_rank = grade_table.rank(previous_code)
    if new_rank < previous_rank:
        return TREND_UP
    if new_rank > previous_rank:
        return TREND_DOWN
    return TREND_SAME  # pragma: no cover - equal ranks mean equal codes
