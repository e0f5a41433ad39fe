"""Ceilings shared by several customers: a credit group's limit, a sales team's budget.

Both rules read the same kind of facts (``CreditFacts.extra``): the ceiling, the exposure of
everyone under it before this order, and the ceiling's name. :func:`shared_ceiling_rule`
builds such a rule once, so a new kind of shared ceiling is one call, not one more copy.
"""

from .decision import BLOCK, Reason


def shared_ceiling_rule(code, ceiling_key, exposure_key, name_key, amount_figure):
    """A rule ``(facts, policy)`` firing ``code`` when the order takes the exposure under a shared
    ceiling beyond it.

    ``ceiling_key``, ``exposure_key`` and ``name_key`` are the ``facts.extra`` keys of the ceiling
    (absent or 0: not checked), of the exposure before this order and of the ceiling's name; the
    reason's figures carry the name under ``name_key`` and the ceiling under ``amount_figure``.
    The rule's action is the policy setting ``<code>_action`` (default: block).
    """

    def rule(facts, policy):
        ceiling = facts.extra.get(ceiling_key) or 0.0
        if ceiling <= 0:
            return
        before = facts.extra.get(exposure_key, 0.0)
        after = before + facts.exposure.current_order
        if after <= ceiling:
            return
        yield Reason(
            code,
            policy.extra.get(f"{code}_action", BLOCK),
            {
                name_key: facts.extra.get(name_key, ""),
                amount_figure: ceiling,
                "exposure_before": before,
                "exposure_after": after,
                "available": ceiling - before,
            },
        )

    rule.__name__ = f"{code}_rule"
    rule.__doc__ = f"The order would take the exposure under the shared {code.replace('_', ' ')} beyond it."
    return rule
