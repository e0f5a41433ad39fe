"""Evaluating the credit policy (评估信用管理效果): did the ratings predict who paid late?

Orientation matters. :func:`auc` takes *risk* scores, where a higher value
means "more likely to pay late", and returns the probability that a late item
ranks above an on-time one: 1 is a perfect ranking, 0.5 is no better than
chance, 0 is perfectly backwards. A credit *score* (higher = better customer)
ranks the other way round: pass ``higher_is_riskier=False`` (or ``100 - score``).
"""

import math
from numbers import Real


def _average_ranks(values):
    """1-based ranks of ``values``, ties sharing the average of their ranks."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        average = (start + end) / 2.0 + 1.0
        for position in range(start, end + 1):
            ranks[order[position]] = average
        start = end + 1
    return ranks


def auc(risk_scores, is_late, *, higher_is_riskier=True):
    """Area under the ROC curve (Mann-Whitney U / (late x on-time)), ties counting half.

    ``risk_scores[i]`` is the risk given to item ``i`` before the outcome,
    ``is_late[i]`` whether it was then paid late. Returns the probability that
    a randomly chosen late item has a higher risk score than a randomly chosen
    on-time one, or ``None`` when there are no late or no on-time items.
    With ``higher_is_riskier=False`` the scores are credit scores (higher =
    safer) and are ranked the other way round.
    """
    scores = list(risk_scores)
    outcomes = [bool(outcome) for outcome in is_late]
    if len(scores) != len(outcomes):
        raise ValueError(f"{len(scores)} scores but {len(outcomes)} outcomes")
    for value in scores:
        if not isinstance(value, Real) or isinstance(value, bool) or math.isnan(value):
            raise ValueError(f"scores must be numbers, not {value!r}")
    if not higher_is_riskier:
        scores = [-value for value in scores]
    late_count = sum(outcomes)
    on_time_count = len(outcomes) - late_count
    if not late_count or not on_time_count:
        return None
    ranks = _average_ranks(scores)
    late_rank_sum = sum(rank for rank, late in zip(ranks, outcomes, strict=True) if late)
    u_statistic = late_rank_sum - late_count * (late_count + 1) / 2.0
    return u_statistic / (late_count * on_time_count)


def late_share_by_grade(rows, grades=None):
    """Count items and late items per grade.

    ``rows`` is an iterable of ``(grade, is_late)`` pairs. Returns
    ``{grade: (count, late_count, share)}`` with ``share`` = late / count.
    Grades appear in the order of ``grades`` when given (those without any row
    as ``(0, 0, None)``), then in order of first appearance.
    """
    counts = {grade: [0, 0] for grade in grades or ()}
    for grade, late in rows:
        tally = counts.setdefault(grade, [0, 0])
        tally[0] += 1
        tally[1] += bool(late)
    return {
        grade: (count, late_count, late_count / count if count else None)
        for grade, (count, late_count) in counts.items()
    }
