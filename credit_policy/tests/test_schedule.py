"""Credit review scheduling."""

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credit_policy.schedule import (
    REVIEW_DUE_SOON,
    REVIEW_OK,
    REVIEW_OVERDUE,
    REVIEW_STATES,
    next_review_date,
    review_due,
)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2025, 3, 15), 12, date(2026, 3, 15)),
        (date(2025, 3, 15), 6, date(2025, 9, 15)),
        (date(2025, 1, 31), 1, date(2025, 2, 28)),  # end of month safe
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # leap year
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2025, 8, 31), 3, date(2025, 11, 30)),
        (date(2025, 11, 30), 3, date(2026, 2, 28)),
        (date(2025, 12, 31), 1, date(2026, 1, 31)),
    ],
)
def test_next_review_date(start, months, expected):
    assert next_review_date(start, months) == expected


@pytest.mark.parametrize("months", [0, -3, 1.5, None, True])
def test_invalid_months(months):
    with pytest.raises(ValueError, match="months"):
        next_review_date(date(2025, 1, 1), months)


@pytest.mark.parametrize("start", [None, "2025-01-01", datetime(2025, 1, 1, 12, 0)])
def test_invalid_start_date(start):
    with pytest.raises(ValueError, match="from_date"):
        next_review_date(start, 12)


REVIEW = date(2025, 6, 30)


@pytest.mark.parametrize(
    ("today", "lead_days", "state"),
    [
        (date(2025, 5, 1), 14, REVIEW_OK),
        (date(2025, 6, 15), 14, REVIEW_OK),
        (date(2025, 6, 16), 14, REVIEW_DUE_SOON),  # exactly lead_days before
        (date(2025, 6, 29), 14, REVIEW_DUE_SOON),
        (REVIEW, 14, REVIEW_DUE_SOON),  # the review day itself is still in time
        (date(2025, 7, 1), 14, REVIEW_OVERDUE),
        (date(2026, 1, 1), 14, REVIEW_OVERDUE),
        (date(2025, 6, 29), 0, REVIEW_OK),
        (REVIEW, 0, REVIEW_DUE_SOON),
        (date(2025, 7, 1), 0, REVIEW_OVERDUE),
    ],
)
def test_review_due(today, lead_days, state):
    assert review_due(REVIEW, today, lead_days) == state


def test_no_review_planned_is_ok():
    assert review_due(None, date(2025, 6, 30), 30) == REVIEW_OK


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((REVIEW, REVIEW, -1), "lead_days"),
        ((REVIEW, REVIEW, 1.5), "lead_days"),
        ((REVIEW, None, 0), "today"),
        (("2025-06-30", REVIEW, 0), "next_review"),
    ],
)
def test_invalid_review_due_input(args, message):
    with pytest.raises(ValueError, match=message):
        review_due(*args)


dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))


@given(dates, st.integers(1, 60))
def test_next_review_is_in_the_right_month_never_past_the_day(start, months):
    result = next_review_date(start, months)
    assert (result.year * 12 + result.month) - (start.year * 12 + start.month) == months
    assert result.day <= start.day
    assert result > start


@given(dates, dates, st.integers(0, 120))
def test_review_states_follow_time(next_review, today, lead_days):
    state = review_due(next_review, today, lead_days)
    assert state in REVIEW_STATES
    assert (state == REVIEW_OVERDUE) == (today > next_review)
    later = review_due(next_review, today + timedelta(days=1), lead_days)
    assert REVIEW_STATES.index(later) >= REVIEW_STATES.index(state)
