from odoo import models


class PaymentTransaction(models.Model):
    _inherit = "payment.transaction"

    def _check_amount_and_confirm_order(self):
        # Orders paid online go through the credit check like any other; a blocked one
        # stays a quotation and the salesperson and credit managers are notified.
        with self.env["sale.order"]._credit_online_confirmation():
            orders = super()._check_amount_and_confirm_order()
        return orders.filtered(lambda order: order.state == "sale")
