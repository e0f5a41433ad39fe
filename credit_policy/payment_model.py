"""A fitted late-payment model (付款预测): the probability that an invoice is paid late.

Pure Python (no Odoo, no numpy). Three parts:

**Features** (:func:`build_features`). From a customer's invoice history
(:class:`Invoice`: invoice date, due date, amount, paid date, payment term days) the features
of a new invoice AS OF a date, using only the payments made before that date:

- ``late_share``: share of the paid amount paid after its due date (amount-weighted, as the
  scorecard's factor), ``late_count_share``: share of the paid invoices paid late;
- ``weighted_days_late``: amount-weighted days beyond terms;
- ``avg_days_to_pay``: average days from invoice date to payment;
- ``late_share_trend``: late share of the last 90 days minus that of the 90 days before;
- ``paid_count``: number of paid invoices;
- ``amount_ratio``: the invoice's amount over the customer's average paid invoice amount;
- ``term_days``: the invoice's payment term in days;
- ``electronic``: 1.0 when the invoice is sent electronically, 0.0 on paper, ``None`` unknown.

:data:`DEFAULT_FEATURES` are the features a model uses unless told otherwise: all but
``late_share_trend`` (it needs 180 days of history, so it is missing for most young customers)
and ``paid_count`` (it grows with calendar time, so later invoices look unlike the training
ones). Both stay available. :func:`customer_row` turns a customer's features into those of "a
typical next invoice" of the customer, for a per-customer predicted late share.

The amount-weighted metrics are computed by :mod:`credit_policy.behaviour`, like the rating
engine's. Convention: features as of ``D`` count payments dated ``D - lookback_days <= paid
< D`` (strictly before ``D``), windows of the trend ``[D - 90, D)`` and ``[D - 180, D - 90)``:
the same figures as the rating engine's ``_customer_facts(as_of=D - 1 day)``, which counts
payments up to and including its ``as_of``. No leakage: an invoice not paid before ``D``
(issued later, paid later, or still open) never changes the features of ``D``; an invoice
paid before ``D`` counts even when it was due after ``D`` (it was paid early: its outcome is
known).

**Model** (:func:`fit_payment_model`). L2-regularised logistic regression fitted by Newton's
method (IRLS) on standardised features:

- each column is centred on its training mean and divided by its training standard
  deviation (population, divided by n); a constant column keeps std 1 and coefficient 0 (it
  is left out of the fit);
- with ``min_coverage``, a feature known in a smaller share of the training rows is left out
  too (std 1, coefficient 0, no missing-value indicator; named in ``PaymentModel.left_out``):
  a feature known for a handful of rows would otherwise be fitted on its imputed mean;
- a missing value (``None`` or NaN) is replaced by the training mean of the feature (the
  mean of its known values; 0 when it is never known) and, with ``missing_indicators``, a
  0/1 column ``<feature>:missing`` is added for every feature missing in some training row;
- the fit minimises ``-log likelihood + penalty / 2 * sum(coefficient ** 2)`` over the
  standardised coefficients; the intercept is not penalised. Each Newton step solves the
  (q+1) x (q+1) system by Gaussian elimination with partial pivoting (:func:`solve_linear`)
  and is halved while it does not lower the objective. It stops when no coefficient moves
  by more than ``tol`` (relative) or after ``max_iter`` steps. No randomness: the same rows
  give the same model, bit for bit.
- the sums run column by column (``sum(map(operator.mul, ...))`` over lists of floats, the
  linear predictor computed once per trial step and shared by the objective, the gradient
  and the Hessian): 100,000 rows of 8 features fit in a few seconds of pure Python.

The fitted :class:`PaymentModel` is frozen; :meth:`PaymentModel.to_dict` /
:meth:`PaymentModel.from_dict` turn it into plain JSON-able values for storage.

**Evaluation**: :func:`brier_score`, :func:`log_loss`, :func:`calibration_table` (predicted
against observed late share per decile of the prediction) and
:func:`credit_policy.evaluation.auc`, all four at once by :func:`validate_model` (a frozen
:class:`Validation`); :func:`time_split` splits rows at a date and
:func:`is_late` / :func:`label_late` give the labels (late = paid after the due date, or more
than ``beyond_days`` after it).
"""

import math
import operator
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from itertools import compress, repeat

from ._checks import is_number as _is_number
from .behaviour import (
    TREND_WINDOW_DAYS,
    aggregate_paid,
    late_share,
    late_share_trend,
    weighted_days_beyond_terms,
)
from .evaluation import auc

__all__ = [
    "DEFAULT_FEATURES",
    "DEFAULT_LOOKBACK_DAYS",
    "FEATURE_NAMES",
    "CalibrationBin",
    "Invoice",
    "PaymentModel",
    "Validation",
    "auc",
    "brier_score",
    "build_features",
    "calibration_table",
    "customer_row",
    "fit_payment_model",
    "is_late",
    "label_late",
    "log_loss",
    "solve_linear",
    "time_split",
    "validate_model",
]

#: Payments older than this (before the as-of date) are ignored, like the rating engine's look-back.
DEFAULT_LOOKBACK_DAYS = 730

#: The features :func:`build_features` returns, in this order.
FEATURE_NAMES = (
    "late_share",
    "late_count_share",
    "weighted_days_late",
    "avg_days_to_pay",
    "late_share_trend",
    "paid_count",
    "amount_ratio",
    "term_days",
    "electronic",
)

#: The features a model uses by default (see the module docstring for the two left out).
DEFAULT_FEATURES = (
    "late_share",
    "late_count_share",
    "weighted_days_late",
    "avg_days_to_pay",
    "amount_ratio",
    "term_days",
    "electronic",
)

MISSING_SUFFIX = ":missing"
FORMAT = "sale_credit_control.payment_model/1"


# ------------------------------------------------------------
# Invoices, labels and features
# ------------------------------------------------------------


@dataclass(frozen=True)
class Invoice:
    """One customer invoice: dates, amount (> 0, company currency), payment date when paid.

    ``term_days`` defaults to the days from the invoice date to the due date.
    """

    invoice_date: date
    due_date: date
    amount: float
    paid_date: date | None = None
    term_days: int | None = None

    def __post_init__(self):
        for name in ("invoice_date", "due_date"):
            if not isinstance(getattr(self, name), date):
                raise ValueError(f"{name} must be a date, not {getattr(self, name)!r}")
        if self.paid_date is not None and not isinstance(self.paid_date, date):
            raise ValueError(f"paid_date must be a date or None, not {self.paid_date!r}")
        if not _is_number(self.amount) or self.amount < 0:
            raise ValueError(f"amount must be a finite number >= 0, not {self.amount!r}")
        if self.term_days is None:
            object.__setattr__(self, "term_days", (self.due_date - self.invoice_date).days)
        elif not _is_number(self.term_days):
            raise ValueError(f"term_days must be a number, not {self.term_days!r}")

    @property
    def days_late(self):
        """Days paid after the due date (0 when on time or early); ``None`` while unpaid."""
        if self.paid_date is None:
            return None
        return max(0, (self.paid_date - self.due_date).days)

    @property
    def days_to_pay(self):
        """Days from the invoice date to the payment; ``None`` while unpaid."""
        if self.paid_date is None:
            return None
        return (self.paid_date - self.invoice_date).days


def _invoice(value):
    if isinstance(value, Invoice):
        return value
    if isinstance(value, Mapping):
        return Invoice(
            invoice_date=value["invoice_date"],
            due_date=value["due_date"],
            amount=value["amount"],
            paid_date=value.get("paid_date"),
            term_days=value.get("term_days"),
        )
    raise ValueError(f"an invoice must be an Invoice or a mapping, not {value!r}")


def label_late(invoice, beyond_days=0, *, as_of=None):
    """Whether ``invoice`` was paid more than ``beyond_days`` days after its due date.

    ``beyond_days=0`` is the plain "paid late" label (paid after the due date). An invoice
    not paid (or, with ``as_of``, not paid before ``as_of``) is late when ``as_of`` is past
    its due date + ``beyond_days`` (it cannot be paid in time any more) and ``None``
    (not known yet) otherwise.
    """
    invoice = _invoice(invoice)
    if not isinstance(beyond_days, int) or isinstance(beyond_days, bool) or beyond_days < 0:
        raise ValueError(f"beyond_days must be a whole number >= 0, not {beyond_days!r}")
    limit = invoice.due_date + timedelta(days=beyond_days)
    paid = invoice.paid_date
    if paid is not None and (as_of is None or paid < as_of):
        return paid > limit
    if as_of is not None and as_of > limit:
        # not paid before as_of: paid on as_of at the earliest, already beyond the limit
        return True
    return None


def is_late(invoice, beyond_days=0):
    """:func:`label_late` of a paid invoice as a bool; raises ``ValueError`` for an unpaid one."""
    label = label_late(invoice, beyond_days)
    if label is None:
        raise ValueError("an unpaid invoice has no late label without an as_of date")
    return label


def build_features(
    history,
    as_of,
    *,
    amount=None,
    term_days=None,
    electronic=None,
    lookback_days=DEFAULT_LOOKBACK_DAYS,
    names=FEATURE_NAMES,
):
    """The features (``{name: value or None}``) of a customer's invoice as of ``as_of``.

    ``history`` is the customer's invoices (:class:`Invoice` or mappings with the same keys),
    in any order and possibly including invoices issued or paid later: only those paid
    before ``as_of`` (and not before ``as_of - lookback_days``) count. ``amount``,
    ``term_days`` and ``electronic`` (true: sent electronically, false: on paper, ``None``:
    unknown) describe the invoice being predicted (``amount_ratio`` / ``term_days`` /
    ``electronic`` are ``None`` without them). A figure without data is ``None`` (e.g. no
    paid invoice yet): never 0.
    """
    if not isinstance(as_of, date):
        raise ValueError(f"as_of must be a date, not {as_of!r}")
    electronic = _electronic_value(electronic)
    since = as_of - timedelta(days=lookback_days)
    recent_from = as_of - timedelta(days=TREND_WINDOW_DAYS)
    previous_from = as_of - timedelta(days=2 * TREND_WINDOW_DAYS)
    paid = []
    for item in history:
        invoice = _invoice(item)
        if invoice.paid_date is not None and since <= invoice.paid_date < as_of:
            paid.append(invoice)
    # a fixed order, so float sums do not depend on the order of the history
    paid.sort(key=lambda inv: (inv.paid_date, inv.invoice_date, inv.due_date, inv.amount))
    totals = aggregate_paid((inv.amount, inv.days_late) for inv in paid)
    recent = aggregate_paid((inv.amount, inv.days_late) for inv in paid if inv.paid_date >= recent_from)
    previous = aggregate_paid(
        (inv.amount, inv.days_late) for inv in paid if previous_from <= inv.paid_date < recent_from
    )
    count = len(paid)
    average_amount = totals["paid_amount"] / count if count else None
    values = {
        "late_share": late_share(totals["paid_amount"], totals["late_amount"]),
        "late_count_share": sum(1 for inv in paid if inv.days_late > 0) / count if count else None,
        "weighted_days_late": weighted_days_beyond_terms(totals["paid_amount"], totals["amount_days_late"]),
        "avg_days_to_pay": sum(inv.days_to_pay for inv in paid) / count if count else None,
        "late_share_trend": late_share_trend(
            recent["paid_amount"], recent["late_amount"], previous["paid_amount"], previous["late_amount"]
        ),
        "paid_count": count,
        "amount_ratio": (amount / average_amount if amount is not None and average_amount else None),
        "term_days": term_days,
        "electronic": electronic,
    }
    unknown = [name for name in names if name not in values]
    if unknown:
        raise ValueError(f"unknown features {unknown!r}; known: {FEATURE_NAMES!r}")
    return {name: values[name] for name in names}


def _electronic_value(electronic):
    """1.0 / 0.0 / ``None`` for an invoice sent electronically / on paper / unknown.

    Takes ``True``/``False``/``None`` or 1/0; anything else (an Odoo selection value such as
    ``"paper"``, or ``False`` for an empty selection) must be mapped by the caller first.
    """
    if electronic is None:
        return None
    if electronic in (0, 1) and (isinstance(electronic, bool) or _is_number(electronic)):
        return float(electronic)
    raise ValueError(f"electronic must be True, False, 1, 0 or None, not {electronic!r}")


#: Features describing the customer's paid invoices: known exactly when it has some.
_HISTORY_FEATURES = ("late_share", "late_count_share", "weighted_days_late", "avg_days_to_pay")


def customer_row(features):
    """The features of "a typical next invoice" of a customer, from its ``features`` (a mapping
    as :func:`build_features` returns, e.g. without ``amount``).

    A customer's predicted late share is the model's probability for such an invoice. Its
    amount is the customer's usual one, so ``amount_ratio`` (amount over the average paid
    invoice) is 1.0 by definition; its terms and delivery are those given (the customer's
    usual ones, or ``None`` when unknown); the behaviour figures are the customer's own. A
    customer without paid invoices has no average amount: its ``amount_ratio`` stays ``None``,
    as for any of its real invoices (the model treats it as missing, like its other figures).
    Returns a new dict; ``features`` is not changed.
    """
    row = dict(features)
    if row.get("paid_count") is not None:
        has_history = row["paid_count"] > 0
    else:
        has_history = any(row.get(name) is not None for name in (*_HISTORY_FEATURES, "amount_ratio"))
    row["amount_ratio"] = 1.0 if has_history else None
    return row


def time_split(rows, cut, *, date_of=None):
    """Split ``rows`` at the date ``cut``: ``(before, on_or_after)``, each in the given order.

    ``date_of(row)`` gives a row's date (default: ``row["invoice_date"]`` for a mapping,
    ``row.invoice_date`` otherwise).
    """
    if date_of is None:

        def date_of(row):
            return row["invoice_date"] if isinstance(row, Mapping) else row.invoice_date

    before, after = [], []
    for row in rows:
        (before if date_of(row) < cut else after).append(row)
    return before, after


# ------------------------------------------------------------
# Linear algebra and the logistic fit
# ------------------------------------------------------------


def solve_linear(matrix, vector):
    """Solve ``matrix @ x = vector`` by Gaussian elimination with partial pivoting.

    ``matrix`` is a square list of rows (not modified). Raises ``ValueError`` when the
    matrix is singular (a pivot below 1e-12 times the largest entry).
    """
    size = len(vector)
    if len(matrix) != size or any(len(row) != size for row in matrix):
        raise ValueError("the matrix must be square and match the vector")
    augmented = [[float(value) for value in row] + [float(vector[i])] for i, row in enumerate(matrix)]
    scale = max((abs(value) for row in matrix for value in row), default=0.0)
    threshold = 1e-12 * scale if scale else 0.0
    for column in range(size):
        pivot = max(range(column, size), key=lambda r: abs(augmented[r][column]))
        if abs(augmented[pivot][column]) <= threshold or augmented[pivot][column] == 0.0:
            raise ValueError("the matrix is singular")
        if pivot != column:
            augmented[column], augmented[pivot] = augmented[pivot], augmented[column]
        pivot_row = augmented[column]
        for row_index in range(column + 1, size):
            row = augmented[row_index]
            factor = row[column] / pivot_row[column]
            if factor:
                for k in range(column, size + 1):
                    row[k] -= factor * pivot_row[k]
    solution = [0.0] * size
    for row_index in range(size - 1, -1, -1):
        row = augmented[row_index]
        total = row[size] - sum(row[k] * solution[k] for k in range(row_index + 1, size))
        solution[row_index] = total / row[row_index]
    return solution


def _sigmoid(value):
    if value >= 0:
        return 1.0 / (1.0 + math.exp(-value))
    exp = math.exp(value)
    return exp / (1.0 + exp)


def _log1p_exp(value):
    """log(1 + e^value) without overflow."""
    return value + math.log1p(math.exp(-value)) if value > 0 else math.log1p(math.exp(value))


def _is_missing(value):
    return value is None or (isinstance(value, float) and math.isnan(value))


def _check_value(value, name):
    if type(value) is float and math.isfinite(value):  # the common case first: fitting 100,000 rows
        return value
    if _is_missing(value):
        return None
    if not _is_number(value) and not isinstance(value, bool):
        raise ValueError(f"feature {name!r} must be a finite number or None, not {value!r}")
    return float(value)


@dataclass(frozen=True)
class PaymentModel:
    """A fitted logistic model: standardisation, coefficients and what it was fitted on.

    ``columns`` are the model's inputs: the ``features`` then one ``<feature>:missing``
    indicator per name of ``indicators``. ``means``/``stds``/``coefficients`` are per column
    (coefficients on the standardised scale; 0 for a constant column). A missing feature is
    replaced by its column mean. ``left_out`` names the features known in too few training
    rows (``min_coverage``): they keep coefficient 0.
    """

    features: tuple
    indicators: tuple
    means: tuple
    stds: tuple
    coefficients: tuple
    intercept: float
    penalty: float
    training_size: int
    late_count: int
    iterations: int = 0
    converged: bool = True
    left_out: tuple = ()

    @property
    def columns(self):
        return tuple(self.features) + tuple(name + MISSING_SUFFIX for name in self.indicators)

    @property
    def base_late_rate(self):
        """Share of the training rows that were late."""
        return self.late_count / self.training_size if self.training_size else None

    def _raw(self, row):
        """The row's column values (before standardisation), missing values imputed."""
        if isinstance(row, Mapping):
            values = [_check_value(row.get(name), name) for name in self.features]
        else:
            row = list(row)
            if len(row) != len(self.features):
                raise ValueError(f"a row needs {len(self.features)} values, not {len(row)}")
            values = [_check_value(value, name) for value, name in zip(row, self.features, strict=True)]
        missing = {name for name, value in zip(self.features, values, strict=True) if value is None}
        raw = [self.means[i] if value is None else value for i, value in enumerate(values)]
        raw += [1.0 if name in missing else 0.0 for name in self.indicators]
        return raw

    def _standardised(self, row):
        return [
            (value - mean) / std
            for value, mean, std in zip(self._raw(row), self.means, self.stds, strict=True)
        ]

    def log_odds(self, row):
        """The linear predictor of one row (``log(p / (1 - p))``)."""
        return self.intercept + sum(
            coefficient * value
            for coefficient, value in zip(self.coefficients, self._standardised(row), strict=True)
            if coefficient
        )

    def predict_one(self, row):
        """Probability (0..1) that the invoice described by ``row`` is paid late."""
        return _sigmoid(self.log_odds(row))

    def predict_proba(self, rows):
        """:meth:`predict_one` of every row (mappings ``{feature: value}`` or sequences in
        :attr:`features` order; ``None``/NaN for a missing value)."""
        return [self.predict_one(row) for row in rows]

    def contributions(self, row):
        """``[(column, value used, contribution to the log odds)]`` for one row, the "why" of a
        prediction: the contributions plus :attr:`intercept` add up to :meth:`log_odds`."""
        raw = self._raw(row)
        return [
            (column, value, coefficient * (value - mean) / std)
            for column, value, mean, std, coefficient in zip(
                self.columns, raw, self.means, self.stds, self.coefficients, strict=True
            )
        ]

    def raw_coefficients(self):
        """``(intercept, {column: coefficient})`` on the original (unstandardised) scale."""
        slopes = {
            column: coefficient / std
            for column, coefficient, std in zip(self.columns, self.coefficients, self.stds, strict=True)
        }
        intercept = self.intercept - sum(
            coefficient * mean / std
            for coefficient, mean, std in zip(self.coefficients, self.means, self.stds, strict=True)
        )
        return intercept, slopes

    def to_dict(self):
        """Plain values (lists, floats, ints, strings, bools) for ``json.dumps``."""
        return {
            "format": FORMAT,
            "features": list(self.features),
            "indicators": list(self.indicators),
            "columns": list(self.columns),
            "means": list(self.means),
            "stds": list(self.stds),
            "coefficients": list(self.coefficients),
            "intercept": self.intercept,
            "penalty": self.penalty,
            "training_size": self.training_size,
            "late_count": self.late_count,
            "base_late_rate": self.base_late_rate,
            "iterations": self.iterations,
            "converged": self.converged,
            "left_out": list(self.left_out),
        }

    @classmethod
    def from_dict(cls, data):
        """The model saved by :meth:`to_dict` (checks its format and sizes; data saved before
        ``left_out`` existed reads as nothing left out)."""
        if data.get("format") != FORMAT:
            raise ValueError(f"not a payment model of format {FORMAT!r}: {data.get('format')!r}")
        model = cls(
            features=tuple(data["features"]),
            indicators=tuple(data["indicators"]),
            means=tuple(float(value) for value in data["means"]),
            stds=tuple(float(value) for value in data["stds"]),
            coefficients=tuple(float(value) for value in data["coefficients"]),
            intercept=float(data["intercept"]),
            penalty=float(data["penalty"]),
            training_size=int(data["training_size"]),
            late_count=int(data["late_count"]),
            iterations=int(data.get("iterations", 0)),
            converged=bool(data.get("converged", True)),
            left_out=tuple(data.get("left_out", ())),
        )
        if not set(model.left_out) <= set(model.features):
            raise ValueError("left_out must name features of the model")
        size = len(model.columns)
        if not len(model.means) == len(model.stds) == len(model.coefficients) == size:
            raise ValueError("means, stds and coefficients must have one value per column")
        if any(std <= 0 for std in model.stds):
            raise ValueError("standard deviations must be positive")
        return model


def _feature_columns(rows, features):
    """The rows' values as one list per feature (floats, ``None`` when missing)."""
    matrix = []
    for row in rows:
        if isinstance(row, Mapping):
            matrix.append([row.get(name) for name in features])
        else:
            row = list(row)
            if len(row) != len(features):
                raise ValueError(f"a row needs {len(features)} values, not {len(row)}")
            matrix.append(row)
    return [
        [_check_value(value, name) for value in column]
        for name, column in zip(features, zip(*matrix, strict=True), strict=True)
    ]


def fit_payment_model(
    rows,
    labels,
    *,
    features=None,
    penalty=1.0,
    missing_indicators=True,
    min_coverage=0.0,
    tol=1e-10,
    max_iter=100,
):
    """Fit a :class:`PaymentModel` to ``rows`` and their ``labels`` (true = late).

    ``rows`` are mappings ``{feature: value}`` (``features`` defaults to the keys of the
    first row) or sequences (``features`` defaults to ``x0, x1, ...``); ``None`` or NaN is a
    missing value. ``penalty`` (>= 0) is the L2 penalty on the standardised coefficients.
    A feature known in fewer than ``min_coverage`` (0..1) of the rows is left out (see the
    module docstring). Needs late and on-time rows. With ``penalty=0`` and separable data
    the fit does not converge: the model comes back with ``converged=False``.
    """
    rows = list(rows)
    labels = [bool(label) for label in labels]
    _check_fit_arguments(rows, labels, penalty, max_iter, min_coverage)
    if features is None:
        first = rows[0]
        features = list(first) if isinstance(first, Mapping) else [f"x{i}" for i in range(len(list(first)))]
    features = tuple(features)
    if len(set(features)) != len(features):
        raise ValueError(f"duplicate feature names in {features!r}")
    count = len(rows)
    late_count = sum(labels)
    design = _standardised_design(
        _feature_columns(rows, features), features, count, missing_indicators, min_coverage
    )
    beta, iterations, converged = _newton_fit(
        design.columns, labels, late_count / count, penalty, tol, max_iter
    )
    coefficients = [0.0] * len(design.means)
    for position, j in enumerate(design.active):
        coefficients[j] = beta[position + 1]
    return PaymentModel(
        features=features,
        indicators=design.indicators,
        means=tuple(design.means),
        stds=tuple(design.stds),
        coefficients=tuple(coefficients),
        intercept=beta[0],
        penalty=float(penalty),
        training_size=count,
        late_count=late_count,
        iterations=iterations,
        converged=converged,
        left_out=design.left_out,
    )


def _check_fit_arguments(rows, labels, penalty, max_iter, min_coverage):
    if len(rows) != len(labels):
        raise ValueError(f"{len(rows)} rows but {len(labels)} labels")
    if not rows:
        raise ValueError("no rows to fit")
    if sum(labels) in (0, len(labels)):
        raise ValueError("fitting needs both late and on-time rows")
    if not _is_number(penalty) or penalty < 0:
        raise ValueError(f"penalty must be a finite number >= 0, not {penalty!r}")
    if not _is_whole_positive(max_iter):
        raise ValueError(f"max_iter must be a whole number >= 1, not {max_iter!r}")
    if not _is_number(min_coverage) or not 0 <= min_coverage <= 1:
        raise ValueError(f"min_coverage must be a number from 0 to 1, not {min_coverage!r}")


@dataclass(frozen=True)
class _Design:
    """The standardised training columns: ``columns`` holds the ``active`` ones (indexes into
    ``means``/``stds``, the features then the indicators), one list of floats each."""

    indicators: tuple
    left_out: tuple
    means: list
    stds: list
    active: list
    columns: list


def _standardised_design(feature_columns, features, count, missing_indicators, min_coverage):
    """Impute, add the missing-value indicators and standardise ``feature_columns``."""
    means, left_out = [], []
    for name, column in zip(features, feature_columns, strict=True):
        known = [value for value in column if value is not None]
        # imputation value: the mean of the known values (0 when never known)
        means.append(math.fsum(known) / len(known) if known else 0.0)
        if len(known) / count < min_coverage:
            left_out.append(name)
    indicators = tuple(
        name
        for name, column in zip(features, feature_columns, strict=True)
        if missing_indicators
        and name not in left_out
        and None in column
        and any(value is not None for value in column)
    )
    raw = [
        [mean if value is None else value for value in column]
        for column, mean in zip(feature_columns, means, strict=True)
    ]
    for name in indicators:
        column = feature_columns[features.index(name)]
        raw.append([1.0 if value is None else 0.0 for value in column])
        means.append(math.fsum(raw[-1]) / count)
    left_out_columns = {features.index(name) for name in left_out}
    stds, active, columns = [], [], []
    for j, (column, mean) in enumerate(zip(raw, means, strict=True)):
        centred = [value - mean for value in column]
        std = math.sqrt(math.fsum(map(operator.mul, centred, centred)) / count)
        if std > 1e-12 * max(1.0, abs(mean)) and j not in left_out_columns:
            stds.append(std)
            active.append(j)
            columns.append([(value - mean) / std for value in column])
        else:
            stds.append(1.0)  # constant or left-out column: not in the fit, coefficient 0
    return _Design(tuple(indicators), tuple(left_out), means, stds, active, columns)


def _linear_predictor(columns, beta, count):
    """``beta[0] + sum(beta[j + 1] * columns[j])`` of every row, summed column by column."""
    eta = [beta[0]] * count
    for coefficient, column in zip(beta[1:], columns, strict=True):
        if coefficient:
            eta = list(map(operator.add, eta, map(operator.mul, column, repeat(coefficient))))
    return eta


def _objective(eta, labels, beta, penalty):
    """-log likelihood + penalty / 2 * |slopes|^2 (``beta[0]`` is the intercept)."""
    softplus = math.fsum(map(_log1p_exp, eta))
    return softplus - math.fsum(compress(eta, labels)) + 0.5 * penalty * math.fsum(b * b for b in beta[1:])


def _newton_fit(columns, labels, base_rate, penalty, tol, max_iter):
    """Newton's method with step halving from the base rate; returns ``(beta, iterations, converged)``."""
    count = len(labels)
    beta = [math.log(base_rate / (1.0 - base_rate))] + [0.0] * len(columns)
    eta = _linear_predictor(columns, beta, count)
    objective = _objective(eta, labels, beta, penalty)
    converged = False
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - reported in the model
        gradient, hessian = _gradient_and_hessian(columns, labels, eta, beta, penalty)
        try:
            step = solve_linear(hessian, gradient)
        except ValueError:
            break  # flat likelihood (all weights ~0): stop where we are
        # step halving: never accept a step that raises the objective
        factor = 1.0
        while True:
            candidate = [b + factor * s for b, s in zip(beta, step, strict=True)]
            candidate_eta = _linear_predictor(columns, candidate, count)
            new_objective = _objective(candidate_eta, labels, candidate, penalty)
            if new_objective <= objective + 1e-12 * (1.0 + abs(objective)) or factor < 1e-10:
                break
            factor /= 2.0
        moved = max(abs(factor * s) for s in step)
        beta, eta, objective = candidate, candidate_eta, new_objective
        if moved <= tol * (1.0 + max(abs(b) for b in beta)):
            converged = True
            break
    return beta, iterations, converged


def _gradient_and_hessian(columns, labels, eta, beta, penalty):
    """Gradient and Hessian of the penalised log likelihood at ``beta`` (no penalty on the
    intercept), ``eta`` being the linear predictor of every row at ``beta``."""
    probabilities = list(map(_sigmoid, eta))
    residuals = [(1.0 if late else 0.0) - p for late, p in zip(labels, probabilities, strict=True)]
    weights = [p * (1.0 - p) for p in probabilities]
    design = [None, *columns]  # None: the intercept's column of ones
    size = len(design)
    # exact sums for the gradient (it decides where the fit stops); plain ones for the Hessian,
    # which only sets the direction of the step
    gradient = [math.fsum(residuals)]
    gradient += [math.fsum(map(operator.mul, residuals, column)) for column in columns]
    hessian = [[0.0] * size for _ in range(size)]
    for a in range(size):
        weighted = weights if a == 0 else list(map(operator.mul, weights, design[a]))
        row = hessian[a]
        row[a] = sum(weighted) if a == 0 else sum(map(operator.mul, weighted, design[a]))
        for b in range(a + 1, size):
            row[b] = hessian[b][a] = sum(map(operator.mul, weighted, design[b]))
    for a in range(1, size):
        gradient[a] -= penalty * beta[a]
        hessian[a][a] += penalty
    return gradient, hessian


def _is_whole_positive(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


# ------------------------------------------------------------
# Evaluation
# ------------------------------------------------------------


def _pairs(probabilities, outcomes):
    probabilities = [float(p) for p in probabilities]
    outcomes = [bool(y) for y in outcomes]
    if len(probabilities) != len(outcomes):
        raise ValueError(f"{len(probabilities)} probabilities but {len(outcomes)} outcomes")
    for p in probabilities:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"probabilities must be between 0 and 1, not {p!r}")
    return probabilities, outcomes


def brier_score(probabilities, outcomes):
    """Mean squared difference between the predicted probability and the outcome (0 best);
    ``None`` without rows."""
    probabilities, outcomes = _pairs(probabilities, outcomes)
    if not probabilities:
        return None
    return math.fsum((p - y) ** 2 for p, y in zip(probabilities, outcomes, strict=True)) / len(outcomes)


def log_loss(probabilities, outcomes, *, eps=1e-15):
    """Mean negative log likelihood of the outcomes (probabilities clipped to [eps, 1 - eps]);
    ``None`` without rows."""
    probabilities, outcomes = _pairs(probabilities, outcomes)
    if not probabilities:
        return None
    total = 0.0
    for p, y in zip(probabilities, outcomes, strict=True):
        p = min(1.0 - eps, max(eps, p))
        total -= math.log(p if y else 1.0 - p)
    return total / len(outcomes)


@dataclass(frozen=True)
class CalibrationBin:
    """One group of the calibration table: rows, their mean prediction and their late share."""

    index: int
    count: int
    late_count: int
    predicted_mean: float
    observed_share: float
    lowest: float
    highest: float


def calibration_table(probabilities, outcomes, bins=10):
    """Predicted against observed late share per group of the predictions (deciles by default).

    Rows are sorted by predicted probability (ties keep their given order) and cut into
    ``bins`` groups of (as nearly as possible) equal size: group ``k`` holds the rows of rank
    ``r`` with ``r * bins // n == k``. Empty groups (fewer rows than bins) are left out, so
    the counts always add up to the number of rows.
    """
    probabilities, outcomes = _pairs(probabilities, outcomes)
    if not _is_whole_positive(bins):
        raise ValueError(f"bins must be a whole number >= 1, not {bins!r}")
    count = len(probabilities)
    order = sorted(range(count), key=probabilities.__getitem__)
    groups = [[] for _ in range(bins)]
    for rank, index in enumerate(order):
        groups[rank * bins // count].append(index)
    table = []
    for k, members in enumerate(groups):
        if not members:
            continue
        predicted = [probabilities[i] for i in members]
        late = sum(outcomes[i] for i in members)
        table.append(
            CalibrationBin(
                index=k,
                count=len(members),
                late_count=late,
                predicted_mean=math.fsum(predicted) / len(members),
                observed_share=late / len(members),
                lowest=min(predicted),
                highest=max(predicted),
            )
        )
    return table


@dataclass(frozen=True)
class Validation:
    """How a model did on rows it was not fitted on (e.g. the later part of a time split).

    ``auc`` is ``None`` without late or without on-time rows; ``brier`` and ``log_loss`` are
    ``None`` without rows; ``calibration`` is the :func:`calibration_table`.
    """

    size: int
    late_count: int
    auc: float | None
    brier: float | None
    log_loss: float | None
    calibration: tuple = ()

    @property
    def late_share(self):
        """Share of the rows that were late (``None`` without rows)."""
        return self.late_count / self.size if self.size else None

    def to_dict(self):
        """Plain values for ``json.dumps`` (the calibration as a list of dicts)."""
        return {
            "size": self.size,
            "late_count": self.late_count,
            "auc": self.auc,
            "brier": self.brier,
            "log_loss": self.log_loss,
            "calibration": [asdict(line) for line in self.calibration],
        }

    @classmethod
    def from_dict(cls, data):
        """The validation saved by :meth:`to_dict`."""
        return cls(
            size=int(data["size"]),
            late_count=int(data["late_count"]),
            auc=_optional_float(data.get("auc")),
            brier=_optional_float(data.get("brier")),
            log_loss=_optional_float(data.get("log_loss")),
            calibration=tuple(CalibrationBin(**line) for line in data.get("calibration", ())),
        )


def _optional_float(value):
    return None if value is None else float(value)


def validate_model(model, rows, labels, *, bins=10):
    """:class:`Validation` of ``model`` on ``rows`` (as for :meth:`PaymentModel.predict_proba`)
    and their ``labels`` (true = late): AUC, Brier score, log loss and calibration table
    (``bins`` groups of the predictions)."""
    rows = list(rows)
    labels = [bool(label) for label in labels]
    if len(rows) != len(labels):
        raise ValueError(f"{len(rows)} rows but {len(labels)} labels")
    probabilities = model.predict_proba(rows)
    return Validation(
        size=len(rows),
        late_count=sum(labels),
        auc=auc(probabilities, labels),
        brier=brier_score(probabilities, labels),
        log_loss=log_loss(probabilities, labels),
        calibration=tuple(calibration_table(probabilities, labels, bins)),
    )
