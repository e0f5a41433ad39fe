from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

from ..credit_policy.decision import approval_covers


class CreditApproval(models.Model):
    """A request to let one order through a blocking credit check, and its decision.

    It keeps a snapshot of the figures it was requested on. Once approved it
    covers its order while the order total stays within ``approved_amount``
    (order currency) and until ``valid_until``.
    """

    _name = "credit.approval"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _description = "Credit Override Approval"
    _order = "request_date desc, id desc"
    _check_company_auto = True

    name = fields.Char(string="Reference", readonly=True, copy=False, default=lambda self: _("New"))
    order_id = fields.Many2one(
        "sale.order", string="Order", required=True, index=True, readonly=True, ondelete="cascade", check_company=True
    )
    partner_id = fields.Many2one("res.partner", string="Customer", required=True, index=True, readonly=True)
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    company_currency_id = fields.Many2one(related="company_id.currency_id", string="Company Currency")
    order_currency_id = fields.Many2one(related="order_id.currency_id", string="Order Currency")
    state = fields.Selection(
        [("pending", "Pending"), ("approved", "Approved"), ("rejected", "Rejected"), ("cancelled", "Cancelled")],
        default="pending",
        required=True,
        readonly=True,
        tracking=True,
        index=True,
    )
    requested_by_id = fields.Many2one(
        "res.users", string="Requested By", required=True, readonly=True, default=lambda self: self.env.user
    )
    request_date = fields.Datetime(default=fields.Datetime.now, required=True, readonly=True)
    request_reason = fields.Text(required=True, readonly=True)
    approver_id = fields.Many2one("res.users", string="Decided By", readonly=True, tracking=True)
    decision_date = fields.Datetime(readonly=True)
    decision_reason = fields.Text(tracking=True)
    approved_amount = fields.Monetary(
        currency_field="order_currency_id",
        tracking=True,
        help="The approval covers the order while its total stays within this amount.",
    )
    valid_until = fields.Date(tracking=True, help="The approval no longer covers the order after this date.")
    # Snapshot of what the request was made on (company currency).
    snapshot_order_amount = fields.Monetary(currency_field="order_currency_id", readonly=True, string="Order Total")
    snapshot_limit = fields.Monetary(currency_field="company_currency_id", readonly=True, string="Credit Limit")
    snapshot_exposure_before = fields.Monetary(
        currency_field="company_currency_id", readonly=True, string="Exposure Before Order"
    )
    snapshot_exposure_after = fields.Monetary(
        currency_field="company_currency_id", readonly=True, string="Exposure After Order"
    )
    snapshot_reasons = fields.Text(readonly=True, string="Blocking Reasons")
    is_covering = fields.Boolean(compute="_compute_is_covering", string="Covers the Order")

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends("state", "approved_amount", "valid_until", "order_id.amount_total")
    def _compute_is_covering(self):
        today = fields.Date.context_today(self)
        for approval in self:
            approval.is_covering = approval._covers(approval.order_id, today)

    def _covers(self, order, check_date):
        self.ensure_one()
        return (
            self.state == "approved"
            and self.order_id == order
            and approval_covers(self.approved_amount, self.valid_until, order.amount_total, check_date)
        )

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            vals["name"] = self.env["ir.sequence"].next_by_code("credit.approval") or _("New")
            # A request starts pending, by its creator, whatever the caller sent.
            vals.update(state="pending", requested_by_id=self.env.uid, approver_id=False, decision_date=False)
        return super().create(vals_list)

    def write(self, vals):
        decided_fields = {"approved_amount", "valid_until", "decision_reason"}
        if decided_fields & set(vals) and not self.env.su:
            self._check_can_decide()
            if any(approval.state != "pending" for approval in self):
                raise UserError(_("Only pending approvals can be changed."))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_decided(self):
        if not self.env.user.has_group("base.group_system"):
            raise AccessError(_("Credit approvals are kept; only administrators can delete them."))

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_approve(self):
        self._check_can_decide()
        for approval in self:
            approval._check_pending()
            approval.sudo().write(
                {
                    "state": "approved",
                    "approver_id": self.env.uid,
                    "decision_date": fields.Datetime.now(),
                    "approved_amount": approval.approved_amount or approval.order_id.amount_total,
                }
            )
            approval._close_activities()
            approval.order_id._credit_on_approval_decided(approval)
        return True

    def action_reject(self):
        self._check_can_decide()
        for approval in self:
            approval._check_pending()
            if not (approval.decision_reason or "").strip():
                raise UserError(_("Give the reason for rejecting %(approval)s.", approval=approval.name))
            approval.sudo().write(
                {"state": "rejected", "approver_id": self.env.uid, "decision_date": fields.Datetime.now()}
            )
            approval._close_activities()
            approval.order_id._credit_on_approval_decided(approval)
        return True

    def action_cancel(self):
        for approval in self:
            approval._check_pending()
            if approval.requested_by_id != self.env.user:
                self._check_can_decide()
            approval.sudo().write({"state": "cancelled"})
            approval._close_activities()
        return True

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _check_can_decide(self):
        if not self.env.user.has_group("sale_credit_control.group_credit_manager"):
            raise AccessError(_("Only credit managers can approve or reject credit override requests."))
        for approval in self:
            if approval.requested_by_id == self.env.user:
                raise UserError(
                    _(
                        "You requested %(approval)s yourself: another credit manager must decide on it.",
                        approval=approval.name,
                    )
                )

    def _check_pending(self):
        if self.state != "pending":
            raise UserError(
                _("%(approval)s is already %(state)s.", approval=self.name, state=self._state_label())
            )

    def _state_label(self):
        return dict(self._fields["state"]._description_selection(self.env))[self.state]

    def _close_activities(self):
        self.activity_unlink(["sale_credit_control.mail_activity_type_credit_approval"])

    def _schedule_manager_activities(self):
        activity_type = "sale_credit_control.mail_activity_type_credit_approval"
        for approval in self:
            managers = self.env["res.company"]._credit_manager_users(
                approval.company_id, exclude=approval.requested_by_id
            )
            for manager in managers:
                approval.activity_schedule(
                    activity_type,
                    user_id=manager.id,
                    summary=_("Credit override requested for %(order)s", order=approval.order_id.name),
                    note=approval.request_reason,
                )
