"""Country risk: risk classes, the cap on recommended limits, the country's deposit."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credit_policy.country import (
    RISK_CLASSES,
    SOURCE_COUNTRY,
    SOURCE_GRADE,
    cap_recommendation,
    check_deposit_percent,
    check_risk_class,
    exceeds_cap,
    has_cap,
    is_risk_class,
    required_deposit,
)
from credit_policy.decision import BLOCK, BLOCKED, OK, RULES, CreditFacts, CreditPolicy, evaluate
from credit_policy.exposure import Exposure
from credit_policy.factors import factor_values
from credit_policy.grades import Grade, recommended_limit
from credit_policy.scoring import Band, Factor, Scorecard, score
from credit_policy.terms import TERM_RULES, deposit_rule

TODAY = date(2025, 6, 15)


# ------------------------------------------------------------------ classes


def test_the_oecd_scale_runs_from_0_to_7():
    assert RISK_CLASSES == (0, 1, 2, 3, 4, 5, 6, 7)


@pytest.mark.parametrize("value", [0, 1, 4, 7])
def test_valid_classes(value):
    assert is_risk_class(value)
    assert check_risk_class(value) == value


@pytest.mark.parametrize("value", [-1, 8, 10, 2.5, 3.0, True, None, "3"])
def test_invalid_classes(value):
    assert not is_risk_class(value)
    with pytest.raises(ValueError, match="from 0 to 7"):
        check_risk_class(value)


@pytest.mark.parametrize("value", [0, 0.0, 12.5, 100])
def test_valid_deposits(value):
    assert check_deposit_percent(value) == value


@pytest.mark.parametrize("value", [-0.01, 100.01, float("nan"), float("inf"), None, True])
def test_invalid_deposits(value):
    with pytest.raises(ValueError, match="0 to 100"):
        check_deposit_percent(value)


# ------------------------------------------------------------------ cap on the recommendation


@pytest.mark.parametrize(
    ("recommended", "cap", "expected"),
    [
        (50_000.0, 20_000.0, (20_000.0, True)),  # the cap is lower: it applies
        (10_000.0, 20_000.0, (10_000.0, False)),  # the grade recommends less already
        (20_000.0, 20_000.0, (20_000.0, False)),  # equal: the grade's recommendation stands
        (None, 20_000.0, (20_000.0, True)),  # no grade recommendation: the cap is the recommendation
        (0.0, 20_000.0, (0.0, False)),  # cash-only grade stays cash only
        (50_000.0, 0.0, (50_000.0, False)),  # cap 0: no cap
        (50_000.0, None, (50_000.0, False)),
        (None, None, (None, False)),
    ],
)
def test_cap_recommendation(recommended, cap, expected):
    assert cap_recommendation(recommended, cap) == expected


def test_cap_with_a_grade_recommendation():
    grade = Grade("B", 40, None, 0.05, None)
    assert cap_recommendation(recommended_limit(grade, revenue=1_000_000.0), 30_000.0) == (30_000.0, True)
    assert cap_recommendation(recommended_limit(grade, revenue=400_000.0), 30_000.0) == (20_000.0, False)


@pytest.mark.parametrize(
    ("recommended", "cap"), [(-1.0, 10.0), (10.0, -1.0), (float("nan"), 10.0), (10.0, "x")]
)
def test_cap_rejects_bad_amounts(recommended, cap):
    with pytest.raises(ValueError):
        cap_recommendation(recommended, cap)


@given(
    recommended=st.none() | st.floats(min_value=0, max_value=1e12),
    cap=st.none() | st.floats(min_value=0, max_value=1e12),
)
def test_capped_recommendation_never_exceeds_either(recommended, cap):
    limit, capped = cap_recommendation(recommended, cap)
    if has_cap(cap):
        assert limit <= cap
        assert capped == (recommended is None or cap < recommended)
    else:
        assert (limit, capped) == (recommended, False)
    if recommended is not None:
        assert limit <= recommended


@pytest.mark.parametrize(
    ("limit", "cap", "exceeds"),
    [
        (20_000.0, 20_000.0, False),
        (20_000.01, 20_000.0, True),
        (5_000.0, 20_000.0, False),
        (0.0, 20_000.0, True),  # 0 is "no limit checked": more than any cap
        (1e9, 0.0, False),  # no cap
        (0.0, None, False),
    ],
)
def test_limit_above_the_cap(limit, cap, exceeds):
    assert exceeds_cap(limit, cap) is exceeds


# ------------------------------------------------------------------ deposits


@pytest.mark.parametrize(
    ("grade", "country", "expected"),
    [
        (None, None, (0.0, None)),
        (0.0, 0.0, (0.0, None)),
        (20.0, None, (20.0, SOURCE_GRADE)),
        (None, 30.0, (30.0, SOURCE_COUNTRY)),  # no grade: the country's deposit alone
        (20.0, 30.0, (30.0, SOURCE_COUNTRY)),
        (50.0, 30.0, (50.0, SOURCE_GRADE)),
        (30.0, 30.0, (30.0, SOURCE_GRADE)),  # tie: the customer's own grade
    ],
)
def test_the_larger_deposit_applies(grade, country, expected):
    assert required_deposit(grade, country) == expected


def test_deposit_rejects_bad_shares():
    with pytest.raises(ValueError, match="country deposit"):
        required_deposit(10.0, 120.0)
    with pytest.raises(ValueError, match="grade deposit"):
        required_deposit(-5.0, None)


def facts(order=1_000.0, mode="limit", **extra):
    return CreditFacts(
        exposure=Exposure(current_order=order), check_date=TODAY, order_amount=order, mode=mode, extra=extra
    )


def test_country_deposit_fires_without_a_grade():
    found = list(
        deposit_rule(
            facts(country_deposit_percent=30.0, country="Argentina", country_risk_class=7), CreditPolicy()
        )
    )
    assert len(found) == 1
    figures = found[0].figures
    assert figures["deposit_percent"] == 30.0
    assert figures["required_amount"] == 300.0
    assert (figures["source"], figures["country"], figures["country_risk_class"]) == (
        SOURCE_COUNTRY,
        "Argentina",
        7,
    )


def test_country_deposit_paid_passes():
    paid = facts(country_deposit_percent=30.0, country="Argentina", paid_amount=300.0)
    assert list(deposit_rule(paid, CreditPolicy())) == []
    assert evaluate(paid, CreditPolicy(), RULES + TERM_RULES).state == OK


def test_grade_deposit_larger_than_the_country_s_names_the_grade():
    found = list(
        deposit_rule(facts(deposit_percent=50.0, grade="C", country_deposit_percent=30.0), CreditPolicy())
    )
    assert (found[0].figures["deposit_percent"], found[0].figures["source"]) == (50.0, SOURCE_GRADE)
    decision = evaluate(
        facts(deposit_percent=10.0, grade="BB", country_deposit_percent=30.0, paid_amount=100.0),
        CreditPolicy(extra={"deposit_action": BLOCK}),
        RULES + TERM_RULES,
    )
    assert decision.state == BLOCKED
    assert decision.reasons[0].figures["source"] == SOURCE_COUNTRY
    assert decision.reasons[0].figures["missing_amount"] == 200.0


# ------------------------------------------------------------------ scorecard factor


def test_class_is_the_country_risk_factor_value_missing_without_a_class():
    factor = Factor(
        "country_risk",
        1.0,
        (Band(None, 2.0, 100.0), Band(2.0, 4.0, 70.0), Band(4.0, 6.0, 35.0), Band(6.0, None, 0.0)),
    )
    card = Scorecard((factor,))
    for risk_class, points in ((0, 100.0), (1, 100.0), (3, 70.0), (5, 35.0), (7, 0.0)):
        values = factor_values(country_risk=risk_class)
        assert score(card, values).lines[0].points == points
    missing = score(card, factor_values(country_risk=None)).lines[0]
    assert (missing.value, missing.status, missing.points) == (None, "missing", 50.0)
