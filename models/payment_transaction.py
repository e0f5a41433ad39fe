from odoo import models


class PaymentTransaction(models.Model):
    _inherit = "payment.transaction"

    def _check_amount_and_confirm_order(self):
        # Orders paid online go through the credit check like any other; a blocked one
        # stays a quotation and the salesperson and credit managers are notified.
        orders = super(
            PaymentTransaction, self.with_context(credit_online_confirmation=True)
        )._check_amount_and_confirm_order()
        return orders.filtered(lambda order: order.state == "sale")
