"""Terms and deposits by grade (评级结果应用): rules the grade's payment term and deposit give.

Both rules read facts an extension adds (``CreditFacts.extra``) and settings of their own
(``CreditPolicy.extra``), so they plug into :func:`credit_policy.decision.evaluate` through
its ``rules`` argument::

    evaluate(facts, policy, RULES + TERM_RULES)

Facts (absent: the rule does not apply, e.g. a customer without a grade):
``term_days`` the quotation's longest payment term in days, ``max_term_days`` the longest
the grade allows; ``deposit_percent`` the share of the order the grade requires paid before
confirmation, ``country_deposit_percent`` the share the customer's country requires (its
country risk class, with ``country`` and ``country_risk_class``; the larger share applies),
``paid_amount`` what the customer paid for this order. Settings:
``term_action`` and ``deposit_action`` (block, warn or ignore; default block).
"""

from .country import SOURCE_GRADE
from .country import required_deposit as combined_deposit
from .decision import BLOCK, MODE_CASH, Reason


def payment_term_rule(facts, policy):
    """The quotation's payment term is longer than the customer's grade allows."""
    term_days = facts.extra.get("term_days")
    max_term_days = facts.extra.get("max_term_days")
    if term_days is None or max_term_days is None or term_days <= max_term_days:
        return
    yield Reason(
        "payment_term",
        policy.extra.get("term_action", BLOCK),
        {"term_days": term_days, "max_term_days": max_term_days, "grade": facts.extra.get("grade", "")},
    )


def required_deposit(facts):
    """The deposit share (0-100) the order needs: the larger of the grade's and the country's
    (see :func:`credit_policy.country.required_deposit`), all of it for a cash-only customer."""
    return deposit_requirement(facts)[0]


def deposit_requirement(facts):
    """``(percent, source)`` of the deposit the order needs; ``source`` is ``"grade"`` or
    ``"country"``, ``None`` when nothing is required (a cash-only customer needs 100 %, which
    the cash-only rule enforces: its source is reported as ``"grade"``)."""
    if facts.mode == MODE_CASH:
        return 100.0, SOURCE_GRADE
    return combined_deposit(facts.extra.get("deposit_percent"), facts.extra.get("country_deposit_percent"))


def deposit_rule(facts, policy):
    """Less of the order is paid than the deposit the grade or the customer's country requires."""
    percent, source = deposit_requirement(facts)
    if facts.mode == MODE_CASH or percent <= 0 or facts.order_amount <= 0:
        return  # cash only has its own rule; nothing required or nothing to pay
    required = facts.order_amount * percent / 100.0
    paid = facts.extra.get("paid_amount", 0.0)
    if paid >= required:
        return
    yield Reason(
        "deposit",
        policy.extra.get("deposit_action", BLOCK),
        {
            "deposit_percent": percent,
            "required_amount": required,
            "paid_amount": paid,
            "missing_amount": required - paid,
            "grade": facts.extra.get("grade", ""),
            "source": source,
            "country": facts.extra.get("country", ""),
            "country_risk_class": facts.extra.get("country_risk_class"),
        },
    )


TERM_RULES = (payment_term_rule, deposit_rule)
