from odoo import api, fields, models


class CreditPaymentModelTrain(models.TransientModel):
    """Train a late-payment model for one company: a window of invoice dates, a split date, what
    counts as late, the penalty and the features. Creates a draft model and opens it; a credit
    manager activates it after reading its validation."""

    _name = "credit.payment.model.train"
    _description = "Train a Late-Payment Model"
    _check_company_auto = True

    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        domain="[('id', 'in', allowed_company_ids)]",
    )
    date_from = fields.Date(string="Invoices From", required=True)
    date_to = fields.Date(string="Invoices To", required=True)
    split_date = fields.Date(
        required=True,
        help="The model learns from the invoices dated and due before this date and is validated on "
        "the invoices dated on or after it.",
    )
    late_beyond_days = fields.Integer(
        string="Late Beyond (days)",
        default=0,
        help="What the model predicts: 0, paid after the due date (the late share of the scorecard); "
        "N, paid more than N days after it.",
    )
    penalty = fields.Float(
        default=1.0,
        help="L2 penalty: higher values keep the weights small (steadier on few invoices).",
    )
    feature_ids = fields.Many2many(
        "credit.payment.feature",
        string="Features",
        default=lambda self: self.env["credit.payment.feature"]._default_features(),
    )

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        defaults = self.env["credit.payment.model"]._training_defaults(self.env.company)
        for name in ("date_from", "date_to", "split_date"):
            if name in fields_list and not values.get(name):
                values[name] = defaults[name]
        return values

    def _compute_display_name(self):
        for wizard in self:
            wizard.display_name = self.env._("Train a Late-Payment Model")

    def action_train(self):
        self.ensure_one()
        model = self.env["credit.payment.model"]._train_model(
            self.company_id,
            self.date_from,
            self.date_to,
            self.split_date,
            self.late_beyond_days,
            self.penalty,
            self.feature_ids,
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": "credit.payment.model",
            "res_id": model.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "current",
        }
