import math
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import format_date

from ..credit_policy.decision import approval_covers
from .recorded_text_columns import keep_recorded_text
from .res_company import MAX_CREDIT_AMOUNT

# The approval dialogs' form views, by decision ("approve", "reject").
DECIDE_VIEW_PREFIX = "sale_credit_control.credit_approval_decide_view_form_"
# What a requester gives; the rest of a request is the system's.
REQUEST_FIELDS = frozenset(("order_id", "request_reason"))
# What the approver decides on a pending request.
DECIDED_FIELDS = frozenset(("approved_amount", "valid_until", "decision_reason"))
# Set by the system and the decision methods only.
PROTECTED_FIELDS = frozenset(
    (
        "name",
        "order_id",
        "partner_id",
        "company_id",
        "order_currency_id",
        "state",
        "requested_by_id",
        "request_date",
        "request_reason",
        "approver_id",
        "decision_date",
        "snapshot_order_amount",
        "snapshot_limit",
        "snapshot_exposure_before",
        "snapshot_exposure_after",
        "snapshot_reasons",
        "snapshot_reason_data",
        "snapshot_recorded_reasons",
        "blocking_codes",
    )
)


class CreditApproval(models.Model):
    """A request to let one order through a blocking credit check, and its decision.

    It keeps a snapshot of the figures it was requested on. Once approved it
    covers its order (for the customer, company and currency it was requested
    for) while the order total stays within ``approved_amount`` (order
    currency), until ``valid_until``, and while no new reason blocks it.
    """

    _name = "credit.approval"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _description = "Credit Override Approval"
    _order = "request_date desc, id desc"
    _check_company_auto = True

    name = fields.Char(string="Reference", readonly=True, copy=False, default=lambda self: self.env._("New"))
    order_id = fields.Many2one(
        "sale.order",
        required=True,
        index=True,
        readonly=True,
        ondelete="cascade",
        check_company=True,
    )
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, readonly=True, check_company=True
    )
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    company_currency_id = fields.Many2one(related="company_id.currency_id", string="Company Currency")
    order_currency_id = fields.Many2one(
        "res.currency",
        required=True,
        readonly=True,
        help="Currency of the order when the approval was requested: the approved amount is in it.",
    )
    state = fields.Selection(
        [
            ("pending", "Pending"),
            ("approved", "Approved"),
            ("rejected", "Rejected"),
            ("cancelled", "Cancelled"),
        ],
        default="pending",
        required=True,
        readonly=True,
        tracking=True,
        index=True,
    )
    requested_by_id = fields.Many2one(
        "res.users", required=True, readonly=True, default=lambda self: self.env.user
    )
    request_date = fields.Datetime(default=fields.Datetime.now, required=True, readonly=True)
    request_reason = fields.Text(required=True, readonly=True)
    approver_id = fields.Many2one("res.users", string="Decided By", readonly=True, tracking=True)
    decision_date = fields.Datetime(readonly=True)
    decision_reason = fields.Text(tracking=True)
    approved_amount = fields.Monetary(
        currency_field="order_currency_id",
        tracking=True,
        help="The approval covers the order while its total stays within this amount. "
        "Proposed: the order total at request time; the approver may change it.",
    )
    valid_until = fields.Date(tracking=True, help="The approval no longer covers the order after this date.")
    # Snapshot of what the request was made on, taken by the system at request time.
    snapshot_order_amount = fields.Monetary(
        currency_field="order_currency_id", readonly=True, string="Order Total"
    )
    snapshot_limit = fields.Monetary(
        currency_field="company_currency_id", readonly=True, string="Credit Limit"
    )
    snapshot_exposure_before = fields.Monetary(
        currency_field="company_currency_id", readonly=True, string="Exposure Before Order"
    )
    snapshot_exposure_after = fields.Monetary(
        currency_field="company_currency_id", readonly=True, string="Exposure After Order"
    )
    snapshot_reasons = fields.Text(
        compute="_compute_snapshot_reasons", string="Blocking Reasons", help="In your language."
    )
    # What the check decided at request time, as codes and figures (see credit.profile._credit_reason_data).
    snapshot_reason_data = fields.Json(readonly=True, copy=False)
    # The reasons as text, of requests made before their data was kept (shown as they are).
    snapshot_recorded_reasons = fields.Text(readonly=True, copy=False)
    blocking_codes = fields.Char(
        readonly=True,
        help="Codes of the rules that blocked the order at request time: a rule blocking "
        "it for another reason later needs a new decision.",
    )
    is_covering = fields.Boolean(compute="_compute_is_covering", string="Covers the Order")
    can_decide = fields.Boolean(
        compute="_compute_can_decide", help="The current user may approve or reject this request."
    )

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    def _auto_init(self):
        # The snapshot reasons were stored as text in the column "snapshot_reasons": kept, as recorded.
        keep_recorded_text(self.env.cr, self._table, "snapshot_reasons", "snapshot_recorded_reasons")
        return super()._auto_init()

    @api.depends("snapshot_reason_data", "snapshot_recorded_reasons")
    @api.depends_context("lang")
    def _compute_snapshot_reasons(self):
        profiles = self.env["credit.profile"]
        for approval in self:
            data = approval.snapshot_reason_data
            approval.snapshot_reasons = (
                profiles._credit_render_reason_text(data) if data else approval.snapshot_recorded_reasons
            )

    @api.depends(
        "state",
        "approved_amount",
        "valid_until",
        "partner_id",
        "company_id",
        "order_currency_id",
        "order_id.amount_total",
        "order_id.partner_invoice_id",
        "order_id.currency_id",
    )
    def _compute_is_covering(self):
        today = fields.Date.context_today(self)
        for approval in self:
            approval.is_covering = approval._covers(approval.order_id, today)

    @api.depends_context("uid")
    @api.depends("state", "requested_by_id")
    def _compute_can_decide(self):
        is_manager = self.env.user.has_group("sale_credit_control.group_credit_manager")
        for approval in self:
            approval.can_decide = (
                is_manager and approval.state == "pending" and approval.requested_by_id != self.env.user
            )

    def _covers(self, order, check_date, decision=None):
        """Whether this approval lets ``order`` through on ``check_date``.

        It covers only what it was granted for: the same order, customer, company and
        currency, an order total within the approved amount, until its date, and (given
        the ``decision`` of a new check) no blocking reason that was not there when it
        was requested.
        """
        self.ensure_one()
        if not (self.state == "approved" and self._is_bound_to(order)):
            return False
        if decision and not {r.code for r in decision.blocking_reasons} <= set(self._blocking_code_list()):
            return False
        total = order._credit_recomputed_total()
        return approval_covers(self.approved_amount, self.valid_until, total, check_date)

    def _is_bound_to(self, order):
        return (
            self.order_id == order
            and self.partner_id == order._credit_customer()
            and self.company_id == order.company_id
            and self.order_currency_id == order.currency_id
        )

    def _blocking_code_list(self):
        return [code for code in (self.blocking_codes or "").split(",") if code]

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        """A request names its order and reason; everything else is the system's: the
        customer, company, currency and figures at request time, pending, by its creator."""
        if not self.env.su:
            for vals in vals_list:
                extra = set(vals) - REQUEST_FIELDS
                if extra:
                    raise AccessError(
                        self.env._(
                            "A credit approval request gives only its order and reason; "
                            "%(fields)s are set by the system.",
                            fields=", ".join(
                                sorted(self._fields[name].string for name in extra if name in self._fields)
                            ),
                        )
                    )
        vals_list = [self._prepare_request_vals(vals) for vals in vals_list]
        approvals = super().create(vals_list)
        approvals._notify_requested()
        return approvals

    def _notify_requested(self):
        """The quotation waits for the decision, showing the reasons it was requested on, and
        whoever may decide gets an activity."""
        for approval in self:
            order = approval.order_id.sudo()
            order.write(
                {"credit_check_state": "pending", **order._credit_message_vals(approval.snapshot_reason_data)}
            )
            order.message_post(
                body=self.env._(
                    "Credit override %(approval)s requested by %(user)s: %(reason)s",
                    approval=approval.name,
                    user=approval.requested_by_id.name,
                    reason=approval.request_reason,
                ),
                subtype_xmlid="mail.mt_note",
            )
        self.sudo()._schedule_manager_activities()

    @api.model
    def _prepare_request_vals(self, vals):
        order = self.env["sale.order"].browse(vals.get("order_id"))
        if not order.exists():
            raise UserError(self.env._("A credit approval request needs the order it is for."))
        order.check_access("read")
        if not (vals.get("request_reason") or "").strip():
            raise UserError(self.env._("Give the reason for the override request."))
        if order.state not in ("draft", "sent"):
            raise UserError(
                self.env._(
                    "Only quotations can be sent for credit approval; %(order)s is confirmed.",
                    order=order.name,
                )
            )
        if "pending" in order.credit_approval_ids.mapped("state"):
            raise UserError(
                self.env._("%(order)s already has a pending credit approval request.", order=order.name)
            )
        profile, decision, facts = order._credit_evaluate(lock=False)
        reasons = decision.blocking_reasons or decision.reasons
        total = order._credit_recomputed_total()
        return {
            **{name: value for name, value in vals.items() if name not in REQUEST_FIELDS},
            "name": self.env["ir.sequence"].next_by_code("credit.approval") or self.env._("New"),
            "order_id": order.id,
            "request_reason": vals.get("request_reason"),
            "partner_id": profile.partner_id.id,
            "company_id": order.company_id.id,
            "order_currency_id": order.currency_id.id,
            "state": "pending",
            # Only the system (e.g. demo data) may name a requester other than the current user.
            "requested_by_id": vals.get("requested_by_id")
            if self.env.su and vals.get("requested_by_id")
            else self.env.uid,
            "request_date": fields.Datetime.now(),
            "approver_id": False,
            "decision_date": False,
            # The approver may change it; the requester never sets it.
            "approved_amount": total,
            "snapshot_order_amount": total,
            "snapshot_limit": facts.limit,
            "snapshot_exposure_before": facts.exposure.before_order,
            "snapshot_exposure_after": facts.exposure.total,
            "snapshot_reason_data": profile._credit_reason_data(decision, facts, reasons),
            "blocking_codes": ",".join(reason.code for reason in decision.blocking_reasons),
        }

    def write(self, vals):
        if not self.env.su:
            if PROTECTED_FIELDS & set(vals):
                raise AccessError(
                    self.env._(
                        "%(fields)s of a credit approval change only through its Approve, Reject and "
                        "Cancel buttons.",
                        fields=", ".join(
                            sorted(self._fields[name].string for name in PROTECTED_FIELDS & set(vals))
                        ),
                    )
                )
            if DECIDED_FIELDS & set(vals):
                self._check_can_decide()
                if any(approval.state != "pending" for approval in self):
                    raise UserError(self.env._("Only pending approvals can be changed."))
        result = super().write(vals)
        if vals.get("state") in ("approved", "rejected"):
            self.env["credit.decision.log"]._log_approvals(self)
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_except_decided(self):
        if not self.env.user.has_group("base.group_system"):
            raise AccessError(self.env._("Credit approvals are kept; only administrators can delete them."))

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_approve(self, approved_amount=None, valid_until=None, note=None):
        """Approve up to ``approved_amount`` (order currency) until ``valid_until``, with ``note``.

        Not given, each keeps what the approval holds (the amount defaults to the order total
        requested on). Only a credit manager other than the requester decides, on a pending
        request, and the figures must make sense: the approval dialog calls this too.
        """
        self._check_can_decide()
        for approval in self:
            approval._check_pending()
            amount = approved_amount
            if amount is None:
                amount = approval.approved_amount or approval.snapshot_order_amount
            until = approval.valid_until if valid_until is None else valid_until
            amount, until = approval._check_decision_values(amount, until)
            vals = {
                "state": "approved",
                "approver_id": self.env.uid,
                "decision_date": fields.Datetime.now(),
                "approved_amount": amount,
                "valid_until": until,
            }
            if note is not None:
                vals["decision_reason"] = note
            approval.sudo().write(vals)
            approval._close_activities(self.env._("Approved."))
            approval.order_id._credit_on_approval_decided(approval)
        return True

    def action_reject(self, reason=None):
        """Reject with ``reason`` (default: the decision reason already written; required)."""
        self._check_can_decide()
        for approval in self:
            approval._check_pending()
            reason_text = (approval.decision_reason if reason is None else reason) or ""
            if not reason_text.strip():
                raise UserError(
                    self.env._("Give the reason for rejecting %(approval)s.", approval=approval.name)
                )
            approval.sudo().write(
                {
                    "state": "rejected",
                    "approver_id": self.env.uid,
                    "decision_date": fields.Datetime.now(),
                    "decision_reason": reason_text.strip(),
                }
            )
            approval._close_activities(self.env._("Rejected."))
            approval.order_id._credit_on_approval_decided(approval)
        return True

    def action_open_approve_dialog(self):
        """The dialog asking the approved amount, the expiry date and a note."""
        return self._open_decision_dialog("approve", self.env._("Approve Credit Override"))

    def action_open_reject_dialog(self):
        """The dialog asking why the override is refused."""
        return self._open_decision_dialog("reject", self.env._("Reject Credit Override"))

    def _open_decision_dialog(self, decision, title):
        self.ensure_one()
        self._check_can_decide()
        self._check_pending()
        return {
            "type": "ir.actions.act_window",
            "name": title,
            "res_model": "credit.approval.decide",
            "view_mode": "form",
            "views": [(self.env.ref(f"{DECIDE_VIEW_PREFIX}{decision}").id, "form")],
            "target": "new",
            "context": {"default_approval_id": self.id, "default_decision": decision},
        }

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

    def _void_if_unbound(self):
        """Cancel the pending and approved approvals whose order changed customer, company
        or currency: they were granted for something else, a new decision is needed."""
        for approval in self.filtered(lambda a: a.state in ("pending", "approved")):
            if approval._is_bound_to(approval.order_id):
                continue
            approval.sudo().write({"state": "cancelled"})
            approval._close_activities()
            note = self.env._(
                "Credit override %(approval)s voided: the order's customer, company or currency changed "
                "after it was requested.",
                approval=approval.name,
            )
            approval.sudo().message_post(body=note)
            approval.order_id.sudo().write({"credit_check_state": "none", "credit_check_message": False})
            approval.order_id.sudo().message_post(body=note, subtype_xmlid="mail.mt_note")

    def _check_can_decide(self):
        if not self.env.user.has_group("sale_credit_control.group_credit_manager"):
            raise AccessError(
                self.env._("Only credit managers can approve or reject credit override requests.")
            )
        for approval in self:
            if approval.requested_by_id == self.env.user:
                raise UserError(
                    self.env._(
                        "You requested %(approval)s yourself: another credit manager must decide on it.",
                        approval=approval.name,
                    )
                )

    def _check_pending(self):
        if self.state != "pending":
            raise UserError(
                self.env._(
                    "%(approval)s is already %(state)s.", approval=self.name, state=self._state_label()
                )
            )

    def _state_label(self):
        return dict(self._fields["state"]._description_selection(self.env))[self.state]

    def _close_activities(self, feedback=None):
        """Mark the credit managers' "decide on this request" activities done."""
        self.sudo().activity_feedback(
            ["sale_credit_control.mail_activity_type_credit_approval"], feedback=feedback
        )

    def _close_for_confirmed_order(self):
        """Their order is confirmed: a request still pending needs no decision any more (it is
        cancelled), and no credit manager keeps an activity for it."""
        for approval in self.filtered(lambda a: a.state == "pending"):
            approval.sudo().write({"state": "cancelled"})
            approval.sudo().message_post(
                body=self.env._(
                    "Credit override %(approval)s cancelled: %(order)s was confirmed without it.",
                    approval=approval.name,
                    order=approval.order_id.name,
                ),
                subtype_xmlid="mail.mt_note",
            )
        self._close_activities(self.env._("The order is confirmed."))

    def _default_decision_values(self):
        """``(amount, expiry date)`` the approval dialog proposes: what the order needs now (its
        total, at least the amount requested) until today plus the company's validity days."""
        self.ensure_one()
        total = self.order_id._credit_recomputed_total() if self.order_id else 0.0
        amount = max(total, self.approved_amount or 0.0, self.snapshot_order_amount or 0.0)
        days = self.company_id.credit_approval_validity_days
        until = fields.Date.context_today(self) + timedelta(days=days) if days > 0 else False
        return amount, until

    def _check_decision_values(self, amount, valid_until):
        """``(amount, valid_until)`` as a number and a date; refuse an amount that is not a positive
        figure within the largest credit amount, or an expiry date that is not a date or is past."""
        self.ensure_one()
        try:
            amount = float(amount)
        except (TypeError, ValueError):
            amount = math.nan
        currency = self.order_currency_id
        positive = math.isfinite(amount) and currency.compare_amounts(amount, 0.0) > 0
        if not (positive and amount <= MAX_CREDIT_AMOUNT):
            company = self.env["res.company"]
            raise UserError(
                self.env._(
                    "The approved amount of %(approval)s must be more than zero and at most %(maximum)s, "
                    "not %(amount)s.",
                    approval=self.name,
                    maximum=company._credit_format_money(MAX_CREDIT_AMOUNT, currency),
                    amount=company._credit_format_figure(amount, currency=currency),
                )
            )
        try:
            valid_until = fields.Date.to_date(valid_until) or False
        except (TypeError, ValueError):
            raise UserError(
                self.env._(
                    "%(approval)s: %(date)s is not a date.", approval=self.name, date=str(valid_until)[:40]
                )
            ) from None
        if valid_until and valid_until < fields.Date.context_today(self):
            raise UserError(
                self.env._(
                    "%(approval)s cannot be valid until %(date)s: the date is past. Give today or a "
                    "later date, or no date for an approval that does not expire.",
                    approval=self.name,
                    date=format_date(self.env, valid_until),
                )
            )
        return amount, valid_until

    def _schedule_manager_activities(self):
        """An activity for each credit manager who may decide; when the requester is the only
        one, the administrators are asked to name another, and the request says so."""
        activity_type = "sale_credit_control.mail_activity_type_credit_approval"
        for approval in self:
            deciders = self.env["res.company"]._credit_manager_users(
                approval.company_id, exclude=approval.requested_by_id
            )
            summary = self.env._("Credit override requested for %(order)s", order=approval.order_id.name)
            if not deciders:
                deciders = approval._administrators() - approval.requested_by_id
                summary = self.env._(
                    "Credit override for %(order)s: no credit manager other than the requester "
                    "%(user)s can decide; make another user a credit manager.",
                    order=approval.order_id.name,
                    user=approval.requested_by_id.name,
                )
                approval.message_post(body=summary)
            for user in deciders:
                approval.activity_schedule(
                    activity_type, user_id=user.id, summary=summary[:250], note=approval.request_reason
                )

    def _administrators(self):
        group = self.env.ref("base.group_system")
        return group.sudo().users.filtered(
            lambda user: self.company_id in user.company_ids and not user.share and user.active
        )
