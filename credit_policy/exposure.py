"""Exposure arithmetic: what a customer owes or will owe, in one currency."""

from dataclasses import dataclass

# The exposure parts every check counts, in the order they are shown.
CORE_PARTS = ("receivables", "uninvoiced_orders", "draft_invoices")


@dataclass(frozen=True)
class Exposure:
    """A customer's exposure, every part already in the limit's currency.

    ``receivables`` are open posted receivables (credit notes and unreconciled
    payments reduce them), ``uninvoiced_orders`` the not-yet-invoiced part of
    confirmed orders, ``draft_invoices`` draft invoices not coming from an
    order (counted only when the company says so), ``current_order`` the part
    of the order being checked that is not prepaid.
    """

    receivables: float = 0.0
    uninvoiced_orders: float = 0.0
    draft_invoices: float = 0.0
    current_order: float = 0.0
    # Parts an extension adds, as ``((code, amount), ...)``: counted like the core parts.
    other_parts: tuple = ()

    @property
    def parts(self):
        """Every part before the order, core parts first: ``((code, amount), ...)``."""
        core = tuple((code, getattr(self, code)) for code in CORE_PARTS)
        return core + tuple(self.other_parts)

    @property
    def before_order(self):
        """Exposure without the order being checked."""
        return sum(amount for _code, amount in self.parts)

    @property
    def total(self):
        """Exposure including the order being checked."""
        return self.before_order + self.current_order

    def available(self, limit):
        """Credit left under ``limit`` before this order (may be negative)."""
        return limit - self.before_order

    def utilization(self, limit):
        """Exposure (with this order) as a share of ``limit``; ``None`` without a limit."""
        if not limit:
            return None
        return self.total / limit
