"""Sales-team credit budgets (销售团队授信): the exposure a team's customers may carry together.

A rule an extension runs through ``evaluate(facts, policy, RULES + BUDGET_RULES)``. Facts
(``CreditFacts.extra``): ``team_budget`` (absent or 0: no budget), ``team_exposure`` the
team's exposure before this order, ``team`` its name. Setting: ``team_budget_action``.
"""

from .ceilings import shared_ceiling_rule

#: The order would take its sales team's exposure beyond the team's credit budget.
team_budget_rule = shared_ceiling_rule("team_budget", "team_budget", "team_exposure", "team", "budget")

BUDGET_RULES = (team_budget_rule,)
