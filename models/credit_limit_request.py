from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import format_date

from .res_partner import CREDIT_FILE_GROUPS  # the rating behind a request is the credit file


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

    This file holds the fields, computes, constraints and CRUD; the model continues in
    ``credit_limit_request_approval.py`` (submit, approve, reject, cancel and the figures
    they decide on), ``credit_limit_request_application.py`` (applying, reverting and
    rebasing the limit, daily cron) and ``credit_limit_request_messages.py`` (chatter
    texts, formatting, activities).
    """

    _name = "credit.limit.request"
    _inherit = ["credit.finite.values.mixin", "mail.thread", "mail.activity.mixin"]
    _description = "Credit Limit Request"
    _order = "request_date desc, id desc"
    _check_company_auto = True
    _credit_finite_fields = ("amount",)
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

    name = fields.Char(string="Reference", readonly=True, copy=False, default=lambda self: self.env._("New"))
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
        aggregator=False,
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
        "res.users", required=True, readonly=True, default=lambda self: self.env.user
    )
    request_date = fields.Datetime(default=fields.Datetime.now, required=True, readonly=True, copy=False)
    submit_date = fields.Datetime(string="Submitted On", readonly=True, copy=False)
    first_approver_id = fields.Many2one("res.users", readonly=True, copy=False)
    first_approval_date = fields.Datetime(readonly=True, copy=False)
    second_approver_id = fields.Many2one("res.users", readonly=True, copy=False)
    second_approval_date = fields.Datetime(readonly=True, copy=False)
    decided_by_id = fields.Many2one("res.users", readonly=True, copy=False)
    decision_date = fields.Datetime(readonly=True, copy=False)
    rejection_reason = fields.Text(readonly=True, copy=False, tracking=True)

    # Figures the request is decided on (company currency), refreshed at submission and approval.
    previous_limit = fields.Monetary(
        aggregator=False,
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
        aggregator=False,
        string="Limit Before (Its Currency)",
        currency_field="previous_limit_currency_id",
        readonly=True,
        copy=False,
    )
    rating_id = fields.Many2one(
        "credit.rating",
        compute="_compute_figures",
        store=True,
        readonly=True,
        copy=False,
        check_company=True,
        groups=CREDIT_FILE_GROUPS,
    )
    grade_code = fields.Char(related="rating_id.grade_code", string="Grade", groups=CREDIT_FILE_GROUPS)
    recommended_limit = fields.Monetary(
        aggregator=False,
        currency_field="company_currency_id",
        compute="_compute_figures",
        store=True,
        readonly=True,
        copy=False,
        groups=CREDIT_FILE_GROUPS,
    )
    has_recommendation = fields.Boolean(compute="_compute_figures", store=True, readonly=True, copy=False)
    second_approval_threshold = fields.Monetary(
        aggregator=False,
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
    applied_limit = fields.Monetary(
        aggregator=False, currency_field="company_currency_id", readonly=True, copy=False
    )
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
            lines = request._explain_second_approval()
            request.second_approval_note = "\n".join(lines) or False

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains("partner_id")
    def _check_commercial_partner(self):
        for request in self:
            if request.partner_id != request.partner_id.commercial_partner_id:
                raise ValidationError(
                    self.env._(
                        "Credit limits belong to the company, not to a contact or address: "
                        "request the limit of %(commercial)s instead of %(partner)s.",
                        commercial=request.partner_id.commercial_partner_id.display_name,
                        partner=request.partner_id.display_name,
                    )
                )

    @api.constrains("amount", "currency_id")
    def _check_amount(self):
        for request in self:
            request.company_id._credit_check_figure(
                request.amount,
                self._fields["amount"]._description_string(self.env),
                request.partner_id.display_name,
                currency=request.currency_id,
            )

    @api.constrains("request_type", "date_from", "date_to")
    def _check_temporary_dates(self):
        for request in self.filtered(lambda r: r.request_type == "temporary"):
            if not request.date_from or not request.date_to:
                raise ValidationError(
                    self.env._(
                        "A temporary limit needs a start and an end date (%(request)s).", request=request.name
                    )
                )
            if request.date_to < request.date_from:
                raise ValidationError(
                    self.env._(
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
            if "amount" in vals:
                # Before the INSERT, whose CHECK constraint would name no figure.
                self.new(vals)._check_amount()
            vals["name"] = self.env["ir.sequence"].next_by_code("credit.limit.request") or self.env._("New")
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
                    self.env._(
                        "The status, approvals and figures of a limit request are set by its workflow "
                        "(fields: %(fields)s).",
                        fields=", ".join(sorted(workflow)),
                    )
                )
            if self._request_fields & set(vals):
                not_draft = self.filtered(lambda r: r.state != "draft")
                if not_draft:
                    raise UserError(
                        self.env._(
                            "Only draft limit requests can be changed; %(requests)s is already %(state)s.",
                            requests=", ".join(not_draft.mapped("name")),
                            state=not_draft[0]._state_label(),
                        )
                    )
        return super().write(vals)
