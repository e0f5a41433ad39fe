"""Credit review scheduling (信用复审).

Each grade has a review interval in months; ``next_review_date`` places the
next review and ``review_due`` says whether it is coming up or late.
"""

from datetime import date, datetime, timedelta

from dateutil.relativedelta import relativedelta

from ._checks import is_whole as _is_whole

REVIEW_OK = "ok"
REVIEW_DUE_SOON = "due_soon"
REVIEW_OVERDUE = "overdue"
REVIEW_STATES = (REVIEW_OK, REVIEW_DUE_SOON, REVIEW_OVERDUE)


def _check_date(value, name):
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValueError(f"{name} must be a date, not {value!r}")


def next_review_date(from_date, months):
    """``from_date`` plus ``months`` calendar months.

    End of month safe: a day that does not exist in the target month becomes
    that month's last day (31 January + 1 month = 28 or 29 February).
    """
    _check_date(from_date, "from_date")
    if not _is_whole(months, 1):
        raise ValueError(f"months must be a whole number >= 1, not {months!r}")
    return from_date + relativedelta(months=months)


def review_due(next_review, today, lead_days=0):
    """``'ok'``, ``'due_soon'`` or ``'overdue'`` for a review planned on ``next_review``.

    The review is ``'overdue'`` once ``today`` is past ``next_review`` (the day
    itself is still in time, as in :func:`credit_policy.decision.evaluate`),
    ``'due_soon'`` within ``lead_days`` days before it (the day itself
    included), otherwise ``'ok'``. ``next_review`` ``None`` means no review is
    planned: ``'ok'``, like ``evaluate``, which ignores a missing review date.
    """
    _check_date(today, "today")
    if not _is_whole(lead_days, 0):
        raise ValueError(f"lead_days must be a whole number >= 0, not {lead_days!r}")
    if next_review is None:
        return REVIEW_OK
    _check_date(next_review, "next_review")
    if today > next_review:
        return REVIEW_OVERDUE
    if today >= next_review - timedelta(days=lead_days):
        return REVIEW_DUE_SOON
    return REVIEW_OK
