"""Foreign-currency limits: the limit's figures in the decision, and the rate-move signal."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credit_policy.decision import BLOCKED, OK, CreditFacts, CreditPolicy, evaluate
from credit_policy.exposure import Exposure
from credit_policy.warnings import RATE_MOVE, alert_key, needs_alert, rate_move_signal

CHECK_DATE = date(2026, 12, 2)


def facts(limit, receivables, order, **kwargs):
    return CreditFacts(
        exposure=Exposure(receivables=receivables, current_order=order),
        check_date=CHECK_DATE,
        limit=limit,
        **kwargs,
    )


# ------------------------------------------------------------ the limit rule


def test_limit_in_foreign_currency_blocks_on_its_converted_amount():
    """USD 10,000 at 0.915 EUR/USD is EUR 9,150: EUR 9,200 of exposure is over it."""
    decision = evaluate(
        facts(9150.0, 9000.0, 200.0, limit_currency="USD", limit_amount_currency=10000.0), CreditPolicy()
    )
    assert decision.state == BLOCKED
    (reason,) = decision.reasons
    assert reason.code == "limit_exceeded"
    assert reason.figures["limit"] == 9150.0
    assert reason.figures["limit_currency"] == "USD"
    assert reason.figures["limit_amount_currency"] == 10000.0
    assert reason.figures["limit_rate_date"] == CHECK_DATE
    assert reason.figures["excess"] == pytest.approx(50.0)


def test_limit_in_foreign_currency_passes_at_a_better_rate():
    """The same USD 10,000 at 0.93 EUR/USD is EUR 9,300: the same order passes."""
    decision = evaluate(
        facts(9300.0, 9000.0, 200.0, limit_currency="USD", limit_amount_currency=10000.0), CreditPolicy()
    )
    assert decision.state == OK


def test_limit_in_company_currency_has_no_currency_figures():
    decision = evaluate(facts(1000.0, 900.0, 200.0), CreditPolicy())
    (reason,) = decision.reasons
    assert "limit_currency" not in reason.figures
    assert "limit_amount_currency" not in reason.figures
    assert "limit_rate_date" not in reason.figures


def test_negative_limit_in_its_currency_is_refused():
    with pytest.raises(ValueError, match="own currency"):
        facts(0.0, 0.0, 1.0, limit_currency="USD", limit_amount_currency=-1.0)


# ------------------------------------------------------------ rate move


def test_rate_move_fires_when_only_the_rate_put_the_customer_over():
    """USD 10,000: EUR 9,300 a week ago, EUR 9,150 today; exposure EUR 9,200 unchanged."""
    figures = rate_move_signal(9200.0, 10000.0, rate_before=0.93, rate_now=0.915)
    assert figures == {
        "exposure": 9200.0,
        "limit_amount_currency": 10000.0,
        "rate_before": 0.93,
        "rate_now": 0.915,
        "limit_before": pytest.approx(9300.0),
        "limit_now": pytest.approx(9150.0),
        "capacity_before": pytest.approx(9300.0),
        "capacity_now": pytest.approx(9150.0),
        "excess": pytest.approx(50.0),
    }


@pytest.mark.parametrize(
    ("exposure", "rate_before", "rate_now", "added", "reason"),
    [
        (9400.0, 0.93, 0.915, 0.0, "over at both rates: new documents, not the rate"),
        (9100.0, 0.93, 0.915, 0.0, "within the limit at today's rate"),
        (9150.0, 0.93, 0.915, 0.0, "at the limit is not over it"),
        (9200.0, 0.915, 0.93, 0.0, "the rate moved in the customer's favour"),
        (9200.0, 0.93, 0.93, 0.0, "no rate move"),
        (9200.0, 0.93, 0.915, 100.0, "a guarantee keeps the customer within its capacity"),
    ],
)
def test_rate_move_does_not_fire(exposure, rate_before, rate_now, added, reason):
    assert rate_move_signal(exposure, 10000.0, rate_before, rate_now, added) is None, reason


def test_rate_move_counts_added_capacity_at_both_rates():
    figures = rate_move_signal(9300.0, 10000.0, 0.93, 0.915, added_capacity=100.0)
    assert figures["capacity_before"] == pytest.approx(9400.0)
    assert figures["capacity_now"] == pytest.approx(9250.0)
    assert figures["excess"] == pytest.approx(50.0)


def test_rate_move_without_limit_gives_no_signal():
    assert rate_move_signal(9200.0, 0.0, 0.93, 0.915) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate_before": 0.0}, "rate_before"),
        ({"rate_now": -1.0}, "rate_now"),
        ({"rate_now": float("nan")}, "rate_now"),
        ({"limit_amount_currency": -5.0}, "limit_amount_currency"),
        ({"exposure": float("inf")}, "exposure"),
    ],
)
def test_rate_move_refuses_bad_figures(kwargs, message):
    args = {"exposure": 9200.0, "limit_amount_currency": 10000.0, "rate_before": 0.93, "rate_now": 0.915}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        rate_move_signal(**args)


rates = st.floats(min_value=0.01, max_value=100.0, allow_nan=False)
amounts = st.floats(min_value=0.0, max_value=1e9, allow_nan=False, allow_infinity=False)


@given(exposure=amounts, limit=amounts, before=rates, now=rates)
def test_rate_move_fires_only_over_today_and_within_before(exposure, limit, before, now):
    figures = rate_move_signal(exposure, limit, before, now)
    over_now = exposure > limit * now
    within_before = exposure <= limit * before
    assert (figures is not None) is (bool(limit) and over_now and within_before)
    if figures:
        assert now < before  # only a falling rate can put a customer over


def test_rate_move_is_a_state_rule():
    key = alert_key(1, 2, RATE_MOVE)
    assert key == "rate_move:1:2"
    # Resolved while the customer is still over because of the rate: alerted again.
    assert needs_alert(key, RATE_MOVE, open_keys=set(), known_keys={key})
    assert not needs_alert(key, RATE_MOVE, open_keys={key}, known_keys={key})
