"""Policy-effectiveness review: Gini, monotonicity of grades, outcome tables."""

import pytest

from credit_policy.effectiveness import (
    OutcomeCounts,
    discrimination,
    gini,
    grade_outcomes,
    manager_outcomes,
    monotonicity_breaks,
    override_summary,
    share,
)

# ------------------------------------------------------------
# AUC / Gini
# ------------------------------------------------------------


def test_perfect_ranking_of_credit_scores():
    # Higher credit score = safer: the two late customers have the two lowest scores.
    result = discrimination([90, 80, 40, 30], [False, False, True, True], higher_is_riskier=False)
    assert result.auc == 1.0
    assert result.gini == 1.0
    assert (result.count, result.late_count) == (4, 2)


def test_inverse_ranking_gives_minus_one():
    result = discrimination([90, 80, 40, 30], [True, True, False, False], higher_is_riskier=False)
    assert result.auc == 0.0
    assert result.gini == -1.0


def test_ties_count_half_hand_computed():
    # Risk scores, late = {2, 3}, on time = {1, 2}. Pairs (late vs on time):
    # 2>1: 1, 2=2: 0.5, 3>1: 1, 3>2: 1  -> AUC = 3.5 / 4 = 0.875, Gini = 0.75.
    result = discrimination([1, 2, 2, 3], [False, True, False, True])
    assert result.auc == pytest.approx(0.875)
    assert result.gini == pytest.approx(0.75)
    assert gini([1, 2, 2, 3], [False, True, False, True]) == pytest.approx(0.75)


def test_ties_with_credit_scores_hand_computed():
    # Credit scores (higher = safer): late customers scored 50 and 70, on-time ones 70, 80, 90.
    # Pairs late-vs-on-time ranked right (late scored lower): 50 vs 70/80/90: 3;
    # 70 vs 70: 0.5, 70 vs 80: 1, 70 vs 90: 1 -> 5.5 / 6; Gini = 2 * 5.5/6 - 1 = 5/6.
    result = discrimination([50, 70, 70, 80, 90], [True, True, False, False, False], higher_is_riskier=False)
    assert result.auc == pytest.approx(5.5 / 6)
    assert result.gini == pytest.approx(5.0 / 6)


def test_all_tied_scores_are_chance():
    result = discrimination([60, 60, 60], [True, False, False], higher_is_riskier=False)
    assert result.auc == 0.5
    assert result.gini == 0.0


@pytest.mark.parametrize("outcomes", [[True, True, True], [False, False, False], []])
def test_single_class_is_undefined_not_chance(outcomes):
    scores = [10, 20, 30][: len(outcomes)]
    result = discrimination(scores, outcomes)
    assert result.auc is None
    assert result.gini is None
    assert gini(scores, outcomes) is None


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError):
        gini([1, 2], [True])


# ------------------------------------------------------------
# Monotonicity
# ------------------------------------------------------------


def test_rising_late_shares_are_monotonic():
    assert monotonicity_breaks([("AAA", 0.0), ("A", 0.1), ("B", 0.1), ("D", 0.5)]) == []


def test_better_grade_paying_worse_breaks_it():
    # A (40 %) paid worse than B (20 %); D rises again.
    assert monotonicity_breaks([("AAA", 0.0), ("A", 0.4), ("B", 0.2), ("D", 0.5)]) == [("A", "B")]


def test_several_breaks_and_grades_without_invoices():
    shares = [("AAA", 0.3), ("AA", None), ("A", 0.1), ("BB", 0.2), ("B", 0.05), ("D", None)]
    # AA has no invoices: AAA is compared with A directly.
    assert monotonicity_breaks(shares) == [("AAA", "A"), ("BB", "B")]


def test_empty_and_single_grade_never_break():
    assert monotonicity_breaks([]) == []
    assert monotonicity_breaks([("A", 0.5)]) == []
    assert monotonicity_breaks([("A", None), ("B", None)]) == []


# ------------------------------------------------------------
# Outcome tables
# ------------------------------------------------------------


def test_outcome_counts_shares():
    counts = OutcomeCounts(invoices=4, late=1, written_off_90=1, written_off_180=0)
    assert counts.late_share == 0.25
    assert counts.written_off_90_share == 0.25
    assert counts.written_off_180_share == 0.0
    empty = OutcomeCounts()
    assert empty.late_share is None
    assert (counts + OutcomeCounts(2, 2, 0, 1)) == OutcomeCounts(6, 3, 1, 1)
    assert share(1, 0) is None


@pytest.mark.parametrize("vals", [{"invoices": 1, "late": 2}, {"invoices": -1}, {"invoices": 1.5}])
def test_outcome_counts_refuse_nonsense(vals):
    with pytest.raises(ValueError):
        OutcomeCounts(**vals)


def test_grade_outcomes_in_grade_order_with_flags():
    lines, breaks = grade_outcomes(
        ["AA", "A", "BB", "D"],
        {"AA": 2, "A": 1, "BB": 3},
        {"AA": OutcomeCounts(4, 0), "A": OutcomeCounts(2, 1), "BB": OutcomeCounts(4, 1, 1, 1)},
    )
    assert [line.grade for line in lines] == ["AA", "A", "BB", "D"]
    assert [line.ratings for line in lines] == [2, 1, 3, 0]
    assert [line.outcomes.late_share for line in lines] == [0.0, 0.5, 0.25, None]
    assert [line.breaks_monotonicity for line in lines] == [False, False, True, False]
    assert breaks == [("A", "BB")]


def test_override_summary_difference():
    summary = override_summary(OutcomeCounts(2, 1), OutcomeCounts(8, 2))
    assert summary.late_share_difference == pytest.approx(0.25)
    assert override_summary(OutcomeCounts(), OutcomeCounts(3, 1)).late_share_difference is None


def test_manager_outcomes_sorted_by_decisions():
    lines = manager_outcomes([("Ann", 1, 0, OutcomeCounts(2, 2)), ("Bob", 2, 1, OutcomeCounts(3, 0))])
    assert [line.manager for line in lines] == ["Bob", "Ann"]
    assert lines[0].decided == 3
    assert lines[0].approval_rate == pytest.approx(2 / 3)
    assert lines[1].outcomes.late_share == 1.0
