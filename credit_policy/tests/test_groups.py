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
from credit_policy.groups import GROUP_RULES, group_limit_rule, member_shares


def facts(order, **extra):
    return CreditFacts(
        exposure=Exposure(current_order=order), check_date=date(2025, 6, 15), order_amount=order, extra=extra
    )


@pytest.mark.parametrize(
    ("before", "order", "fires"), [(600, 400, False), (600, 400.01, True), (1_200, 1, True)]
)
def test_group_limit(before, order, fires):
    over = facts(order, group_limit=1_000, group_exposure=before, group="ACME")
    found = list(group_limit_rule(over, CreditPolicy()))
    assert bool(found) == fires
    if fires:
        reason = found[0]
        assert reason.code == "group_limit"
        assert reason.figures["group"] == "ACME"
        assert reason.figures["limit"] == 1_000
        assert reason.figures["exposure_before"] == before
        assert reason.figures["exposure_after"] == pytest.approx(before + order)
        assert reason.figures["available"] == 1_000 - before


def test_no_group_limit_no_rule():
    assert list(group_limit_rule(facts(10_000, group_exposure=5_000), CreditPolicy())) == []
    assert list(group_limit_rule(facts(10_000, group_limit=0.0, group_exposure=5_000), CreditPolicy())) == []


@pytest.mark.parametrize(("action", "state"), [(BLOCK, BLOCKED), (WARN, WARNING), (IGNORE, OK)])
def test_group_limit_follows_its_action(action, state):
    over = facts(500, group_limit=1_000, group_exposure=900, group="ACME")
    policy = CreditPolicy(extra={"group_limit_action": action})
    assert evaluate(over, policy, RULES + GROUP_RULES).state == state


def test_member_within_own_limit_blocked_by_group():
    """The customer's own limit allows the order; only the group limit refuses it."""
    within = CreditFacts(
        exposure=Exposure(receivables=100, current_order=500),
        check_date=date(2025, 6, 15),
        order_amount=500,
        limit=10_000,
        extra={"group_limit": 1_000, "group_exposure": 800, "group": "ACME"},
    )
    decision = evaluate(within, CreditPolicy(), RULES + GROUP_RULES)
    assert decision.state == BLOCKED
    assert [reason.code for reason in decision.reasons] == ["group_limit"]


def test_member_shares_sum_the_group():
    total, shares = member_shares({"a": 300.0, "b": 100.0, "c": 0.0})
    assert total == 400.0
    assert shares == {"a": 0.75, "b": 0.25, "c": 0.0}
    assert member_shares({"a": 0.0, "b": 0.0}) == (0.0, {"a": 0.0, "b": 0.0})
    assert member_shares({}) == (0.0, {})
