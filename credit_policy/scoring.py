"""A configurable credit scorecard (评分卡).

A :class:`Scorecard` is a list of weighted :class:`Factor` s. Each factor turns
one figure (a ratio, a number of days, a number of years...) into points on a
0..100 scale through its :class:`Band` s. The score is the weighted average of
the points, so it is itself on 0..100 whatever the weights add up to.

``score(scorecard, values)`` returns the score together with one
:class:`ScoreLine` per factor, which is the "why" shown to the user: the
value used, the points it earned, the factor's weight and its contribution
to the score (the contributions add up to the score).

Missing data never crashes the calculation: a factor whose value is ``None``
(or absent from ``values``, or outside every band) earns its
``missing_points`` -- a configured penalty, or by default the neutral mid-point
between its lowest and highest band points.
"""

import math
from dataclasses import dataclass
from numbers import Real

from ._checks import is_number as _is_number

MIN_POINTS = 0.0
MAX_POINTS = 100.0

#: Why a factor earned its points (see :attr:`ScoreLine.status`).
STATUS_BAND = "band"
STATUS_MISSING = "missing"
STATUS_OUT_OF_RANGE = "out_of_range"


def _check_points(points, what):
    """Raise ``ValueError`` unless ``points`` is a finite number in 0..100."""
    if not _is_number(points) or not MIN_POINTS <= points <= MAX_POINTS:
        raise ValueError(f"{what} must be between {MIN_POINTS:g} and {MAX_POINTS:g}, not {points!r}")


@dataclass(frozen=True)
class Band:
    """A range of values and the points it earns.

    ``lower`` is inclusive, ``upper`` exclusive; ``None`` leaves that side open
    (``Band(None, 0, 10)`` is "below 0", ``Band(5, None, 90)`` is "5 or more").
    """

    lower: float | None
    upper: float | None
    points: float

    def __post_init__(self):
        for name in ("lower", "upper"):
            bound = getattr(self, name)
            if bound is not None and not _is_number(bound):
                raise ValueError(f"band {name} bound must be a finite number or None, not {bound!r}")
        if self.lower is not None and self.upper is not None and self.lower >= self.upper:
            raise ValueError(f"band lower bound {self.lower!r} must be below its upper bound {self.upper!r}")
        _check_points(self.points, "band points")

    def contains(self, value):
        """Whether ``value`` falls in this band (``lower <= value < upper``)."""
        if self.lower is not None and not value >= self.lower:
            return False
        if self.upper is not None and not value < self.upper:
            return False
        return True


def _lower_key(band):
    return -math.inf if band.lower is None else band.lower


@dataclass(frozen=True)
class Factor:
    """One scorecard factor: a code, a weight, and bands turning its value into points.

    ``missing_points`` are earned when the value is missing (``None``) or in no
    band; left at ``None`` they default to :attr:`neutral_points`.
    Bands are stored sorted by their lower bound and must not overlap.
    """

    code: str
    weight: float
    bands: tuple
    missing_points: float | None = None

    def __post_init__(self):
        if not isinstance(self.code, str) or not self.code:
            raise ValueError(f"factor code must be a non-empty string, not {self.code!r}")
        if not _is_number(self.weight) or self.weight < 0:
            raise ValueError(f"factor {self.code!r}: weight must be a number >= 0, not {self.weight!r}")
        if not isinstance(self.bands, (list, tuple)) or not self.bands:
            raise ValueError(f"factor {self.code!r}: at least one band is required (a list of Band)")
        for band in self.bands:
            if not isinstance(band, Band):
                raise ValueError(f"factor {self.code!r}: bands must be Band instances, not {band!r}")
        bands = tuple(sorted(self.bands, key=_lower_key))
        for before, after in zip(bands[:-1], bands[1:], strict=True):
            if before.upper is None or after.lower is None or before.upper > after.lower:
                raise ValueError(f"factor {self.code!r}: bands {before} and {after} overlap")
        object.__setattr__(self, "bands", bands)
        if self.missing_points is not None:
            _check_points(self.missing_points, f"factor {self.code!r}: missing points")

    @property
    def min_points(self):
        """The fewest points any band gives."""
        return min(band.points for band in self.bands)

    @property
    def max_points(self):
        """The most points any band gives."""
        return max(band.points for band in self.bands)

    @property
    def neutral_points(self):
        """The mid-point between the lowest and highest band points."""
        return (self.min_points + self.max_points) / 2.0

    @property
    def points_if_missing(self):
        """Points earned without usable data: ``missing_points`` or the neutral points."""
        return self.neutral_points if self.missing_points is None else self.missing_points

    def band_for(self, value):
        """The band ``value`` falls in, or ``None`` (missing value, NaN, or a gap between bands)."""
        if value is None:
            return None
        if not isinstance(value, Real):  # booleans count as 0 / 1 (e.g. "has a bank guarantee")
            raise ValueError(f"factor {self.code!r}: value must be a number or None, not {value!r}")
        if math.isnan(value):
            return None
        for band in self.bands:
            if band.contains(value):
                return band
        return None

    def points_for(self, value):
        """Points (0..100) earned by ``value``; never fails on missing data."""
        band = self.band_for(value)
        return self.points_if_missing if band is None else band.points


@dataclass(frozen=True)
class Scorecard:
    """A set of factors with distinct codes and a positive total weight."""

    factors: tuple

    def __post_init__(self):
        factors = tuple(self.factors)
        if not factors:
            raise ValueError("a scorecard needs at least one factor")
        codes = [factor.code for factor in factors]
        duplicates = sorted({code for code in codes if codes.count(code) > 1})
        if duplicates:
            raise ValueError(f"factor codes must be unique; repeated: {', '.join(duplicates)}")
        if not sum(factor.weight for factor in factors) > 0:
            raise ValueError("the total weight of a scorecard's factors must be positive")
        object.__setattr__(self, "factors", factors)

    @property
    def total_weight(self):
        """Sum of the factor weights (they need not add up to 1)."""
        return sum(factor.weight for factor in self.factors)

    @property
    def codes(self):
        return tuple(factor.code for factor in self.factors)


@dataclass(frozen=True)
class ScoreLine:
    """How one factor contributed to a score.

    ``weight`` is the factor's normalised weight (the weights of a scorecard's
    lines add up to 1); ``contribution`` = ``points`` x ``weight``.
    ``status`` is ``"band"`` (value scored by ``band``), ``"missing"`` (no value)
    or ``"out_of_range"`` (a value in no band, e.g. NaN or a gap between bands).
    """

    code: str
    value: float | None
    points: float
    weight: float
    contribution: float
    status: str = STATUS_BAND
    band: Band | None = None


@dataclass(frozen=True)
class ScoreResult:
    """A score on 0..100 and the lines explaining it, in scorecard order."""

    score: float
    lines: tuple = ()

    @property
    def missing_codes(self):
        """Codes of the factors scored without usable data."""
        return tuple(line.code for line in self.lines if line.status != STATUS_BAND)

    def line(self, code):
        """The line of factor ``code`` (``KeyError`` if the scorecard has none)."""
        for line in self.lines:
            if line.code == code:
                return line
        raise KeyError(code)


def score_line(factor, value, total_weight):
    """Score one factor's ``value``; ``total_weight`` normalises its weight."""
    band = factor.band_for(value)
    if band is not None:
        status, points = STATUS_BAND, band.points
    else:
        status = STATUS_MISSING if value is None else STATUS_OUT_OF_RANGE
        points = factor.points_if_missing
    weight = factor.weight / total_weight
    return ScoreLine(factor.code, value, points, weight, points * weight, status, band)


def score(scorecard, values):
    """Score ``values`` (a dict ``{factor code: value}``) on ``scorecard``.

    Codes absent from ``values`` count as missing; codes the scorecard does not
    know are ignored. The score is the weighted average of the factor points,
    clamped to 0..100.
    """
    total_weight = scorecard.total_weight
    lines = tuple(score_line(factor, values.get(factor.code), total_weight) for factor in scorecard.factors)
    total = sum(line.contribution for line in lines)
    return ScoreResult(min(MAX_POINTS, max(MIN_POINTS, total)), lines)
