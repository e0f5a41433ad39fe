"""Repayment plans: instalment validation, allocation of payments, plan state by date."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credit_policy.repayment import (
    AMOUNT_NOT_POSITIVE,
    BEFORE_START,
    NO_INSTALMENT,
    PLAN_BROKEN,
    PLAN_COMPLETED,
    PLAN_LATE,
    PLAN_ON_TRACK,
    SUM_MISMATCH,
    TOTAL_NOT_POSITIVE,
    Instalment,
    allocate,
    plan_status,
    validate_instalments,
)

START = date(2025, 6, 1)
FIRST, SECOND, THIRD = date(2025, 6, 30), date(2025, 7, 31), date(2025, 8, 31)
PLAN = (Instalment(FIRST, 300.0), Instalment(SECOND, 300.0), Instalment(THIRD, 400.0))


def codes(problems):
    return [code for code, _figures in problems]


# ------------------------------------------------------------
# Validation
# ------------------------------------------------------------


def test_instalments_summing_to_the_total_are_valid():
    assert validate_instalments(1_000.0, PLAN, START) == []


def test_instalments_not_summing_name_the_figures():
    problems = validate_instalments(1_000.0, PLAN[:2], START)
    assert problems == [(SUM_MISMATCH, {"total": 1_000.0, "instalments_total": 600.0, "difference": 400.0})]


def test_instalments_above_the_total_give_a_negative_difference():
    problems = validate_instalments(500.0, PLAN, START)
    assert problems == [(SUM_MISMATCH, {"total": 500.0, "instalments_total": 1_000.0, "difference": -500.0})]


def test_cents_sum_exactly():
    thirds = [Instalment(FIRST, 33.33), Instalment(SECOND, 33.33), Instalment(THIRD, 33.34)]
    assert validate_instalments(100.0, thirds, START) == []
    # 0.1 + 0.2 is not 0.3 in floating point; in cents it is.
    assert validate_instalments(0.3, [Instalment(FIRST, 0.1), Instalment(SECOND, 0.2)]) == []


def test_one_cent_off_is_refused():
    thirds = [Instalment(FIRST, 33.33), Instalment(SECOND, 33.33), Instalment(THIRD, 33.33)]
    problems = validate_instalments(100.0, thirds, START)
    assert problems == [(SUM_MISMATCH, {"total": 100.0, "instalments_total": 99.99, "difference": 0.01})]


def test_no_instalment_refused():
    assert codes(validate_instalments(100.0, [], START)) == [NO_INSTALMENT]


@pytest.mark.parametrize("total", [0.0, -10.0, 0.004])
def test_total_not_positive_refused(total):
    assert TOTAL_NOT_POSITIVE in codes(validate_instalments(total, [Instalment(FIRST, 10.0)]))


@pytest.mark.parametrize("amount", [0.0, -5.0])
def test_instalment_amount_not_positive_refused(amount):
    problems = validate_instalments(100.0, [Instalment(FIRST, 100.0 - amount), Instalment(SECOND, amount)])
    assert codes(problems) == [AMOUNT_NOT_POSITIVE]


def test_instalment_before_the_start_refused_on_the_start_accepted():
    assert codes(validate_instalments(100.0, [Instalment(START - timedelta(days=1), 100.0)], START)) == [
        BEFORE_START
    ]
    assert validate_instalments(100.0, [Instalment(START, 100.0)], START) == []


def test_non_number_refused():
    with pytest.raises(ValueError, match="total"):
        validate_instalments(None, PLAN)
    with pytest.raises(ValueError, match="instalment amount"):
        validate_instalments(100.0, [Instalment(FIRST, "100")])


# ------------------------------------------------------------
# Allocation
# ------------------------------------------------------------


@pytest.mark.parametrize(
    ("paid", "expected"),
    [
        (0.0, (0.0, 0.0, 0.0)),
        (250.0, (250.0, 0.0, 0.0)),
        (300.0, (300.0, 0.0, 0.0)),
        (450.5, (300.0, 150.5, 0.0)),
        (1_000.0, (300.0, 300.0, 400.0)),
        (1_200.0, (300.0, 300.0, 400.0)),
        (-20.0, (0.0, 0.0, 0.0)),
    ],
)
def test_allocation_in_date_order(paid, expected):
    assert allocate(paid, PLAN) == expected


def test_allocation_sorts_by_date_whatever_the_given_order():
    assert allocate(350.0, tuple(reversed(PLAN))) == (300.0, 50.0, 0.0)


def test_allocation_in_cents():
    thirds = [Instalment(FIRST, 33.33), Instalment(SECOND, 33.33), Instalment(THIRD, 33.34)]
    assert allocate(66.67, thirds) == (33.33, 33.33, 0.01)
    assert allocate(0.1 + 0.2, [Instalment(FIRST, 0.3)]) == (0.3,)


@given(
    st.lists(st.integers(min_value=1, max_value=10**7), min_size=1, max_size=8),
    st.integers(min_value=0, max_value=10**8),
)
def test_allocation_never_exceeds_paid_nor_instalments(cents, paid_cents):
    instalments = [Instalment(FIRST + timedelta(days=index), c / 100) for index, c in enumerate(cents)]
    shares = allocate(paid_cents / 100, instalments)
    assert round(sum(shares) * 100) == min(paid_cents, sum(cents))
    assert all(0 <= share <= instalment.amount for share, instalment in zip(shares, instalments, strict=True))


# ------------------------------------------------------------
# State as of a date
# ------------------------------------------------------------


def test_on_track_before_the_first_due_date():
    status = plan_status(PLAN, 0.0, FIRST - timedelta(days=1), grace_days=5)
    assert status.state == PLAN_ON_TRACK
    assert (status.paid, status.remaining) == (0.0, 1_000.0)
    assert status.first_unpaid_due == FIRST
    assert status.grace_end == FIRST + timedelta(days=5)


def test_on_track_on_the_due_date_itself():
    assert plan_status(PLAN, 0.0, FIRST, grace_days=0).state == PLAN_ON_TRACK


def test_on_track_after_a_due_date_when_that_instalment_is_paid():
    status = plan_status(PLAN, 300.0, FIRST + timedelta(days=20), grace_days=5)
    assert status.state == PLAN_ON_TRACK
    assert status.first_unpaid_due == SECOND
    assert status.paid_per_instalment == (300.0, 0.0, 0.0)


def test_late_the_day_after_the_due_date():
    status = plan_status(PLAN, 0.0, FIRST + timedelta(days=1), grace_days=5)
    assert status.state == PLAN_LATE


def test_partly_paid_instalment_is_late():
    assert plan_status(PLAN, 299.99, FIRST + timedelta(days=1), grace_days=5).state == PLAN_LATE
    assert plan_status(PLAN, 300.0, FIRST + timedelta(days=1), grace_days=5).state == PLAN_ON_TRACK


def test_late_on_exactly_the_last_grace_day_broken_the_day_after():
    assert plan_status(PLAN, 0.0, FIRST + timedelta(days=5), grace_days=5).state == PLAN_LATE
    assert plan_status(PLAN, 0.0, FIRST + timedelta(days=6), grace_days=5).state == PLAN_BROKEN


def test_without_grace_broken_the_day_after_the_due_date():
    assert plan_status(PLAN, 0.0, FIRST + timedelta(days=1), grace_days=0).state == PLAN_BROKEN


def test_broken_on_a_later_instalment():
    status = plan_status(PLAN, 600.0, THIRD + timedelta(days=8), grace_days=7)
    assert status.state == PLAN_BROKEN
    assert status.first_unpaid_due == THIRD
    assert status.remaining == 400.0


def test_not_broken_when_a_later_instalment_is_not_yet_due():
    assert plan_status(PLAN, 600.0, SECOND + timedelta(days=30), grace_days=7).state == PLAN_ON_TRACK


def test_completed_when_every_instalment_is_paid():
    status = plan_status(PLAN, 1_000.0, THIRD + timedelta(days=100), grace_days=0)
    assert status.state == PLAN_COMPLETED
    assert (status.first_unpaid_due, status.grace_end, status.remaining) == (None, None, 0.0)


def test_completed_early_and_overpaid():
    assert plan_status(PLAN, 1_050.0, START, grace_days=0).state == PLAN_COMPLETED


def test_not_completed_one_cent_short():
    status = plan_status(PLAN, 999.99, START, grace_days=0)
    assert status.state == PLAN_ON_TRACK
    assert status.remaining == 0.01


def test_completed_with_cents():
    thirds = [Instalment(FIRST, 33.33), Instalment(SECOND, 33.33), Instalment(THIRD, 33.34)]
    assert plan_status(thirds, 33.33 + 33.33 + 33.34, THIRD, grace_days=0).state == PLAN_COMPLETED
    assert plan_status(thirds, 66.66, SECOND + timedelta(days=1), grace_days=0).state == PLAN_ON_TRACK


@pytest.mark.parametrize("grace", [-1, 1.5, True, None])
def test_bad_grace_days_refused(grace):
    with pytest.raises(ValueError, match="grace"):
        plan_status(PLAN, 0.0, START, grace_days=grace)


def test_plan_without_instalments_has_no_state():
    with pytest.raises(ValueError, match="instalment"):
        plan_status((), 0.0, START)
