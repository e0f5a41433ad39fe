"""Early-warning signals (风险预警): when does a figure cross a rule's threshold?

Each ``*_signal`` function takes plain figures (amounts already in the company
currency) and a rule's thresholds, and returns ``None`` when the rule does not
fire, or a ``dict`` of the figures that explain the alert when it does. The Odoo
layer gathers the figures for a whole company at once, keeps the alert records,
and renders the figures into a message.

Comparisons follow the words of the rule types and the confirmation check:

* overdue "beyond N days": oldest overdue strictly more than N days past due
  and overdue amount strictly above the minimum amount (as the overdue rule of
  :func:`credit_policy.decision.evaluate`);
* utilization "above X %": exposure ÷ limit strictly above X % (at exactly
  100 % the customer is at, not over, the limit, as in the limit rule);
* grade downgrade: the latest rating is at least N grades worse than the one
  before;
* bureau drop "by N points or more": ``previous - latest >= N``;
* order spike: orders of the last period strictly above ``factor`` times the
  customer's average for such a period;
* limit / review expiring "within N days": the date is today or in the next
  N days (a date already past is expired, not expiring: the confirmation check
  handles it);
* guarantee expiring "within N days": an active guarantee's last valid day is
  today or in the next N days; the alert names the secured capacity the
  customer loses the day after (an open-ended guarantee never expires);
* rate move: a limit set in a foreign currency, converted at today's rate, is
  strictly below the exposure, and at the rate of the reference date it would
  not be: the same exposure, only the rate moved the customer over;
* predicted late jump "by N points or more": the customer's predicted late share
  (the late-payment model's, a share of 0..1) rose from the previous prediction
  by at least N percentage points (``(current - previous) x 100 >= N``, read to
  1e-9 so that 20 % to 30 % is a rise of 10 points, not 9.999...).

Deduplication (:func:`alert_key`, :func:`needs_alert`): an alert is keyed by
rule, customer and, for *event* rules, the event itself (the rating, the bureau
report, the date that expires; for a guarantee, the guarantee and its end date
(:func:`guarantee_event`), so a guarantee extended to a new date can alert
again). No alert is raised while one with the same key
is open. An event that was alerted once is never alerted again, even after its
alert is resolved; a *state* rule (overdue, utilization, order spike) whose
alert was resolved while its condition still holds raises a new alert on the
next run: resolving means "dealt with", and a condition that persists needs
dealing with again.
"""

from datetime import date, datetime

from ._checks import is_number, is_whole

OVERDUE_NEW = "overdue_new"
UTILIZATION = "utilization"
DOWNGRADE = "downgrade"
BUREAU_DROP = "bureau_drop"
ORDER_SPIKE = "order_spike"
LIMIT_EXPIRING = "limit_expiring"
REVIEW_EXPIRING = "review_expiring"
GUARANTEE_EXPIRING = "guarantee_expiring"
RATE_MOVE = "rate_move"
PREDICTED_LATE_JUMP = "predicted_late_jump"
RULE_TYPES = (
    OVERDUE_NEW,
    UTILIZATION,
    DOWNGRADE,
    BUREAU_DROP,
    ORDER_SPIKE,
    LIMIT_EXPIRING,
    REVIEW_EXPIRING,
    GUARANTEE_EXPIRING,
    RATE_MOVE,
    PREDICTED_LATE_JUMP,
)
# Rules about a one-off event: keyed by the event, alerted once per event (a predicted late
# jump is the prediction of a date: each new prediction that jumps is a new event).
EVENT_RULES = frozenset(
    {DOWNGRADE, BUREAU_DROP, LIMIT_EXPIRING, REVIEW_EXPIRING, GUARANTEE_EXPIRING, PREDICTED_LATE_JUMP}
)

SEVERITIES = ("low", "medium", "high", "critical")


def _check_threshold(value, name, whole=False):
    ok = is_whole(value, 0) if whole else is_number(value) and value >= 0
    if not ok:
        kind = "a whole number" if whole else "a number"
        raise ValueError(f"{name} must be {kind} >= 0, not {value!r}")


def _check_figure(value, name):
    if not is_number(value):
        raise ValueError(f"{name} must be a finite number, not {value!r}")


def _check_date(value, name):
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValueError(f"{name} must be a date, not {value!r}")


def overdue_signal(overdue_amount, overdue_days, min_days, min_amount=0.0):
    """Receivables more than ``min_days`` past due, for more than ``min_amount``."""
    _check_figure(overdue_amount, "overdue_amount")
    _check_threshold(overdue_days, "overdue_days", whole=True)
    _check_threshold(min_days, "min_days", whole=True)
    _check_threshold(min_amount, "min_amount")
    if overdue_amount <= 0 or overdue_amount <= min_amount or overdue_days <= min_days:
        return None
    return {
        "overdue_amount": overdue_amount,
        "overdue_days": overdue_days,
        "min_days": min_days,
        "min_amount": min_amount,
    }


def utilization_signal(exposure, limit, threshold_percent, secured=0.0):
    """Exposure above ``threshold_percent`` % of the capacity: ``limit`` plus what ``secured``
    adds to it (guarantees and other capacity parts, as the confirmation check allows).

    A limit of 0 means "no limit checked" (Odoo's convention): no utilization,
    no signal.
    """
    _check_figure(exposure, "exposure")
    _check_threshold(limit, "limit")
    _check_threshold(threshold_percent, "threshold_percent")
    _check_threshold(secured, "secured")
    if not limit:
        return None
    capacity = limit + secured
    utilization = exposure / capacity * 100.0
    if utilization <= threshold_percent:
        return None
    return {
        "exposure": exposure,
        "limit": limit,
        "secured": secured,
        "capacity": capacity,
        "utilization": utilization,
        "threshold_percent": threshold_percent,
    }


def downgrade_signal(previous_code, current_code, ranking, min_notches=1):
    """The latest grade ``current_code`` is ``min_notches`` or more grades below ``previous_code``.

    ``ranking`` lists the grade codes from best to worst. A first rating (no
    previous grade) or a code outside the ranking gives no signal: an unknown
    grade cannot be compared.
    """
    _check_threshold(min_notches, "min_notches", whole=True)
    ranking = list(ranking)
    if not previous_code or previous_code not in ranking or current_code not in ranking:
        return None
    notches = ranking.index(current_code) - ranking.index(previous_code)
    if notches <= 0 or notches < max(min_notches, 1):
        return None
    return {
        "previous_grade": previous_code,
        "grade": current_code,
        "notches": notches,
        "min_notches": min_notches,
    }


def bureau_drop_signal(previous_score, latest_score, min_points):
    """The latest bureau score is ``min_points`` or more below the previous one."""
    _check_figure(previous_score, "previous_score")
    _check_figure(latest_score, "latest_score")
    _check_threshold(min_points, "min_points")
    drop = previous_score - latest_score
    if drop <= 0 or drop < min_points:
        return None
    return {
        "previous_score": previous_score,
        "score": latest_score,
        "drop": drop,
        "min_points": min_points,
    }


def _check_share(value, name):
    if not is_number(value) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number from 0 to 1, not {value!r}")


def predicted_late_jump_signal(previous_share, current_share, min_points):
    """The predicted late share rose by ``min_points`` percentage points or more.

    ``previous_share`` and ``current_share`` are shares of 0..1 (the model's probability
    that the customer's next typical invoice is paid late); ``None`` for either (no
    previous prediction, no model) gives no signal: there is nothing to compare.
    """
    _check_threshold(min_points, "min_points")
    if previous_share is None or current_share is None:
        return None
    _check_share(previous_share, "previous_share")
    _check_share(current_share, "current_share")
    rise = round((current_share - previous_share) * 100.0, 9)
    if rise <= 0 or rise < min_points:
        return None
    return {
        "previous_share": previous_share,
        "share": current_share,
        "rise_points": rise,
        "min_points": min_points,
    }


def period_average(history_amount, history_days, period_days):
    """The average amount per ``period_days`` over ``history_days`` of history.

    ``None`` when the history is shorter than one period: too short to know
    what is usual for the customer.
    """
    _check_figure(history_amount, "history_amount")
    _check_threshold(history_days, "history_days", whole=True)
    _check_threshold(period_days, "period_days", whole=True)
    if not period_days or history_days < period_days:
        return None
    return history_amount * period_days / history_days


def order_spike_signal(recent_amount, history_amount, history_days, period_days, factor, min_amount=0.0):
    """Orders of the last ``period_days`` above ``factor`` times the customer's average per period.

    ``history_amount`` is what the customer ordered over the ``history_days``
    before the recent period. No history long enough, or no orders in it, gives
    no signal (there is no average to compare with). ``min_amount`` keeps
    small customers from raising alerts over small amounts.
    """
    _check_figure(recent_amount, "recent_amount")
    _check_threshold(factor, "factor")
    _check_threshold(min_amount, "min_amount")
    average = period_average(history_amount, history_days, period_days)
    if not average or average <= 0:
        return None
    if recent_amount <= factor * average or recent_amount <= min_amount:
        return None
    return {
        "recent_amount": recent_amount,
        "average_amount": average,
        "ratio": recent_amount / average,
        "factor": factor,
        "period_days": period_days,
        "history_days": history_days,
    }


def expiring_signal(end_date, today, within_days):
    """``end_date`` falls today or within the next ``within_days`` days."""
    _check_date(today, "today")
    _check_threshold(within_days, "within_days", whole=True)
    if end_date is None:
        return None
    _check_date(end_date, "end_date")
    days_left = (end_date - today).days
    if days_left < 0 or days_left > within_days:
        return None
    return {"date": end_date, "days_left": days_left, "within_days": within_days}


def guarantee_expiring_signal(end_date, today, within_days, secured_amount):
    """An active guarantee whose last valid day ``end_date`` is today or within ``within_days`` days.

    ``secured_amount`` is the capacity the guarantee adds (amount x coverage, in
    the company currency): what the customer loses the day after ``end_date``.
    No end date (open-ended) gives no signal.
    """
    _check_figure(secured_amount, "secured_amount")
    figures = expiring_signal(end_date, today, within_days)
    if figures is None:
        return None
    return dict(figures, secured_amount=secured_amount)


def guarantee_event(guarantee_id, end_date):
    """The event a guarantee expiry alert is about: the guarantee and its end date.

    Extended to a new end date, the same guarantee is a new event and can alert
    again; the same end date is alerted once.
    """
    if not is_whole(guarantee_id, 1):
        raise ValueError(f"guarantee_id must be a whole number >= 1, not {guarantee_id!r}")
    _check_date(end_date, "end_date")
    return f"{guarantee_id}:{end_date.isoformat()}"


def rate_move_signal(exposure, limit_amount_currency, rate_before, rate_now, added_capacity=0.0):
    """Only the exchange rate of a foreign-currency limit put the customer over it.

    ``limit_amount_currency`` is the limit in its own currency; ``rate_before``
    and ``rate_now`` convert one unit of it into the company currency at the
    reference date and today. The same ``exposure`` (today's, in the company
    currency) is compared with the capacity at both rates (the converted limit
    plus ``added_capacity``, e.g. guarantees): over it at today's rate and within
    it at the reference rate means no new document was needed, the rate moved the
    customer over. No limit (0) gives no signal.
    """
    _check_figure(exposure, "exposure")
    _check_threshold(limit_amount_currency, "limit_amount_currency")
    _check_threshold(added_capacity, "added_capacity")
    for name, rate in (("rate_before", rate_before), ("rate_now", rate_now)):
        if not is_number(rate) or rate <= 0:
            raise ValueError(f"{name} must be a number > 0, not {rate!r}")
    if not limit_amount_currency:
        return None
    limit_before = limit_amount_currency * rate_before
    limit_now = limit_amount_currency * rate_now
    capacity_before = limit_before + added_capacity
    capacity_now = limit_now + added_capacity
    if exposure <= capacity_now or exposure > capacity_before:
        return None
    return {
        "exposure": exposure,
        "limit_amount_currency": limit_amount_currency,
        "rate_before": rate_before,
        "rate_now": rate_now,
        "limit_before": limit_before,
        "limit_now": limit_now,
        "capacity_before": capacity_before,
        "capacity_now": capacity_now,
        "excess": exposure - capacity_now,
    }


def alert_key(rule_id, partner_id, rule_type, event=None):
    """The deduplication key of an alert: rule, customer and, for event rules, the event."""
    if rule_type not in RULE_TYPES:
        raise ValueError(f"unknown rule type {rule_type!r}")
    if rule_type in EVENT_RULES:
        if event is None or event == "":
            raise ValueError(f"a {rule_type} alert needs the event it is about")
        return f"{rule_type}:{rule_id}:{partner_id}:{event}"
    return f"{rule_type}:{rule_id}:{partner_id}"


def needs_alert(key, rule_type, open_keys, known_keys):
    """Whether a signal keyed ``key`` raises a new alert.

    ``open_keys``: keys of the alerts still open (new or acknowledged);
    ``known_keys``: keys of every alert, resolved ones included.
    """
    if key in open_keys:
        return False
    return not (rule_type in EVENT_RULES and key in known_keys)
