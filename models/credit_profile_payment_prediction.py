from odoo import fields, models


class CreditProfile(models.Model):
    _inherit = "credit.profile"  # pylint: disable=consider-merging-classes-inherited  # split by topic

    # ------------------------------------------------------------
    # PREDICTED LATE SHARE (active late-payment model)
    # ------------------------------------------------------------

    predicted_late_share = fields.Float(
        readonly=True,
        copy=False,
        aggregator=False,
        help="Probability that the customer's next invoice is paid late, from the company's active "
        "late-payment model and the customer's payments so far. Empty: no model, or no payment yet.",
    )
    predicted_late_share_known = fields.Boolean(
        string="Late Share Predicted",
        readonly=True,
        copy=False,
        help="Whether the last scoring gave the customer a predicted late share (it needs a payment).",
    )
    predicted_late_share_previous = fields.Float(
        string="Previous Predicted Late Share",
        readonly=True,
        copy=False,
        aggregator=False,
        help="The predicted late share before the last scoring.",
    )
    predicted_late_share_date = fields.Date(
        string="Predicted On",
        readonly=True,
        copy=False,
        help="When the active late-payment model last scored the customer.",
    )
