"""Limit requests (授信申请): who must approve a requested limit, and when a temporary limit starts and ends.

All amounts are in the company currency. A limit of ``0`` is Odoo's "no limit
checked": it lets the customer owe any amount, so as a requested limit it is
above every recommendation and threshold.
"""

from ._checks import is_number as _is_number

ABOVE_RECOMMENDATION = "above_recommendation"
ABOVE_THRESHOLD = "above_threshold"

STEP_APPLY = "apply"
STEP_REVERT = "revert"
STEP_EXPIRE = "expire"


def _check_amount(value, what, optional=False):
    if optional and value is None:
        return
    if not _is_number(value) or value < 0:
        raise ValueError(
            f"{what} must be a finite number >= 0{' or None' if optional else ''}, not {value!r}"
        )


def exceeds(limit, cap):
    """Whether the limit ``limit`` allows more credit than ``cap`` (``limit`` 0 = unlimited)."""
    return limit == 0 or limit > cap


def second_approval_reasons(amount, recommended_limit=None, threshold=0.0):
    """Why a requested limit needs a second approver from a higher group.

    - ``amount``: the requested limit (``0`` = no limit checked);
    - ``recommended_limit``: the limit the customer's grade recommends,
      ``None`` when the grade makes no recommendation (or there is no grade);
    - ``threshold``: the company's limit above which a second approval is
      always required, ``0`` = no such threshold.

    Returns a tuple of reason codes, empty when one approval is enough.
    """
    _check_amount(amount, "amount")
    _check_amount(recommended_limit, "recommended_limit", optional=True)
    _check_amount(threshold, "threshold")
    reasons = []
    if recommended_limit is not None and exceeds(amount, recommended_limit):
        reasons.append(ABOVE_RECOMMENDATION)
    if threshold and exceeds(amount, threshold):
        reasons.append(ABOVE_THRESHOLD)
    return tuple(reasons)


def temporary_limit_step(applied, date_from, date_to, today):
    """What to do today with an approved temporary limit valid from ``date_from`` to ``date_to`` (inclusive).

    Returns ``"apply"`` (its period has started and it is not applied yet),
    ``"revert"`` (it is applied and its period is over), ``"expire"`` (its
    period ended before it was ever applied) or ``None`` (nothing to do).
    """
    if date_to < date_from:
        raise ValueError(f"a temporary limit must end on or after its start, not {date_from} > {date_to}")
    if applied:
        return STEP_REVERT if today > date_to else None
    if today > date_to:
        return STEP_EXPIRE
    if today >= date_from:
        return STEP_APPLY
    return None
