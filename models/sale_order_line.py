from odoo import api, models
from odoo.exceptions import AccessError

# Stored fields the exposure of confirmed orders is computed from that Odoo computes itself:
# nobody but the system writes them where credit control is on.
PROTECTED_LINE_FIELDS = frozenset(
    (
        "state",
        "price_subtotal",
        "price_tax",
        "price_total",
        "price_reduce_taxexcl",
        "price_reduce_taxinc",
        "qty_invoiced",
        "qty_to_invoice",
        "untaxed_amount_invoiced",
        "untaxed_amount_to_invoice",
        "invoice_status",
        "is_downpayment",
        "order_partner_id",
        "currency_id",
        "company_id",
    )
)


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    @api.model_create_multi
    def create(self, vals_list):
        orders = self.env["sale.order"].browse(
            {vals["order_id"] for vals in vals_list if vals.get("order_id")}
        )
        totals = self._credit_confirmed_totals(orders)
        lines = super().create(vals_list)
        by_system = any(self._credit_added_by_system(vals) for vals in vals_list)
        self._credit_recheck_grown(totals, by_system=by_system)
        return lines

    def write(self, vals):
        self._credit_check_protected_fields(vals)
        orders = self.order_id
        if vals.get("order_id"):
            orders |= self.env["sale.order"].browse(vals["order_id"])
        totals = self._credit_confirmed_totals(orders)
        result = super().write(vals)
        self._credit_recheck_grown(totals)
        return result

    def _credit_check_protected_fields(self, vals):
        written = PROTECTED_LINE_FIELDS & set(vals)
        if not written or self.env.su or not any(self.company_id.mapped("credit_control_enabled")):
            return
        raise AccessError(
            self.env._(
                "The credit check relies on %(fields)s of order lines: only Odoo itself sets them.",
                fields=", ".join(sorted(self._fields[name].string for name in written)),
            )
        )

    @api.model
    def _credit_added_by_system(self, vals):
        """Lines Odoo adds to confirmed orders by itself: re-invoiced costs (expenses, vendor
        bills) and delivery charges set when a picking is validated."""
        return bool(vals.get("is_expense") or vals.get("is_delivery"))

    @api.model
    def _credit_confirmed_totals(self, orders):
        """Totals of the confirmed orders under credit control, before an amendment."""
        watched = orders.filtered(lambda o: o.state == "sale" and o.company_id.credit_control_enabled)
        return {order: order.amount_total for order in watched}

    @api.model
    def _credit_recheck_grown(self, totals, by_system=False):
        """Amending a confirmed order upward re-runs the credit check on it. What Odoo adds
        by itself is never refused (its flow must go on): it is recorded and alerted."""
        for order, previous_total in totals.items():
            if order.currency_id.compare_amounts(order.amount_total, previous_total) > 0:
                if by_system:
                    order._credit_record_system_amendment(previous_total)
                else:
                    order._credit_check_amendment(previous_total)
