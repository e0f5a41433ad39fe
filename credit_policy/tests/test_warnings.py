"""Early-warning signals and alert deduplication."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credit_policy.warnings import (
    BUREAU_DROP,
    DOWNGRADE,
    EVENT_RULES,
    GUARANTEE_EXPIRING,
    LIMIT_EXPIRING,
    ORDER_SPIKE,
    OVERDUE_NEW,
    PREDICTED_LATE_JUMP,
    RATE_MOVE,
    REVIEW_EXPIRING,
    RULE_TYPES,
    UTILIZATION,
    alert_key,
    bureau_drop_signal,
    downgrade_signal,
    expiring_signal,
    guarantee_event,
    guarantee_expiring_signal,
    needs_alert,
    order_spike_signal,
    overdue_signal,
    period_average,
    predicted_late_jump_signal,
    utilization_signal,
)

GRADES = ["AAA", "AA", "A", "BBB", "BB", "B", "C", "D"]
amounts = st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False)


# ------------------------------------------------------------ overdue


@pytest.mark.parametrize(
    ("amount", "days", "min_days", "min_amount", "fires"),
    [
        (500.0, 31, 30, 0.0, True),
        (500.0, 30, 30, 0.0, False),  # "beyond": exactly N days is not beyond
        (0.0, 90, 30, 0.0, False),  # nothing overdue
        (-10.0, 90, 30, 0.0, False),  # a credit balance is not overdue
        (500.0, 31, 30, 500.0, False),  # at the minimum amount: not above it
        (500.01, 31, 30, 500.0, True),
        (1.0, 1, 0, 0.0, True),  # N = 0: any overdue
    ],
)
def test_overdue_signal(amount, days, min_days, min_amount, fires):
    figures = overdue_signal(amount, days, min_days, min_amount)
    assert (figures is not None) is fires
    if fires:
        assert figures == {
            "overdue_amount": amount,
            "overdue_days": days,
            "min_days": min_days,
            "min_amount": min_amount,
        }


@pytest.mark.parametrize(
    ("args", "name"),
    [
        ((1.0, -1, 30), "overdue_days"),
        ((1.0, 5, -1), "min_days"),
        ((1.0, 5, 3, -1.0), "min_amount"),
        ((float("nan"), 5, 3), "overdue_amount"),
        ((1.0, 5.5, 3), "overdue_days"),
    ],
)
def test_overdue_signal_rejects_bad_input(args, name):
    with pytest.raises(ValueError, match=name):
        overdue_signal(*args)


# ------------------------------------------------------------ utilization


@pytest.mark.parametrize(
    ("exposure", "limit", "threshold", "fires"),
    [
        (850.0, 1000.0, 80.0, True),
        (800.0, 1000.0, 80.0, False),  # exactly 80 %: not above
        (800.01, 1000.0, 80.0, True),
        (1000.0, 1000.0, 100.0, False),  # at the limit, not over it
        (1000.5, 1000.0, 100.0, True),
        (5000.0, 0.0, 80.0, False),  # limit 0: no limit checked
        (-200.0, 1000.0, 0.0, False),  # credit balance
    ],
)
def test_utilization_signal(exposure, limit, threshold, fires):
    figures = utilization_signal(exposure, limit, threshold)
    assert (figures is not None) is fires
    if fires:
        assert figures["utilization"] == pytest.approx(exposure / limit * 100)
        assert figures["limit"] == limit
        assert figures["exposure"] == exposure
        assert figures["threshold_percent"] == threshold


def test_utilization_counts_secured_capacity():
    """A guarantee's secured capacity counts as in the confirmation check: 1,200 against a limit
    of 1,000 plus 500 secured is 80 %, not 120 %."""
    assert utilization_signal(1200.0, 1000.0, 100.0, secured=500.0) is None
    figures = utilization_signal(1200.0, 1000.0, 75.0, secured=500.0)
    assert figures["utilization"] == pytest.approx(80.0)
    assert (figures["limit"], figures["secured"], figures["capacity"]) == (1000.0, 500.0, 1500.0)
    with pytest.raises(ValueError, match="secured"):
        utilization_signal(1200.0, 1000.0, 75.0, secured=-1.0)


@given(exposure=amounts, limit=st.floats(min_value=0.01, max_value=1e9), low=amounts, high=amounts)
def test_utilization_thresholds_are_monotonic(exposure, limit, low, high):
    """A customer above a high threshold is above every lower one."""
    low, high = sorted((low, high))
    if utilization_signal(exposure, limit, high):
        assert utilization_signal(exposure, limit, low)


# ------------------------------------------------------------ downgrade


@pytest.mark.parametrize(
    ("previous", "current", "min_notches", "notches"),
    [
        ("A", "BBB", 1, 1),
        ("AAA", "B", 1, 5),
        ("AAA", "B", 5, 5),
        ("AAA", "B", 6, None),
        ("BBB", "A", 1, None),  # upgrade
        ("BBB", "BBB", 1, None),  # unchanged
        (None, "D", 1, None),  # first rating
        ("", "D", 1, None),
        ("X", "D", 1, None),  # unknown previous grade
        ("A", "Z", 1, None),  # unknown current grade
        ("A", "BBB", 0, 1),  # 0 behaves as "any downgrade"
    ],
)
def test_downgrade_signal(previous, current, min_notches, notches):
    figures = downgrade_signal(previous, current, GRADES, min_notches)
    if notches is None:
        assert figures is None
    else:
        assert figures == {
            "previous_grade": previous,
            "grade": current,
            "notches": notches,
            "min_notches": min_notches,
        }


@given(st.sampled_from(GRADES), st.sampled_from(GRADES))
def test_downgrade_iff_worse_rank(previous, current):
    fired = downgrade_signal(previous, current, GRADES) is not None
    assert fired is (GRADES.index(current) > GRADES.index(previous))


# ------------------------------------------------------------ bureau drop


@pytest.mark.parametrize(
    ("previous", "latest", "min_points", "drop"),
    [
        (70.0, 55.0, 15.0, 15.0),  # exactly N points: fires (">= N")
        (70.0, 55.5, 15.0, None),
        (70.0, 40.0, 15.0, 30.0),
        (55.0, 70.0, 15.0, None),  # a rise
        (60.0, 60.0, 0.0, None),  # no change never fires, even with N = 0
        (60.0, 59.0, 0.0, 1.0),
    ],
)
def test_bureau_drop_signal(previous, latest, min_points, drop):
    figures = bureau_drop_signal(previous, latest, min_points)
    if drop is None:
        assert figures is None
    else:
        assert figures == {
            "previous_score": previous,
            "score": latest,
            "drop": drop,
            "min_points": min_points,
        }


# ------------------------------------------------------------ predicted late jump


@pytest.mark.parametrize(
    ("previous", "current", "min_points", "rise"),
    [
        (0.20, 0.30, 10.0, 10.0),  # exactly N points: fires (">= N"), despite 0.3 - 0.2 < 0.1 in floats
        (0.20, 0.299, 10.0, None),  # 9.9 points: below the threshold
        (0.10, 0.45, 10.0, 35.0),
        (0.45, 0.10, 10.0, None),  # a fall
        (0.30, 0.30, 0.0, None),  # no change never fires, even with N = 0
        (0.30, 0.31, 0.0, 1.0),
        (0.0, 1.0, 100.0, 100.0),
    ],
)
def test_predicted_late_jump_signal(previous, current, min_points, rise):
    figures = predicted_late_jump_signal(previous, current, min_points)
    if rise is None:
        assert figures is None
    else:
        assert figures == {
            "previous_share": previous,
            "share": current,
            "rise_points": pytest.approx(rise),
            "min_points": min_points,
        }


@pytest.mark.parametrize(("previous", "current"), [(None, 0.9), (0.1, None), (None, None)])
def test_predicted_late_jump_needs_two_predictions(previous, current):
    assert predicted_late_jump_signal(previous, current, 5.0) is None


@pytest.mark.parametrize(
    ("previous", "current", "min_points"),
    [(-0.1, 0.5, 5.0), (0.1, 1.5, 5.0), (0.1, float("nan"), 5.0), ("0.1", 0.5, 5.0), (0.1, 0.5, -1.0)],
)
def test_predicted_late_jump_rejects_bad_input(previous, current, min_points):
    with pytest.raises(ValueError):
        predicted_late_jump_signal(previous, current, min_points)


@given(
    previous=st.floats(0, 1),
    current=st.floats(0, 1),
    low=st.floats(0, 100),
    high=st.floats(0, 100),
)
def test_predicted_late_jump_thresholds_are_monotonic(previous, current, low, high):
    """A jump that crosses a higher threshold crosses every lower one; a fall never fires."""
    low, high = sorted((low, high))
    if predicted_late_jump_signal(previous, current, high):
        assert predicted_late_jump_signal(previous, current, low)
    if current <= previous:
        assert predicted_late_jump_signal(previous, current, low) is None


def test_predicted_late_jump_is_alerted_once_per_prediction():
    key = alert_key(9, 7, PREDICTED_LATE_JUMP, event="2025-06-30")
    assert key == "predicted_late_jump:9:7:2025-06-30"
    assert not needs_alert(key, PREDICTED_LATE_JUMP, open_keys=set(), known_keys={key})
    later = alert_key(9, 7, PREDICTED_LATE_JUMP, event="2025-07-31")
    assert needs_alert(later, PREDICTED_LATE_JUMP, open_keys=set(), known_keys={key})


# ------------------------------------------------------------ order spike


def test_period_average():
    assert period_average(12000.0, 360, 30) == pytest.approx(1000.0)
    assert period_average(3000.0, 45, 30) == pytest.approx(2000.0)
    assert period_average(3000.0, 29, 30) is None  # less than one period of history
    assert period_average(3000.0, 30, 0) is None


@pytest.mark.parametrize(
    ("recent", "history", "history_days", "factor", "min_amount", "fires"),
    [
        (3500.0, 12000.0, 360, 3.0, 0.0, True),  # average 1,000 per 30 days
        (3000.0, 12000.0, 360, 3.0, 0.0, False),  # exactly 3 x: not above
        (3500.0, 0.0, 360, 3.0, 0.0, False),  # no history: no average
        (3500.0, 12000.0, 20, 3.0, 0.0, False),  # history shorter than a period
        (3500.0, 12000.0, 360, 3.0, 5000.0, False),  # below the minimum amount
        (0.0, 12000.0, 360, 0.0, 0.0, False),  # nothing ordered recently
    ],
)
def test_order_spike_signal(recent, history, history_days, factor, min_amount, fires):
    figures = order_spike_signal(recent, history, history_days, 30, factor, min_amount)
    assert (figures is not None) is fires
    if fires:
        assert figures["average_amount"] == pytest.approx(history * 30 / history_days)
        assert figures["ratio"] == pytest.approx(recent / figures["average_amount"])
        assert figures["factor"] == factor


@given(recent=amounts, history=amounts, factor=st.floats(min_value=0, max_value=100))
def test_order_spike_means_above_factor_times_average(recent, history, factor):
    figures = order_spike_signal(recent, history, 360, 30, factor)
    if figures:
        assert recent > factor * figures["average_amount"]
        assert figures["average_amount"] > 0


# ------------------------------------------------------------ expiring


TODAY = date(2025, 6, 1)


@pytest.mark.parametrize(
    ("end", "within", "days_left"),
    [
        (date(2025, 6, 1), 30, 0),  # today: still expiring, not expired
        (date(2025, 7, 1), 30, 30),  # exactly N days ahead
        (date(2025, 7, 2), 30, None),
        (date(2025, 5, 31), 30, None),  # already past: expired, not expiring
        (None, 30, None),
        (date(2025, 6, 1), 0, 0),
    ],
)
def test_expiring_signal(end, within, days_left):
    figures = expiring_signal(end, TODAY, within)
    if days_left is None:
        assert figures is None
    else:
        assert figures == {"date": end, "days_left": days_left, "within_days": within}


def test_expiring_signal_rejects_datetimes():
    from datetime import datetime

    with pytest.raises(ValueError, match="end_date"):
        expiring_signal(datetime(2025, 6, 2, 10, 0), TODAY, 30)
    with pytest.raises(ValueError, match="within_days"):
        expiring_signal(date(2025, 6, 2), TODAY, -1)


# ------------------------------------------------------------ guarantee expiring


@pytest.mark.parametrize(
    ("end", "within", "days_left"),
    [
        (date(2025, 6, 11), 30, 10),  # fires: ends within the window
        (date(2025, 6, 1), 30, 0),  # its last valid day is today: still counts today, lost tomorrow
        (date(2025, 7, 1), 30, 30),  # boundary: exactly N days ahead fires
        (date(2025, 7, 2), 30, None),  # N + 1 days ahead: not yet
        (date(2025, 5, 31), 30, None),  # ended yesterday: expired (it counts no more), not expiring
        (None, 30, None),  # open-ended: never expires
        (date(2025, 6, 2), 0, None),  # N = 0: only a guarantee ending today
    ],
)
def test_guarantee_expiring_signal(end, within, days_left):
    figures = guarantee_expiring_signal(end, TODAY, within, 250.0)
    if days_left is None:
        assert figures is None
    else:
        assert figures == dict(date=end, days_left=days_left, within_days=within, secured_amount=250.0)


def test_guarantee_expiring_signal_rejects_bad_input():
    with pytest.raises(ValueError, match="secured_amount"):
        guarantee_expiring_signal(date(2025, 6, 2), TODAY, 30, float("nan"))
    with pytest.raises(ValueError, match="within_days"):
        guarantee_expiring_signal(date(2025, 6, 2), TODAY, -1, 250.0)
    with pytest.raises(ValueError, match="end_date"):
        guarantee_expiring_signal("2025-06-02", TODAY, 30, 250.0)


def test_guarantee_expiry_alerted_once_per_guarantee_and_end_date():
    """The key names the guarantee and its end date: two guarantees of one customer are two
    alerts; the same end date is never alerted twice; extended to a new date, it alerts again."""
    event = guarantee_event(12, date(2025, 6, 30))
    key = alert_key(9, 7, GUARANTEE_EXPIRING, event=event)
    assert key == "guarantee_expiring:9:7:12:2025-06-30"
    assert key != alert_key(9, 7, GUARANTEE_EXPIRING, event=guarantee_event(13, date(2025, 6, 30)))
    assert not needs_alert(key, GUARANTEE_EXPIRING, open_keys=set(), known_keys={key})
    extended = alert_key(9, 7, GUARANTEE_EXPIRING, event=guarantee_event(12, date(2025, 9, 30)))
    assert needs_alert(extended, GUARANTEE_EXPIRING, open_keys=set(), known_keys={key})
    with pytest.raises(ValueError, match="guarantee_id"):
        guarantee_event(0, date(2025, 6, 30))
    with pytest.raises(ValueError, match="end_date"):
        guarantee_event(12, None)


# ------------------------------------------------------------ deduplication


def test_alert_key_state_and_event_rules():
    assert alert_key(3, 7, UTILIZATION) == "utilization:3:7"
    assert alert_key(3, 7, UTILIZATION, event="ignored") == "utilization:3:7"
    assert alert_key(4, 7, DOWNGRADE, event=12) == "downgrade:4:7:12"
    assert alert_key(5, 7, LIMIT_EXPIRING, event="2025-06-30") == "limit_expiring:5:7:2025-06-30"
    with pytest.raises(ValueError, match="event"):
        alert_key(4, 7, BUREAU_DROP)
    with pytest.raises(ValueError, match="rule type"):
        alert_key(4, 7, "nope")


def test_event_and_state_rules_partition_the_rule_types():
    assert EVENT_RULES == {
        DOWNGRADE,
        BUREAU_DROP,
        LIMIT_EXPIRING,
        REVIEW_EXPIRING,
        GUARANTEE_EXPIRING,
        PREDICTED_LATE_JUMP,
    }
    assert set(RULE_TYPES) - EVENT_RULES == {OVERDUE_NEW, UTILIZATION, ORDER_SPIKE, RATE_MOVE}


@pytest.mark.parametrize("rule_type", RULE_TYPES)
def test_no_alert_while_the_same_one_is_open(rule_type):
    key = alert_key(1, 2, rule_type, event="e")
    assert needs_alert(key, rule_type, open_keys=set(), known_keys=set())
    assert not needs_alert(key, rule_type, open_keys={key}, known_keys={key})


@pytest.mark.parametrize("rule_type", RULE_TYPES)
def test_after_resolution(rule_type):
    """A resolved event is never alerted again; a persisting state is alerted again."""
    key = alert_key(1, 2, rule_type, event="e")
    raised = needs_alert(key, rule_type, open_keys=set(), known_keys={key})
    assert raised is (rule_type not in EVENT_RULES)
