"""From gathered figures to scorecard factor values; rating trend."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credit_policy.behaviour import PaymentAggregates, PaymentBehaviour
from credit_policy.factors import (
    FACTOR_CODES,
    FACTOR_KIND,
    FACTOR_KINDS,
    factor_values,
    financial_ratios,
    overdue_ratio,
    rating_trend,
    ratio,
    relationship_years,
)
from credit_policy.grades import default_grade_table
from credit_policy.scoring import Band, Factor, Scorecard, score

TABLE = default_grade_table()
AS_OF = date(2024, 7, 1)

# ---------------------------------------------------------------- ratios


def test_ratio():
    assert ratio(1, 4) == 0.25
    assert ratio(-1, 4) == -0.25


@pytest.mark.parametrize(("numerator", "denominator"), [(1, 0), (None, 4), (1, None), (None, None)])
def test_ratio_without_data_is_none(numerator, denominator):
    assert ratio(numerator, denominator) is None


def test_ratio_rejects_non_numbers():
    with pytest.raises(ValueError):
        ratio("1", 2)
    with pytest.raises(ValueError):
        ratio(1, float("nan"))


def test_financial_ratios_from_a_statement():
    ratios = financial_ratios(
        revenue=1_000_000,
        total_assets=500_000,
        total_liabilities=300_000,
        current_assets=200_000,
        current_liabilities=100_000,
        equity=200_000,
        net_profit=50_000,
    )
    assert ratios == {"debt_to_asset": 0.6, "current_ratio": 2.0, "equity_ratio": 0.4, "net_margin": 0.05}


def test_financial_ratios_with_zero_denominators_are_missing_not_zero():
    ratios = financial_ratios(
        revenue=0, total_assets=0, current_assets=10, current_liabilities=0, net_profit=5
    )
    assert ratios == dict.fromkeys(("debt_to_asset", "current_ratio", "equity_ratio", "net_margin"))


# ---------------------------------------------------------------- overdue, relationship


def test_overdue_ratio():
    assert overdue_ratio(250, 1_000) == 0.25
    assert overdue_ratio(0, 1_000) == 0
    assert overdue_ratio(0, 0) == 0  # nothing open: nothing overdue
    assert overdue_ratio(1_000.0000001, 1_000) == 1.0


@pytest.mark.parametrize(("overdue", "open_amount"), [(-1, 10), (1, -10), (None, 10), (1, float("inf"))])
def test_overdue_ratio_rejects_bad_figures(overdue, open_amount):
    with pytest.raises(ValueError):
        overdue_ratio(overdue, open_amount)


def test_relationship_years():
    assert relationship_years(date(2022, 7, 1), AS_OF) == pytest.approx(731 / 365.25)
    assert relationship_years(AS_OF, AS_OF) == 0
    assert relationship_years(date(2025, 1, 1), AS_OF) == 0  # first invoice after as_of: not negative
    assert relationship_years(None, AS_OF) is None


def test_relationship_years_needs_dates():
    with pytest.raises(ValueError):
        relationship_years("2024-01-01", AS_OF)
    with pytest.raises(ValueError):
        relationship_years(date(2024, 1, 1), None)


# ---------------------------------------------------------------- factor values


def _behaviour(**aggregates):
    return PaymentBehaviour.from_aggregates(PaymentAggregates(**aggregates))


def test_factor_values_of_a_customer_with_history():
    behaviour = _behaviour(
        paid_amount=2_000,
        amount_days_late=10_000,
        late_amount=1_000,
        max_days_late=10,
        overdue_amount=300,
        max_days_overdue=20,
        receivables=1_200,
        sales_in_period=3_650,
        recent_paid=1_000,
        recent_late=1_000,
        previous_paid=1_000,
        previous_late=0,
    )
    values = factor_values(
        behaviour,
        open_amount=1_200,
        first_invoice_date=date(2023, 7, 1),
        as_of=AS_OF,
        sales_volume=3_650,
        ratios=financial_ratios(total_assets=100, total_liabilities=40),
        bureau_score=72,
    )
    assert set(values) == set(FACTOR_CODES)
    assert values["late_share"] == 0.5
    assert values["weighted_days_late"] == 5
    assert values["max_days_late"] == 10
    assert values["max_days_overdue"] == 20
    assert values["overdue_ratio"] == 0.25
    assert values["dso"] == 120
    assert values["late_share_trend"] == 1.0
    assert values["relationship_years"] == pytest.approx(366 / 365.25)
    assert values["sales_volume"] == 3_650
    assert values["debt_to_asset"] == 0.4
    assert values["current_ratio"] is None
    assert values["bureau_score"] == 72
    assert values["country_risk"] is None


def test_factor_values_without_any_data_are_all_missing():
    assert factor_values() == dict.fromkeys(FACTOR_CODES)
    # a behaviour without a first invoice is no history either
    assert factor_values(_behaviour(), as_of=AS_OF) == dict.fromkeys(FACTOR_CODES)


def test_invoiced_but_nothing_paid_yet():
    values = factor_values(
        _behaviour(receivables=500, sales_in_period=500, history_days=(AS_OF - date(2024, 6, 1)).days),
        open_amount=500,
        first_invoice_date=date(2024, 6, 1),
        as_of=AS_OF,
        sales_volume=500,
    )
    # paid-invoice factors have no data, open-item factors do (nothing overdue yet)
    assert values["late_share"] is None
    assert values["weighted_days_late"] is None
    assert values["max_days_late"] is None
    assert values["max_days_overdue"] == 0
    assert values["overdue_ratio"] == 0
    # 30 days of sales history: too short for a DSO (not "DSO 365")
    assert values["dso"] is None
    assert values["relationship_years"] == pytest.approx(30 / 365.25)


def test_history_requires_as_of():
    with pytest.raises(ValueError):
        factor_values(_behaviour(), first_invoice_date=date(2024, 1, 1))


def test_unknown_ratio_is_refused():
    with pytest.raises(ValueError):
        factor_values(ratios={"quick_ratio": 1.0})


def test_missing_values_score_neutral_points():
    card = Scorecard(
        [
            Factor("late_share", 1, [Band(None, 0.1, 100), Band(0.1, None, 0)]),
            Factor("bureau_score", 1, [Band(None, 50, 20), Band(50, None, 80)], missing_points=10),
        ]
    )
    result = score(card, factor_values())
    assert result.score == pytest.approx((50 + 10) / 2)
    assert set(result.missing_codes) == {"late_share", "bureau_score"}


@given(
    paid=st.floats(0, 1e9),
    late_part=st.floats(0, 1),
    days=st.floats(0, 1e4),
    overdue_part=st.floats(0, 1),
    open_amount=st.floats(0, 1e9),
)
def test_payment_values_stay_in_their_ranges(paid, late_part, days, overdue_part, open_amount):
    behaviour = _behaviour(
        paid_amount=paid,
        late_amount=paid * late_part,
        amount_days_late=paid * days,
        overdue_amount=open_amount * overdue_part,
        receivables=open_amount,
    )
    values = factor_values(
        behaviour, open_amount=open_amount, first_invoice_date=date(2020, 1, 1), as_of=AS_OF
    )
    if paid:
        assert 0 <= values["late_share"] <= 1
        assert values["weighted_days_late"] >= 0
    else:
        assert values["late_share"] is None
    assert 0 <= values["overdue_ratio"] <= 1


# ---------------------------------------------------------------- trend


@pytest.mark.parametrize(
    ("previous", "new", "trend"),
    [
        (None, "A", "new"),
        ("", "A", "new"),
        ("A", "A", "same"),
        ("BBB", "A", "up"),
        ("A", "BBB", "down"),
        ("D", "AAA", "up"),
        ("E", "A", "new"),  # previous grade not on this table
    ],
)
def test_rating_trend(previous, new, trend):
    assert rating_trend(TABLE, previous, new) == trend


def test_rating_trend_needs_a_known_new_grade():
    with pytest.raises(KeyError):
        rating_trend(TABLE, "A", "E")


@given(st.sampled_from(TABLE.codes), st.sampled_from(TABLE.codes))
def test_trend_follows_the_grade_order(previous, new):
    trend = rating_trend(TABLE, previous, new)
    assert (
        trend
        == {-1: "up", 0: "same", 1: "down"}[
            (TABLE.rank(new) > TABLE.rank(previous)) - (TABLE.rank(new) < TABLE.rank(previous))
        ]
    )


def test_every_factor_has_a_kind():
    assert set(FACTOR_KIND) == set(FACTOR_CODES)
    assert set(FACTOR_KIND.values()) <= set(FACTOR_KINDS)


# ---------------------------------------------------------------- predicted late share


def test_predicted_late_share_is_a_share_factor():
    assert "predicted_late_share" in FACTOR_CODES
    assert FACTOR_KIND["predicted_late_share"] == "share"


def test_predicted_late_share_is_missing_without_a_model():
    values = factor_values(_behaviour(paid_amount=100), first_invoice_date=date(2024, 1, 1), as_of=AS_OF)
    assert values["predicted_late_share"] is None


@pytest.mark.parametrize("share", [0.0, 0.35, 1.0])
def test_predicted_late_share_is_passed_through_with_or_without_history(share):
    assert factor_values(predicted_late_share=share)["predicted_late_share"] == share
    values = factor_values(
        _behaviour(paid_amount=100),
        first_invoice_date=date(2024, 1, 1),
        as_of=AS_OF,
        predicted_late_share=share,
    )
    assert values["predicted_late_share"] == share
    # the other factors are those of the history alone
    assert (
        values["late_share"]
        == factor_values(_behaviour(paid_amount=100), first_invoice_date=date(2024, 1, 1), as_of=AS_OF)[
            "late_share"
        ]
    )


@pytest.mark.parametrize("share", [-0.01, 1.01, float("nan"), float("inf"), "0.3", True])
def test_predicted_late_share_must_be_a_share(share):
    with pytest.raises(ValueError):
        factor_values(predicted_late_share=share)


def test_predicted_late_share_is_scored_by_its_bands():
    card = Scorecard(
        [
            Factor("late_share", 1, [Band(None, 0.1, 100), Band(0.1, None, 0)]),
            Factor("predicted_late_share", 1, [Band(None, 0.2, 100), Band(0.2, 0.5, 50), Band(0.5, None, 0)]),
        ]
    )
    history = {"first_invoice_date": date(2024, 1, 1), "as_of": AS_OF}
    low = score(card, factor_values(_behaviour(paid_amount=100), predicted_late_share=0.1, **history))
    high = score(card, factor_values(_behaviour(paid_amount=100), predicted_late_share=0.6, **history))
    missing = score(card, factor_values(_behaviour(paid_amount=100), **history))
    assert low.score == pytest.approx((100 + 100) / 2)
    assert high.score == pytest.approx((100 + 0) / 2)
    assert missing.score == pytest.approx((100 + 50) / 2)  # neutral: mid-point of 0..100
    assert list(missing.missing_codes) == ["predicted_late_share"]
