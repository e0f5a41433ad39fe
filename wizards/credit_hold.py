from odoo import api, fields, models
from odoo.exceptions import UserError


class CreditHold(models.TransientModel):
    """Put customers on credit hold, with the reason recorded."""

    _name = "credit.hold"
    _description = "Put Customer on Credit Hold"

    profile_ids = fields.Many2many("credit.profile", string="Credit Profiles", required=True)
    reason = fields.Text(required=True)

    @api.depends("profile_ids.partner_id.name")
    def _compute_display_name(self):
        for wizard in self:
            wizard.display_name = self.env._(
                "Credit Hold of %(customers)s",
                customers=", ".join(wizard.profile_ids.partner_id.mapped("name")),
            )

    def action_hold(self):
        self.ensure_one()
        if not (self.reason or "").strip():
            raise UserError(self.env._("Give the reason for the credit hold."))
        self.profile_ids._put_on_hold(self.reason)
        return {"type": "ir.actions.act_window_close"}
