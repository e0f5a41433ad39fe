"""Exposure arithmetic: what a customer owes or will owe."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credit_policy.exposure import Exposure

amounts = st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False)


def test_default_exposure_is_zero():
    exposure = Exposure()
    assert exposure.before_order == 0
    assert exposure.total == 0
    assert exposure.available(1000) == 1000


def test_before_order_sums_receivables_orders_and_drafts():
    exposure = Exposure(receivables=100, uninvoiced_orders=200, draft_invoices=50, current_order=30)
    assert exposure.before_order == 350
    assert exposure.total == 380


def test_available_is_limit_minus_exposure_before_the_order():
    exposure = Exposure(receivables=700, uninvoiced_orders=100, current_order=500)
    assert exposure.available(1000) == 200


def test_available_may_be_negative():
    assert Exposure(receivables=1200).available(1000) == -200


def test_credit_balance_reduces_exposure():
    # Unreconciled payments and credit notes reduce receivables, possibly below zero.
    exposure = Exposure(receivables=-300, uninvoiced_orders=100, current_order=100)
    assert exposure.before_order == -200
    assert exposure.total == -100


def test_utilization_includes_the_order():
    exposure = Exposure(receivables=500, uninvoiced_orders=250, current_order=250)
    assert exposure.utilization(2000) == pytest.approx(0.5)


@pytest.mark.parametrize("limit", [0, 0.0, None])
def test_utilization_without_limit_is_none(limit):
    assert Exposure(receivables=100, current_order=10).utilization(limit) is None


def test_exposure_is_immutable():
    exposure = Exposure(receivables=1)
    with pytest.raises(AttributeError):
        exposure.receivables = 2


@given(amounts, amounts, amounts, amounts)
def test_total_is_before_order_plus_current_order(receivables, orders, drafts, current):
    exposure = Exposure(receivables, orders, drafts, current)
    assert exposure.total == pytest.approx(exposure.before_order + current)
    assert exposure.before_order == pytest.approx(receivables + orders + drafts)


@given(amounts, amounts, st.floats(min_value=1, max_value=1e9))
def test_available_plus_exposure_is_the_limit(receivables, orders, limit):
    exposure = Exposure(receivables=receivables, uninvoiced_orders=orders)
    assert exposure.available(limit) + exposure.before_order == pytest.approx(limit)
