from odoo import api, fields, models


class CreditApprovalRequest(models.TransientModel):
    """Ask a credit manager to let a blocked quotation through."""

    _name = "credit.approval.request"
    _description = "Request Credit Override Approval"

    order_id = fields.Many2one("sale.order", required=True, readonly=True)
    reason = fields.Text(required=True, help="Why this order should be confirmed despite the credit check.")
    credit_check_message = fields.Text(related="order_id.credit_check_message")

    @api.depends("order_id.name")
    def _compute_display_name(self):
        for wizard in self:
            wizard.display_name = self.env._(
                "Request Approval of %(order)s", order=wizard.order_id.name or ""
            )

    def action_request(self):
        self.ensure_one()
        # The model checks the request, takes the snapshot of the figures and tells the
        # credit managers; the requester gives the order and why.
        self.env["credit.approval"].create({"order_id": self.order_id.id, "request_reason": self.reason})
        # Opened from the refusal dialog or the order's button: show the order's new status.
        return {"type": "ir.actions.client", "tag": "soft_reload"}
