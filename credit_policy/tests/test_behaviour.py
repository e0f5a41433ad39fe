"""Payment behaviour metrics from aggregated figures."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credit_policy.behaviour import (
    MIN_DSO_HISTORY_DAYS,
    PaymentAggregates,
    PaymentBehaviour,
    aggregate_paid,
    days_sales_outstanding,
    dso_window_days,
    late_share,
    late_share_trend,
    weighted_days_beyond_terms,
)

# ---------------------------------------------------------------- single metrics


def test_weighted_days_beyond_terms():
    # 1 000 paid 10 days late, 3 000 paid on time -> 10 000 / 4 000
    assert weighted_days_beyond_terms(4_000, 10_000) == 2.5


def test_weighted_days_beyond_terms_without_payments_is_none():
    assert weighted_days_beyond_terms(0, 0) is None


def test_late_share():
    assert late_share(4_000, 1_000) == 0.25
    assert late_share(4_000, 0) == 0
    assert late_share(4_000, 4_000) == 1


def test_late_share_without_payments_is_none():
    assert late_share(0, 0) is None


def test_late_share_tolerates_rounding_of_database_sums():
    assert late_share(100.0, 100.0 + 1e-9) == 1.0


def test_late_amount_above_paid_amount_is_rejected():
    with pytest.raises(ValueError, match="cannot exceed"):
        late_share(100, 150)


def test_dso():
    # 50 000 receivable, 365 000 sold in 365 days -> 50 days of sales outstanding
    assert days_sales_outstanding(50_000, 365_000, 365) == pytest.approx(50)
    assert days_sales_outstanding(30_000, 90_000, 90) == pytest.approx(30)


def test_dso_without_sales_is_none():
    assert days_sales_outstanding(50_000, 0, 365) is None


def test_dso_of_a_credit_balance_is_zero():
    assert days_sales_outstanding(-5_000, 100_000, 365) == 0


def test_dso_needs_a_minimum_history():
    # one invoice 10 days old: not "DSO 365" but no DSO at all
    assert days_sales_outstanding(500, 500, 365, history_days=10) is None
    assert days_sales_outstanding(500, 500, 365, history_days=MIN_DSO_HISTORY_DAYS - 1) is None


def test_dso_window_is_shortened_to_the_history():
    # 120 days of history, 12 000 sold, 4 000 open -> a third of 120 days
    assert days_sales_outstanding(4_000, 12_000, 365, history_days=120) == pytest.approx(40)
    assert days_sales_outstanding(4_000, 12_000, 365, history_days=MIN_DSO_HISTORY_DAYS) == pytest.approx(30)
    # a history as long as the period (or longer, or unknown) keeps the whole period
    assert days_sales_outstanding(50_000, 365_000, 365, history_days=365) == pytest.approx(50)
    assert days_sales_outstanding(50_000, 365_000, 365, history_days=2_000) == pytest.approx(50)


def test_dso_window_days():
    assert dso_window_days(365) == 365
    assert dso_window_days(365, 400) == 365
    assert dso_window_days(365, 200) == 200
    assert dso_window_days(365, 0) is None
    # a period shorter than the minimum history is never "not enough history"
    assert dso_window_days(30, 30) == 30


@pytest.mark.parametrize("history_days", [-1, 10.5, True, "90"])
def test_dso_history_must_be_whole_days(history_days):
    with pytest.raises(ValueError, match="history_days"):
        dso_window_days(365, history_days)
    with pytest.raises(ValueError, match="history_days"):
        PaymentAggregates(history_days=history_days)


def test_behaviour_uses_the_history_for_dso():
    young = PaymentAggregates(receivables=500, sales_in_period=500, history_days=10)
    assert PaymentBehaviour.from_aggregates(young).dso is None
    older = PaymentAggregates(receivables=4_000, sales_in_period=12_000, history_days=120)
    assert PaymentBehaviour.from_aggregates(older).dso == pytest.approx(40)


def test_trend():
    # 30 % paid late recently, 10 % before: paying later
    assert late_share_trend(1_000, 300, 2_000, 200) == pytest.approx(0.2)
    assert late_share_trend(1_000, 0, 1_000, 500) == pytest.approx(-0.5)


@pytest.mark.parametrize("args", [(0, 0, 1_000, 100), (1_000, 100, 0, 0), (0, 0, 0, 0)])
def test_trend_without_data_in_a_period_is_none(args):
    assert late_share_trend(*args) is None


@pytest.mark.parametrize(
    ("function", "args", "message"),
    [
        (weighted_days_beyond_terms, (-1, 0), "paid_amount"),
        (weighted_days_beyond_terms, (10, -1), "amount_days_late"),
        (late_share, (math.nan, 0), "paid_amount"),
        (late_share, (10, -1), "late_amount"),
        (days_sales_outstanding, (math.inf, 10, 30), "receivables"),
        (days_sales_outstanding, (10, -10, 30), "sales_in_period"),
        (days_sales_outstanding, (10, 10, 0), "period_days"),
        (days_sales_outstanding, (10, 10, 30.5), "period_days"),
        (late_share_trend, (10, 20, 10, 5), "cannot exceed"),
    ],
)
def test_invalid_input(function, args, message):
    with pytest.raises(ValueError, match=message):
        function(*args)


# ---------------------------------------------------------------- aggregation


def test_aggregate_paid():
    totals = aggregate_paid([(1_000, 10), (3_000, 0), (500, 40), (200, -5)])
    assert totals == {
        "paid_amount": 4_700,
        "amount_days_late": 1_000 * 10 + 500 * 40,
        "late_amount": 1_500,
        "max_days_late": 40,
    }


def test_aggregate_nothing():
    assert aggregate_paid([]) == {
        "paid_amount": 0,
        "amount_days_late": 0,
        "late_amount": 0,
        "max_days_late": 0,
    }


def test_aggregate_rejects_negative_amounts():
    with pytest.raises(ValueError, match="amount"):
        aggregate_paid([(-10, 3)])


# ---------------------------------------------------------------- behaviour


def test_behaviour_from_aggregates():
    aggregates = PaymentAggregates(
        **aggregate_paid([(1_000, 10), (3_000, 0)]),
        overdue_amount=2_500,
        max_days_overdue=75,
        receivables=60_000,
        sales_in_period=365_000,
        period_days=365,
        recent_paid=1_000,
        recent_late=500,
        previous_paid=1_000,
        previous_late=200,
    )
    behaviour = PaymentBehaviour.from_aggregates(aggregates)
    assert behaviour == PaymentBehaviour(
        weighted_days_late=2.5,
        late_share=0.25,
        max_days_late=10,
        overdue_amount=2_500,
        max_days_overdue=75,
        dso=pytest.approx(60),
        late_share_trend=pytest.approx(0.3),
    )


def test_behaviour_of_a_new_customer_has_no_data():
    behaviour = PaymentBehaviour.from_aggregates(PaymentAggregates())
    assert behaviour == PaymentBehaviour()
    assert behaviour.as_values() == {
        "weighted_days_late": None,
        "late_share": None,
        "max_days_late": 0,
        "overdue_amount": 0.0,
        "max_days_overdue": 0,
        "dso": None,
        "late_share_trend": None,
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"paid_amount": -1}, "paid_amount"),
        ({"paid_amount": 10, "late_amount": 20}, "late_amount"),
        ({"recent_paid": 10, "recent_late": 20}, "recent_late"),
        ({"previous_paid": 10, "previous_late": 20}, "previous_late"),
        ({"overdue_amount": math.nan}, "overdue_amount"),
        ({"max_days_overdue": -1}, "max_days_overdue"),
        ({"receivables": None}, "receivables"),
        ({"period_days": 0}, "period_days"),
    ],
)
def test_invalid_aggregates(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PaymentAggregates(**kwargs)


# ---------------------------------------------------------------- properties

items = st.lists(
    st.tuples(st.floats(min_value=0, max_value=1e7), st.integers(min_value=-30, max_value=400)), max_size=30
)


@given(items)
def test_metrics_stay_within_their_ranges(paid_items):
    totals = aggregate_paid(paid_items)
    behaviour = PaymentBehaviour.from_aggregates(PaymentAggregates(**totals))
    if totals["paid_amount"] == 0:
        assert behaviour.weighted_days_late is None
        assert behaviour.late_share is None
    else:
        assert 0 <= behaviour.weighted_days_late <= totals["max_days_late"] + 1e-6
        assert 0 <= behaviour.late_share <= 1
    assert totals["max_days_late"] == max([d for a, d in paid_items if d > 0] or [0])


@given(items, items)
def test_trend_is_the_difference_of_late_shares(recent_items, previous_items):
    recent = aggregate_paid(recent_items)
    previous = aggregate_paid(previous_items)
    trend = late_share_trend(
        recent["paid_amount"], recent["late_amount"], previous["paid_amount"], previous["late_amount"]
    )
    if recent["paid_amount"] == 0 or previous["paid_amount"] == 0:
        assert trend is None
    else:
        assert -1 <= trend <= 1
