"""The credit decision taken when a sales order is confirmed.

``evaluate(facts, policy)`` turns plain figures into a :class:`Decision`:
``ok``, ``warning`` or ``blocked``, with one :class:`Reason` per rule that
fired. Each reason carries the figures that explain it, so the caller can
render a message without recomputing anything.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from .exposure import Exposure

BLOCK = "block"
WARN = "warn"
IGNORE = "ignore"
ACTIONS = (BLOCK, WARN, IGNORE)

OK = "ok"
WARNING = "warning"
BLOCKED = "blocked"

MODE_LIMIT = "limit"
MODE_CASH = "cash"


@dataclass(frozen=True)
class CreditPolicy:
    """A company's rule settings: for each rule, block, warn or ignore."""

    limit_action: str = BLOCK
    hold_action: str = BLOCK
    overdue_action: str = BLOCK
    overdue_days: int = 30
    overdue_amount: float = 0.0
    expired_action: str = BLOCK
    max_order_amount: float = 0.0
    max_order_action: str = BLOCK
    # Settings of the rules an extension adds, by name (its actions end in ``_action``).
    extra: Mapping = field(default_factory=dict)

    def __post_init__(self):
        names = ("limit_action", "hold_action", "overdue_action", "expired_action", "max_order_action")
        actions = {name: getattr(self, name) for name in names}
        actions.update((name, value) for name, value in self.extra.items() if name.endswith("_action"))
        for name, value in actions.items():
            if value not in ACTIONS:
                raise ValueError(f"{name} must be one of {ACTIONS}, not {value!r}")
        if self.overdue_days < 0 or self.overdue_amount < 0 or self.max_order_amount < 0:
            raise ValueError("overdue days, overdue amount and maximum order amount cannot be negative")


@dataclass(frozen=True)
class CreditFacts:
    """What is known about a customer at the moment an order is checked.

    ``limit`` 0 in ``limit`` mode means "no limit checked" (Odoo's own
    convention); ``cash`` mode means no credit at all.
    """

    exposure: Exposure
    check_date: date
    mode: str = MODE_LIMIT
    limit: float = 0.0
    tolerance_percent: float = 0.0
    order_amount: float = 0.0
    on_hold: bool = False
    hold_reason: str = ""
    overdue_amount: float = 0.0
    overdue_days: int = 0
    limit_valid_until: date | None = None
    review_date: date | None = None
    # Capacity an extension adds to a checked limit (e.g. secured by guarantees), as
    # ``((code, amount), ...)`` in the limit's currency.
    capacity_parts: tuple = ()
    # Facts an extension's rules read, by name.
    extra: Mapping = field(default_factory=dict)
    # A limit set in a currency other than the company's: its ISO code and its amount in
    # that currency; ``limit`` is then that amount converted at the check date.
    limit_currency: str = ""
    limit_amount_currency: float = 0.0

    def __post_init__(self):
        if self.mode not in (MODE_LIMIT, MODE_CASH):
            raise ValueError(f"unknown credit mode {self.mode!r}")
        if not all(math.isfinite(value) and value >= 0 for value in (self.limit, self.tolerance_percent)):
            raise ValueError(
                "limit and tolerance must be finite numbers >= 0, "
                f"not {self.limit!r} and {self.tolerance_percent!r}"
            )
        if not (math.isfinite(self.limit_amount_currency) and self.limit_amount_currency >= 0):
            raise ValueError(
                "the limit in its own currency must be a finite number >= 0, "
                f"not {self.limit_amount_currency!r}"
            )
        if any(amount < 0 for _code, amount in self.capacity_parts):
            raise ValueError("capacity parts cannot be negative")

    @property
    def capacity(self):
        """What the limit rule allows: the limit plus every capacity part (0: no limit checked)."""
        if not self.limit:
            return 0.0
        return self.limit + sum(amount for _code, amount in self.capacity_parts)


@dataclass(frozen=True)
class Reason:
    """One rule that fired: a code, the action it leads to, and its figures."""

    code: str
    action: str
    figures: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    state: str
    reasons: tuple = ()

    @property
    def blocking_reasons(self):
        return tuple(r for r in self.reasons if r.action == BLOCK)

    @property
    def warning_reasons(self):
        return tuple(r for r in self.reasons if r.action == WARN)


def evaluate(facts, policy, rules=None):
    """Decide on an order from ``facts`` under ``policy``.

    ``rules`` (default :data:`RULES`) are functions of ``(facts, policy)`` yielding
    :class:`Reason` objects; an extension passes ``RULES + (its_rule,)``.
    """
    if facts.exposure.current_order <= 0:
        # Nothing new is lent (fully prepaid or zero order): nothing to refuse.
        return Decision(OK)
    reasons = [
        reason
        for rule in (RULES if rules is None else rules)
        for reason in rule(facts, policy)
        if reason.action != IGNORE
    ]
    return Decision(_state_of(reasons), tuple(reasons))


def approval_covers(approved_amount, valid_until, order_amount, check_date):
    """Whether an approval granted up to ``approved_amount`` still covers the order."""
    if valid_until and check_date > valid_until:
        return False
    return order_amount <= approved_amount


def _state_of(reasons):
    actions = {r.action for r in reasons}
    if BLOCK in actions:
        return BLOCKED
    if WARN in actions:
        return WARNING
    return OK


def _cash_only(facts, policy):
    if facts.mode == MODE_CASH:
        yield Reason("cash_only", BLOCK, {"order_amount": facts.exposure.current_order})


def _on_hold(facts, policy):
    if facts.on_hold:
        yield Reason("on_hold", policy.hold_action, {"hold_reason": facts.hold_reason})


def _limit(facts, policy):
    limit = facts.limit
    if facts.mode != MODE_LIMIT or not limit:
        return
    exposure = facts.exposure
    capacity = facts.capacity
    if exposure.total <= capacity:
        return
    ceiling = capacity * (1 + facts.tolerance_percent / 100.0)
    figures = {
        "limit": limit,
        "capacity_parts": tuple(facts.capacity_parts),
        "capacity": capacity,
        "tolerance_percent": facts.tolerance_percent,
        "ceiling": ceiling,
        "exposure_before": exposure.before_order,
        "exposure_after": exposure.total,
        "available": capacity - exposure.before_order,
        "excess": exposure.total - capacity,
        "parts": exposure.parts,
        "receivables": exposure.receivables,
        "uninvoiced_orders": exposure.uninvoiced_orders,
        "draft_invoices": exposure.draft_invoices,
        "order_amount": exposure.current_order,
    }
    if facts.limit_currency:
        # The limit as it was set (in its own currency); ``limit`` is its conversion at the check date.
        figures.update(
            limit_currency=facts.limit_currency,
            limit_amount_currency=facts.limit_amount_currency,
            limit_rate_date=facts.check_date,
        )
    if exposure.total <= ceiling:
        # Within tolerance: over the limit, but never worse than a warning.
        yield Reason("limit_tolerance", WARN if policy.limit_action != IGNORE else IGNORE, figures)
    else:
        yield Reason("limit_exceeded", policy.limit_action, figures)


def _overdue(facts, policy):
    if facts.overdue_amount <= 0 or facts.overdue_days <= policy.overdue_days:
        return
    if facts.overdue_amount <= policy.overdue_amount:
        return
    yield Reason(
        "overdue",
        policy.overdue_action,
        {
            "overdue_amount": facts.overdue_amount,
            "overdue_days": facts.overdue_days,
            "allowed_days": policy.overdue_days,
            "allowed_amount": policy.overdue_amount,
        },
    )


def _expired(facts, policy):
    if facts.limit_valid_until and facts.limit_valid_until < facts.check_date:
        yield Reason("limit_expired", policy.expired_action, {"date": facts.limit_valid_until})
    if facts.review_date and facts.review_date < facts.check_date:
        yield Reason("review_overdue", policy.expired_action, {"date": facts.review_date})


def _max_order(facts, policy):
    if policy.max_order_amount and facts.order_amount > policy.max_order_amount:
        yield Reason(
            "max_order",
            policy.max_order_action,
            {"order_amount": facts.order_amount, "max_order_amount": policy.max_order_amount},
        )


# The rules every check runs, in this order; an extension evaluates with ``RULES + (its_rule,)``.
RULES = (_cash_only, _on_hold, _limit, _overdue, _expired, _max_order)
