from odoo import api, fields, models
from odoo.exceptions import AccessError

# res.partner ``invoice_sending_method`` values that send a paper (or downloaded) invoice; any
# other method (e-mail, e-invoicing networks) sends it electronically.
PAPER_SENDING_METHODS = ("manual", "snailmail")
# Written by the late-payment model only (by SQL, see credit.payment.model), never by a user.
PREDICTION_FIELDS = frozenset({"credit_late_probability", "credit_late_model_id"})


class AccountMove(models.Model):
    _inherit = "account.move"

    credit_late_probability = fields.Float(
        string="Late Payment Probability",
        readonly=True,
        copy=False,
        aggregator=False,
        help="Probability that this invoice is paid after its due date, from the company's active "
        "late-payment model: set when the invoice is posted and recomputed every night while it is open.",
    )
    credit_late_model_id = fields.Many2one(
        "credit.payment.model",
        string="Late-Payment Model",
        readonly=True,
        copy=False,
        index="btree_not_null",
        ondelete="set null",
        help="The model that gave the late payment probability.",
    )
    credit_invoice_delivery = fields.Selection(
        [("electronic", "Electronic"), ("paper", "Paper")],
        string="Invoice Delivery",
        copy=False,
        help="How the invoice reaches the customer; set when it is posted from the customer's invoice "
        "sending method, empty when unknown. The late-payment model may use it.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._credit_check_prediction_values(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._credit_check_prediction_values(vals)
        return super().write(vals)

    def _credit_check_prediction_values(self, vals):
        """The probability is the model's: no user sets it, over RPC neither (a billing user may
        write invoices, and a lower probability would move an invoice down the collections list)."""
        if not self.env.su and PREDICTION_FIELDS & vals.keys():
            raise AccessError(
                self.env._(
                    "The late payment probability of an invoice is set by the late-payment model only."
                )
            )

    def _post(self, soft=True):
        posted = super()._post(soft=soft)
        customer_invoices = posted.filtered(lambda move: move.move_type == "out_invoice")
        customer_invoices._credit_set_invoice_delivery()
        customer_invoices._credit_predict_late_payment()
        return posted

    def _credit_set_invoice_delivery(self):
        """How each invoice is sent, from its customer's sending method, unless already set."""
        deliveries = {}
        for move in self.filtered(lambda move: not move.credit_invoice_delivery):
            method = move.partner_id.with_company(move.company_id).invoice_sending_method
            if method:
                delivery = "paper" if method in PAPER_SENDING_METHODS else "electronic"
                deliveries[delivery] = deliveries.get(delivery, self.browse()) | move
        for delivery, moves in deliveries.items():
            moves.write({"credit_invoice_delivery": delivery})

    def _credit_predict_late_payment(self):
        """Score the invoices with their company's active model (nothing without one)."""
        Model = self.env["credit.payment.model"].sudo()
        for company, moves in self.grouped("company_id").items():
            model = Model._active_model(company)
            if model:
                model._store_invoice_predictions(moves)
