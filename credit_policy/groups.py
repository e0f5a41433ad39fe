"""Credit groups (corporate families, 集团授信): customers sharing one group limit.

A rule an extension runs through ``evaluate(facts, policy, RULES + GROUP_RULES)``, checked in
addition to each member's own limit. Facts (``CreditFacts.extra``): ``group_limit`` (absent or
0: no group limit), ``group_exposure`` the members' exposure before this order, ``group`` its
name. Setting: ``group_limit_action``.
"""

from .ceilings import shared_ceiling_rule

#: The order would take its customer's credit group beyond the group limit.
group_limit_rule = shared_ceiling_rule("group_limit", "group_limit", "group_exposure", "group", "limit")


def member_shares(exposures):
    """``{member: exposure}`` -> ``(group exposure, {member: share of it, 0..1})``.

    A member's share is its exposure over the group's; with no positive group exposure
    every share is 0.
    """
    total = sum(exposures.values())
    return total, {member: (amount / total if total > 0 else 0.0) for member, amount in exposures.items()}


GROUP_RULES = (group_limit_rule,)
