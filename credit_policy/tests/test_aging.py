"""Aging of open receivables: buckets, edges, not due, negative residuals, totals."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credit_policy.aging import (
    DEFAULT_EDGES,
    MAX_EDGES,
    NOT_DUE,
    aging_from_lines,
    aging_from_sums,
    bucket_bounds,
    bucket_index,
    days_past_due,
    first_days,
    format_edges,
    parse_edges,
    validate_edges,
)

AS_OF = date(2025, 6, 30)


def due(days):
    """The due date of an item ``days`` days past due on ``AS_OF``."""
    return AS_OF - timedelta(days=days)


def test_default_buckets():
    assert DEFAULT_EDGES == (30, 60, 90, 120)
    assert bucket_bounds(DEFAULT_EDGES) == [(None, 0), (1, 30), (31, 60), (61, 90), (91, 120), (121, None)]
    aging = aging_from_sums({}, DEFAULT_EDGES)
    assert [bucket.key for bucket in aging.buckets] == [
        "not_due",
        "1_30",
        "31_60",
        "61_90",
        "91_120",
        "over_120",
    ]
    assert aging.total == 0.0


@pytest.mark.parametrize(
    ("days", "index"),
    [
        (None, NOT_DUE),
        (-400, NOT_DUE),
        (-1, NOT_DUE),
        (0, NOT_DUE),  # due today: not overdue yet
        (1, 1),
        (29, 1),
        (30, 1),  # exactly on an edge: the bucket the edge closes
        (31, 2),
        (60, 2),
        (61, 3),
        (90, 3),
        (91, 4),
        (120, 4),
        (121, 5),
        (10_000, 5),
    ],
)
def test_bucket_index_on_and_around_edges(days, index):
    assert bucket_index(days, DEFAULT_EDGES) == index


def test_custom_edges():
    edges = (15, 45)
    assert bucket_bounds(edges) == [(None, 0), (1, 15), (16, 45), (46, None)]
    assert [bucket_index(days, edges) for days in (0, 1, 15, 16, 45, 46)] == [0, 1, 1, 2, 2, 3]
    aging = aging_from_lines([(due(15), 10.0), (due(16), 20.0), (due(46), 40.0)], AS_OF, edges)
    assert aging.amounts() == {"not_due": 0.0, "1_15": 10.0, "16_45": 20.0, "over_45": 40.0}
    # A single edge: not due, 1..edge, over edge.
    assert [b.key for b in aging_from_sums({}, (7,)).buckets] == ["not_due", "1_7", "over_7"]


def test_first_days_match_bucket_index():
    """The thresholds the SQL side gives ``width_bucket`` put each day in the same bucket."""
    thresholds = first_days(DEFAULT_EDGES)
    assert thresholds == [31, 61, 91, 121]
    for days in range(1, 200):
        width_bucket = sum(1 for threshold in thresholds if days >= threshold)
        assert 1 + width_bucket == bucket_index(days, DEFAULT_EDGES)


def test_not_due_future_and_without_date():
    rows = [(due(-10), 100.0), (AS_OF, 50.0), (None, 25.0), (False, 5.0)]
    aging = aging_from_lines(rows, AS_OF)
    assert aging.buckets[NOT_DUE].amount == 180.0
    assert aging.overdue == 0.0
    assert aging.total == 180.0


def test_lines_in_their_buckets_with_credit_notes_and_payments():
    rows = [
        (due(-5), 1000.0),  # not due
        (due(10), 200.0),  # 1-30
        (due(30), 300.0),  # 1-30, on the edge
        (due(45), -120.0),  # credit note due 45 days ago: 31-60
        (due(75), 400.0),  # 61-90
        (due(100), 500.0),  # 91-120
        (due(200), 600.0),  # over 120
        (None, -250.0),  # unapplied payment without due date: not due
    ]
    aging = aging_from_lines(rows, AS_OF)
    assert aging.amounts() == {
        "not_due": 750.0,
        "1_30": 500.0,
        "31_60": -120.0,
        "61_90": 400.0,
        "91_120": 500.0,
        "over_120": 600.0,
    }
    assert aging.total == pytest.approx(sum(amount for _due, amount in rows))
    assert aging.overdue == pytest.approx(1880.0)


def test_negative_total_is_kept():
    """A customer in credit (more credit notes than invoices) ages to a negative total."""
    aging = aging_from_lines([(due(3), 100.0), (due(3), -300.0)], AS_OF)
    assert aging.buckets[1].amount == -200.0
    assert aging.total == -200.0


def test_grouped_sums():
    aging = aging_from_sums([(0, 10.0), (2, 5.0), (2, -2.5), (5, 1.0)])
    assert [bucket.amount for bucket in aging.buckets] == [10.0, 0.0, 2.5, 0.0, 0.0, 1.0]
    assert aging.total == 13.5
    assert aging_from_sums({1: 4.0, 3: 6.0}).amounts()["61_90"] == 6.0


@pytest.mark.parametrize("sums", [{6: 1.0}, {-1: 1.0}, {1.0: 1.0}, {True: 1.0}, {1: float("nan")}, {1: "3"}])
def test_grouped_sums_reject_bad_input(sums):
    with pytest.raises(ValueError, match="aging"):
        aging_from_sums(sums)


@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(min_value=-400, max_value=400)),
            st.integers(min_value=-1_000_000, max_value=1_000_000).map(lambda cents: cents / 100),
        ),
        max_size=40,
    ),
    st.lists(st.integers(min_value=1, max_value=365), min_size=1, max_size=MAX_EDGES, unique=True).map(
        lambda edges: tuple(sorted(edges))
    ),
)
def test_total_always_equals_the_sum(rows, edges):
    lines = [(None if days is None else due(days), amount) for days, amount in rows]
    aging = aging_from_lines(lines, AS_OF, edges)
    assert len(aging.buckets) == len(edges) + 2
    assert aging.total == pytest.approx(sum(amount for _due, amount in rows), abs=1e-6)
    overdue = sum(amount for days, amount in rows if days is not None and days > 0)
    assert aging.overdue == pytest.approx(overdue, abs=1e-6)


def test_days_past_due():
    assert days_past_due(due(12), AS_OF) == 12
    assert days_past_due(AS_OF + timedelta(days=3), AS_OF) == -3
    assert days_past_due(None, AS_OF) is None
    with pytest.raises(ValueError, match="due_date"):
        days_past_due("2025-01-01", AS_OF)


@pytest.mark.parametrize(
    ("text", "edges"),
    [
        ("30,60,90,120", (30, 60, 90, 120)),
        (" 15 , 45 ", (15, 45)),
        ("7", (7,)),
        ("", DEFAULT_EDGES),
        (None, DEFAULT_EDGES),
        ("  ", DEFAULT_EDGES),
    ],
)
def test_parse_edges(text, edges):
    assert parse_edges(text) == edges
    assert parse_edges(format_edges(edges)) == edges


@pytest.mark.parametrize(
    ("edges", "message"),
    [
        ((), "at least one"),
        ((0, 30), "at least 1"),
        ((-30, 30), "at least 1"),
        ((30, 30), "strictly increasing"),
        ((60, 30), "strictly increasing"),
        ((30, 45.5), "whole numbers"),
        ((30.0,), "whole numbers"),
        ((True, 30), "whole numbers"),
        (("30", "60"), "whole numbers"),
        ("30,60", "sequence"),
        (30, "sequence"),
        (tuple(range(1, MAX_EDGES + 2)), "at most"),
    ],
)
def test_bad_edges(edges, message):
    with pytest.raises(ValueError, match=message):
        validate_edges(edges)
    with pytest.raises(ValueError, match=message):
        bucket_bounds(edges)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("30,,60", "separated by commas"),
        ("30;60", "separated by commas"),
        ("thirty", "separated by commas"),
        ("30,-60", "separated by commas"),
        ("30.5", "separated by commas"),
        ("60,30", "strictly increasing"),
        ("0", "at least 1"),
        ("３０", "separated by commas"),  # full-width digits are not ASCII
    ],
)
def test_bad_edges_text(text, message):
    with pytest.raises(ValueError, match=message):
        parse_edges(text)


def test_bad_edges_in_aging():
    with pytest.raises(ValueError, match="strictly increasing"):
        aging_from_lines([(due(1), 1.0)], AS_OF, (30, 10))
