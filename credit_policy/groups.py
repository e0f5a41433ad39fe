"""Credit groups (corporate families, 集团授信): customers sharing one group limit.

A rule an extension runs through ``evaluate(facts, policy, RULES + GROUP_RULES)``, checked in
addition to each member's own limit. Facts (``CreditFacts.extra``): ``group_limit`` (absent or
0: no group limit), ``group_exposure`` the members' exposure before this order, ``group`` its
name. Setting: ``group_limit_action``.
"""

from .decision import BLOCK, Reason


def group_limit_rule(facts, policy):
    """The order would take its customer's credit group beyond the group limit."""
    limit = facts.extra.get("group_limit") or 0.0
    if limit <= 0:
        return
    before = facts.extra.get("group_exposure", 0.0)
    after = before + facts.exposure.current_order
    if after <= limit:
        return
    yield Reason(
        "group_limit",
        policy.extra.get("group_limit_action", BLOCK),
        {
            "group": facts.extra.get("group", ""),
            "limit": limit,
            "exposure_before": before,
            "exposure_after": after,
            "available": limit - before,
        },
    )


def member_shares(exposures):
    """``{member: exposure}`` -> ``(group exposure, {member: share of it, 0..1})``.

    A member's share is its exposure over the group's; with no positive group exposure
    every share is 0.
    """
    total = sum(exposures.values())
    return total, {member: (amount / total if total > 0 else 0.0) for member, amount in exposures.items()}


GROUP_RULES = (group_limit_rule,)
