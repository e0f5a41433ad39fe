"""Aging of open receivables (账龄): amounts in buckets of days past due.

A company chooses its bucket *edges*, the last day of each overdue bucket: the
default ``(30, 60, 90, 120)`` gives *not due*, 1–30, 31–60, 61–90, 91–120 and
over 120 days past due. An item due today, in the future or without a due date is
not due; an item ``n`` days past due (``n`` >= 1) falls in the first bucket whose
edge is at least ``n``, or in the open-ended last one.

Every item counts, credit notes and unapplied payments too (negative residuals,
in the bucket of their own due date): the buckets always add up to the open
receivables, which is what an accountant reconciles the aging with.
"""

from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime

from ._checks import is_number, is_whole

#: Last day past due of each overdue bucket but the open-ended last one.
DEFAULT_EDGES = (30, 60, 90, 120)
#: At most this many edges (so at most ``MAX_EDGES + 2`` buckets: a report's width).
MAX_EDGES = 10
NOT_DUE = 0  # index of the "not due" bucket


@dataclass(frozen=True)
class AgingBucket:
    """One bucket: ``first_day``..``last_day`` days past due (``None`` for open ends)."""

    index: int
    first_day: int | None
    last_day: int | None
    amount: float = 0.0

    @property
    def is_due(self):
        return self.index != NOT_DUE

    @property
    def key(self):
        """A stable code: ``not_due``, ``1_30``, ..., ``over_120``."""
        if not self.is_due:
            return "not_due"
        if self.last_day is None:
            return f"over_{self.first_day - 1}"
        return f"{self.first_day}_{self.last_day}"


@dataclass(frozen=True)
class Aging:
    buckets: tuple

    @property
    def total(self):
        return sum(bucket.amount for bucket in self.buckets)

    @property
    def overdue(self):
        """Sum of the overdue buckets (credit notes past their due date included)."""
        return sum(bucket.amount for bucket in self.buckets if bucket.is_due)

    def amounts(self):
        """``{bucket key: amount}``."""
        return {bucket.key: bucket.amount for bucket in self.buckets}


def validate_edges(edges):
    """``edges`` as a tuple of strictly increasing positive integers, or ``ValueError``."""
    if isinstance(edges, (str, bytes)) or not hasattr(edges, "__iter__"):
        raise ValueError(f"aging edges must be a sequence of whole numbers of days, not {edges!r}")
    edges = tuple(edges)
    if not edges:
        raise ValueError("aging needs at least one bucket edge (e.g. 30,60,90,120)")
    if len(edges) > MAX_EDGES:
        raise ValueError(f"aging takes at most {MAX_EDGES} bucket edges, not {len(edges)}")
    previous = 0
    for edge in edges:
        if not is_whole(edge, 1):
            raise ValueError(f"aging bucket edges must be whole numbers of days of at least 1, not {edge!r}")
        if edge <= previous:
            raise ValueError(f"aging bucket edges must be strictly increasing: {edge} comes after {previous}")
        previous = edge
    return edges


def parse_edges(text, default=DEFAULT_EDGES):
    """Edges from text such as ``"30, 60, 90, 120"``; blank text gives ``default``."""
    if not text or not str(text).strip():
        return validate_edges(default)
    edges = []
    for part in str(text).split(","):
        part = part.strip()
        if not part.isdigit() or not part.isascii():
            raise ValueError(
                f"aging bucket edges must be whole numbers of days separated by commas, not {part!r}"
            )
        edges.append(int(part))
    return validate_edges(edges)


def format_edges(edges):
    """The text :func:`parse_edges` reads back: ``"30,60,90,120"``."""
    return ",".join(str(edge) for edge in validate_edges(edges))


def bucket_bounds(edges):
    """``[(first_day, last_day)]`` of every bucket, *not due* first as ``(None, 0)``."""
    edges = validate_edges(edges)
    bounds = [(None, 0)]
    first = 1
    for edge in edges:
        bounds.append((first, edge))
        first = edge + 1
    bounds.append((first, None))
    return bounds


def first_days(edges):
    """First day past due of each bucket after the first overdue one (``31, 61, 91, 121`` by
    default): the thresholds of SQL's ``width_bucket`` giving :func:`bucket_index` - 1."""
    return [edge + 1 for edge in validate_edges(edges)]


def bucket_index(days_past_due, edges):
    """Index of the bucket of an item ``days_past_due`` days past due (``None``, 0 or less: not due)."""
    if days_past_due is None or days_past_due <= 0:
        return NOT_DUE
    return 1 + bisect_left(validate_edges(edges), days_past_due)


def days_past_due(due_date, as_of):
    """Whole days from ``due_date`` to ``as_of`` (negative when not due yet); ``None`` without a date."""
    if due_date is None or due_date is False:
        return None
    for value, name in ((due_date, "due_date"), (as_of, "as_of")):
        if not isinstance(value, date) or isinstance(value, datetime):
            raise ValueError(f"{name} must be a date, not {value!r}")
    return (as_of - due_date).days


def aging_from_sums(sums, edges=DEFAULT_EDGES):
    """The aging of amounts already summed per bucket: ``sums`` maps (or lists pairs of)
    bucket index to amount, an index appearing more than once being added up."""
    bounds = bucket_bounds(edges)
    totals = [0.0] * len(bounds)
    pairs = sums.items() if hasattr(sums, "items") else sums
    for index, amount in pairs:
        if not is_whole(index, 0) or index >= len(bounds):
            raise ValueError(f"no aging bucket {index!r} with edges {tuple(edges)}")
        if not is_number(amount):
            raise ValueError(f"aging amounts must be finite numbers, not {amount!r}")
        totals[index] += amount
    return Aging(
        tuple(
            AgingBucket(index, first, last, amount)
            for index, ((first, last), amount) in enumerate(zip(bounds, totals, strict=True))
        )
    )


def aging_from_lines(rows, as_of, edges=DEFAULT_EDGES):
    """The aging on ``as_of`` of ``rows`` of ``(due date or None, residual)``, residuals in one
    currency (negative ones included: credit notes and unapplied payments)."""
    edges = validate_edges(edges)
    return aging_from_sums(
        ((bucket_index(days_past_due(due, as_of), edges), amount) for due, amount in rows), edges
    )
