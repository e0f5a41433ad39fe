"""Credit insurance: insured exposure and the insured-limit rule."""

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
from credit_policy.insurance import INSURANCE_RULES, insurance_rule, insured_exposure, insured_split


def facts(before, order, **extra):
    return CreditFacts(
        exposure=Exposure(receivables=before, current_order=order),
        check_date=date(2025, 6, 15),
        order_amount=order,
        extra=extra,
    )


@pytest.mark.parametrize(
    ("exposure", "limit", "coverage", "insured"),
    [
        (800, 1_000, 90, 720),
        (1_500, 1_000, 90, 900),
        (1_000, 1_000, 100, 1_000),
        (0, 1_000, 90, 0),
        (-50, 1_000, 90, 0),
    ],
)
def test_insured_exposure(exposure, limit, coverage, insured):
    assert insured_exposure(exposure, limit, coverage) == pytest.approx(insured)


@pytest.mark.parametrize("coverage", [0, -1, 100.01])
def test_coverage_outside_range_refused(coverage):
    with pytest.raises(ValueError, match="coverage"):
        insured_exposure(100, 100, coverage)


def test_negative_insured_limit_refused():
    with pytest.raises(ValueError, match="insured limit"):
        insured_exposure(100, -1, 90)


def test_split_without_cover_is_all_uninsured():
    assert insured_split(1_200, ()) == (0.0, 1_200)


def test_split_over_several_covers_best_coverage_first():
    insured, uninsured = insured_split(1_500, [(500, 80), (1_000, 90)])
    # 1,000 at 90 % then 500 at 80 %.
    assert insured == pytest.approx(900 + 400)
    assert uninsured == pytest.approx(200)
    assert insured + uninsured == pytest.approx(1_500)


@pytest.mark.parametrize(
    ("before", "order", "fires"), [(600, 400, False), (600, 400.01, True), (1_200, 1, True)]
)
def test_insurance_rule(before, order, fires):
    found = list(
        insurance_rule(
            facts(before, order, insurance_required=True, insured_limit=1_000, insurers="Atradius P-1"),
            CreditPolicy(),
        )
    )
    assert bool(found) == fires
    if fires:
        reason = found[0]
        assert reason.action == WARN  # the default
        assert reason.figures["insured_limit"] == 1_000
        assert reason.figures["exposure_after"] == pytest.approx(before + order)
        assert reason.figures["insurers"] == "Atradius P-1"


def test_not_required_no_rule():
    assert list(insurance_rule(facts(5_000, 1_000, insured_limit=1_000), CreditPolicy())) == []
    assert list(insurance_rule(facts(5_000, 1_000, insurance_required=False), CreditPolicy())) == []


def test_required_without_cover_fires_on_any_exposure():
    found = list(insurance_rule(facts(0, 10, insurance_required=True), CreditPolicy()))
    assert found and found[0].figures["insured_limit"] == 0.0


@pytest.mark.parametrize(("action", "state"), [(BLOCK, BLOCKED), (WARN, WARNING), (IGNORE, OK)])
def test_insurance_follows_its_action(action, state):
    over = facts(900, 500, insurance_required=True, insured_limit=1_000)
    assert (
        evaluate(over, CreditPolicy(extra={"insurance_action": action}), RULES + INSURANCE_RULES).state
        == state
    )
