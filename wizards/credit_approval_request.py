from odoo import _, api, fields, models
from odoo.exceptions import UserError


class CreditApprovalRequest(models.TransientModel):
    """Ask a credit manager to let a blocked quotation through."""

    _name = "credit.approval.request"
    _description = "Request Credit Override Approval"

    order_id = fields.Many2one("sale.order", required=True, readonly=True)
    reason = fields.Text(required=True, help="Why this order should be confirmed despite the credit check.")
    credit_check_message = fields.Text(related="order_id.credit_check_message")

    @api.model
    def _prepare_approval_vals(self, order, reason):
        """Approval values with a snapshot of the figures the request is made on."""
        profile, decision, facts = order._credit_evaluate(lock=False)
        reasons = decision.blocking_reasons or decision.reasons
        return {
            "order_id": order.id,
            "partner_id": profile.partner_id.id,
            "company_id": order.company_id.id,
            "request_reason": reason,
            "approved_amount": order.amount_total,
            "snapshot_order_amount": order.amount_total,
            "snapshot_limit": facts.limit,
            "snapshot_exposure_before": facts.exposure.before_order,
            "snapshot_exposure_after": facts.exposure.total,
            "snapshot_reasons": "\n".join(profile._explain(decision, facts, reasons)),
        }

    def action_request(self):
        self.ensure_one()
        order = self.order_id
        if not (self.reason or "").strip():
            raise UserError(_("Give the reason for the override request."))
        if order.state not in ("draft", "sent"):
            raise UserError(_("Only quotations can be sent for credit approval; %(order)s is confirmed.", order=order.name))
        if "pending" in order.credit_approval_ids.mapped("state"):
            raise UserError(_("%(order)s already has a pending credit approval request.", order=order.name))
        approval = self.env["credit.approval"].create(self._prepare_approval_vals(order, self.reason))
        approval.sudo()._schedule_manager_activities()
        order.sudo().write({"credit_check_state": "pending"})
        order.sudo().message_post(
            body=_(
                "Credit override %(approval)s requested by %(user)s: %(reason)s",
                approval=approval.name,
                user=self.env.user.name,
                reason=self.reason,
            ),
            subtype_xmlid="mail.mt_note",
        )
        return {"type": "ir.actions.act_window_close"}
