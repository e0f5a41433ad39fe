"""Credit insurance (信用保险): an insurer covers a buyer up to an insured limit.

Insured exposure is ``min(exposure, insured limit) x coverage %``; the rest is uninsured.
A rule an extension runs through ``evaluate(facts, policy, RULES + INSURANCE_RULES)``.
Facts (``CreditFacts.extra``): ``insurance_required`` (the company requires cover; absent
or false: the rule does not apply), ``insured_limit`` the customer's insured limit on the
check date (0 without a valid cover), ``insurers`` who covers it (for the message).
Setting: ``insurance_action`` (block, warn or ignore; default warn).
"""

from .decision import WARN, Reason


def insured_exposure(exposure, insured_limit, coverage_percent):
    """The part of ``exposure`` the insurer pays: ``min(exposure, insured limit) x coverage %``."""
    if not 0 < coverage_percent <= 100:
        raise ValueError(f"coverage must be above 0 and at most 100, not {coverage_percent!r}")
    if insured_limit < 0:
        raise ValueError("the insured limit cannot be negative")
    return min(max(exposure, 0.0), insured_limit) * coverage_percent / 100.0


def insured_split(exposure, covers):
    """``(insured, uninsured)`` parts of ``exposure`` under ``covers`` ``((insured limit, coverage %), ...)``.

    Several covers of one buyer take the exposure one after the other, the best coverage first,
    each up to its insured limit.
    """
    remaining = max(exposure, 0.0)
    insured = 0.0
    for limit, coverage in sorted(covers, key=lambda cover: -cover[1]):
        taken = min(remaining, limit)
        insured += insured_exposure(taken, limit, coverage)
        remaining -= taken
    return insured, exposure - insured


def insurance_rule(facts, policy):
    """The exposure after the order exceeds the customer's insured limit, where cover is required."""
    if not facts.extra.get("insurance_required"):
        return
    limit = facts.extra.get("insured_limit") or 0.0
    after = facts.exposure.total
    if after <= limit:
        return
    yield Reason(
        "insurance",
        policy.extra.get("insurance_action", WARN),
        {
            "exposure_after": after,
            "insured_limit": limit,
            "excess": after - limit,
            "insurers": facts.extra.get("insurers", ""),
        },
    )


INSURANCE_RULES = (insurance_rule,)
