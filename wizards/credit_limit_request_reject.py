from odoo import api, fields, models
from odoo.exceptions import UserError


class CreditLimitRequestReject(models.TransientModel):
    """Reject a credit limit request, with the reason recorded on it."""

    _name = "credit.limit.request.reject"
    _description = "Reject Credit Limit Request"

    request_id = fields.Many2one("credit.limit.request", string="Limit Request", required=True, readonly=True)
    reason = fields.Text(
        required=True, help="Why the limit is refused; kept on the request and told to the requester."
    )

    @api.depends("request_id.name")
    def _compute_display_name(self):
        for wizard in self:
            wizard.display_name = self.env._("Reject %(request)s", request=wizard.request_id.name or "")

    def action_reject(self):
        self.ensure_one()
        if not (self.reason or "").strip():
            raise UserError(
                self.env._("Give the reason for rejecting %(request)s.", request=self.request_id.name)
            )
        self.request_id.action_reject(self.reason)
        return {"type": "ir.actions.act_window_close"}
