"""Credit grades (信用等级) and what each grade allows.

A :class:`GradeTable` maps a 0..100 score to a :class:`Grade` through each
grade's ``min_score``: a score gets the best grade whose ``min_score`` it
reaches, so a better score never gives a worse grade. Each grade carries the
terms it allows (评级结果应用): limit caps, payment terms, deposit share,
review interval and who must approve a limit.

``recommended_limit(grade, revenue, equity, requested)`` proposes a limit: the
smallest of the caps that apply.
"""

from dataclasses import dataclass

from ._checks import is_number as _is_number
from ._checks import is_whole as _is_whole

APPROVAL_MANAGER = "manager"
APPROVAL_DIRECTOR = "director"


def _check_optional(value, what, code):
    if value is not None and (not _is_number(value) or value < 0):
        raise ValueError(f"grade {code!r}: {what} must be a finite number >= 0 or None, not {value!r}")


@dataclass(frozen=True)
class Grade:
    """A credit grade and the terms it allows.

    - ``min_score``: lowest score (0..100) that earns this grade;
    - ``max_limit_fixed``: absolute limit cap (``None`` = none; ``0`` = cash only);
    - ``revenue_share`` / ``equity_share``: limit cap as a share of the
      customer's annual revenue / equity (``None`` = that cap does not apply);
    - ``payment_term_days``: longest payment term granted (``None`` = not set);
    - ``deposit_percent``: share of an order (0..100) to be paid before confirmation;
    - ``review_months``: months between two credit reviews;
    - ``approval_level``: who must approve a limit for this grade.
    """

    code: str
    min_score: float
    max_limit_fixed: float | None = None
    revenue_share: float | None = None
    equity_share: float | None = None
    payment_term_days: int | None = None
    deposit_percent: float = 0.0
    review_months: int = 12
    approval_level: str = APPROVAL_MANAGER

    def __post_init__(self):
        if not isinstance(self.code, str) or not self.code:
            raise ValueError(f"grade code must be a non-empty string, not {self.code!r}")
        if not _is_number(self.min_score) or not 0 <= self.min_score <= 100:
            raise ValueError(f"grade {self.code!r}: min_score must be in 0..100, not {self.min_score!r}")
        _check_optional(self.max_limit_fixed, "max_limit_fixed", self.code)
        _check_optional(self.revenue_share, "revenue_share", self.code)
        _check_optional(self.equity_share, "equity_share", self.code)
        _check_optional(self.payment_term_days, "payment_term_days", self.code)
        if not _is_number(self.deposit_percent) or not 0 <= self.deposit_percent <= 100:
            raise ValueError(
                f"grade {self.code!r}: deposit_percent must be 0..100, not {self.deposit_percent!r}"
            )
        if not _is_whole(self.review_months, 1):
            raise ValueError(
                f"grade {self.code!r}: review_months must be a whole number >= 1, not {self.review_months!r}"
            )
        if not isinstance(self.approval_level, str) or not self.approval_level:
            raise ValueError(f"grade {self.code!r}: approval_level must be a non-empty string")

    @property
    def cash_only(self):
        """Whether this grade gets no credit at all (fixed cap of 0)."""
        return self.max_limit_fixed is not None and self.max_limit_fixed == 0


class GradeTable:
    """Grades ordered from best (highest ``min_score``) to worst.

    Codes and ``min_score`` s must be unique and the worst grade must start at
    0, so that every score from 0 to 100 has exactly one grade.
    """

    def __init__(self, grades):
        grades = tuple(grades)
        if not grades:
            raise ValueError("a grade table needs at least one grade")
        for grade in grades:
            if not isinstance(grade, Grade):
                raise ValueError(f"a grade table holds Grade instances, not {grade!r}")
        grades = tuple(sorted(grades, key=lambda grade: grade.min_score, reverse=True))
        codes = [grade.code for grade in grades]
        if len(set(codes)) != len(codes):
            raise ValueError(f"grade codes must be unique: {codes}")
        scores = [grade.min_score for grade in grades]
        if len(set(scores)) != len(scores):
            raise ValueError(f"grade minimum scores must be unique: {scores}")
        if grades[-1].min_score != 0:
            lowest = grades[-1].code
            raise ValueError(f"the lowest grade ({lowest!r}) must start at 0 so that every score has a grade")
        self.grades = grades

    def __iter__(self):
        return iter(self.grades)

    def __len__(self):
        return len(self.grades)

    def __repr__(self):
        return f"GradeTable({list(self.grades)!r})"

    @property
    def codes(self):
        """Grade codes from best to worst."""
        return tuple(grade.code for grade in self.grades)

    def get(self, code):
        """The grade ``code`` (``KeyError`` if unknown)."""
        for grade in self.grades:
            if grade.code == code:
                return grade
        raise KeyError(code)

    def rank(self, code):
        """Position of grade ``code`` from the best (0 = best); a higher rank is a worse grade."""
        try:
            return self.codes.index(code)
        except ValueError:
            raise KeyError(code) from None

    def grade_for(self, score):
        """The best grade whose ``min_score`` ``score`` (0..100) reaches."""
        if not _is_number(score) or not 0 <= score <= 100:
            raise ValueError(f"score must be a number between 0 and 100, not {score!r}")
        for grade in self.grades:
            if score >= grade.min_score:
                return grade
        raise AssertionError("unreachable: the lowest grade starts at 0")  # pragma: no cover


def default_grade_table():
    """A sensible starting table, AAA (best) to D (cash only).

    Limit caps are shares of the customer's revenue and equity (no absolute
    cap, which would depend on the currency); weaker grades get shorter terms,
    deposits, more frequent reviews and a higher approval level.
    """
    return GradeTable(
        [
            Grade("AAA", 90, None, 0.20, 0.50, 90, 0.0, 12, APPROVAL_MANAGER),
            Grade("AA", 80, None, 0.15, 0.40, 60, 0.0, 12, APPROVAL_MANAGER),
            Grade("A", 70, None, 0.12, 0.30, 60, 0.0, 12, APPROVAL_MANAGER),
            Grade("BBB", 60, None, 0.10, 0.25, 45, 0.0, 6, APPROVAL_MANAGER),
            Grade("BB", 50, None, 0.08, 0.20, 30, 10.0, 6, APPROVAL_DIRECTOR),
            Grade("B", 40, None, 0.05, 0.10, 30, 20.0, 3, APPROVAL_DIRECTOR),
            Grade("C", 25, None, 0.02, 0.05, 15, 50.0, 3, APPROVAL_DIRECTOR),
            Grade("D", 0, 0.0, None, None, 0, 100.0, 3, APPROVAL_DIRECTOR),
        ]
    )


def grade_caps(grade, revenue=None, equity=None):
    """The limit caps of ``grade`` that apply, as ``{name: amount}``.

    ``"fixed"`` is the grade's fixed cap; ``"revenue"`` / ``"equity"`` apply only
    when both the grade's share and the customer's figure are known. A negative
    figure (e.g. negative equity) gives a cap of 0.
    """
    caps = {}
    if grade.max_limit_fixed is not None:
        caps["fixed"] = grade.max_limit_fixed
    shares = (("revenue", revenue, grade.revenue_share), ("equity", equity, grade.equity_share))
    for name, figure, share in shares:
        if figure is None or share is None:
            continue
        if not _is_number(figure):
            raise ValueError(f"{name} must be a finite number or None, not {figure!r}")
        caps[name] = max(0.0, figure * share)
    return caps


def recommended_limit(grade, revenue=None, equity=None, requested=None):
    """The limit to recommend for a customer of ``grade``, or ``None``.

    It is the smallest of the grade's applicable caps: its fixed cap, revenue x
    revenue share, equity x equity share (see :func:`grade_caps`; missing
    revenue or equity skips that cap). When no cap applies the grade makes no
    recommendation and ``None`` is returned, even if ``requested`` is given.
    Otherwise a ``requested`` amount (the business need) lowers the
    recommendation: never recommend more than was asked for.
    """
    if requested is not None and (not _is_number(requested) or requested < 0):
        raise ValueError(f"requested limit must be a finite number >= 0 or None, not {requested!r}")
    caps = list(grade_caps(grade, revenue, equity).values())
    if not caps:
        return None
    if requested is not None:
        caps.append(requested)
    return min(caps)
