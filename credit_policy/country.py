"""Country risk (国家风险): risk classes, limit caps and deposits by the customer's country.

Export credit agencies publish a risk class per country; the OECD's scale runs from
``0`` (high-income countries, lowest risk) to ``7`` (highest risk). A company keeps a
table of classes, each with an optional cap on the limits it recommends and an
optional deposit share for orders of customers in that country:

- the class is a scorecard factor (``country_risk``), missing when the country has no
  class (scored by the scorecard's missing-data rule);
- :func:`cap_recommendation` caps a grade's recommended limit by the country's cap;
- :func:`required_deposit` combines the grade's deposit with the country's: the larger
  one applies, and the result says where it comes from;
- :func:`exceeds_cap` tells whether a limit allows more credit than the cap.

A cap of ``0`` (or ``None``) means "no cap". All amounts are in the company currency.
"""

from ._checks import is_number as _is_number
from ._checks import is_whole as _is_whole

#: The OECD country risk classification: 0 (lowest risk) to 7 (highest risk).
RISK_CLASS_MIN = 0
RISK_CLASS_MAX = 7
RISK_CLASSES = tuple(range(RISK_CLASS_MIN, RISK_CLASS_MAX + 1))

#: Where a required deposit comes from (:func:`required_deposit`).
SOURCE_GRADE = "grade"
SOURCE_COUNTRY = "country"


def is_risk_class(value):
    """Whether ``value`` is a whole number in ``RISK_CLASS_MIN..RISK_CLASS_MAX`` (booleans excluded)."""
    return _is_whole(value, RISK_CLASS_MIN) and value <= RISK_CLASS_MAX


def check_risk_class(value):
    """Return ``value`` if it is a risk class (:func:`is_risk_class`), else raise ``ValueError``."""
    if not is_risk_class(value):
        raise ValueError(
            f"a country risk class is a whole number from {RISK_CLASS_MIN} to {RISK_CLASS_MAX}, not {value!r}"
        )
    return value


def is_deposit_percent(value):
    """Whether ``value`` is a deposit share in percent: a finite number from 0 to 100."""
    return _is_number(value) and 0 <= value <= 100


def check_deposit_percent(value):
    """Return ``value`` if it is a deposit share (:func:`is_deposit_percent`), else raise ``ValueError``."""
    if not is_deposit_percent(value):
        raise ValueError(f"a deposit share is a number from 0 to 100 (%), not {value!r}")
    return value


def _check_cap(cap):
    if cap is not None and (not _is_number(cap) or cap < 0):
        raise ValueError(f"a country limit cap must be a finite number >= 0 or None, not {cap!r}")


def has_cap(cap):
    """Whether ``cap`` caps anything (``None`` and ``0`` mean no cap)."""
    _check_cap(cap)
    return bool(cap)


def cap_recommendation(recommended, cap):
    """The recommended limit once the country's ``cap`` applies: ``(limit, capped)``.

    ``recommended`` is the grade's recommendation (``None``: the grade makes none).
    The country cap is one more cap on the recommendation: the result is the smaller
    of the two, or the cap alone when the grade recommends nothing. ``capped`` says
    whether the cap decided the result (it is lower than the grade's recommendation,
    or the only recommendation). Without a cap (``None`` or ``0``) the recommendation
    is returned unchanged.
    """
    if recommended is not None and (not _is_number(recommended) or recommended < 0):
        raise ValueError(f"a recommended limit must be a finite number >= 0 or None, not {recommended!r}")
    if not has_cap(cap):
        return recommended, False
    if recommended is None or cap < recommended:
        return cap, True
    return recommended, False


def exceeds_cap(limit, cap):
    """Whether the credit limit ``limit`` allows more credit than the country's ``cap``.

    A limit of ``0`` is Odoo's "no limit checked": it allows any amount, so it exceeds
    every cap. Without a cap nothing exceeds it.
    """
    if not _is_number(limit) or limit < 0:
        raise ValueError(f"a credit limit must be a finite number >= 0, not {limit!r}")
    if not has_cap(cap):
        return False
    return limit == 0 or limit > cap


def required_deposit(grade_percent=None, country_percent=None):
    """The deposit share (0-100) an order needs and where it comes from: ``(percent, source)``.

    The larger of the grade's and the country's deposit applies; ``source`` is
    :data:`SOURCE_GRADE` or :data:`SOURCE_COUNTRY` (the grade on a tie: it is the
    customer's own), ``None`` when neither requires a deposit (``percent`` 0).
    ``None`` means "no such requirement" (no grade, or a country without a class).
    """
    for name, value in (("grade deposit", grade_percent), ("country deposit", country_percent)):
        if value is not None and not is_deposit_percent(value):
            raise ValueError(f"{name} must be a number from 0 to 100 or None, not {value!r}")
    grade_percent = grade_percent or 0.0
    country_percent = country_percent or 0.0
    if grade_percent <= 0 and country_percent <= 0:
        return 0.0, None
    if country_percent > grade_percent:
        return country_percent, SOURCE_COUNTRY
    return grade_percent, SOURCE_GRADE
