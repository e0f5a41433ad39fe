"""Sales-team credit budgets (销售团队授信): the exposure a team's customers may carry together.

A rule an extension runs through ``evaluate(facts, policy, RULES + BUDGET_RULES)``. Facts
(``CreditFacts.extra``): ``team_budget`` (absent or 0: no budget), ``team_exposure`` the
team's exposure before this order, ``team`` its name. Setting: ``team_budget_action``.
"""

from .decision import BLOCK, Reason


def team_budget_rule(facts, policy):
    """The order would take its sales team's exposure beyond the team's credit budget."""
    budget = facts.extra.get("team_budget") or 0.0
    if budget <= 0:
        return
    before = facts.extra.get("team_exposure", 0.0)
    after = before + facts.exposure.current_order
    if after <= budget:
        return
    yield Reason(
        "team_budget",
        policy.extra.get("team_budget_action", BLOCK),
        {
            "team": facts.extra.get("team", ""),
            "budget": budget,
            "exposure_before": before,
            "exposure_after": after,
            "available": budget - before,
        },
    )


BUDGET_RULES = (team_budget_rule,)
