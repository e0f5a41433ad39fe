"""Sales-team credit budgets."""

from datetime import date

import pytest

from credit_policy.budgets import BUDGET_RULES, team_budget_rule
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


def facts(order, **extra):
    return CreditFacts(
        exposure=Exposure(current_order=order), check_date=date(2025, 6, 15), order_amount=order, extra=extra
    )


@pytest.mark.parametrize(
    ("before", "order", "fires"), [(600, 400, False), (600, 400.01, True), (1_200, 1, True)]
)
def test_team_budget(before, order, fires):
    found = list(
        team_budget_rule(facts(order, team_budget=1_000, team_exposure=before, team="North"), CreditPolicy())
    )
    assert bool(found) == fires
    if fires:
        assert found[0].figures["available"] == 1_000 - before
        assert found[0].figures["exposure_after"] == pytest.approx(before + order)


def test_no_budget_no_rule():
    assert list(team_budget_rule(facts(10_000, team_exposure=5_000), CreditPolicy())) == []
    assert list(team_budget_rule(facts(10_000, team_budget=0.0, team_exposure=5_000), CreditPolicy())) == []


@pytest.mark.parametrize(("action", "state"), [(BLOCK, BLOCKED), (WARN, WARNING), (IGNORE, OK)])
def test_team_budget_follows_its_action(action, state):
    over = facts(500, team_budget=1_000, team_exposure=900, team="North")
    assert (
        evaluate(over, CreditPolicy(extra={"team_budget_action": action}), RULES + BUDGET_RULES).state
        == state
    )
