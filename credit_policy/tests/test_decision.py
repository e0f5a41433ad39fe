"""The credit decision taken when a sales order is confirmed."""

from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from credit_policy.decision import (
    ACTIONS,
    BLOCK,
    BLOCKED,
    IGNORE,
    MODE_CASH,
    MODE_LIMIT,
    OK,
    RULES,
    WARN,
    WARNING,
    CreditFacts,
    CreditPolicy,
    Decision,
    Reason,
    approval_covers,
    evaluate,
)
from credit_policy.exposure import Exposure

TODAY = date(2025, 6, 15)
YESTERDAY = TODAY - timedelta(days=1)
TOMORROW = TODAY + timedelta(days=1)
SEVERITY = {OK: 0, WARNING: 1, BLOCKED: 2}
ACTION_STATE = {BLOCK: BLOCKED, WARN: WARNING}
ACTION_FIELDS = ("limit_action", "hold_action", "overdue_action", "expired_action", "max_order_action")


def make_facts(receivables=0.0, uninvoiced=0.0, drafts=0.0, order=100.0, **kwargs):
    """Facts for an order of ``order`` (not prepaid) with the given exposure; other fields as keywords."""
    kwargs.setdefault("order_amount", order)
    exposure = Exposure(receivables, uninvoiced, drafts, order)
    return CreditFacts(exposure=exposure, check_date=TODAY, **kwargs)


def codes(decision):
    return [reason.code for reason in decision.reasons]


def only_reason(decision):
    assert len(decision.reasons) == 1, decision.reasons
    return decision.reasons[0]


# ---------------------------------------------------------------- no rule fires


def test_nothing_to_check_is_ok():
    decision = evaluate(make_facts(), CreditPolicy())
    assert decision == Decision(OK)
    assert decision.reasons == ()
    assert decision.blocking_reasons == ()
    assert decision.warning_reasons == ()


def test_default_policy_blocks_every_rule():
    policy = CreditPolicy()
    assert all(getattr(policy, name) == BLOCK for name in ACTION_FIELDS)
    assert policy.overdue_days == 30
    assert policy.overdue_amount == 0
    assert policy.max_order_amount == 0


# ---------------------------------------------------------------- fully prepaid


@pytest.mark.parametrize("current_order", [0.0, -50.0])
def test_fully_prepaid_order_passes_whatever_else_is_wrong(current_order):
    facts = CreditFacts(
        exposure=Exposure(receivables=10_000, current_order=current_order),
        check_date=TODAY,
        mode=MODE_CASH,
        limit=100,
        order_amount=5_000,
        on_hold=True,
        overdue_amount=9_000,
        overdue_days=400,
        limit_valid_until=YESTERDAY,
        review_date=YESTERDAY,
    )
    policy = CreditPolicy(max_order_amount=1)
    assert evaluate(facts, policy) == Decision(OK)


def test_fully_prepaid_in_limit_mode_passes_over_the_limit():
    facts = CreditFacts(exposure=Exposure(receivables=5_000, current_order=0), check_date=TODAY, limit=1_000)
    assert evaluate(facts, CreditPolicy()).state == OK


# ---------------------------------------------------------------- cash only


def test_cash_only_blocks_any_credit():
    decision = evaluate(make_facts(order=250, mode=MODE_CASH), CreditPolicy())
    assert decision.state == BLOCKED
    assert only_reason(decision) == Reason("cash_only", BLOCK, {"order_amount": 250})


def test_cash_only_blocks_even_when_every_rule_is_ignored():
    policy = CreditPolicy(**{name: IGNORE for name in ACTION_FIELDS})
    decision = evaluate(make_facts(mode=MODE_CASH), policy)
    assert decision.state == BLOCKED
    assert codes(decision) == ["cash_only"]


def test_cash_only_does_not_check_the_limit():
    # A limit left on a cash customer is irrelevant: the explicit state wins.
    decision = evaluate(make_facts(receivables=5_000, mode=MODE_CASH, limit=1_000), CreditPolicy())
    assert codes(decision) == ["cash_only"]


def test_cash_only_and_no_limit_checked_are_different_states():
    no_check = evaluate(make_facts(receivables=1e9, limit=0), CreditPolicy())
    cash = evaluate(make_facts(receivables=0, limit=0, mode=MODE_CASH), CreditPolicy())
    assert no_check.state == OK
    assert cash.state == BLOCKED


# ---------------------------------------------------------------- credit hold


@pytest.mark.parametrize(("action", "state"), [(BLOCK, BLOCKED), (WARN, WARNING), (IGNORE, OK)])
def test_on_hold_follows_its_action(action, state):
    facts = make_facts(on_hold=True, hold_reason="disputed invoices")
    decision = evaluate(facts, CreditPolicy(hold_action=action))
    assert decision.state == state
    if action == IGNORE:
        assert decision.reasons == ()
    else:
        assert only_reason(decision) == Reason("on_hold", action, {"hold_reason": "disputed invoices"})


def test_not_on_hold_gives_no_hold_reason():
    assert "on_hold" not in codes(evaluate(make_facts(hold_reason="stale text"), CreditPolicy()))


# ---------------------------------------------------------------- credit limit


@pytest.mark.parametrize("limit", [0, 0.0])
def test_limit_zero_means_not_checked(limit):
    decision = evaluate(make_facts(receivables=1e12, limit=limit), CreditPolicy())
    assert decision == Decision(OK)


def test_exposure_equal_to_limit_is_ok():
    decision = evaluate(make_facts(receivables=700, uninvoiced=200, order=100, limit=1_000), CreditPolicy())
    assert decision.state == OK


def test_limit_exceeded_blocks_and_explains_itself():
    facts = make_facts(receivables=600, uninvoiced=250, drafts=50, order=300, limit=1_000)
    decision = evaluate(facts, CreditPolicy())
    assert decision.state == BLOCKED
    reason = only_reason(decision)
    assert reason.code == "limit_exceeded"
    assert reason.action == BLOCK
    assert reason.figures == {
        "limit": 1_000,
        "capacity_parts": (),
        "capacity": 1_000,
        "tolerance_percent": 0.0,
        "ceiling": 1_000,
        "exposure_before": 900,
        "exposure_after": 1_200,
        "available": 100,
        "excess": 200,
        "parts": (("receivables", 600), ("uninvoiced_orders", 250), ("draft_invoices", 50)),
        "receivables": 600,
        "uninvoiced_orders": 250,
        "draft_invoices": 50,
        "order_amount": 300,
    }


def test_limit_already_exceeded_before_the_order():
    reason = only_reason(evaluate(make_facts(receivables=1_500, order=10, limit=1_000), CreditPolicy()))
    assert reason.code == "limit_exceeded"
    assert reason.figures["available"] == -500
    assert reason.figures["excess"] == 510


@pytest.mark.parametrize(("action", "state"), [(BLOCK, BLOCKED), (WARN, WARNING), (IGNORE, OK)])
def test_limit_exceeded_follows_its_action(action, state):
    decision = evaluate(make_facts(receivables=1_000, limit=1_000), CreditPolicy(limit_action=action))
    assert decision.state == state
    assert codes(decision) == ([] if action == IGNORE else ["limit_exceeded"])


# ---------------------------------------------------------------- tolerance


@pytest.mark.parametrize("limit_action", [BLOCK, WARN])
def test_over_limit_within_tolerance_only_warns(limit_action):
    facts = make_facts(receivables=1_000, order=50, limit=1_000, tolerance_percent=10)
    decision = evaluate(facts, CreditPolicy(limit_action=limit_action))
    assert decision.state == WARNING
    reason = only_reason(decision)
    assert (reason.code, reason.action) == ("limit_tolerance", WARN)
    assert reason.figures["ceiling"] == pytest.approx(1_100)
    assert reason.figures["tolerance_percent"] == 10
    assert reason.figures["excess"] == 50


def test_exposure_at_the_ceiling_is_still_tolerated():
    facts = make_facts(receivables=1_000, order=100, limit=1_000, tolerance_percent=10)
    assert codes(evaluate(facts, CreditPolicy())) == ["limit_tolerance"]


def test_beyond_the_tolerance_the_limit_action_applies():
    facts = make_facts(receivables=1_000, order=101, limit=1_000, tolerance_percent=10)
    decision = evaluate(facts, CreditPolicy())
    assert decision.state == BLOCKED
    assert only_reason(decision).code == "limit_exceeded"
    assert only_reason(decision).figures["ceiling"] == pytest.approx(1_100)


def test_tolerance_of_an_ignored_limit_is_ignored_too():
    facts = make_facts(receivables=1_000, order=50, limit=1_000, tolerance_percent=10)
    assert evaluate(facts, CreditPolicy(limit_action=IGNORE)) == Decision(OK)


# ---------------------------------------------------------------- overdue


def test_overdue_beyond_days_and_amount_blocks_with_figures():
    facts = make_facts(overdue_amount=800, overdue_days=45)
    decision = evaluate(facts, CreditPolicy(overdue_days=30, overdue_amount=500))
    assert decision.state == BLOCKED
    assert only_reason(decision) == Reason(
        "overdue",
        BLOCK,
        {"overdue_amount": 800, "overdue_days": 45, "allowed_days": 30, "allowed_amount": 500},
    )


@pytest.mark.parametrize(
    ("overdue_amount", "overdue_days", "fires"),
    [
        (800, 30, False),  # exactly the allowed days: still tolerated
        (800, 31, True),
        (500, 45, False),  # exactly the allowed amount: still tolerated
        (500.01, 45, True),
        (0, 45, False),  # no overdue amount at all
        (-10, 45, False),  # credit balance
        (800, 0, False),
    ],
)
def test_overdue_thresholds(overdue_amount, overdue_days, fires):
    facts = make_facts(overdue_amount=overdue_amount, overdue_days=overdue_days)
    decision = evaluate(facts, CreditPolicy(overdue_days=30, overdue_amount=500))
    assert codes(decision) == (["overdue"] if fires else [])


def test_zero_overdue_days_threshold_reacts_to_any_overdue():
    decision = evaluate(make_facts(overdue_amount=0.01, overdue_days=1), CreditPolicy(overdue_days=0))
    assert codes(decision) == ["overdue"]


@pytest.mark.parametrize(("action", "state"), [(BLOCK, BLOCKED), (WARN, WARNING), (IGNORE, OK)])
def test_overdue_follows_its_action(action, state):
    facts = make_facts(overdue_amount=100, overdue_days=90)
    assert evaluate(facts, CreditPolicy(overdue_action=action)).state == state


# ---------------------------------------------------------------- limit expired, review overdue


@pytest.mark.parametrize(
    ("valid_until", "fires"), [(YESTERDAY, True), (TODAY, False), (TOMORROW, False), (None, False)]
)
def test_limit_expired(valid_until, fires):
    decision = evaluate(make_facts(limit_valid_until=valid_until), CreditPolicy())
    if fires:
        assert only_reason(decision) == Reason("limit_expired", BLOCK, {"date": valid_until})
    else:
        assert decision == Decision(OK)


@pytest.mark.parametrize(
    ("review_date", "fires"), [(YESTERDAY, True), (TODAY, False), (TOMORROW, False), (None, False)]
)
def test_review_overdue(review_date, fires):
    decision = evaluate(make_facts(review_date=review_date), CreditPolicy())
    if fires:
        assert only_reason(decision) == Reason("review_overdue", BLOCK, {"date": review_date})
    else:
        assert decision == Decision(OK)


@pytest.mark.parametrize(("action", "state"), [(BLOCK, BLOCKED), (WARN, WARNING), (IGNORE, OK)])
def test_expired_limit_and_review_share_the_expired_action(action, state):
    facts = make_facts(limit_valid_until=YESTERDAY, review_date=YESTERDAY - timedelta(days=30))
    decision = evaluate(facts, CreditPolicy(expired_action=action))
    assert decision.state == state
    assert codes(decision) == ([] if action == IGNORE else ["limit_expired", "review_overdue"])


# ---------------------------------------------------------------- maximum single order


@pytest.mark.parametrize(("order_amount", "fires"), [(5_000, False), (5_000.01, True), (1e9, True)])
def test_max_order_amount(order_amount, fires):
    decision = evaluate(make_facts(order=order_amount), CreditPolicy(max_order_amount=5_000))
    if fires:
        assert only_reason(decision) == Reason(
            "max_order", BLOCK, {"order_amount": order_amount, "max_order_amount": 5_000}
        )
    else:
        assert decision == Decision(OK)


def test_max_order_amount_zero_means_no_maximum():
    assert evaluate(make_facts(order=1e12), CreditPolicy(max_order_amount=0)) == Decision(OK)


def test_max_order_applies_to_the_whole_order_even_partly_prepaid():
    facts = make_facts(order=200, order_amount=1_000)  # 800 prepaid, 200 on credit
    assert codes(evaluate(facts, CreditPolicy(max_order_amount=500))) == ["max_order"]


@pytest.mark.parametrize(("action", "state"), [(BLOCK, BLOCKED), (WARN, WARNING), (IGNORE, OK)])
def test_max_order_follows_its_action(action, state):
    decision = evaluate(make_facts(order=900), CreditPolicy(max_order_amount=500, max_order_action=action))
    assert decision.state == state


# ---------------------------------------------------------------- several rules


def test_all_reasons_are_reported_in_rule_order():
    facts = make_facts(
        receivables=2_000,
        order=600,
        limit=1_000,
        on_hold=True,
        overdue_amount=300,
        overdue_days=60,
        limit_valid_until=YESTERDAY,
        review_date=YESTERDAY,
    )
    policy = CreditPolicy(hold_action=WARN, max_order_amount=500, max_order_action=WARN)
    decision = evaluate(facts, policy)
    assert codes(decision) == [
        "on_hold",
        "limit_exceeded",
        "overdue",
        "limit_expired",
        "review_overdue",
        "max_order",
    ]
    assert decision.state == BLOCKED
    assert [r.code for r in decision.blocking_reasons] == [
        "limit_exceeded",
        "overdue",
        "limit_expired",
        "review_overdue",
    ]
    assert [r.code for r in decision.warning_reasons] == ["on_hold", "max_order"]


def test_only_warnings_give_a_warning():
    facts = make_facts(on_hold=True, overdue_amount=300, overdue_days=60)
    decision = evaluate(facts, CreditPolicy(hold_action=WARN, overdue_action=WARN))
    assert decision.state == WARNING
    assert decision.blocking_reasons == ()
    assert len(decision.warning_reasons) == 2


def test_ignored_rules_leave_no_reason():
    facts = make_facts(receivables=5_000, limit=1_000, on_hold=True, review_date=YESTERDAY)
    policy = CreditPolicy(**{name: IGNORE for name in ACTION_FIELDS})
    assert evaluate(facts, policy) == Decision(OK)


# ---------------------------------------------------------------- invalid input


@pytest.mark.parametrize("name", ACTION_FIELDS)
@pytest.mark.parametrize("value", ["stop", "", None, "BLOCK"])
def test_unknown_action_is_rejected(name, value):
    with pytest.raises(ValueError, match=name):
        CreditPolicy(**{name: value})


@pytest.mark.parametrize(
    "kwargs", [{"overdue_days": -1}, {"overdue_amount": -0.01}, {"max_order_amount": -5}]
)
def test_negative_policy_figures_are_rejected(kwargs):
    with pytest.raises(ValueError, match="negative"):
        CreditPolicy(**kwargs)


@pytest.mark.parametrize("mode", ["credit", "", None, "CASH"])
def test_unknown_mode_is_rejected(mode):
    with pytest.raises(ValueError, match="mode"):
        make_facts(mode=mode)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"limit": -1},
        {"tolerance_percent": -5},
        {"limit": float("nan")},
        {"limit": float("inf")},
        {"tolerance_percent": float("nan")},
        {"limit_amount_currency": -1},
        {"limit_amount_currency": float("nan")},
    ],
)
def test_negative_or_non_finite_limit_or_tolerance_is_rejected(kwargs):
    with pytest.raises(ValueError, match="finite number"):
        make_facts(**kwargs)


def test_actions_constant():
    assert set(ACTIONS) == {BLOCK, WARN, IGNORE}


# ---------------------------------------------------------------- approvals


def test_approval_covers_the_approved_amount():
    assert approval_covers(1_000, None, 1_000, TODAY)
    assert approval_covers(1_000, None, 800, TODAY)


def test_approval_does_not_cover_a_grown_order():
    assert not approval_covers(1_000, None, 1_000.01, TODAY)


@pytest.mark.parametrize(
    ("valid_until", "covered"), [(TOMORROW, True), (TODAY, True), (YESTERDAY, False), (None, True)]
)
def test_approval_expiry(valid_until, covered):
    assert approval_covers(1_000, valid_until, 500, TODAY) is covered


def test_expired_approval_does_not_cover_even_a_smaller_order():
    assert not approval_covers(1_000, YESTERDAY, 1, TODAY)


# ---------------------------------------------------------------- properties

money = st.floats(min_value=0, max_value=1e7, allow_nan=False, allow_infinity=False)
actions = st.sampled_from(ACTIONS)
optional_dates = st.none() | st.dates(
    min_value=TODAY - timedelta(days=60), max_value=TODAY + timedelta(days=60)
)

policies = st.builds(
    CreditPolicy,
    limit_action=actions,
    hold_action=actions,
    overdue_action=actions,
    overdue_days=st.integers(0, 120),
    overdue_amount=money,
    expired_action=actions,
    max_order_amount=money,
    max_order_action=actions,
)

exposures = st.builds(Exposure, money, money, money, money)

facts_strategy = st.builds(
    CreditFacts,
    exposure=exposures,
    check_date=st.just(TODAY),
    mode=st.sampled_from([MODE_LIMIT, MODE_LIMIT, MODE_LIMIT, MODE_CASH]),
    limit=st.one_of(st.just(0.0), money),
    tolerance_percent=st.floats(min_value=0, max_value=50),
    order_amount=money,
    on_hold=st.booleans(),
    hold_reason=st.text(max_size=10),
    overdue_amount=money,
    overdue_days=st.integers(0, 400),
    limit_valid_until=optional_dates,
    review_date=optional_dates,
)


@given(facts_strategy, policies)
def test_state_is_the_most_severe_reason(facts, policy):
    decision = evaluate(facts, policy)
    assert all(reason.action in (BLOCK, WARN) for reason in decision.reasons)
    expected = max((ACTION_STATE[r.action] for r in decision.reasons), key=SEVERITY.get, default=OK)
    assert decision.state == expected
    assert len(decision.blocking_reasons) + len(decision.warning_reasons) == len(decision.reasons)


@given(facts_strategy, policies, money, money, money, money)
def test_more_exposure_never_lowers_the_severity(
    facts, policy, more_rec, more_orders, more_drafts, more_order
):
    exposure = facts.exposure
    bigger = Exposure(
        exposure.receivables + more_rec,
        exposure.uninvoiced_orders + more_orders,
        exposure.draft_invoices + more_drafts,
        exposure.current_order + more_order,
    )
    before = evaluate(facts, policy)
    after = evaluate(replace(facts, exposure=bigger), policy)
    assert SEVERITY[after.state] >= SEVERITY[before.state]
    if before.state == BLOCKED:
        assert after.state == BLOCKED


@given(facts_strategy, policies, st.floats(min_value=0, max_value=1e7))
def test_a_higher_limit_never_raises_the_severity(facts, policy, raise_by):
    assume(facts.limit > 0)
    before = evaluate(facts, policy)
    after = evaluate(replace(facts, limit=facts.limit + raise_by), policy)
    assert SEVERITY[after.state] <= SEVERITY[before.state]


@given(facts_strategy, policies)
def test_limit_reasons_carry_consistent_figures(facts, policy):
    for reason in evaluate(facts, policy).reasons:
        if reason.code in ("limit_exceeded", "limit_tolerance"):
            figures = reason.figures
            assert figures["exposure_after"] > figures["limit"] == facts.limit
            assert figures["excess"] == pytest.approx(figures["exposure_after"] - figures["limit"])
            assert figures["available"] == pytest.approx(figures["limit"] - figures["exposure_before"])
            assert figures["exposure_after"] == pytest.approx(
                figures["exposure_before"] + figures["order_amount"]
            )
            within = figures["exposure_after"] <= figures["ceiling"]
            assert (reason.code == "limit_tolerance") == within


@given(facts_strategy)
def test_ignoring_every_rule_only_cash_only_can_refuse(facts):
    policy = CreditPolicy(**{name: IGNORE for name in ACTION_FIELDS}, max_order_amount=1)
    decision = evaluate(facts, policy)
    assert codes(decision) in ([], ["cash_only"])
    assert (decision.state == BLOCKED) == (facts.mode == MODE_CASH and facts.exposure.current_order > 0)


@given(facts_strategy, policies)
def test_prepaid_orders_always_pass(facts, policy):
    prepaid = replace(facts, exposure=replace(facts.exposure, current_order=0.0))
    assert evaluate(prepaid, policy) == Decision(OK)


@given(money, money, st.none() | st.dates(), st.dates())
def test_approval_covers_is_amount_and_date(approved, order, valid_until, check_date):
    covered = approval_covers(approved, valid_until, order, check_date)
    assert covered == (order <= approved and (valid_until is None or check_date <= valid_until))


# ---------------------------------------------------------------- extension points


def test_extension_exposure_parts_count_like_the_core_parts():
    exposure = Exposure(100, 200, 0, 50, other_parts=(("consignment", 300),))
    assert exposure.parts[-1] == ("consignment", 300)
    assert exposure.before_order == 600
    assert exposure.total == 650
    facts = CreditFacts(exposure=exposure, check_date=TODAY, order_amount=50, limit=600)
    reason = only_reason(evaluate(facts, CreditPolicy()))
    assert (reason.code, reason.figures["exposure_before"]) == ("limit_exceeded", 600)


def test_capacity_parts_raise_what_the_limit_allows():
    facts = make_facts(receivables=900, order=400, limit=1_000, capacity_parts=(("secured", 250),))
    assert facts.capacity == 1_250
    reason = only_reason(evaluate(facts, CreditPolicy()))
    assert reason.code == "limit_exceeded"
    assert (reason.figures["capacity"], reason.figures["available"], reason.figures["excess"]) == (
        1_250,
        350,
        50,
    )
    assert reason.figures["capacity_parts"] == (("secured", 250),)
    passing = replace(facts, capacity_parts=(("secured", 300), ("insured", 100)))
    assert evaluate(passing, CreditPolicy()).state == OK


def test_capacity_parts_never_turn_no_limit_into_a_limit():
    facts = make_facts(receivables=900, order=300, limit=0, capacity_parts=(("secured", 250),))
    assert facts.capacity == 0
    assert evaluate(facts, CreditPolicy()).state == OK


def test_negative_capacity_part_is_rejected():
    with pytest.raises(ValueError):
        make_facts(limit=1_000, capacity_parts=(("secured", -1),))


def _big_order_rule(facts, policy):
    if facts.extra.get("order_lines", 0) > policy.extra.get("max_lines", 10):
        yield Reason(
            "too_many_lines", policy.extra.get("lines_action", BLOCK), {"lines": facts.extra["order_lines"]}
        )


def test_an_extension_rule_runs_with_its_own_action_and_facts():
    facts = make_facts(order=10, extra={"order_lines": 12})
    assert evaluate(facts, CreditPolicy()).state == OK  # not among the default rules
    decision = evaluate(facts, CreditPolicy(extra={"lines_action": WARN}), rules=RULES + (_big_order_rule,))
    assert (decision.state, codes(decision)) == (WARNING, ["too_many_lines"])


def test_an_extension_action_must_be_a_known_action():
    with pytest.raises(ValueError):
        CreditPolicy(extra={"lines_action": "shout"})
