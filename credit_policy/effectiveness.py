"""Policy-effectiveness review (效果评估): did the grades and the overrides predict who paid late?

Pure Python (no Odoo): the add-on's review wizard counts outcomes with grouped SQL and
hands the counts here.

- :func:`gini` and :func:`discrimination`: how well a score separates late payers from the
  others. Gini = 2 x AUC - 1 (1 perfect, 0 chance, -1 perfectly backwards), ``None`` when
  there is nothing to separate (no late or no on-time item): AUC is undefined then, never
  reported as 0.5.
- :class:`OutcomeCounts`: invoices, late ones and written-off ones of a group (a grade,
  the overridden orders, the approvals of a manager) and their shares.
- :func:`monotonicity_breaks`: grades listed best to worst must show late shares that never
  fall; every adjacent pair (of grades with invoices) where the worse grade paid better is
  returned: that is where the scorecard needs retuning.
- :func:`grade_outcomes`, :func:`override_summary`, :func:`manager_outcomes`: the tables of
  the review.
"""

from dataclasses import dataclass

from .evaluation import auc

# Write-off windows (days after the due date) the review reports.
WRITE_OFF_DAYS = (90, 180)


def gini(risk_scores, is_late, *, higher_is_riskier=True):
    """Gini coefficient (accuracy ratio) of a score for lateness: ``2 * AUC - 1``, or ``None``.

    Same arguments as :func:`credit_policy.evaluation.auc`; ``None`` when the AUC is
    undefined (all items late, or none).
    """
    area = auc(risk_scores, is_late, higher_is_riskier=higher_is_riskier)
    return None if area is None else 2.0 * area - 1.0


@dataclass(frozen=True)
class Discrimination:
    """How well a score ranks late payers: sample sizes, AUC and Gini (``None`` when undefined)."""

    count: int
    late_count: int
    auc: float | None
    gini: float | None


def discrimination(scores, is_late, *, higher_is_riskier=True):
    """AUC and Gini of ``scores`` for the outcomes ``is_late``, with the counts they rest on."""
    scores = list(scores)
    outcomes = [bool(late) for late in is_late]
    area = auc(scores, outcomes, higher_is_riskier=higher_is_riskier)
    return Discrimination(
        count=len(outcomes),
        late_count=sum(outcomes),
        auc=area,
        gini=None if area is None else 2.0 * area - 1.0,
    )


def share(part, whole):
    """``part / whole``, or ``None`` for an empty group (not 0: nothing was observed)."""
    return part / whole if whole else None


@dataclass(frozen=True)
class OutcomeCounts:
    """Invoices of a group and how many were paid late / written off within 90 and 180 days."""

    invoices: int = 0
    late: int = 0
    written_off_90: int = 0
    written_off_180: int = 0

    def __post_init__(self):
        for name in ("invoices", "late", "written_off_90", "written_off_180"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a whole number >= 0, not {value!r}")
            if value > self.invoices:
                raise ValueError(f"{name} ({value}) cannot exceed the invoices ({self.invoices})")

    def __add__(self, other):
        return OutcomeCounts(
            self.invoices + other.invoices,
            self.late + other.late,
            self.written_off_90 + other.written_off_90,
            self.written_off_180 + other.written_off_180,
        )

    @property
    def late_share(self):
        return share(self.late, self.invoices)

    @property
    def written_off_90_share(self):
        return share(self.written_off_90, self.invoices)

    @property
    def written_off_180_share(self):
        return share(self.written_off_180, self.invoices)


def monotonicity_breaks(late_shares):
    """Adjacent grade pairs whose late share falls from the better to the worse grade.

    ``late_shares`` is a sequence of ``(grade, share)`` from the best grade to the worst;
    grades with a ``None`` share (no invoices) are skipped, so a break is found across
    them. Returns ``[(better_grade, worse_grade), ...]``: empty when the shares never fall
    (equal shares do not break it).
    """
    breaks = []
    previous = None
    for grade, late_share in late_shares:
        if late_share is None:
            continue
        if previous is not None and late_share < previous[1]:
            breaks.append((previous[0], grade))
        previous = (grade, late_share)
    return breaks


@dataclass(frozen=True)
class GradeOutcome:
    """One line of the per-grade table: ratings, their later invoices, shares, and whether
    this grade paid better than the grade above it (a monotonicity break)."""

    grade: str
    ratings: int
    outcomes: OutcomeCounts
    breaks_monotonicity: bool


def grade_outcomes(grades, ratings, outcomes):
    """The per-grade table, best grade first.

    ``grades`` lists the grade codes best to worst; ``ratings`` maps a grade to its number
    of ratings, ``outcomes`` to its :class:`OutcomeCounts`. A grade missing from both maps
    still gets its line (zeros). Returns ``(lines, breaks)`` with the pairs of
    :func:`monotonicity_breaks`; each break flags its worse grade.
    """
    grades = list(grades)
    lines = [(grade, ratings.get(grade, 0), outcomes.get(grade) or OutcomeCounts()) for grade in grades]
    breaks = monotonicity_breaks([(grade, counts.late_share) for grade, _count, counts in lines])
    flagged = {worse for _better, worse in breaks}
    return (
        [GradeOutcome(grade, count, counts, grade in flagged) for grade, count, counts in lines],
        breaks,
    )


@dataclass(frozen=True)
class OverrideSummary:
    """Invoices of orders confirmed under an override against all other invoices."""

    overridden: OutcomeCounts
    rest: OutcomeCounts

    @property
    def late_share_difference(self):
        """Overridden late share minus the rest's (positive: overridden customers paid worse)."""
        if self.overridden.late_share is None or self.rest.late_share is None:
            return None
        return self.overridden.late_share - self.rest.late_share


def override_summary(overridden, rest):
    return OverrideSummary(overridden=overridden, rest=rest)


@dataclass(frozen=True)
class ManagerOutcome:
    """A credit manager's decisions and how the orders they approved were paid."""

    manager: object
    approved: int
    rejected: int
    outcomes: OutcomeCounts

    @property
    def decided(self):
        return self.approved + self.rejected

    @property
    def approval_rate(self):
        return share(self.approved, self.decided)


def manager_outcomes(rows):
    """``rows`` of ``(manager, approved, rejected, OutcomeCounts of the approved orders' invoices)``
    as :class:`ManagerOutcome`, most decisions first (then in the given order)."""
    lines = [
        ManagerOutcome(manager, approved, rejected, counts) for manager, approved, rejected, counts in rows
    ]
    return sorted(lines, key=lambda line: -line.decided)
