"""Credit grades and what each grade allows."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credit_policy.grades import (
    APPROVAL_MANAGER,
    Grade,
    GradeTable,
    default_grade_table,
    grade_caps,
    recommended_limit,
)

TABLE = default_grade_table()


# ---------------------------------------------------------------- default table


def test_default_grades_from_best_to_worst():
    assert TABLE.codes == ("AAA", "AA", "A", "BBB", "BB", "B", "C", "D")
    assert [g.min_score for g in TABLE] == [90, 80, 70, 60, 50, 40, 25, 0]
    assert len(TABLE) == 8


@pytest.mark.parametrize(
    ("score", "code"),
    [
        (100, "AAA"),
        (90, "AAA"),
        (89.99, "AA"),
        (80, "AA"),
        (70, "A"),
        (69.5, "BBB"),
        (60, "BBB"),
        (50, "BB"),
        (40, "B"),
        (39.9, "C"),
        (25, "C"),
        (24.99, "D"),
        (0, "D"),
    ],
)
def test_default_thresholds(score, code):
    assert TABLE.grade_for(score).code == code


def test_d_is_cash_only_and_the_only_one():
    assert [g.code for g in TABLE if g.cash_only] == ["D"]
    assert recommended_limit(TABLE.get("D"), revenue=1e9, equity=1e9) == 0


def test_weaker_grades_get_stricter_terms():
    grades = list(TABLE)
    for better, worse in zip(grades[:-1], grades[1:], strict=True):
        assert worse.deposit_percent >= better.deposit_percent
        assert worse.review_months <= better.review_months
        assert worse.payment_term_days <= better.payment_term_days
        if worse.revenue_share is not None:
            assert worse.revenue_share <= better.revenue_share
            assert worse.equity_share <= better.equity_share
    assert grades[0].deposit_percent == 0
    assert grades[-1].deposit_percent > grades[4].deposit_percent > 0
    assert grades[-1].review_months < grades[0].review_months


def test_default_table_is_a_fresh_object():
    assert default_grade_table() is not default_grade_table()


# ---------------------------------------------------------------- table lookups


def test_get_and_rank():
    assert TABLE.get("BBB").min_score == 60
    assert TABLE.rank("AAA") == 0
    assert TABLE.rank("D") == 7
    with pytest.raises(KeyError):
        TABLE.get("E")
    with pytest.raises(KeyError):
        TABLE.rank("E")


def test_grades_are_sorted_whatever_the_input_order():
    table = GradeTable([Grade("C", 0), Grade("A", 80), Grade("B", 50)])
    assert table.codes == ("A", "B", "C")
    assert table.grade_for(65).code == "B"
    assert "GradeTable" in repr(table)


def test_a_single_grade_table_grades_everything():
    table = GradeTable([Grade("X", 0)])
    assert table.grade_for(0).code == table.grade_for(100).code == "X"


@pytest.mark.parametrize("score", [-0.01, 100.01, math.nan, math.inf, None, "50", True])
def test_invalid_score(score):
    with pytest.raises(ValueError, match="score"):
        TABLE.grade_for(score)


@pytest.mark.parametrize(
    ("grades", "message"),
    [
        ([], "at least one grade"),
        ([("A", 0)], "Grade instances"),
        ([Grade("A", 50), Grade("A", 0)], "codes must be unique"),
        ([Grade("A", 50), Grade("B", 50), Grade("C", 0)], "minimum scores must be unique"),
        ([Grade("A", 50), Grade("B", 10)], "must start at 0"),
    ],
)
def test_invalid_table(grades, message):
    with pytest.raises(ValueError, match=message):
        GradeTable(grades)


# ---------------------------------------------------------------- grade validation


def test_grade_defaults():
    grade = Grade("X", 10)
    assert grade.max_limit_fixed is None
    assert grade.revenue_share is None
    assert grade.equity_share is None
    assert grade.payment_term_days is None
    assert grade.deposit_percent == 0
    assert grade.review_months == 12
    assert grade.approval_level == APPROVAL_MANAGER
    assert not grade.cash_only


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"code": ""}, "code"),
        ({"min_score": -1}, "min_score"),
        ({"min_score": 101}, "min_score"),
        ({"min_score": math.nan}, "min_score"),
        ({"max_limit_fixed": -1}, "max_limit_fixed"),
        ({"revenue_share": -0.1}, "revenue_share"),
        ({"equity_share": math.inf}, "equity_share"),
        ({"payment_term_days": -30}, "payment_term_days"),
        ({"deposit_percent": 101}, "deposit_percent"),
        ({"deposit_percent": -1}, "deposit_percent"),
        ({"review_months": 0}, "review_months"),
        ({"review_months": 1.5}, "review_months"),
        ({"approval_level": ""}, "approval_level"),
    ],
)
def test_invalid_grade(kwargs, message):
    fields = {"code": "X", "min_score": 50, **kwargs}
    with pytest.raises(ValueError, match=message):
        Grade(**fields)


# ---------------------------------------------------------------- recommended limit

GRADE = Grade("G", 50, max_limit_fixed=100_000, revenue_share=0.1, equity_share=0.5)


def test_recommended_limit_is_the_smallest_cap():
    assert recommended_limit(GRADE, revenue=2_000_000, equity=300_000) == 100_000  # fixed cap
    assert recommended_limit(GRADE, revenue=500_000, equity=300_000) == 50_000  # revenue cap
    assert recommended_limit(GRADE, revenue=5_000_000, equity=60_000) == 30_000  # equity cap


def test_missing_figures_skip_their_caps():
    assert recommended_limit(GRADE) == 100_000
    assert recommended_limit(GRADE, revenue=500_000) == 50_000
    assert recommended_limit(GRADE, equity=60_000) == 30_000


def test_no_applicable_cap_gives_no_recommendation():
    shares_only = Grade("S", 50, revenue_share=0.1, equity_share=0.5)
    assert recommended_limit(shares_only) is None
    assert recommended_limit(shares_only, requested=10_000) is None
    assert recommended_limit(Grade("N", 50), revenue=1e6, equity=1e6) is None


def test_figure_without_a_share_does_not_cap():
    revenue_only = Grade("R", 50, revenue_share=0.1)
    assert recommended_limit(revenue_only, revenue=500_000, equity=1) == 50_000


def test_requested_amount_lowers_the_recommendation():
    assert recommended_limit(GRADE, revenue=500_000, requested=20_000) == 20_000
    assert recommended_limit(GRADE, revenue=500_000, requested=80_000) == 50_000


def test_negative_equity_gives_no_credit():
    assert recommended_limit(GRADE, equity=-1_000_000) == 0


def test_grade_caps_lists_what_applies():
    assert grade_caps(GRADE, revenue=500_000) == {"fixed": 100_000, "revenue": 50_000}
    assert grade_caps(Grade("N", 0)) == {}


@pytest.mark.parametrize(
    "kwargs",
    [{"requested": -1}, {"requested": math.nan}, {"revenue": math.inf}, {"equity": "1000"}],
)
def test_invalid_figures(kwargs):
    with pytest.raises(ValueError):
        recommended_limit(GRADE, **kwargs)


# ---------------------------------------------------------------- properties

scores = st.floats(min_value=0, max_value=100)
optional_money = st.none() | st.floats(min_value=-1e9, max_value=1e9)


@st.composite
def grade_tables(draw):
    thresholds = draw(st.lists(st.floats(min_value=0.001, max_value=100), max_size=8, unique=True))
    grades = [Grade(f"G{i}", t) for i, t in enumerate(thresholds)]
    return GradeTable([*grades, Grade("LOW", 0)])


@given(st.one_of(st.just(TABLE), grade_tables()), scores, scores)
def test_better_score_never_gives_a_worse_grade(table, first, second):
    low, high = sorted((first, second))
    assert table.rank(table.grade_for(high).code) <= table.rank(table.grade_for(low).code)


@given(grade_tables(), scores)
def test_grade_is_the_best_one_reached(table, score):
    grade = table.grade_for(score)
    assert score >= grade.min_score
    assert all(score < g.min_score for g in table if g.min_score > grade.min_score)


@given(st.sampled_from(list(TABLE)), optional_money, optional_money, st.none() | st.floats(0, 1e9))
def test_recommended_limit_respects_every_cap(grade, revenue, equity, requested):
    limit = recommended_limit(grade, revenue, equity, requested)
    caps = grade_caps(grade, revenue, equity)
    if not caps:
        assert limit is None
        return
    assert limit >= 0
    assert all(limit <= cap for cap in caps.values())
    assert limit in [*caps.values(), requested]
    if requested is not None:
        assert limit <= requested


@given(optional_money, optional_money, scores, scores)
def test_better_default_grade_never_recommends_less(revenue, equity, first, second):
    low, high = sorted((first, second))
    best = recommended_limit(TABLE.grade_for(high), revenue, equity)
    worst = recommended_limit(TABLE.grade_for(low), revenue, equity)
    if best is not None and worst is not None:
        assert best >= worst
