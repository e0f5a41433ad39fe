"""Evaluating the policy: did the grades predict who paid late?"""

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credit_policy.evaluation import auc, late_share_by_grade


def brute_force_auc(scores, outcomes):
    """Share of (late, on-time) pairs ranked correctly, ties counting half."""
    late = [s for s, o in zip(scores, outcomes, strict=True) if o]
    on_time = [s for s, o in zip(scores, outcomes, strict=True) if not o]
    pairs = list(itertools.product(late, on_time))
    return sum(1.0 if a > b else 0.5 if a == b else 0.0 for a, b in pairs) / len(pairs)


# ---------------------------------------------------------------- AUC


def test_perfect_ranking_is_one():
    assert auc([0.9, 0.8, 0.2, 0.1], [True, True, False, False]) == 1.0


def test_reversed_ranking_is_zero():
    assert auc([0.1, 0.2, 0.8, 0.9], [True, True, False, False]) == 0.0


def test_constant_scores_are_one_half():
    assert auc([5, 5, 5, 5, 5], [1, 0, 0, 1, 0]) == 0.5


def test_ties_count_half():
    # pairs (late, on time): (3, 1) right, (3, 3) tie, (2, 1) right, (2, 3) wrong
    assert auc([3, 2, 1, 3], [True, True, False, False]) == pytest.approx((1 + 0.5 + 1 + 0) / 4)


def test_credit_scores_rank_the_other_way_round():
    credit_scores = [95, 80, 40, 20]  # higher = better customer
    late = [False, False, True, True]
    assert auc(credit_scores, late, higher_is_riskier=False) == 1.0
    assert auc([100 - s for s in credit_scores], late) == 1.0
    assert auc(credit_scores, late) == 0.0


@pytest.mark.parametrize("outcomes", [[True, True], [False, False], []])
def test_auc_needs_both_outcomes(outcomes):
    assert auc([1.0] * len(outcomes), outcomes) is None


def test_auc_accepts_any_iterables():
    assert auc(iter([2, 1]), (x for x in (1, 0))) == 1.0


@pytest.mark.parametrize(
    ("scores", "outcomes", "message"),
    [
        ([1, 2], [True], "2 scores but 1 outcomes"),
        ([1, math.nan], [True, False], "numbers"),
        ([1, None], [True, False], "numbers"),
        (["a", "b"], [True, False], "numbers"),
    ],
)
def test_invalid_auc_input(scores, outcomes, message):
    with pytest.raises(ValueError, match=message):
        auc(scores, outcomes)


# ---------------------------------------------------------------- late share by grade


def test_late_share_by_grade():
    rows = [("A", False), ("A", True), ("B", True), ("A", False), ("B", True), ("C", 0)]
    assert late_share_by_grade(rows) == {
        "A": (3, 1, pytest.approx(1 / 3)),
        "B": (2, 2, 1.0),
        "C": (1, 0, 0.0),
    }


def test_late_share_by_grade_in_the_given_order():
    result = late_share_by_grade([("B", True), ("X", False), ("A", False)], grades=["AAA", "A", "B"])
    assert list(result) == ["AAA", "A", "B", "X"]
    assert result["AAA"] == (0, 0, None)
    assert result["B"] == (1, 1, 1.0)


def test_late_share_by_grade_of_nothing():
    assert late_share_by_grade([]) == {}


# ---------------------------------------------------------------- properties

labelled = st.lists(st.tuples(st.integers(-5, 5), st.booleans()), min_size=2, max_size=40).filter(
    lambda rows: any(o for _, o in rows) and not all(o for _, o in rows)
)


@given(labelled)
def test_auc_matches_the_pairwise_definition(rows):
    scores, outcomes = zip(*rows, strict=True)
    assert auc(scores, outcomes) == pytest.approx(brute_force_auc(scores, outcomes))


@given(labelled)
def test_auc_of_reversed_scores_is_the_complement(rows):
    scores, outcomes = zip(*rows, strict=True)
    assert auc(scores, outcomes) + auc(scores, outcomes, higher_is_riskier=False) == pytest.approx(1)


@given(st.integers(1, 30), st.integers(1, 30))
def test_perfect_reversed_and_constant_rankings(late_count, on_time_count):
    outcomes = [True] * late_count + [False] * on_time_count
    descending = list(range(late_count + on_time_count, 0, -1))
    assert auc(descending, outcomes) == 1.0
    assert auc(descending[::-1], outcomes) == 0.0
    assert auc([7] * len(outcomes), outcomes) == 0.5


@given(st.lists(st.tuples(st.sampled_from(["AAA", "A", "B", "D"]), st.booleans()), max_size=50))
def test_late_share_by_grade_adds_up(rows):
    result = late_share_by_grade(rows)
    assert sum(count for count, _, _ in result.values()) == len(rows)
    assert sum(late for _, late, _ in result.values()) == sum(o for _, o in rows)
    for count, late, share in result.values():
        assert 0 <= late <= count
        assert share == late / count
