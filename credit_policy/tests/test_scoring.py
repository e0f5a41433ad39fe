"""The configurable scorecard."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credit_policy.scoring import (
    STATUS_BAND,
    STATUS_MISSING,
    STATUS_OUT_OF_RANGE,
    Band,
    Factor,
    Scorecard,
    ScoreLine,
    score,
)

# Days beyond terms: fewer is better.
DBT = Factor(
    "dbt",
    3,
    [Band(None, 0, 100), Band(0, 15, 80), Band(15, 30, 50), Band(30, 60, 20), Band(60, None, 0)],
)
# Years of relationship: more is better.
YEARS = Factor("years", 1, [Band(None, 1, 20), Band(1, 3, 50), Band(3, 10, 80), Band(10, None, 100)])
CARD = Scorecard([DBT, YEARS])


# ---------------------------------------------------------------- bands


def test_band_lower_is_inclusive_upper_exclusive():
    band = Band(10, 20, 50)
    assert band.contains(10)
    assert band.contains(19.999)
    assert not band.contains(20)
    assert not band.contains(9.999)


def test_open_bands():
    assert Band(None, 0, 1).contains(-1e300)
    assert not Band(None, 0, 1).contains(0)
    assert Band(5, None, 1).contains(1e300)
    assert Band(None, None, 1).contains(0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lower": 10, "upper": 10, "points": 5}, "below its upper"),
        ({"lower": 20, "upper": 10, "points": 5}, "below its upper"),
        ({"lower": 0, "upper": 10, "points": -1}, "points"),
        ({"lower": 0, "upper": 10, "points": 100.5}, "points"),
        ({"lower": 0, "upper": 10, "points": math.nan}, "points"),
        ({"lower": 0, "upper": 10, "points": None}, "points"),
        ({"lower": math.nan, "upper": 10, "points": 5}, "lower"),
        ({"lower": 0, "upper": "10", "points": 5}, "upper"),
    ],
)
def test_invalid_band(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Band(**kwargs)


# ---------------------------------------------------------------- factors


def test_factor_bands_are_sorted_and_stored_as_a_tuple():
    factor = Factor("f", 1, [Band(10, None, 90), Band(None, 0, 0), Band(0, 10, 40)])
    assert factor.bands == (Band(None, 0, 0), Band(0, 10, 40), Band(10, None, 90))


def test_factor_points_follow_the_bands():
    assert [DBT.points_for(v) for v in (-5, 0, 14, 15, 29.9, 30, 59, 60, 365)] == [
        100,
        80,
        80,
        50,
        50,
        20,
        20,
        0,
        0,
    ]


def test_neutral_points_are_the_mid_point_of_the_bands():
    assert DBT.min_points == 0
    assert DBT.max_points == 100
    assert DBT.neutral_points == 50
    assert YEARS.neutral_points == 60


def test_missing_value_gets_neutral_points_by_default():
    assert DBT.points_for(None) == 50
    assert DBT.points_if_missing == 50


def test_missing_value_gets_the_configured_penalty():
    factor = Factor("bureau", 1, [Band(None, 50, 20), Band(50, None, 90)], missing_points=0)
    assert factor.points_for(None) == 0
    assert factor.points_for(70) == 90


def test_nan_and_gaps_count_as_missing():
    factor = Factor("f", 1, [Band(0, 10, 40), Band(20, 30, 100)], missing_points=10)
    assert factor.band_for(15) is None
    assert factor.points_for(15) == 10
    assert factor.points_for(-1) == 10
    assert factor.points_for(math.nan) == 10
    assert Factor("g", 1, [Band(None, None, 70)]).points_for(math.nan) == 70  # neutral of one band


def test_infinite_values_fall_in_open_bands():
    assert DBT.points_for(math.inf) == 0
    assert DBT.points_for(-math.inf) == 100


def test_booleans_count_as_0_and_1():
    guarantee = Factor("guarantee", 1, [Band(None, 1, 30), Band(1, None, 100)])
    assert guarantee.points_for(True) == 100
    assert guarantee.points_for(False) == 30


@pytest.mark.parametrize("value", ["12", b"1", [1], {}])
def test_non_numeric_value_is_rejected(value):
    with pytest.raises(ValueError, match="number or None"):
        DBT.points_for(value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"code": "", "weight": 1, "bands": [Band(None, None, 5)]}, "code"),
        ({"code": None, "weight": 1, "bands": [Band(None, None, 5)]}, "code"),
        ({"code": "f", "weight": -0.1, "bands": [Band(None, None, 5)]}, "weight"),
        ({"code": "f", "weight": math.inf, "bands": [Band(None, None, 5)]}, "weight"),
        ({"code": "f", "weight": math.nan, "bands": [Band(None, None, 5)]}, "weight"),
        ({"code": "f", "weight": 1, "bands": []}, "at least one band"),
        ({"code": "f", "weight": 1, "bands": None}, "at least one band"),
        ({"code": "f", "weight": 1, "bands": [(0, 1, 5)]}, "Band instances"),
        ({"code": "f", "weight": 1, "bands": [Band(0, 10, 5), Band(5, 20, 6)]}, "overlap"),
        ({"code": "f", "weight": 1, "bands": [Band(0, 10, 5), Band(0, 10, 6)]}, "overlap"),
        ({"code": "f", "weight": 1, "bands": [Band(None, 10, 5), Band(None, 0, 6)]}, "overlap"),
        ({"code": "f", "weight": 1, "bands": [Band(0, None, 5), Band(10, 20, 6)]}, "overlap"),
        ({"code": "f", "weight": 1, "bands": [Band(None, None, 5), Band(10, 20, 6)]}, "overlap"),
        ({"code": "f", "weight": 1, "bands": [Band(None, None, 5)], "missing_points": 101}, "missing points"),
        ({"code": "f", "weight": 1, "bands": [Band(None, None, 5)], "missing_points": -1}, "missing points"),
    ],
)
def test_invalid_factor(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Factor(**kwargs)


def test_adjacent_bands_do_not_overlap():
    Factor("f", 1, [Band(None, 0, 0), Band(0, 10, 5), Band(10, None, 9)])


def test_zero_weight_factor_is_allowed_but_does_not_count():
    card = Scorecard([DBT, Factor("info", 0, [Band(None, None, 0)])])
    result = score(card, {"dbt": 0, "info": 123})
    assert result.score == 80
    assert result.line("info").contribution == 0


# ---------------------------------------------------------------- scorecards


@pytest.mark.parametrize(
    ("factors", "message"),
    [
        ([], "at least one factor"),
        ([DBT, DBT], "unique; repeated: dbt"),
        ([Factor("a", 0, [Band(None, None, 5)])], "total weight"),
    ],
)
def test_invalid_scorecard(factors, message):
    with pytest.raises(ValueError, match=message):
        Scorecard(factors)


def test_scorecard_codes_and_total_weight():
    assert CARD.codes == ("dbt", "years")
    assert CARD.total_weight == 4
    assert isinstance(CARD.factors, tuple)


# ---------------------------------------------------------------- scoring


def test_score_is_the_weighted_average_of_points():
    # dbt 10 -> 80 points (weight 3/4), years 12 -> 100 points (weight 1/4)
    result = score(CARD, {"dbt": 10, "years": 12})
    assert result.score == pytest.approx(85)


def test_weights_need_not_sum_to_one():
    scaled = Scorecard([Factor("dbt", 30, DBT.bands), Factor("years", 10, YEARS.bands)])
    values = {"dbt": 20, "years": 2}
    assert score(scaled, values).score == pytest.approx(score(CARD, values).score)


def test_lines_explain_the_score():
    result = score(CARD, {"dbt": 10, "years": 12})
    assert result.lines == (
        ScoreLine("dbt", 10, 80, 0.75, 60.0, STATUS_BAND, Band(0, 15, 80)),
        ScoreLine("years", 12, 100, 0.25, 25.0, STATUS_BAND, Band(10, None, 100)),
    )
    assert sum(line.contribution for line in result.lines) == pytest.approx(result.score)
    assert sum(line.weight for line in result.lines) == pytest.approx(1)
    assert result.missing_codes == ()


def test_missing_data_never_crashes_and_is_reported():
    result = score(CARD, {"dbt": None})  # "years" absent altogether
    assert result.score == pytest.approx(0.75 * 50 + 0.25 * 60)
    assert result.line("dbt").status == STATUS_MISSING
    assert result.line("years").status == STATUS_MISSING
    assert result.line("years").value is None
    assert result.line("years").band is None
    assert result.missing_codes == ("dbt", "years")


def test_empty_values_give_the_neutral_score():
    assert score(CARD, {}).score == pytest.approx(0.75 * 50 + 0.25 * 60)


def test_out_of_range_value_is_reported():
    card = Scorecard([Factor("ratio", 1, [Band(0, 1, 100), Band(1, 5, 40)], missing_points=0)])
    line = score(card, {"ratio": 7}).line("ratio")
    assert (line.status, line.points, line.value) == (STATUS_OUT_OF_RANGE, 0, 7)


def test_unknown_codes_are_ignored():
    assert score(CARD, {"dbt": 10, "years": 12, "other": "x"}).score == pytest.approx(85)


def test_unknown_line_raises_key_error():
    with pytest.raises(KeyError):
        score(CARD, {}).line("nope")


def test_best_and_worst_values_reach_the_ends_of_the_scale():
    assert score(CARD, {"dbt": -1, "years": 50}).score == 100
    assert score(CARD, {"dbt": 90, "years": 0}).score == pytest.approx(0.25 * 20)


# ---------------------------------------------------------------- properties

points = st.floats(min_value=0, max_value=100)
bounds = st.lists(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=0, max_size=5, unique=True
).map(sorted)


@st.composite
def factors(draw, code, monotone=False):
    """A factor with contiguous bands covering every number; increasing points when ``monotone``."""
    cuts = draw(bounds)
    edges = [None, *cuts, None]
    band_points = draw(st.lists(points, min_size=len(edges) - 1, max_size=len(edges) - 1))
    if monotone:
        band_points.sort()
    bands = [Band(lo, hi, p) for lo, hi, p in zip(edges[:-1], edges[1:], band_points, strict=True)]
    missing = draw(st.none() | points)
    return Factor(code, draw(st.floats(min_value=0, max_value=1e3)), bands, missing)


@st.composite
def scorecards(draw, monotone=False):
    count = draw(st.integers(1, 5))
    factor_list = [draw(factors(f"f{i}", monotone)) for i in range(count)]
    if not sum(f.weight for f in factor_list) > 0:
        first = factor_list[0]
        factor_list[0] = Factor(first.code, 1.0, first.bands, first.missing_points)
    return Scorecard(factor_list)


values = st.none() | st.floats(allow_nan=True, allow_infinity=True)


@given(scorecards(), st.data())
def test_score_is_always_between_0_and_100(card, data):
    result = score(card, {code: data.draw(values) for code in card.codes})
    assert 0 <= result.score <= 100
    assert sum(line.contribution for line in result.lines) == pytest.approx(result.score, abs=1e-9)
    assert [line.code for line in result.lines] == list(card.codes)


@given(
    scorecards(monotone=True),
    st.data(),
    st.floats(min_value=-1e7, max_value=1e7),
    st.floats(min_value=0, max_value=1e7),
)
def test_improving_a_value_never_lowers_the_score(card, data, value, improvement):
    improved_code = data.draw(st.sampled_from(card.codes))
    others = {code: data.draw(values) for code in card.codes if code != improved_code}
    before = score(card, {**others, improved_code: value}).score
    after = score(card, {**others, improved_code: value + improvement}).score
    assert after >= before - 1e-9


@given(factors("f"))
def test_missing_points_default_to_neutral(factor):
    expected = factor.neutral_points if factor.missing_points is None else factor.missing_points
    assert factor.points_for(None) == expected
    assert factor.min_points <= factor.neutral_points <= factor.max_points
