"""Repayment plans for overdue debt (还款计划): instalments, progress from payments, state by date.

A plan spreads a customer's overdue debt over instalments ``(due date, amount)`` that sum
to the plan total. What the customer paid on the covered invoices since the plan started
is allocated to the instalments in date order; the plan's state as of a date follows:

* ``completed``: every instalment is paid;
* ``on_track``: no instalment is past due and unpaid (one due *today* is not late yet);
* ``late``: the earliest unpaid instalment is past due, by at most ``grace_days`` days;
* ``broken``: it is more than ``grace_days`` days past due.

``draft`` and ``cancelled`` are set by people, never computed. Amounts are compared in
whole cents (``digits`` decimals), so 33.33 + 33.33 + 33.34 sums to 100.00 exactly.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from ._checks import is_number, is_whole

PLAN_DRAFT = "draft"
PLAN_ON_TRACK = "on_track"
PLAN_LATE = "late"
PLAN_COMPLETED = "completed"
PLAN_BROKEN = "broken"
PLAN_CANCELLED = "cancelled"
PLAN_STATES = (
    (PLAN_DRAFT, "Draft"),
    (PLAN_ON_TRACK, "On Track"),
    (PLAN_LATE, "Late"),
    (PLAN_COMPLETED, "Completed"),
    (PLAN_BROKEN, "Broken"),
    (PLAN_CANCELLED, "Cancelled"),
)
# States in which the plan runs (recomputed from payments and dates) and protects its invoices
# from the overdue rule (while within the grace period).
RUNNING_STATES = (PLAN_ON_TRACK, PLAN_LATE)

# Problems validate_instalments reports.
NO_INSTALMENT = "no_instalment"
TOTAL_NOT_POSITIVE = "total_not_positive"
AMOUNT_NOT_POSITIVE = "amount_not_positive"
BEFORE_START = "before_start"
SUM_MISMATCH = "sum_mismatch"


@dataclass(frozen=True)
class Instalment:
    due_date: date
    amount: float


@dataclass(frozen=True)
class PlanStatus:
    """A plan as of a date: its state, what is paid, and the dates that decide the next state.

    ``paid_per_instalment`` follows the instalments in date order. ``first_unpaid_due`` is the
    due date of the earliest instalment not fully paid (None when completed);
    ``grace_end`` the last day the plan stays out of ``broken`` without a further payment
    (``first_unpaid_due + grace_days``; None when completed).
    """

    state: str
    paid: float
    remaining: float
    paid_per_instalment: tuple
    first_unpaid_due: date | None
    grace_end: date | None


def _cents(amount, digits):
    return round(amount * 10**digits)


def _amount(cents, digits):
    return round(cents / 10**digits, digits)


def _sorted(instalments):
    """Instalments in date order; instalments of the same day keep their given order."""
    return sorted(instalments, key=lambda instalment: instalment.due_date)


def validate_instalments(total, instalments, start_date=None, digits=2):
    """Problems of a plan of ``total`` over ``instalments``, as ``[(code, figures)]`` (empty: valid).

    The instalments must be at least one, each of a positive amount, none due before the
    plan's ``start_date``, and sum to ``total`` to the cent.
    """
    if not is_number(total):
        raise ValueError(f"the plan total must be a number, not {total!r}")
    problems = []
    if _cents(total, digits) <= 0:
        problems.append((TOTAL_NOT_POSITIVE, {"total": total}))
    if not instalments:
        problems.append((NO_INSTALMENT, {"total": total}))
        return problems
    for instalment in _sorted(instalments):
        if not is_number(instalment.amount):
            raise ValueError(f"an instalment amount must be a number, not {instalment.amount!r}")
        if _cents(instalment.amount, digits) <= 0:
            figures = {"due_date": instalment.due_date, "amount": instalment.amount}
            problems.append((AMOUNT_NOT_POSITIVE, figures))
        if start_date and instalment.due_date < start_date:
            problems.append((BEFORE_START, {"due_date": instalment.due_date, "start_date": start_date}))
    instalments_cents = sum(_cents(instalment.amount, digits) for instalment in instalments)
    total_cents = _cents(total, digits)
    if instalments_cents != total_cents:
        problems.append(
            (
                SUM_MISMATCH,
                {
                    "total": _amount(total_cents, digits),
                    "instalments_total": _amount(instalments_cents, digits),
                    "difference": _amount(total_cents - instalments_cents, digits),
                },
            )
        )
    return problems


def allocate(paid, instalments, digits=2):
    """What ``paid`` covers of each instalment, in date order (the earliest first).

    Returns the amounts paid per instalment of ``_sorted(instalments)``; an overpayment
    beyond the last instalment is not allocated. A negative ``paid`` (a payment unreconciled
    after the plan started, more than was paid since) counts as nothing paid.
    """
    if not is_number(paid):
        raise ValueError(f"the paid amount must be a number, not {paid!r}")
    left = max(_cents(paid, digits), 0)
    result = []
    for instalment in _sorted(instalments):
        share = min(left, max(_cents(instalment.amount, digits), 0))
        result.append(_amount(share, digits))
        left -= share
    return tuple(result)


def plan_status(instalments, paid, as_of, grace_days=0, digits=2):
    """The :class:`PlanStatus` of a running plan on ``as_of`` after ``paid`` was paid on it.

    An instalment is past due the day after its due date; the plan is late from then on
    and broken once more than ``grace_days`` days have passed (on exactly the last grace
    day it is still late).
    """
    if not is_whole(grace_days, 0):
        raise ValueError(f"the grace days must be a whole number of at least 0, not {grace_days!r}")
    if not instalments:
        raise ValueError("a plan needs at least one instalment")
    ordered = _sorted(instalments)
    paid_per_instalment = allocate(paid, ordered, digits)
    total_cents = sum(max(_cents(instalment.amount, digits), 0) for instalment in ordered)
    paid_cents = sum(_cents(share, digits) for share in paid_per_instalment)
    first_unpaid = next(
        (
            instalment
            for instalment, share in zip(ordered, paid_per_instalment, strict=True)
            if _cents(share, digits) < _cents(instalment.amount, digits)
        ),
        None,
    )
    if first_unpaid is None:
        state, grace_end = PLAN_COMPLETED, None
    else:
        grace_end = first_unpaid.due_date + timedelta(days=grace_days)
        if as_of <= first_unpaid.due_date:
            state = PLAN_ON_TRACK
        elif as_of <= grace_end:
            state = PLAN_LATE
        else:
            state = PLAN_BROKEN
    return PlanStatus(
        state=state,
        paid=_amount(paid_cents, digits),
        remaining=_amount(total_cents - paid_cents, digits),
        paid_per_instalment=paid_per_instalment,
        first_unpaid_due=first_unpaid.due_date if first_unpaid else None,
        grace_end=grace_end,
    )
