"""The late-payment model: features, logistic fit, serialisation and evaluation."""

import json
import math
import random
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credit_policy.behaviour import PaymentAggregates, PaymentBehaviour, aggregate_paid
from credit_policy.evaluation import auc
from credit_policy.payment_model import (
    DEFAULT_FEATURES,
    FEATURE_NAMES,
    CalibrationBin,
    Invoice,
    PaymentModel,
    Validation,
    brier_score,
    build_features,
    calibration_table,
    customer_row,
    fit_payment_model,
    is_late,
    label_late,
    log_loss,
    solve_linear,
    time_split,
    validate_model,
)

D = date(2012, 7, 1)


def days(n):
    return timedelta(days=n)


# ---------------------------------------------------------------- linear algebra


def test_solve_linear_needs_pivoting():
    # a zero first pivot: elimination without row exchange would divide by 0
    matrix = [[0.0, 2.0, 1.0], [1.0, 1.0, 1.0], [2.0, 1.0, 3.0]]
    x = [1.0, -2.0, 3.0]
    vector = [sum(a * b for a, b in zip(row, x, strict=True)) for row in matrix]
    assert solve_linear(matrix, vector) == pytest.approx(x, abs=1e-12)
    assert matrix[0] == [0.0, 2.0, 1.0]  # input untouched


def test_solve_linear_singular():
    with pytest.raises(ValueError, match="singular"):
        solve_linear([[1.0, 2.0], [2.0, 4.0]], [1.0, 2.0])


def test_solve_linear_shape():
    with pytest.raises(ValueError):
        solve_linear([[1.0, 2.0]], [1.0])


# ---------------------------------------------------------------- the fit: known solutions


def _score_equations(model, rows, labels):
    """Gradient of the penalised log likelihood on the standardised scale (should be ~0)."""
    columns = len(model.columns)
    gradient = [0.0] * (columns + 1)
    for row, late in zip(rows, labels, strict=True):
        residual = float(late) - model.predict_one(row)
        z = model._standardised(row)
        gradient[0] += residual
        for j in range(columns):
            gradient[j + 1] += residual * z[j]
    for j in range(columns):
        gradient[j + 1] -= model.penalty * model.coefficients[j]
    return gradient


def test_binary_feature_reproduces_group_late_shares():
    # unpenalised MLE with one binary feature: fitted probabilities = observed group shares
    x = [0] * 10 + [1] * 8
    y = [1, 1, 1, 0, 0, 0, 0, 0, 0, 0] + [1, 1, 1, 1, 1, 1, 0, 0]
    model = fit_payment_model([[v] for v in x], y, penalty=0.0)
    assert model.converged
    assert model.predict_proba([[0], [1]]) == pytest.approx([0.3, 0.75], abs=1e-6)
    intercept, slopes = model.raw_coefficients()
    assert intercept == pytest.approx(math.log(0.3 / 0.7), abs=1e-6)
    assert slopes["x0"] == pytest.approx(math.log(3.0) - math.log(0.3 / 0.7), abs=1e-6)


def test_textbook_hours_studied():
    # the "hours studied / passed the exam" example of the Wikipedia article on logistic
    # regression: intercept -4.0777, slope 1.5046 (unpenalised maximum likelihood)
    hours = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0, 3.25, 3.5, 4.0, 4.25, 4.5]
    hours += [4.75, 5.0, 5.5]
    passed = [0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1]
    rows = [{"hours": h} for h in hours]
    model = fit_payment_model(rows, passed, penalty=0.0)
    intercept, slopes = model.raw_coefficients()
    assert intercept == pytest.approx(-4.0777, abs=1e-4)
    assert slopes["hours"] == pytest.approx(1.5046, abs=1e-4)
    assert _score_equations(model, rows, passed) == pytest.approx([0.0, 0.0], abs=1e-9)
    # the article's table: 2 hours -> 0.26, 4 hours -> 0.87
    assert model.predict_one({"hours": 2}) == pytest.approx(0.26, abs=0.005)
    assert model.predict_one({"hours": 4}) == pytest.approx(0.87, abs=0.005)


def _textbook_rows():
    rng = random.Random(7)
    rows, labels = [], []
    for _ in range(200):
        a, b = rng.gauss(0, 1), rng.gauss(5, 2)
        rows.append({"a": a, "b": b})
        labels.append(rng.random() < 1 / (1 + math.exp(-(0.5 + 1.2 * a - 0.4 * (b - 5)))))
    return rows, labels


def test_penalised_fit_solves_its_score_equations():
    # optimum of -loglik + penalty/2 |beta|^2: sum(y - p) = 0 (the intercept is not
    # penalised, so the mean prediction is the base rate), sum((y - p) z_j) = penalty * beta_j
    rows, labels = _textbook_rows()
    model = fit_payment_model(rows, labels, penalty=5.0)
    assert model.converged
    assert _score_equations(model, rows, labels) == pytest.approx([0.0, 0.0, 0.0], abs=1e-8)
    assert sum(model.predict_proba(rows)) / len(rows) == pytest.approx(model.base_late_rate, abs=1e-9)
    assert auc(model.predict_proba(rows), labels) > 0.7


def test_separable_data_gives_finite_coefficients_shrinking_with_the_penalty():
    rows = [[x] for x in (-3, -2, -1.5, -1, 1, 1.5, 2, 3)]
    labels = [0, 0, 0, 0, 1, 1, 1, 1]
    norms = []
    for penalty in (0.1, 1.0, 10.0):
        model = fit_payment_model(rows, labels, penalty=penalty)
        assert model.converged
        assert all(math.isfinite(c) for c in model.coefficients)
        norms.append(math.hypot(*model.coefficients))
    assert norms[0] > norms[1] > norms[2] > 0
    # without a penalty the maximum likelihood does not exist: no convergence
    assert not fit_payment_model(rows, labels, penalty=0.0, max_iter=30).converged


def test_constant_feature_keeps_coefficient_zero():
    rows, labels = _textbook_rows()
    with_constant = [dict(row, term=30) for row in rows]
    model = fit_payment_model(with_constant, labels, penalty=1.0, features=("a", "term", "b"))
    plain = fit_payment_model(rows, labels, penalty=1.0, features=("a", "b"))
    assert model.coefficients[1] == 0.0
    assert model.stds[1] == 1.0
    assert model.means[1] == 30.0
    assert model.predict_proba(with_constant) == pytest.approx(plain.predict_proba(rows), abs=1e-12)
    # even unpenalised (the constant column is left out, so the system stays solvable)
    assert fit_payment_model(with_constant, labels, penalty=0.0, features=("a", "term", "b")).converged


def test_missing_values_are_imputed_with_the_training_mean():
    rows = [{"x": 1.0}, {"x": None}, {"x": 3.0}, {"x": float("nan")}, {"x": 5.0}, {"x": 2.0}]
    labels = [0, 1, 0, 1, 1, 0]
    model = fit_payment_model(rows, labels, penalty=1.0)
    assert model.features == ("x",)
    assert model.indicators == ("x",)
    assert model.columns == ("x", "x:missing")
    assert model.means[0] == pytest.approx(11.0 / 4)  # mean of the known values
    assert model.means[1] == pytest.approx(2 / 6)  # share of missing rows
    # missing rows were all late: the indicator pushes the risk up
    assert model.coefficients[1] > 0
    assert model.predict_one({"x": None}) > model.predict_one({"x": 11.0 / 4})
    assert model.predict_one({}) == model.predict_one({"x": None}) == model.predict_one([float("nan")])
    contributions = dict((column, value) for column, value, _c in model.contributions({"x": None}))
    assert contributions == {"x": pytest.approx(11.0 / 4), "x:missing": 1.0}


def test_missing_values_without_indicator():
    rows = [{"x": 1.0}, {"x": None}, {"x": 3.0}, {"x": 5.0}]
    model = fit_payment_model(rows, [0, 1, 0, 1], penalty=1.0, missing_indicators=False)
    assert model.indicators == ()
    assert model.predict_one({"x": None}) == model.predict_one({"x": 3.0})


def test_feature_never_known_is_dropped():
    rows = [{"x": None, "y": 1.0}, {"x": None, "y": 2.0}, {"x": None, "y": 3.0}]
    model = fit_payment_model(rows, [0, 1, 1], penalty=1.0)
    assert model.indicators == ()  # constant indicator: not added
    assert model.coefficients[0] == 0.0 and model.means[0] == 0.0


def test_fit_is_deterministic():
    rows, labels = _textbook_rows()
    first = fit_payment_model(rows, labels, penalty=2.0).to_dict()
    second = fit_payment_model(rows, labels, penalty=2.0).to_dict()
    assert first == second


def test_contributions_add_up_to_the_log_odds():
    rows, labels = _textbook_rows()
    model = fit_payment_model(rows, labels)
    row = rows[3]
    total = model.intercept + sum(c for _col, _v, c in model.contributions(row))
    assert total == pytest.approx(model.log_odds(row), abs=1e-12)
    intercept, slopes = model.raw_coefficients()
    assert intercept + slopes["a"] * row["a"] + slopes["b"] * row["b"] == pytest.approx(model.log_odds(row))


def test_fit_input_errors():
    with pytest.raises(ValueError, match="both late and on-time"):
        fit_payment_model([[1], [2]], [1, 1])
    with pytest.raises(ValueError, match="rows but"):
        fit_payment_model([[1], [2]], [1])
    with pytest.raises(ValueError, match="penalty"):
        fit_payment_model([[1], [2]], [0, 1], penalty=-1)
    with pytest.raises(ValueError, match="must be a finite number"):
        fit_payment_model([["high"], [2]], [0, 1])
    with pytest.raises(ValueError, match="needs 1 values"):
        fit_payment_model([[1], [2]], [0, 1]).predict_one([1, 2])


# ---------------------------------------------------------------- serialisation


def test_round_trip_through_json():
    rows, labels = _textbook_rows()
    rows = [dict(row, gap=None if i % 5 == 0 else row["a"] * 2, term=30) for i, row in enumerate(rows)]
    model = fit_payment_model(rows, labels, features=("a", "b", "gap", "term"), penalty=3.0)
    data = json.loads(json.dumps(model.to_dict()))
    assert data["features"] == ["a", "b", "gap", "term"]
    assert data["columns"] == ["a", "b", "gap", "term", "gap:missing"]
    assert data["training_size"] == 200 and data["penalty"] == 3.0
    assert data["base_late_rate"] == pytest.approx(sum(labels) / 200)
    restored = PaymentModel.from_dict(data)
    assert restored == model
    assert restored.predict_proba(rows) == model.predict_proba(rows)


def test_from_dict_checks_the_data():
    model = fit_payment_model([[1], [2], [3]], [0, 1, 1])
    data = model.to_dict()
    with pytest.raises(ValueError, match="format"):
        PaymentModel.from_dict(dict(data, format="other"))
    with pytest.raises(ValueError, match="one value per column"):
        PaymentModel.from_dict(dict(data, means=[]))


# ---------------------------------------------------------------- evaluation


def test_brier_score():
    assert brier_score([1.0, 0.0, 1.0], [True, False, True]) == 0.0
    assert brier_score([0.5] * 4, [1, 0, 1, 0]) == 0.25
    assert brier_score([], []) is None
    with pytest.raises(ValueError):
        brier_score([1.5], [1])


def test_log_loss():
    assert log_loss([0.5, 0.5], [1, 0]) == pytest.approx(math.log(2))
    assert log_loss([1.0], [0]) == pytest.approx(-math.log(1e-15), rel=1e-4)  # clipped, finite


def test_calibration_deciles():
    probabilities = [i / 100 for i in range(100)]
    outcomes = [i % 3 == 0 for i in range(100)]
    table = calibration_table(probabilities, outcomes)
    assert [line.count for line in table] == [10] * 10
    assert table[0].predicted_mean == pytest.approx(0.045)
    assert table[0].late_count == 4  # 0, 3, 6, 9
    assert table[9].lowest == 0.9 and table[9].highest == 0.99


@given(
    st.lists(st.tuples(st.floats(0, 1), st.booleans()), max_size=60),
    st.integers(1, 12),
)
def test_calibration_counts_add_up(pairs, bins):
    probabilities = [p for p, _ in pairs]
    outcomes = [y for _, y in pairs]
    table = calibration_table(probabilities, outcomes, bins)
    assert sum(line.count for line in table) == len(pairs)
    assert sum(line.late_count for line in table) == sum(outcomes)
    assert len(table) == min(bins, len(pairs))
    for line in table:
        assert line.lowest - 1e-12 <= line.predicted_mean <= line.highest + 1e-12
    # groups are ordered by prediction
    for before, after in zip(table, table[1:], strict=False):
        assert before.highest <= after.lowest


# ---------------------------------------------------------------- time split and labels


def test_time_split_boundaries():
    rows = [{"invoice_date": D - days(1)}, {"invoice_date": D}, {"invoice_date": D + days(1)}]
    before, after = time_split(rows, D)
    assert before == rows[:1]
    assert after == rows[1:]  # the cut date itself is validation
    invoices = [Invoice(D - days(5), D + days(25), 10.0), Invoice(D, D + days(30), 10.0)]
    assert time_split(invoices, D) == (invoices[:1], invoices[1:])
    assert time_split(rows, D, date_of=lambda row: row["invoice_date"] + days(1)) == ([], rows)


def test_labels():
    on_due_date = Invoice(date(2012, 1, 1), date(2012, 1, 31), 100.0, date(2012, 1, 31))
    a_day_late = Invoice(date(2012, 1, 1), date(2012, 1, 31), 100.0, date(2012, 2, 1))
    twenty_late = Invoice(date(2012, 1, 1), date(2012, 1, 31), 100.0, date(2012, 2, 20))
    unpaid = Invoice(date(2012, 1, 1), date(2012, 1, 31), 100.0)
    assert not is_late(on_due_date) and is_late(a_day_late)
    assert is_late(twenty_late, 15) and not is_late(twenty_late, 20) and not is_late(a_day_late, 1)
    assert a_day_late.days_late == 1 and on_due_date.days_late == 0 and unpaid.days_late is None
    with pytest.raises(ValueError):
        is_late(unpaid)
    # as of a date: unknown until it can no longer be paid in time
    assert label_late(unpaid, as_of=date(2012, 1, 31)) is None
    assert label_late(unpaid, as_of=date(2012, 2, 1)) is True
    assert label_late(unpaid, 15, as_of=date(2012, 2, 15)) is None
    assert label_late(unpaid, 15, as_of=date(2012, 2, 16)) is True
    # paid after as_of: not known yet at as_of
    assert label_late(twenty_late, as_of=date(2012, 1, 20)) is None
    assert label_late(twenty_late, as_of=date(2012, 2, 21)) is True
    assert label_late({"invoice_date": D, "due_date": D + days(30), "amount": 1.0, "paid_date": D}) is False


# ---------------------------------------------------------------- features


def _history():
    return [
        # paid 10 days late, 120 days before D (previous window)
        Invoice(D - days(160), D - days(130), 1000.0, D - days(120)),
        # paid on time, 60 days before D (recent window)
        Invoice(D - days(90), D - days(60), 3000.0, D - days(65)),
        # paid 5 days late, 10 days before D (recent window)
        Invoice(D - days(45), D - days(15), 2000.0, D - days(10)),
        # paid on D itself: not yet counted as of D
        Invoice(D - days(40), D - days(10), 500.0, D),
        # still open
        Invoice(D - days(20), D + days(10), 700.0),
    ]


def test_build_features_by_hand():
    values = build_features(_history(), D, amount=1500.0, term_days=30)
    assert list(values) == list(FEATURE_NAMES)
    assert values["paid_count"] == 3
    assert values["late_share"] == pytest.approx(3000.0 / 6000.0)
    assert values["late_count_share"] == pytest.approx(2 / 3)
    assert values["weighted_days_late"] == pytest.approx((1000 * 10 + 2000 * 5) / 6000.0)
    assert values["avg_days_to_pay"] == pytest.approx((40 + 25 + 35) / 3)
    # recent 90 days: 2000 of 5000 late; previous 90 days: 1000 of 1000 late
    assert values["late_share_trend"] == pytest.approx(0.4 - 1.0)
    assert values["amount_ratio"] == pytest.approx(1500.0 / 2000.0)
    assert values["term_days"] == 30


def test_build_features_match_the_behaviour_metrics():
    # the same figures as the rating engine's behaviour metrics computed from the same sums
    history = _history()
    paid = [inv for inv in history if inv.paid_date is not None and inv.paid_date < D]
    behaviour = PaymentBehaviour.from_aggregates(
        PaymentAggregates(**aggregate_paid((inv.amount, inv.days_late) for inv in paid))
    )
    values = build_features(history, D)
    assert values["late_share"] == behaviour.late_share
    assert values["weighted_days_late"] == behaviour.weighted_days_late


def test_invoice_paid_early_counts_even_when_due_later():
    # issued before D, due after D, paid before D: its (on-time) outcome is known on D
    early = Invoice(D - days(10), D + days(20), 400.0, D - days(2))
    values = build_features([early], D)
    assert values["paid_count"] == 1 and values["late_share"] == 0.0
    assert values["avg_days_to_pay"] == 8
    # paid on D itself: counted from the next day on
    on_the_day = Invoice(D - days(10), D + days(20), 400.0, D)
    assert build_features([on_the_day], D)["paid_count"] == 0
    assert build_features([on_the_day], D + days(1))["paid_count"] == 1


def test_build_features_accepts_mappings():
    history = [
        {"invoice_date": D - days(40), "due_date": D - days(10), "amount": 100.0, "paid_date": D - days(5)}
    ]
    values = build_features(history, D, amount=50.0, term_days=30)
    assert values["late_share"] == 1.0 and values["weighted_days_late"] == 5.0
    assert values["amount_ratio"] == 0.5


def test_build_features_without_history():
    values = build_features([], D, amount=100.0)
    assert values["paid_count"] == 0
    assert all(values[name] is None for name in FEATURE_NAMES if name != "paid_count")


def test_build_features_lookback():
    old = Invoice(D - days(800), D - days(770), 100.0, D - days(760))
    assert build_features([old], D)["paid_count"] == 0
    assert build_features([old], D, lookback_days=1000)["paid_count"] == 1
    with pytest.raises(ValueError, match="unknown features"):
        build_features([], D, names=("late_share", "colour"))


_offsets = st.integers(-400, 400)


@st.composite
def _invoices(draw, paid_before=None):
    start = draw(_offsets)
    term = draw(st.sampled_from([0, 15, 30, 60]))
    amount = draw(st.floats(0.01, 1e6))
    pay_after = draw(st.one_of(st.none(), st.integers(0, 200)))
    paid = None if pay_after is None else D + days(start + pay_after)
    return Invoice(D + days(start), D + days(start + term), amount, paid, term)


@given(st.lists(_invoices(), max_size=25), st.lists(_invoices(), max_size=10), st.randoms())
def test_no_leakage_from_the_future(history, extra, rng):
    """Invoices not paid before the as-of date (issued later, paid later, open) change nothing."""
    before = build_features(history, D, amount=500.0, term_days=30)
    future = [
        Invoice(
            inv.invoice_date,
            inv.due_date,
            inv.amount,
            None if inv.paid_date is None else max(inv.paid_date, D),
            inv.term_days,
        )
        for inv in extra
    ]
    mixed = history + future
    rng.shuffle(mixed)
    assert build_features(mixed, D, amount=500.0, term_days=30) == before


@given(st.lists(_invoices(), min_size=1, max_size=25))
def test_features_only_use_payments_before_the_date(history):
    """Moving the date forward past a payment is the only way that payment enters the features."""
    values = build_features(history, D)
    paid = [inv for inv in history if inv.paid_date is not None and D - days(730) <= inv.paid_date < D]
    assert values["paid_count"] == len(paid)
    if paid:
        assert 0.0 <= values["late_share"] <= 1.0
        assert values["late_count_share"] == sum(inv.days_late > 0 for inv in paid) / len(paid)
    else:
        assert values["late_share"] is None


# ---------------------------------------------------------------- issue 11: hand-derived fits


def test_one_binary_feature_slope_is_the_log_odds_ratio():
    # a 2 x 2 table: paper invoices 4 late of 20, electronic ones 9 late of 12; unpenalised,
    # the MLE of the raw slope is the log odds ratio and the intercept the log odds at 0
    rows = [{"electronic": 0.0}] * 20 + [{"electronic": 1.0}] * 12
    labels = [1] * 4 + [0] * 16 + [1] * 9 + [0] * 3
    model = fit_payment_model(rows, labels, penalty=0.0)
    assert model.converged
    intercept, slopes = model.raw_coefficients()
    assert intercept == pytest.approx(math.log(4 / 16), abs=1e-9)
    assert slopes["electronic"] == pytest.approx(math.log((9 / 3) / (4 / 16)), abs=1e-9)


def _bisect(function, low, high):
    for _ in range(200):
        middle = (low + high) / 2
        if (function(low) > 0) == (function(middle) > 0):
            low = middle
        else:
            high = middle
    return (low + high) / 2


def test_penalised_binary_feature_solves_its_one_dimensional_equation():
    # x = 0/1 for m rows each, k of the x = 1 rows late and m - k of the x = 0 rows: standardised,
    # z = +-1 and by symmetry the intercept is 0; the slope b then solves
    # 2k - 2m sigmoid(b) = penalty * b (the score equation of the penalised likelihood)
    m, k, penalty = 10, 8, 2.0
    rows = [[0.0]] * m + [[1.0]] * m
    labels = [1] * (m - k) + [0] * k + [1] * k + [0] * (m - k)
    model = fit_payment_model(rows, labels, penalty=penalty)
    slope = _bisect(lambda b: 2 * k - 2 * m / (1 + math.exp(-b)) - penalty * b, 0.0, 20.0)
    assert model.converged
    assert model.stds == (0.5,) and model.means == (0.5,)
    assert model.intercept == pytest.approx(0.0, abs=1e-12)
    assert model.coefficients[0] == pytest.approx(slope, abs=1e-10)
    # the unpenalised slope would be log(8/2) - log(2/8) = 2.77: the penalty shrinks it
    assert 0 < slope < math.log(16)


def test_separable_binary_feature_stays_finite_with_a_penalty():
    rows = [[0.0]] * 5 + [[1.0]] * 5
    labels = [0] * 5 + [1] * 5
    model = fit_payment_model(rows, labels, penalty=1.0)
    assert model.converged and math.isfinite(model.coefficients[0])
    low, high = model.predict_proba([[0.0], [1.0]])
    assert 0.0 < low < 0.5 < high < 1.0
    assert low == pytest.approx(1.0 - high, abs=1e-12)  # symmetric data, symmetric answer


def _mixed_rows(count, seed=3):
    """Rows with missing values in blocks (no history), a constant column and a rare feature."""
    rng = random.Random(seed)
    rows, labels = [], []
    for i in range(count):
        history = rng.random() < 0.7
        share = rng.random() if history else None
        rows.append(
            {
                "late_share": share,
                "avg_days_to_pay": rng.gauss(30, 8) if history else None,
                "term_days": 30,
                "electronic": None if rng.random() < 0.2 else float(rng.random() < 0.5),
                "rare": rng.random() if i % 20 == 0 else None,
            }
        )
        risk = -0.5 + (2.0 * share - 1.0 if history else 0.3) - 0.5 * (rows[-1]["electronic"] or 0.0)
        labels.append(rng.random() < 1 / (1 + math.exp(-risk)))
    return rows, labels


def test_fit_on_many_rows_solves_its_score_equations():
    rows, labels = _mixed_rows(3000)
    model = fit_payment_model(rows, labels, penalty=0.5, min_coverage=0.1)
    assert model.converged
    assert model.left_out == ("rare",)
    assert model.indicators == ("late_share", "avg_days_to_pay", "electronic")
    assert model.coefficients[model.features.index("term_days")] == 0.0
    gradient = _score_equations(model, rows, labels)
    rare = 1 + model.columns.index("rare")  # left out: not fitted, its equation need not hold
    assert gradient[:rare] + gradient[rare + 1 :] == pytest.approx([0.0] * 8, abs=1e-7)


def test_rows_as_mappings_or_sequences_give_the_same_model():
    rows, labels = _mixed_rows(500)
    names = tuple(rows[0])
    as_lists = [[row[name] for name in names] for row in rows]
    assert (
        fit_payment_model(rows, labels).to_dict()
        == fit_payment_model(as_lists, labels, features=names).to_dict()
    )


def test_fit_is_deterministic_with_missing_values():
    rows, labels = _mixed_rows(800)
    first = fit_payment_model(rows, labels, min_coverage=0.1).to_dict()
    assert fit_payment_model(list(rows), list(labels), min_coverage=0.1).to_dict() == first


# ---------------------------------------------------------------- issue 11: min_coverage


def _coverage_rows():
    # "x" known in 3 of 10 rows (share 0.3), "y" always known
    ys = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0]
    xs = [7.0, None, None, 2.0, None, None, 4.0, None, None, None]
    rows = [{"x": x, "y": y} for x, y in zip(xs, ys, strict=True)]
    labels = [0, 1, 0, 0, 1, 1, 0, 1, 1, 1]
    return rows, labels


def test_min_coverage_leaves_out_a_rarely_known_feature():
    rows, labels = _coverage_rows()
    model = fit_payment_model(rows, labels, min_coverage=0.5)
    assert model.left_out == ("x",)
    assert model.indicators == ()  # no indicator for a left-out feature
    assert model.columns == ("x", "y")
    assert model.coefficients[0] == 0.0 and model.stds[0] == 1.0
    assert model.means[0] == pytest.approx(13.0 / 3)  # still its known mean
    only_y = fit_payment_model([{"y": row["y"]} for row in rows], labels)
    assert model.coefficients[1] == pytest.approx(only_y.coefficients[0], abs=1e-12)
    assert model.intercept == pytest.approx(only_y.intercept, abs=1e-12)
    # its value never changes a prediction
    assert model.predict_one({"x": 100.0, "y": 2.0}) == model.predict_one({"x": None, "y": 2.0})


def test_min_coverage_keeps_a_feature_known_in_exactly_that_share():
    rows, labels = _coverage_rows()
    model = fit_payment_model(rows, labels, min_coverage=0.3)
    assert model.left_out == ()
    assert model.columns == ("x", "y", "x:missing")
    assert model.coefficients[0] != 0.0
    # the default (0.0) leaves nothing out: the fit of before min_coverage existed
    assert fit_payment_model(rows, labels) == model


def test_min_coverage_leaves_out_a_feature_never_known():
    rows = [{"x": None, "y": 1.0}, {"x": None, "y": 2.0}, {"x": None, "y": 3.0}]
    assert fit_payment_model(rows, [0, 1, 1]).left_out == ()
    model = fit_payment_model(rows, [0, 1, 1], min_coverage=0.01)
    assert model.left_out == ("x",) and model.coefficients[0] == 0.0


@pytest.mark.parametrize("value", [-0.1, 1.5, None, float("nan"), "half"])
def test_min_coverage_must_be_a_share(value):
    with pytest.raises(ValueError, match="min_coverage"):
        fit_payment_model([[1], [2]], [0, 1], min_coverage=value)


def test_round_trip_keeps_left_out_and_reads_older_data():
    rows, labels = _coverage_rows()
    model = fit_payment_model(rows, labels, min_coverage=0.5)
    data = json.loads(json.dumps(model.to_dict()))
    assert data["left_out"] == ["x"]
    assert PaymentModel.from_dict(data) == model
    # a model saved before left_out existed
    older = fit_payment_model(rows, labels).to_dict()
    del older["left_out"]
    assert PaymentModel.from_dict(older).left_out == ()
    with pytest.raises(ValueError, match="left_out"):
        PaymentModel.from_dict(dict(data, left_out=["colour"]))


# ---------------------------------------------------------------- issue 11: features


def test_default_features():
    assert DEFAULT_FEATURES == (
        "late_share",
        "late_count_share",
        "weighted_days_late",
        "avg_days_to_pay",
        "amount_ratio",
        "term_days",
        "electronic",
    )
    assert set(DEFAULT_FEATURES) < set(FEATURE_NAMES)
    assert set(FEATURE_NAMES) - set(DEFAULT_FEATURES) == {"late_share_trend", "paid_count"}
    values = build_features(_history(), D, amount=1500.0, term_days=30, names=DEFAULT_FEATURES)
    assert tuple(values) == DEFAULT_FEATURES


@pytest.mark.parametrize(("given", "value"), [(True, 1.0), (False, 0.0), (None, None), (1, 1.0), (0, 0.0)])
def test_build_features_electronic(given, value):
    values = build_features(_history(), D, electronic=given)
    assert values["electronic"] == value
    assert isinstance(values["electronic"], float | type(None))


@pytest.mark.parametrize("given", ["paper", "electronic", 2, 0.5])
def test_build_features_electronic_rejects_other_values(given):
    with pytest.raises(ValueError, match="electronic"):
        build_features([], D, electronic=given)


@st.composite
def _later_invoices(draw):
    """Invoices issued on or after D (paid or not): unknown on D whatever their outcome."""
    start = draw(st.integers(0, 400))
    term = draw(st.sampled_from([0, 15, 30, 60]))
    pay_after = draw(st.one_of(st.none(), st.integers(0, 200)))
    paid = None if pay_after is None else D + days(start + pay_after)
    return Invoice(D + days(start), D + days(start + term), draw(st.floats(0.01, 1e6)), paid, term)


@given(st.lists(_invoices(), max_size=25), st.lists(_later_invoices(), max_size=10), st.randoms())
def test_no_leakage_from_invoices_issued_later(history, later, rng):
    """Invoices issued on or after the as-of date never change any feature, electronic included."""
    before = build_features(history, D, amount=500.0, term_days=30, electronic=True)
    mixed = history + later
    rng.shuffle(mixed)
    assert build_features(mixed, D, amount=500.0, term_days=30, electronic=True) == before


def test_customer_row_is_an_invoice_of_the_usual_amount():
    history = _history()
    features = build_features(history, D, term_days=30, electronic=False, names=DEFAULT_FEATURES)
    assert features["amount_ratio"] is None  # no amount given
    row = customer_row(features)
    assert row == dict(features, amount_ratio=1.0)
    assert features["amount_ratio"] is None  # the given dict is not changed
    # the same features as an invoice of the customer's average paid amount
    average = (1000.0 + 3000.0 + 2000.0) / 3
    invoice = build_features(
        history, D, amount=average, term_days=30, electronic=False, names=DEFAULT_FEATURES
    )
    assert row == invoice


def test_customer_row_without_paid_invoices_keeps_the_ratio_unknown():
    features = build_features([], D, term_days=30, electronic=True)
    row = customer_row(features)
    assert row["amount_ratio"] is None and row["term_days"] == 30 and row["electronic"] == 1.0
    # without paid_count, the behaviour figures tell whether there is a history
    assert customer_row({"late_share": None, "term_days": 30})["amount_ratio"] is None
    assert customer_row({"late_share": 0.25, "term_days": 30})["amount_ratio"] == 1.0


# ---------------------------------------------------------------- issue 11: validation


def _identity_model():
    """p = sigmoid(x): one raw feature, coefficient 1, no standardisation."""
    return PaymentModel(
        features=("x",),
        indicators=(),
        means=(0.0,),
        stds=(1.0,),
        coefficients=(1.0,),
        intercept=0.0,
        penalty=0.0,
        training_size=4,
        late_count=2,
    )


def test_validate_model_by_hand():
    model = _identity_model()
    predictions = [0.2, 0.4, 0.6, 0.8]
    rows = [{"x": math.log(p / (1 - p))} for p in predictions]
    labels = [0, 1, 0, 1]
    validation = validate_model(model, rows, labels, bins=2)
    assert validation.size == 4 and validation.late_count == 2 and validation.late_share == 0.5
    # late 0.4 and 0.8 against on-time 0.2 and 0.6: 3 of the 4 pairs ranked right
    assert validation.auc == 0.75
    assert validation.brier == pytest.approx((0.04 + 0.36 + 0.36 + 0.04) / 4)
    assert validation.log_loss == pytest.approx(-(math.log(0.8) + math.log(0.4)) / 2)
    low, high = validation.calibration
    assert (low.count, low.late_count, high.count, high.late_count) == (2, 1, 2, 1)
    assert low.predicted_mean == pytest.approx(0.3) and high.predicted_mean == pytest.approx(0.7)
    assert low.observed_share == high.observed_share == 0.5
    assert len(validate_model(model, rows, labels).calibration) == 4  # deciles of 4 rows


def test_validation_round_trip_and_edge_cases():
    rows, labels = _textbook_rows()
    model = fit_payment_model(rows[:150], labels[:150])
    validation = validate_model(model, rows[150:], labels[150:])
    assert validation.size == 50 and len(validation.calibration) == 10
    assert isinstance(validation.calibration, tuple) and isinstance(validation.calibration[0], CalibrationBin)
    assert validation.auc == auc(model.predict_proba(rows[150:]), labels[150:])
    data = json.loads(json.dumps(validation.to_dict()))
    assert Validation.from_dict(data) == validation
    empty = validate_model(model, [], [])
    assert (empty.size, empty.auc, empty.brier, empty.log_loss) == (0, None, None, None)
    assert empty.calibration == ()
    assert empty.late_share is None
    assert Validation.from_dict(empty.to_dict()) == empty
    assert validate_model(model, rows[:3], [1, 1, 1]).auc is None  # no on-time row
    with pytest.raises(ValueError, match="rows but"):
        validate_model(model, rows[:3], [1, 0])
