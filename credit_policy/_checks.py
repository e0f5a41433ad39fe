"""Small input checks shared by the policy modules (private)."""

import math
from numbers import Real


def is_number(value):
    """Whether ``value`` is a real, finite number (booleans excluded)."""
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def is_whole(value, minimum):
    """Whether ``value`` is an ``int`` (not a bool) of at least ``minimum``."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum
