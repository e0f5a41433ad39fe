from odoo import api, models


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    @api.model_create_multi
    def create(self, vals_list):
        orders = self.env["sale.order"].browse(
            {vals["order_id"] for vals in vals_list if vals.get("order_id")}
        )
        totals = self._credit_confirmed_totals(orders)
        lines = super().create(vals_list)
        self._credit_recheck_grown(totals)
        return lines

    def write(self, vals):
        totals = self._credit_confirmed_totals(self.order_id)
        result = super().write(vals)
        self._credit_recheck_grown(totals)
        return result

    @api.model
    def _credit_confirmed_totals(self, orders):
        """Totals of the confirmed orders under credit control, before an amendment."""
        watched = orders.filtered(lambda o: o.state == "sale" and o.company_id.credit_control_enabled)
        return {order: order.amount_total for order in watched}

    @api.model
    def _credit_recheck_grown(self, totals):
        """Amending a confirmed order upward re-runs the credit check on it."""
        for order, previous_total in totals.items():
            if order.currency_id.compare_amounts(order.amount_total, previous_total) > 0:
                order._credit_check_amendment(previous_total)
