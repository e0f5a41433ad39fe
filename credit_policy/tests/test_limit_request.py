"""Limit requests: second-approval decision and the temporary limit's life."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credit_policy.limit_request import (
    ABOVE_RECOMMENDATION,
    ABOVE_THRESHOLD,
    STEP_APPLY,
    STEP_EXPIRE,
    STEP_REVERT,
    exceeds,
    second_approval_reasons,
    temporary_limit_step,
)

amounts = st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False)


# ---------------------------------------------------------------- second approval


@pytest.mark.parametrize(
    ("amount", "recommended", "threshold", "expected"),
    [
        (5000.0, 8000.0, 0.0, ()),  # within the recommendation, no threshold
        (8000.0, 8000.0, 0.0, ()),  # equal to the recommendation is allowed
        (8000.01, 8000.0, 0.0, (ABOVE_RECOMMENDATION,)),
        (5000.0, None, 0.0, ()),  # no recommendation, no threshold: one approval
        (50000.0, None, 0.0, ()),
        (5000.0, None, 4000.0, (ABOVE_THRESHOLD,)),
        (4000.0, None, 4000.0, ()),
        (9000.0, 8000.0, 4000.0, (ABOVE_RECOMMENDATION, ABOVE_THRESHOLD)),
        (6000.0, 8000.0, 4000.0, (ABOVE_THRESHOLD,)),
        (100.0, 0.0, 0.0, (ABOVE_RECOMMENDATION,)),  # cash-only grade recommends 0
    ],
)
def test_second_approval_reasons(amount, recommended, threshold, expected):
    assert second_approval_reasons(amount, recommended, threshold) == expected


def test_zero_limit_means_unlimited():
    """Odoo's limit 0 checks nothing: requesting it exceeds any recommendation or threshold."""
    assert second_approval_reasons(0.0, 8000.0, 0.0) == (ABOVE_RECOMMENDATION,)
    assert second_approval_reasons(0.0, None, 4000.0) == (ABOVE_THRESHOLD,)
    assert second_approval_reasons(0.0, 0.0, 0.0) == (ABOVE_RECOMMENDATION,)
    assert second_approval_reasons(0.0, None, 0.0) == ()


@pytest.mark.parametrize(
    ("amount", "recommended", "threshold", "what"),
    [
        (-1.0, None, 0.0, "amount"),
        (float("nan"), None, 0.0, "amount"),
        (None, None, 0.0, "amount"),
        (True, None, 0.0, "amount"),
        (10.0, -5.0, 0.0, "recommended_limit"),
        (10.0, float("inf"), 0.0, "recommended_limit"),
        (10.0, None, -1.0, "threshold"),
        (10.0, None, None, "threshold"),
    ],
)
def test_invalid_figures(amount, recommended, threshold, what):
    with pytest.raises(ValueError, match=what):
        second_approval_reasons(amount, recommended, threshold)


@given(amount=amounts, recommended=st.one_of(st.none(), amounts), threshold=amounts)
def test_second_approval_matches_definition(amount, recommended, threshold):
    reasons = second_approval_reasons(amount, recommended, threshold)
    unlimited = amount == 0
    over_recommendation = recommended is not None and (unlimited or amount > recommended)
    over_threshold = threshold > 0 and (unlimited or amount > threshold)
    assert (ABOVE_RECOMMENDATION in reasons) == over_recommendation
    assert (ABOVE_THRESHOLD in reasons) == over_threshold
    assert len(set(reasons)) == len(reasons)


@given(low=amounts, high=amounts, recommended=st.one_of(st.none(), amounts), threshold=amounts)
def test_a_larger_limit_never_needs_fewer_approvals(low, high, recommended, threshold):
    """Monotone: raising a positive requested limit never removes a reason for a second approval."""
    low, high = sorted((low, high))
    if low == 0:
        return  # 0 is unlimited, the largest of all
    assert set(second_approval_reasons(low, recommended, threshold)) <= set(
        second_approval_reasons(high, recommended, threshold)
    )


def test_exceeds():
    assert exceeds(0.0, 1e12)
    assert exceeds(10.0, 5.0)
    assert not exceeds(5.0, 5.0)
    assert not exceeds(4.0, 5.0)


# ---------------------------------------------------------------- temporary limits

START = date(2025, 3, 10)
END = date(2025, 3, 20)


@pytest.mark.parametrize(
    ("applied", "today", "expected"),
    [
        (False, date(2025, 3, 9), None),  # not started
        (False, START, STEP_APPLY),
        (False, date(2025, 3, 15), STEP_APPLY),  # started while waiting (e.g. cron missed a day)
        (False, END, STEP_APPLY),  # last day still valid
        (False, date(2025, 3, 21), STEP_EXPIRE),  # period over before it was applied
        (True, START, None),
        (True, END, None),  # valid through its last day
        (True, date(2025, 3, 21), STEP_REVERT),
        (True, date(2026, 1, 1), STEP_REVERT),
    ],
)
def test_temporary_limit_step(applied, today, expected):
    assert temporary_limit_step(applied, START, END, today) == expected


def test_one_day_temporary_limit():
    assert temporary_limit_step(False, START, START, START) == STEP_APPLY
    assert temporary_limit_step(True, START, START, START) is None
    assert temporary_limit_step(True, START, START, START + timedelta(days=1)) == STEP_REVERT


def test_period_must_be_ordered():
    with pytest.raises(ValueError, match="end on or after"):
        temporary_limit_step(False, END, START, START)


@given(
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
    days=st.integers(min_value=0, max_value=60),
    lead=st.integers(min_value=0, max_value=10),
)
def test_a_daily_run_keeps_the_limit_in_force_exactly_during_its_period(start, days, lead):
    """Running the steps once a day, the limit is in force on exactly the days of its period."""
    end = start + timedelta(days=days)
    applied, ended = False, False
    day = start - timedelta(days=lead)
    while day <= end + timedelta(days=3):
        step = None if ended else temporary_limit_step(applied, start, end, day)
        if step == STEP_APPLY:
            applied = True
        elif step in (STEP_REVERT, STEP_EXPIRE):
            applied, ended = False, True
        assert applied == (start <= day <= end)
        day += timedelta(days=1)
    assert ended
