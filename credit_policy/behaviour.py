"""Payment behaviour metrics from aggregated figures.

The Odoo layer sums a customer's invoices in the database (one query, no
per-invoice Python loop) and hands the sums to :class:`PaymentAggregates`;
:meth:`PaymentBehaviour.from_aggregates` turns them into the metrics a
scorecard and the early warnings use:

- weighted average days beyond terms (DBT, 超期天数) of paid invoices;
- share of the paid amount that was paid late;
- days sales outstanding (DSO), once the customer has enough sales history;
- trend of the late share: last 90 days against the 90 days before.

Every ratio whose denominator is zero is ``None`` ("no data"), never 0.
Days are "days late": a payment made early or on time counts as 0.
"""

import math
from dataclasses import asdict, dataclass

from ._checks import is_number as _is_number
from ._checks import is_whole as _is_whole

TREND_WINDOW_DAYS = 90
#: DSO needs at least this many days of sales history: one invoice 10 days old
#: would otherwise read "DSO 365" (a year's window over ten days of sales).
MIN_DSO_HISTORY_DAYS = 90


def _check_non_negative(value, name):
    if not _is_number(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, not {value!r}")


def _check_part(part, whole, part_name, whole_name):
    """``part`` must not exceed ``whole`` (allowing for rounding in database sums)."""
    if part > whole and not math.isclose(part, whole, rel_tol=1e-9, abs_tol=1e-6):
        raise ValueError(f"{part_name} ({part!r}) cannot exceed {whole_name} ({whole!r})")


def weighted_days_beyond_terms(paid_amount, amount_days_late):
    """Average days late weighted by amount: sum(amount x days late) / sum(amount).

    ``None`` when nothing was paid.
    """
    _check_non_negative(paid_amount, "paid_amount")
    _check_non_negative(amount_days_late, "amount_days_late")
    if paid_amount == 0:
        return None
    return amount_days_late / paid_amount


def late_share(paid_amount, late_amount):
    """Share (0..1) of the paid amount that was paid after its due date; ``None`` when nothing was paid."""
    _check_non_negative(paid_amount, "paid_amount")
    _check_non_negative(late_amount, "late_amount")
    _check_part(late_amount, paid_amount, "late_amount", "paid_amount")
    if paid_amount == 0:
        return None
    return min(1.0, late_amount / paid_amount)


def days_sales_outstanding(receivables, sales_in_period, period_days, history_days=None):
    """DSO = receivables / sales in the window x days in the window.

    The window is the last ``period_days``, shortened to ``history_days`` (days
    since the customer's first invoice) when the history is shorter: sales made
    in 120 days are not a year's sales. ``None`` ("not enough history") when the
    history is shorter than :data:`MIN_DSO_HISTORY_DAYS`, and ``None`` when there
    were no sales in the window. A credit balance (negative receivables) counts
    as no receivables: DSO 0. ``history_days=None`` means the history is at
    least ``period_days`` long.
    """
    if not _is_number(receivables):
        raise ValueError(f"receivables must be a finite number, not {receivables!r}")
    _check_non_negative(sales_in_period, "sales_in_period")
    if not _is_whole(period_days, 1):
        raise ValueError(f"period_days must be a whole number >= 1, not {period_days!r}")
    window_days = dso_window_days(period_days, history_days)
    if window_days is None or sales_in_period == 0:
        return None
    return max(0.0, receivables) / sales_in_period * window_days


def dso_window_days(period_days, history_days=None):
    """Days the DSO window spans: ``period_days``, or the shorter ``history_days``.

    ``None`` when ``history_days`` is below :data:`MIN_DSO_HISTORY_DAYS` (and
    below ``period_days``): too little history for a meaningful DSO.
    """
    if history_days is not None and not _is_whole(history_days, 0):
        raise ValueError(f"history_days must be a whole number >= 0, not {history_days!r}")
    if history_days is None or history_days >= period_days:
        return period_days
    if history_days < MIN_DSO_HISTORY_DAYS:
        return None
    return history_days


def late_share_trend(recent_paid, recent_late, previous_paid, previous_late):
    """Recent late share minus previous late share (-1..1; positive = paying later).

    ``None`` when either period has no payments.
    """
    recent = late_share(recent_paid, recent_late)
    previous = late_share(previous_paid, previous_late)
    if recent is None or previous is None:
        return None
    return recent - previous


def aggregate_paid(items):
    """Sum paid items ``(amount, days_late)`` the way the database query does.

    Returns a dict with the keys ``paid_amount``, ``amount_days_late``,
    ``late_amount`` and ``max_days_late`` (fields of
    :class:`PaymentAggregates`). Negative days (paid early) count as 0.
    """
    paid = weighted = late = 0.0
    max_days = 0
    for amount, days_late in items:
        _check_non_negative(amount, "amount")
        days = max(0, days_late)
        paid += amount
        weighted += amount * days
        if days > 0:
            late += amount
            max_days = max(max_days, days)
    return {"paid_amount": paid, "amount_days_late": weighted, "late_amount": late, "max_days_late": max_days}


@dataclass(frozen=True)
class PaymentAggregates:
    """Plain sums over a customer's invoices, in one currency.

    Paid invoices (over the observation period):
    ``paid_amount`` = sum(amount), ``amount_days_late`` = sum(amount x days
    late), ``late_amount`` = sum(amount paid late), ``max_days_late``.
    Open items: ``overdue_amount`` and ``max_days_overdue``.
    DSO: ``receivables`` now and ``sales_in_period`` over ``period_days``;
    ``history_days`` counts the days since the first invoice (``None``: unknown,
    taken as a full period).
    Trend: paid and paid-late amounts of the last 90 days (``recent_*``) and
    of the 90 days before (``previous_*``).
    """

    paid_amount: float = 0.0
    amount_days_late: float = 0.0
    late_amount: float = 0.0
    max_days_late: int = 0
    overdue_amount: float = 0.0
    max_days_overdue: int = 0
    receivables: float = 0.0
    sales_in_period: float = 0.0
    period_days: int = 365
    history_days: int | None = None
    recent_paid: float = 0.0
    recent_late: float = 0.0
    previous_paid: float = 0.0
    previous_late: float = 0.0

    def __post_init__(self):
        for name in (
            "paid_amount",
            "amount_days_late",
            "late_amount",
            "max_days_late",
            "overdue_amount",
            "max_days_overdue",
            "sales_in_period",
            "recent_paid",
            "recent_late",
            "previous_paid",
            "previous_late",
        ):
            _check_non_negative(getattr(self, name), name)
        _check_part(self.late_amount, self.paid_amount, "late_amount", "paid_amount")
        _check_part(self.recent_late, self.recent_paid, "recent_late", "recent_paid")
        _check_part(self.previous_late, self.previous_paid, "previous_late", "previous_paid")
        if not _is_number(self.receivables):
            raise ValueError(f"receivables must be a finite number, not {self.receivables!r}")
        if not _is_whole(self.period_days, 1):
            raise ValueError(f"period_days must be a whole number >= 1, not {self.period_days!r}")
        if self.history_days is not None and not _is_whole(self.history_days, 0):
            raise ValueError(f"history_days must be a whole number >= 0, not {self.history_days!r}")


@dataclass(frozen=True)
class PaymentBehaviour:
    """Payment metrics of a customer; ``None`` means "no data" for that metric."""

    weighted_days_late: float | None = None
    late_share: float | None = None
    max_days_late: int = 0
    overdue_amount: float = 0.0
    max_days_overdue: int = 0
    dso: float | None = None
    late_share_trend: float | None = None

    @classmethod
    def from_aggregates(cls, aggregates):
        """Compute the metrics from a :class:`PaymentAggregates`."""
        a = aggregates
        return cls(
            weighted_days_late=weighted_days_beyond_terms(a.paid_amount, a.amount_days_late),
            late_share=late_share(a.paid_amount, a.late_amount),
            max_days_late=a.max_days_late,
            overdue_amount=a.overdue_amount,
            max_days_overdue=a.max_days_overdue,
            dso=days_sales_outstanding(a.receivables, a.sales_in_period, a.period_days, a.history_days),
            late_share_trend=late_share_trend(a.recent_paid, a.recent_late, a.previous_paid, a.previous_late),
        )

    def as_values(self):
        """The metrics as a ``{name: value}`` dict, ready for :func:`credit_policy.scoring.score`."""
        return asdict(self)
