"""Terms and deposits by grade: the payment-term and deposit rules."""

from datetime import date

import pytest

from credit_policy.decision import (
    BLOCK,
    BLOCKED,
    IGNORE,
    OK,
    RULES,
    WARN,
    WARNING,
    CreditFacts,
    CreditPolicy,
    evaluate,
)
from credit_policy.exposure import Exposure
from credit_policy.terms import TERM_RULES, deposit_rule, payment_term_rule, required_deposit

TODAY = date(2025, 6, 15)


def facts(order=1_000.0, mode="limit", **extra):
    return CreditFacts(
        exposure=Exposure(current_order=order), check_date=TODAY, order_amount=order, mode=mode, extra=extra
    )


def reasons(rule, facts_, policy=None):
    return list(rule(facts_, policy or CreditPolicy()))


@pytest.mark.parametrize(
    ("term", "maximum", "fires"), [(30, 30, False), (31, 30, True), (0, 0, False), (15, 0, True)]
)
def test_payment_term_longer_than_the_grade_allows(term, maximum, fires):
    found = reasons(payment_term_rule, facts(term_days=term, max_term_days=maximum, grade="C"))
    assert bool(found) == fires
    if fires:
        assert found[0].code == "payment_term"
        assert found[0].figures == {"term_days": term, "max_term_days": maximum, "grade": "C"}


def test_no_grade_no_term_rule():
    assert reasons(payment_term_rule, facts(term_days=90)) == []
    assert reasons(payment_term_rule, facts(max_term_days=30)) == []


@pytest.mark.parametrize(("paid", "fires"), [(0.0, True), (199.99, True), (200.0, False), (1_000.0, False)])
def test_deposit_share_must_be_paid(paid, fires):
    found = reasons(deposit_rule, facts(order=1_000.0, deposit_percent=20.0, paid_amount=paid, grade="B"))
    assert bool(found) == fires
    if fires:
        assert found[0].figures["required_amount"] == 200.0
        assert found[0].figures["missing_amount"] == pytest.approx(200.0 - paid)


def test_no_deposit_required_without_a_grade_deposit():
    assert reasons(deposit_rule, facts(deposit_percent=0.0)) == []
    assert reasons(deposit_rule, facts()) == []


def test_cash_only_needs_everything_and_keeps_its_own_rule():
    cash = facts(mode="cash", deposit_percent=20.0)
    assert required_deposit(cash) == 100.0
    assert reasons(deposit_rule, cash) == []  # the cash-only rule refuses it already
    decision = evaluate(cash, CreditPolicy(), RULES + TERM_RULES)
    assert [reason.code for reason in decision.reasons] == ["cash_only"]


@pytest.mark.parametrize(("action", "state"), [(BLOCK, BLOCKED), (WARN, WARNING), (IGNORE, OK)])
def test_each_rule_follows_its_own_action(action, state):
    policy = CreditPolicy(extra={"term_action": action, "deposit_action": action})
    both = facts(term_days=60, max_term_days=30, deposit_percent=50.0, paid_amount=0.0)
    assert evaluate(both, policy, RULES + TERM_RULES).state == state
    assert evaluate(both, policy).state == OK  # not among the default rules
