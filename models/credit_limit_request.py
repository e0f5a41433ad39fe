import logging

from markupsafe import Markup
from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import float_compare, format_date, formatLang

from ..credit_policy.country import cap_recommendation
from ..credit_policy.limit_request import (
    ABOVE_RECOMMENDATION,
    ABOVE_THRESHOLD,
    STEP_APPLY,
    STEP_EXPIRE,
    STEP_REVERT,
    second_approval_reasons,
    temporary_limit_step,
)
from .res_partner import CREDIT_FILE_GROUPS  # the rating behind a request is the credit file

_logger = logging.getLogger(__name__)

ACTIVITY_TYPE = "sale_credit_control.mail_activity_type_credit_limit_request"

OPEN_STATES = ("draft", "submitted", "first_approved")


class CreditLimitRequest(models.Model):
    """A request to set or change a customer's credit limit (授信申请), and its approval.

    A credit manager approves it; when the limit (in company currency) is above
    the grade's recommendation or the company's threshold, a second approver of
    the grade's approval group must approve as well (two distinct people, neither
    the requester). Approval writes the limit through ``res.partner`` so that it
    lands in the limit history; a temporary limit is applied on its start date
    and reverted after its end date by a daily cron.

    Temporary limits of one customer in one company never overlap (refused at
    submission and approval): otherwise the second one would record the first
    one's amount as the limit to revert to and make it permanent. A permanent
    change while a temporary limit applies (approved request or direct edit)
    takes effect at once and becomes the limit the temporary one reverts to.
    """

    _name = "credit.limit.request"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _description = "Credit Limit Request"
    _order = "request_date desc, id desc"
    _check_company_auto = True
    _sql_constraints = [
        ("amount_positive", "CHECK(amount >= 0)", "A requested credit limit cannot be negative."),
    ]

    # Fields of the request itself: changed only while it is a draft.
    _request_fields = frozenset(
        (
            "partner_id",
            "company_id",
            "currency_id",
            "amount",
            "reason",
            "request_type",
            "date_from",
            "date_to",
        )
    )
    # Fields set by the workflow only (never by a user's write).
    _workflow_fields = frozenset(
        (
            "state",
            "requested_by_id",
            "submit_date",
            "first_approver_id",
            "first_approval_date",
            "second_approver_id",
            "second_approval_date",
            "decided_by_id",
            "decision_date",
            "rejection_reason",
            "application_state",
            "applied_date",
            "applied_limit",
            "ended_date",
            "previous_limit",
            "previous_limit_currency_id",
            "previous_limit_amount_currency",
            "amount_company",
            "conversion_date",
            "rating_id",
            "recommended_limit",
            "has_recommendation",
            "approval_group_id",
            "second_approval_threshold",
        )
    )

    name = fields.Char(string="Reference", readonly=True, copy=False, default=lambda self: _("New"))
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        tracking=True,
        check_company=True,
        domain="['|', ('is_company', '=', True), ('parent_id', '=', False)]",
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company, tracking=True
    )
    company_currency_id = fields.Many2one(related="company_id.currency_id", string="Company Currency")
    currency_id = fields.Many2one(
        "res.currency",
        compute="_compute_currency_id",
        store=True,
        readonly=False,
        precompute=True,
        required=True,
        tracking=True,
        help="Currency of the requested amount. Another currency than the company's sets a "
        "foreign-currency limit: that amount is the limit, converted at the rate of each check date.",
    )
    amount = fields.Monetary(
        string="Requested Limit",
        currency_field="currency_id",
        tracking=True,
        help="The credit limit asked for. 0 means that no limit is checked at all (unlimited credit).",
    )
    amount_company = fields.Monetary(
        string="Requested Limit (Company Currency)",
        currency_field="company_currency_id",
        compute="_compute_amount_company",
        store=True,
        readonly=True,
        help="The requested amount converted at the rate of the conversion date; "
        "converted again at the rate of the approval date.",
    )
    conversion_date = fields.Date(compute="_compute_amount_company", store=True, readonly=True)
    is_foreign_currency = fields.Boolean(compute="_compute_is_foreign_currency")
    reason = fields.Text(
        required=True, help="Why this limit is needed: business volume, payment cycle, rating..."
    )
    request_type = fields.Selection(
        [("permanent", "Permanent"), ("temporary", "Temporary")],
        string="Type",
        default="permanent",
        required=True,
        tracking=True,
        help="A temporary limit applies from its start date and reverts to the limit before it "
        "after its end date.",
    )
    date_from = fields.Date(string="Valid From", tracking=True)
    date_to = fields.Date(string="Valid To", tracking=True, help="Last day of the temporary limit.")
    state = fields.Selection(
        [
            ("draft", "Draft"),
            ("submitted", "Submitted"),
            ("first_approved", "Waiting Second Approval"),
            ("approved", "Approved"),
            ("rejected", "Rejected"),
            ("cancelled", "Cancelled"),
        ],
        default="draft",
        required=True,
        readonly=True,
        copy=False,
        tracking=True,
        index=True,
    )
    requested_by_id = fields.Many2one(
        "res.users", string="Requested By", required=True, readonly=True, default=lambda self: self.env.user
    )
    request_date = fields.Datetime(default=fields.Datetime.now, required=True, readonly=True, copy=False)
    submit_date = fields.Datetime(string="Submitted On", readonly=True, copy=False)
    first_approver_id = fields.Many2one("res.users", string="First Approver", readonly=True, copy=False)
    first_approval_date = fields.Datetime(readonly=True, copy=False)
    second_approver_id = fields.Many2one("res.users", string="Second Approver", readonly=True, copy=False)
    second_approval_date = fields.Datetime(readonly=True, copy=False)
    decided_by_id = fields.Many2one("res.users", string="Decided By", readonly=True, copy=False)
    decision_date = fields.Datetime(readonly=True, copy=False)
    rejection_reason = fields.Text(readonly=True, copy=False, tracking=True)

    # Figures the request is decided on (company currency), refreshed at submission and approval.
    previous_limit = fields.Monetary(
        string="Limit Before",
        currency_field="company_currency_id",
        compute="_compute_figures",
        store=True,
        readonly=True,
        copy=False,
        help="The customer's limit before this request was applied (0: no limit checked).",
    )
    # The limit before, as it was set when it was in another currency (restored by a revert).
    previous_limit_currency_id = fields.Many2one(
        "res.currency", string="Limit Before: Currency", readonly=True, copy=False
    )
    previous_limit_amount_currency = fields.Monetary(
        string="Limit Before (Its Currency)",
        currency_field="previous_limit_currency_id",
        readonly=True,
        copy=False,
    )
    rating_id = fields.Many2one(
        "credit.rating",
        string="Rating",
        compute="_compute_figures",
        store=True,
        readonly=True,
        copy=False,
        check_company=True,
        groups=CREDIT_FILE_GROUPS,
    )
    grade_code = fields.Char(related="rating_id.grade_code", string="Grade", groups=CREDIT_FILE_GROUPS)
    recommended_limit = fields.Monetary(
        currency_field="company_currency_id",
        compute="_compute_figures",
        store=True,
        readonly=True,
        copy=False,
        groups=CREDIT_FILE_GROUPS,
    )
    has_recommendation = fields.Boolean(compute="_compute_figures", store=True, readonly=True, copy=False)
    second_approval_threshold = fields.Monetary(
        string="Company Threshold",
        currency_field="company_currency_id",
        compute="_compute_figures",
        store=True,
        readonly=True,
        copy=False,
        help="Limits above this amount need a second approval in this company (0: no threshold).",
    )
    approval_group_id = fields.Many2one(
        "res.groups",
        string="Second Approval By",
        compute="_compute_figures",
        store=True,
        readonly=True,
        copy=False,
        help="Group of the grade (or the credit directors without a grade) that gives the second approval.",
    )
    needs_second_approval = fields.Boolean(compute="_compute_needs_second_approval", store=True)
    second_approval_note = fields.Text(
        compute="_compute_second_approval_note",
        string="Why a Second Approval",
        groups=CREDIT_FILE_GROUPS,  # names the grade's recommendation
    )

    # Application of the approved limit.
    application_state = fields.Selection(
        [("waiting", "Waiting for Start Date"), ("applied", "Applied"), ("ended", "Ended")],
        readonly=True,
        copy=False,
        tracking=True,
    )
    applied_limit = fields.Monetary(currency_field="company_currency_id", readonly=True, copy=False)
    applied_date = fields.Datetime(readonly=True, copy=False)
    ended_date = fields.Datetime(readonly=True, copy=False)

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends("company_id")
    def _compute_currency_id(self):
        for request in self:
            if not request.currency_id:
                request.currency_id = request.company_id.currency_id

    @api.depends("currency_id", "company_id")
    def _compute_is_foreign_currency(self):
        for request in self:
            request.is_foreign_currency = request.currency_id != request.company_id.currency_id

    @api.depends("amount", "currency_id", "company_id")
    def _compute_amount_company(self):
        today = fields.Date.context_today(self)
        for request in self:
            request.update(request._conversion_vals(today))

    @api.depends("partner_id", "company_id")
    def _compute_figures(self):
        for request in self:
            request.update(request._figures_vals())

    @api.depends("amount_company", "recommended_limit", "has_recommendation", "second_approval_threshold")
    def _compute_needs_second_approval(self):
        for request in self:
            request.needs_second_approval = bool(request._second_approval_reasons())

    @api.depends("amount_company", "recommended_limit", "has_recommendation", "second_approval_threshold")
    def _compute_second_approval_note(self):
        for request in self:
            lines = request._explain_second_approval(request._second_approval_reasons())
            request.second_approval_note = "\n".join(lines) or False

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains("partner_id")
    def _check_commercial_partner(self):
        for request in self:
            if request.partner_id != request.partner_id.commercial_partner_id:
                raise ValidationError(
                    _(
                        "Credit limits belong to the company, not to a contact or address: "
                        "request the limit of %(commercial)s instead of %(partner)s.",
                        commercial=request.partner_id.commercial_partner_id.display_name,
                        partner=request.partner_id.display_name,
                    )
                )

    @api.constrains("request_type", "date_from", "date_to")
    def _check_temporary_dates(self):
        for request in self.filtered(lambda r: r.request_type == "temporary"):
            if not request.date_from or not request.date_to:
                raise ValidationError(
                    _("A temporary limit needs a start and an end date (%(request)s).", request=request.name)
                )
            if request.date_to < request.date_from:
                raise ValidationError(
                    _(
                        "A temporary limit must end on or after its start: %(start)s is after %(end)s.",
                        start=format_date(self.env, request.date_from),
                        end=format_date(self.env, request.date_to),
                    )
                )

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            vals["name"] = self.env["ir.sequence"].next_by_code("credit.limit.request") or _("New")
            # A request starts as a draft of its creator, whatever the caller sent.
            for name in self._workflow_fields:
                vals.pop(name, None)
            vals.update(state="draft", requested_by_id=self.env.uid)
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su:
            self.check_access("write")
            workflow = self._workflow_fields & set(vals)
            if workflow:
                raise UserError(
                    _(
                        "The status, approvals and figures of a limit request are set by its workflow "
                        "(fields: %(fields)s).",
                        fields=", ".join(sorted(workflow)),
                    )
                )
            if self._request_fields & set(vals):
                not_draft = self.filtered(lambda r: r.state != "draft")
                if not_draft:
                    raise UserError(
                        _(
                            "Only draft limit requests can be changed; %(requests)s is already %(state)s.",
                            requests=", ".join(not_draft.mapped("name")),
                            state=not_draft[0]._state_label(),
                        )
                    )
        return super().write(vals)

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_submit(self):
        today = fields.Date.context_today(self)
        for request in self:
            if request.state != "draft":
                raise UserError(
                    _("%(request)s is already %(state)s.", request=request.name, state=request._state_label())
                )
            if request.requested_by_id != self.env.user and not request._is_credit_manager():
                raise AccessError(
                    _("Only the requester or a credit manager can submit %(request)s.", request=request.name)
                )
            request._check_can_submit(today)
            request.sudo()._refresh_figures(today)
            request.sudo().write({"state": "submitted", "submit_date": fields.Datetime.now()})
            request.sudo()._schedule_first_approval_activities()
            request._post(request._summary_lines(_("Submitted by %(user)s.", user=self.env.user.name)))
        return True

    def action_approve(self):
        for request in self:
            request._approve()
        return True

    def action_reject(self, reason=None):
        """Reject with ``reason`` (required)."""
        reason = (reason or "").strip()
        for request in self:
            request._check_decider()
            request._check_pending()
            if not reason:
                raise UserError(_("Give the reason for rejecting %(request)s.", request=request.name))
            request.sudo().write(
                {
                    "state": "rejected",
                    "rejection_reason": reason,
                    "decided_by_id": self.env.uid,
                    "decision_date": fields.Datetime.now(),
                }
            )
            request._close_activities()
            request._post([_("Rejected by %(user)s: %(reason)s", user=self.env.user.name, reason=reason)])
        return True

    def action_cancel(self):
        for request in self:
            if request.state in OPEN_STATES:
                if request.requested_by_id != self.env.user and not request._is_credit_manager():
                    raise AccessError(
                        _(
                            "Only the requester or a credit manager can cancel %(request)s.",
                            request=request.name,
                        )
                    )
            elif request.state == "approved" and request.application_state == "waiting":
                if not request._is_credit_manager():
                    raise AccessError(
                        _(
                            "Only a credit manager can cancel the approved temporary limit %(request)s.",
                            request=request.name,
                        )
                    )
            else:
                raise UserError(
                    _(
                        "%(request)s is %(state)s and can no longer be cancelled.",
                        request=request.name,
                        state=request._state_label(),
                    )
                )
            request.sudo().write(
                {
                    "state": "cancelled",
                    "application_state": False,
                    "decided_by_id": self.env.uid,
                    "decision_date": fields.Datetime.now(),
                }
            )
            request._close_activities()
            request._post([_("Cancelled by %(user)s.", user=self.env.user.name)])
        return True

    def action_open_reject_wizard(self):
        self.ensure_one()
        self._check_decider()
        self._check_pending()
        return {
            "type": "ir.actions.act_window",
            "name": _("Reject Limit Request"),
            "res_model": "credit.limit.request.reject",
            "view_mode": "form",
            "target": "new",
            "context": {"default_request_id": self.id},
        }

    # ------------------------------------------------------------
    # BUSINESS: approval
    # ------------------------------------------------------------

    def _approve(self):
        self.ensure_one()
        self._check_decider()
        self._check_pending()
        today = fields.Date.context_today(self)
        if self.request_type == "temporary" and self.date_to < today:
            raise UserError(
                _(
                    "The temporary limit of %(request)s ended on %(date)s: it can no longer be approved.",
                    request=self.name,
                    date=format_date(self.env, self.date_to),
                )
            )
        self._check_no_overlap()
        # Decide on today's figures: grade, recommendation, threshold and exchange rate.
        self.sudo()._refresh_figures(today)
        user = self.env.user
        now = fields.Datetime.now()
        if self.state == "submitted":
            if self.needs_second_approval:
                self.sudo().write(
                    {"state": "first_approved", "first_approver_id": user.id, "first_approval_date": now}
                )
                self._close_activities()
                self.sudo()._schedule_second_approval_activities()
                self._post(
                    [_("First approval by %(user)s; a second approval is required.", user=user.name)]
                    + self._explain_second_approval(self._second_approval_reasons())
                    + [
                        _(
                            "Second approval by a member of: %(group)s.",
                            group=self.approval_group_id.full_name,
                        )
                    ]
                )
                return
            self.sudo().write({"first_approver_id": user.id, "first_approval_date": now})
        else:
            if user == self.first_approver_id:
                raise UserError(
                    _(
                        "You already gave the first approval of %(request)s: the second approval must come "
                        "from another person.",
                        request=self.name,
                    )
                )
            if self.needs_second_approval:
                self._check_second_approver(user)
            self.sudo().write({"second_approver_id": user.id, "second_approval_date": now})
        self.sudo().write({"state": "approved", "decided_by_id": user.id, "decision_date": now})
        self._close_activities()
        self._post(self._approval_lines())
        self.sudo()._apply_if_due(today)

    def _check_decider(self):
        """Approvers and rejecters are credit managers, never the requester."""
        self.ensure_one()
        if not self._is_credit_manager():
            raise AccessError(
                _(
                    "Only credit managers can approve or reject limit requests (%(request)s).",
                    request=self.name,
                )
            )
        if self.requested_by_id == self.env.user:
            raise UserError(
                _(
                    "You requested %(request)s yourself: other people must decide on it.",
                    request=self.name,
                )
            )

    def _check_pending(self):
        self.ensure_one()
        if self.state not in ("submitted", "first_approved"):
            raise UserError(
                _(
                    "%(request)s is %(state)s: only submitted requests can be approved or rejected.",
                    request=self.name,
                    state=self._state_label(),
                )
            )

    def _check_second_approver(self, user):
        self.ensure_one()
        group = self.approval_group_id
        if group and group not in user.sudo().groups_id:
            raise AccessError(
                _(
                    "%(request)s asks for a limit of %(amount)s: its second approval must come from "
                    "a member of "
                    "%(group)s, which %(user)s is not.",
                    request=self.name,
                    amount=self._format_company(self.amount_company),
                    group=group.full_name,
                    user=user.name,
                )
                + "\n"
                + "\n".join(self._explain_second_approval(self._second_approval_reasons()))
            )

    def _check_can_submit(self, today):
        self.ensure_one()
        if not (self.reason or "").strip():
            raise UserError(_("Give the reason for the limit request %(request)s.", request=self.name))
        if self.request_type == "temporary" and self.date_to < today:
            raise UserError(
                _(
                    "The temporary limit of %(request)s would end on %(date)s, which has already passed.",
                    request=self.name,
                    date=format_date(self.env, self.date_to),
                )
            )
        self._check_no_overlap()

    def _check_no_overlap(self):
        """A temporary limit may not overlap another approved temporary limit of the same
        customer and company (the later one would revert to the earlier one's amount)."""
        for request in self.filtered(lambda r: r.request_type == "temporary" and r.date_from and r.date_to):
            other = self.sudo().search(
                [
                    ("id", "!=", request.id),
                    ("partner_id", "=", request.partner_id.id),
                    ("company_id", "=", request.company_id.id),
                    ("request_type", "=", "temporary"),
                    ("state", "=", "approved"),
                    ("application_state", "!=", "ended"),
                    ("date_from", "<=", request.date_to),
                    ("date_to", ">=", request.date_from),
                ],
                order="date_from, id",
                limit=1,
            )
            if other:
                raise ValidationError(
                    _(
                        "The temporary limit %(request)s (%(start)s to %(end)s) overlaps the approved "
                        "temporary limit %(other)s of %(partner)s (%(other_start)s to %(other_end)s, "
                        "%(other_amount)s). Temporary limits of a customer cannot overlap: choose "
                        "dates outside that period, or cancel %(other)s first if it has not started.",
                        request=request.name,
                        start=format_date(self.env, request.date_from),
                        end=format_date(self.env, request.date_to),
                        other=other.name,
                        partner=request.partner_id.display_name,
                        other_start=format_date(self.env, other.date_from),
                        other_end=format_date(self.env, other.date_to),
                        other_amount=other._format_company(other.amount_company),
                    )
                )

    def _is_credit_manager(self):
        return self.env.su or self.env.user.has_group("sale_credit_control.group_credit_manager")

    # ------------------------------------------------------------
    # BUSINESS: applying the limit
    # ------------------------------------------------------------

    def _apply_if_due(self, today):
        """Apply approved limits whose time has come (permanent: now; temporary: from the start date)."""
        for request in self:
            if request.request_type == "permanent":
                request._apply_limit()
                continue
            applied = request.application_state == "applied"
            step = temporary_limit_step(applied, request.date_from, request.date_to, today)
            if step == STEP_APPLY:
                request._apply_limit()
            elif step == STEP_REVERT:
                request._revert_limit()
            elif step == STEP_EXPIRE:
                request.write({"application_state": "ended", "ended_date": fields.Datetime.now()})
                request._post(
                    [
                        _(
                            "The temporary limit ended on %(date)s before it could be applied.",
                            date=format_date(self.env, request.date_to),
                        )
                    ]
                )
            elif not request.application_state:
                request.write({"application_state": "waiting"})
                request._post(
                    [
                        _(
                            "The temporary limit of %(amount)s applies from %(start)s to %(end)s.",
                            amount=request._format_company(request.amount_company),
                            start=format_date(self.env, request.date_from),
                            end=format_date(self.env, request.date_to),
                        )
                    ]
                )

    def _apply_limit(self):
        """Write the approved limit on the customer (recorded in the limit history)."""
        self.ensure_one()
        partner = self.partner_id.with_company(self.company_id).sudo()
        previous = partner.credit_limit
        profile = self._credit_profile()
        self.write(
            {
                "previous_limit": previous,
                **profile._credit_limit_before_vals(),
                "applied_limit": self.amount_company,
                "application_state": "applied",
                "applied_date": fields.Datetime.now(),
            }
        )
        if self.is_foreign_currency:
            # A limit in the requested currency: converted at each check date (see credit.profile).
            profile.with_context(credit_limit_request_id=self.id)._credit_set_limit(
                self.currency_id, self.amount, self._change_reason(), from_request=True
            )
            self.write({"applied_limit": partner.credit_limit})
        else:
            partner.with_context(
                credit_change_reason=self._change_reason(), credit_limit_request_id=self.id
            ).write({"credit_limit": self.amount_company})
        if self.request_type == "permanent":
            self._rebase_temporary_limits(self.partner_id, self.company_id)
        lines = [
            _(
                "Credit limit of %(partner)s set from %(old)s to %(new)s.",
                partner=self.partner_id.display_name,
                old=self._format_limit(previous),
                new=self._format_limit(self.amount, self.currency_id) + self._conversion_note(),
            )
        ]
        if self.request_type == "temporary":
            lines.append(
                _(
                    "Temporary until %(date)s; then it reverts to %(old)s.",
                    date=format_date(self.env, self.date_to),
                    old=self._format_limit(previous),
                )
            )
        self._post(lines)

    def _revert_limit(self):
        """End an applied temporary limit: back to the limit before it, unless changed since."""
        self.ensure_one()
        partner = self.partner_id.with_company(self.company_id).sudo()
        current = partner.credit_limit
        rounding = self.company_id.currency_id.rounding
        profile = self._credit_profile()
        # A limit in another currency is compared in it: its company-currency value follows the rate.
        if profile.limit_currency_id or self.is_foreign_currency:
            still_applied = profile._credit_limit_is(self.currency_id, self.amount)
        else:
            still_applied = float_compare(current, self.applied_limit, precision_rounding=rounding) == 0
        if self.previous_limit_currency_id or profile.limit_currency_id:
            previous_currency = self.previous_limit_currency_id
            back_to_previous = profile._credit_limit_is(
                previous_currency or self.company_id.currency_id,
                self.previous_limit_amount_currency if previous_currency else self.previous_limit,
            )
        else:
            back_to_previous = float_compare(current, self.previous_limit, precision_rounding=rounding) == 0
        if back_to_previous:
            # Nothing to revert: e.g. a permanent limit set while this one applied
            # (see _rebase_temporary_limits) is the limit to come back to.
            line = _(
                "The temporary limit ended on %(date)s: the credit limit stays at %(current)s, "
                "the limit it reverts to.",
                date=format_date(self.env, self.date_to),
                current=self._format_limit(current),
            )
        elif still_applied:
            reason = _("Temporary limit ended (%(request)s)", request=self.name)
            if self.previous_limit_currency_id:
                profile.with_context(credit_limit_request_id=self.id)._credit_set_limit(
                    self.previous_limit_currency_id,
                    self.previous_limit_amount_currency,
                    reason,
                    from_request=True,
                )
            else:
                partner.with_context(credit_change_reason=reason, credit_limit_request_id=self.id).write(
                    {"credit_limit": self.previous_limit}
                )
            line = _(
                "The temporary limit ended on %(date)s: the credit limit is back from %(temporary)s "
                "to %(old)s.",
                date=format_date(self.env, self.date_to),
                temporary=self._format_limit(self.applied_limit),
                old=self._format_limit(self.previous_limit),
            )
        else:
            line = _(
                "The temporary limit ended on %(date)s, but the credit limit was changed since "
                "to %(current)s: "
                "it is kept (not reverted to %(old)s).",
                date=format_date(self.env, self.date_to),
                current=self._format_limit(current),
                old=self._format_limit(self.previous_limit),
            )
        self.write({"application_state": "ended", "ended_date": fields.Datetime.now()})
        self._post([line])

    @api.model
    def _rebase_temporary_limits(self, partners, company):
        """A permanent limit set while a temporary limit applies replaces it at once and is
        the limit the temporary one reverts to when it ends (not the limit before it)."""
        requests = self.sudo().search(
            [
                ("partner_id", "in", partners.commercial_partner_id.ids),
                ("company_id", "=", company.id),
                ("request_type", "=", "temporary"),
                ("state", "=", "approved"),
                ("application_state", "=", "applied"),
            ]
        )
        for request in requests:
            limit = request.partner_id.with_company(company).sudo().credit_limit
            if not company.currency_id.compare_amounts(limit, request.previous_limit):
                continue
            before = request.previous_limit
            profile = request._credit_profile()
            request.write({"previous_limit": limit, **profile._credit_limit_before_vals()})
            request._post(
                [
                    _(
                        "The credit limit was set to %(new)s while this temporary limit applies: it is "
                        "in force now, and the limit kept when this temporary limit ends on %(date)s "
                        "(instead of %(old)s).",
                        new=request._format_limit(limit),
                        date=format_date(self.env, request.date_to),
                        old=request._format_limit(before),
                    )
                ]
            )

    @api.model
    def _cron_process_temporary_limits(self):
        """Daily: apply temporary limits whose period starts, revert those whose period is over."""
        today = fields.Date.context_today(self)
        requests = self.sudo().search(
            [
                ("state", "=", "approved"),
                ("request_type", "=", "temporary"),
                "|",
                "&",
                ("application_state", "=", "waiting"),
                ("date_from", "<=", today),
                "&",
                ("application_state", "=", "applied"),
                ("date_to", "<", today),
            ],
            order="date_from, id",
        )
        for request in requests:
            try:
                with self.env.cr.savepoint():
                    request.with_company(request.company_id)._apply_if_due(today)
            except Exception:
                # One customer's failure must not stop the others; it is retried tomorrow.
                _logger.exception("Temporary credit limit of %s could not be processed.", request.name)
        return True

    def _credit_profile(self):
        """The customer's credit profile in the request's company (as superuser, created if missing)."""
        self.ensure_one()
        return self.env["credit.profile"]._get_or_create(self.partner_id, self.company_id).with_company(
            self.company_id
        )

    def _change_reason(self):
        self.ensure_one()
        return _(
            "Limit request %(request)s (%(type)s) approved: %(reason)s",
            request=self.name,
            type=dict(self._fields["request_type"]._description_selection(self.env))[self.request_type],
            reason=self.reason,
        )

    # ------------------------------------------------------------
    # BUSINESS: figures
    # ------------------------------------------------------------

    def _conversion_vals(self, date):
        """The requested amount in company currency at the rate of ``date``."""
        self.ensure_one()
        company = self.company_id or self.env.company
        currency = self.currency_id or company.currency_id
        if currency == company.currency_id:
            amount = self.amount
        else:
            amount = currency._convert(self.amount, company.currency_id, company, date)
        return {"amount_company": amount, "conversion_date": date}

    def _figures_vals(self):
        """Current limit, rating, recommendation, threshold and second-approval group of the customer."""
        self.ensure_one()
        company = self.company_id or self.env.company
        partner = self.partner_id.commercial_partner_id
        director = self.env.ref("sale_credit_control.group_credit_director", raise_if_not_found=False)
        if not partner:
            return {
                "previous_limit": 0.0,
                "rating_id": False,
                "recommended_limit": 0.0,
                "has_recommendation": False,
                "second_approval_threshold": company.credit_limit_second_approval_threshold,
                "approval_group_id": director.id if director else False,
            }
        profile = (
            self.env["credit.profile"]
            .sudo()
            .search([("partner_id", "=", partner.id), ("company_id", "=", company.id)], limit=1)
        )
        rating = profile.rating_id
        group = rating.grade_id.approval_group_id or director
        country = self.env["credit.country.risk"].sudo()._credit_country_risk(partner, company)
        recommended, _capped = cap_recommendation(
            rating.recommended_limit if rating.has_recommendation else None,
            country.limit_cap if country else None,
        )
        return {
            "previous_limit": partner.sudo().with_company(company).credit_limit,
            "rating_id": rating.id,
            # The rating's recommendation, capped by today's cap of the customer's country (国家风险).
            "recommended_limit": recommended or 0.0,
            "has_recommendation": recommended is not None,
            "second_approval_threshold": company.credit_limit_second_approval_threshold,
            "approval_group_id": group.id if group else False,
        }

    def _refresh_figures(self, date):
        """Take the figures again as of ``date`` (before a submission or an approval)."""
        for request in self:
            vals = request._conversion_vals(date)
            vals.update(request._figures_vals())
            if request.application_state == "applied":
                vals.pop("previous_limit")
            request.write(vals)

    def _second_approval_reasons(self):
        self.ensure_one()
        request = self.sudo()  # the recommendation decides, whoever asks; only the reasons come back
        return second_approval_reasons(
            max(request.amount_company, 0.0),
            request.recommended_limit if request.has_recommendation else None,
            max(request.second_approval_threshold, 0.0),
        )

    def _explain_second_approval(self, reasons):
        self.ensure_one()
        amount = self._format_limit(self.amount_company)
        lines = []
        country = self._country_cap_of_recommendation() if ABOVE_RECOMMENDATION in reasons else None
        if country:
            lines.append(
                _(
                    "The requested limit %(amount)s is above %(cap)s, the most recommended for customers in "
                    "%(country)s (country risk class %(risk_class)s).",
                    amount=amount,
                    cap=self._format_company(self.recommended_limit),
                    country=self.env["res.country"].browse(country.country_id).name,
                    risk_class=country.risk_class,
                )
            )
        elif ABOVE_RECOMMENDATION in reasons:
            lines.append(
                _(
                    "The requested limit %(amount)s is above the limit of %(recommended)s recommended "
                    "for grade %(grade)s.",
                    amount=amount,
                    recommended=self._format_company(self.recommended_limit),
                    grade=self.grade_code or "-",
                )
            )
        if ABOVE_THRESHOLD in reasons:
            lines.append(
                _(
                    "The requested limit %(amount)s is above the company's second-approval threshold "
                    "of %(threshold)s.",
                    amount=amount,
                    threshold=self._format_company(self.second_approval_threshold),
                )
            )
        return lines

    def _country_cap_of_recommendation(self):
        """The country risk row whose cap is the recommendation (it capped the grade's), or ``None``."""
        self.ensure_one()
        request = self.sudo()  # the recommendation is credit-file data; the caller decides what to show
        company = request.company_id or self.env.company
        country = self.env["credit.country.risk"].sudo()._credit_country_risk(request.partner_id, company)
        if not request.has_recommendation or not country or not country.limit_cap:
            return None
        if company.currency_id.compare_amounts(country.limit_cap, request.recommended_limit):
            return None
        return country

    def _summary_lines(self, head):
        self.ensure_one()
        lines = [
            head,
            _(
                "Requested limit: %(amount)s%(converted)s; current limit: %(current)s.",
                amount=self._format_limit(self.amount, self.currency_id),
                converted=self._conversion_note(),
                current=self._format_limit(self.previous_limit),
            ),
        ]
        reasons = self._second_approval_reasons()
        if not self.env.user.has_groups(CREDIT_FILE_GROUPS):
            # The grade and its recommendation are credit-file data: not in what a salesperson posts.
            if reasons:
                lines.append(
                    _("A second approval is required, by a member of: %(group)s.", group=self.approval_group_id.full_name)
                )
            return lines
        country = self._country_cap_of_recommendation()
        if country:
            lines.append(
                _(
                    "Customers in %(country)s (country risk class %(risk_class)s) are recommended at most "
                    "%(cap)s.",
                    country=self.env["res.country"].browse(country.country_id).name,
                    risk_class=country.risk_class,
                    cap=self._format_company(self.recommended_limit),
                )
            )
        elif self.has_recommendation:
            lines.append(
                _(
                    "Grade %(grade)s recommends %(recommended)s.",
                    grade=self.grade_code,
                    recommended=self._format_company(self.recommended_limit),
                )
            )
        lines += self._explain_second_approval(reasons)
        if reasons:
            lines.append(
                _("Second approval by a member of: %(group)s.", group=self.approval_group_id.full_name)
            )
        return lines

    def _approval_lines(self):
        self.ensure_one()
        approvers = self.first_approver_id.name
        if self.second_approver_id:
            approvers = _("%(first)s and %(second)s", first=approvers, second=self.second_approver_id.name)
        lines = [
            _(
                "Approved by %(approvers)s: credit limit %(amount)s%(converted)s.",
                approvers=approvers,
                amount=self._format_limit(self.amount, self.currency_id),
                converted=self._conversion_note(),
            )
        ]
        return lines

    def _conversion_note(self):
        """`` = 1,500.00 $ at the rate of 01/15/2025`` when the request is in a foreign currency."""
        self.ensure_one()
        if self.currency_id == self.company_id.currency_id:
            return ""
        return _(
            " (= %(amount)s at the rate of %(date)s)",
            amount=self._format_company(self.amount_company),
            date=format_date(self.env, self.conversion_date),
        )

    # ------------------------------------------------------------
    # PRIVATE
    # ------------------------------------------------------------

    def _format_company(self, amount):
        return formatLang(self.env, amount, currency_obj=self.company_id.currency_id)

    def _format_limit(self, amount, currency=None):
        """An amount as a limit: 0 reads "no limit checked"."""
        if not amount:
            return _("0 (no limit checked)")
        return formatLang(self.env, amount, currency_obj=currency or self.company_id.currency_id)

    def _state_label(self):
        return dict(self._fields["state"]._description_selection(self.env))[self.state]

    def _post(self, lines):
        self.ensure_one()
        body = Markup("<br/>").join(lines)
        self.sudo().message_post(body=body, subtype_xmlid="mail.mt_note")

    def _close_activities(self):
        self.sudo().activity_unlink([ACTIVITY_TYPE])

    def _company_users(self, users):
        self.ensure_one()
        return users.filtered(
            lambda user: self.company_id in user.company_ids and not user.share and user.active
        )

    def _schedule_first_approval_activities(self):
        for request in self:
            managers = (
                self.env["res.company"]._credit_manager_users(request.company_id) - request.requested_by_id
            )
            if not managers:
                group = self.env.ref("sale_credit_control.group_credit_manager")
                managers = request._company_users(group.sudo().users) - request.requested_by_id
            for manager in managers:
                request.activity_schedule(
                    ACTIVITY_TYPE,
                    user_id=manager.id,
                    summary=_(
                        "Credit limit request for %(partner)s", partner=request.partner_id.display_name
                    ),
                    note=request.reason,
                )

    def _schedule_second_approval_activities(self):
        for request in self:
            group = request.approval_group_id
            users = (
                request._company_users(group.sudo().users)
                - request.requested_by_id
                - request.first_approver_id
            )
            if not users:
                request._post(
                    [
                        _(
                            "Nobody of %(group)s can give the second approval in %(company)s: "
                            "add a member to the group.",
                            group=group.full_name,
                            company=request.company_id.name,
                        )
                    ]
                )
            for user in users:
                request.activity_schedule(
                    ACTIVITY_TYPE,
                    user_id=user.id,
                    summary=_(
                        "Second approval: credit limit for %(partner)s",
                        partner=request.partner_id.display_name,
                    ),
                    note="\n".join(request._explain_second_approval(request._second_approval_reasons())),
                )
