from odoo import api, fields, models
from odoo.exceptions import UserError


class CreditApprovalDecide(models.TransientModel):
    """The credit manager's dialog deciding on an override request: approve up to an amount
    until a date with a note, or reject with the reason. The approval checks the decision
    (who decides, on what, with which figures) exactly as when its methods are called directly."""

    _name = "credit.approval.decide"
    _description = "Decide on a Credit Override Request"

    approval_id = fields.Many2one(
        "credit.approval", string="Override Request", required=True, readonly=True, ondelete="cascade"
    )
    decision = fields.Selection(
        [("approve", "Approve"), ("reject", "Reject")], required=True, readonly=True, default="approve"
    )
    order_id = fields.Many2one(related="approval_id.order_id")
    partner_id = fields.Many2one(related="approval_id.partner_id")
    order_currency_id = fields.Many2one(related="approval_id.order_currency_id")
    order_amount = fields.Monetary(
        compute="_compute_order_amount",
        currency_field="order_currency_id",
        string="Order Total",
        help="The order's total now: an approval below it does not let the order through.",
    )
    snapshot_reasons = fields.Text(related="approval_id.snapshot_reasons")
    request_reason = fields.Text(related="approval_id.request_reason")
    approved_amount = fields.Monetary(
        currency_field="order_currency_id",
        compute="_compute_proposal",
        store=True,
        readonly=False,
        help="The approval covers the order while its total stays within this amount (order currency).",
    )
    valid_until = fields.Date(
        compute="_compute_proposal",
        store=True,
        readonly=False,
        help="The approval no longer covers the order after this date. Empty: it does not expire.",
    )
    note = fields.Text(help="Kept on the approval and told to the salesperson.")
    below_order_amount = fields.Boolean(compute="_compute_order_amount")

    @api.depends("approval_id")
    def _compute_proposal(self):
        for wizard in self:
            if wizard.approval_id:
                wizard.approved_amount, wizard.valid_until = wizard.approval_id._default_decision_values()
            else:
                wizard.approved_amount, wizard.valid_until = 0.0, False

    @api.depends("approval_id", "approved_amount")
    def _compute_order_amount(self):
        for wizard in self:
            order = wizard.approval_id.order_id
            wizard.order_amount = order._credit_recomputed_total() if order else 0.0
            wizard.below_order_amount = bool(order) and (
                wizard.order_currency_id.compare_amounts(wizard.approved_amount, wizard.order_amount) < 0
            )

    def action_confirm(self):
        self.ensure_one()
        if self.decision == "approve":
            self.approval_id.action_approve(
                approved_amount=self.approved_amount, valid_until=self.valid_until, note=self.note or None
            )
        else:
            if not (self.note or "").strip():
                raise UserError(
                    self.env._("Give the reason for rejecting %(approval)s.", approval=self.approval_id.name)
                )
            self.approval_id.action_reject(reason=self.note)
        return {"type": "ir.actions.act_window_close"}

    @api.depends("decision", "approval_id.name")
    def _compute_display_name(self):
        for wizard in self:
            verb = self.env._("Approve") if wizard.decision == "approve" else self.env._("Reject")
            wizard.display_name = f"{verb} {wizard.approval_id.name or ''}".strip()
