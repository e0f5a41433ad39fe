import logging

from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError

from ..credit_policy.schedule import REVIEW_DUE_SOON, REVIEW_OK, REVIEW_OVERDUE

# Settings whose changes go to the limit history, with how to show their values.
AUDITED_FIELDS = ("mode", "tolerance_percent", "on_hold", "limit_valid_until")
# A limit set in another currency than the company's (see ``_credit_set_limit``).
LIMIT_CURRENCY_FIELDS = ("limit_currency_id", "limit_amount_currency")
# Settings whose changes may let a held quotation pass (or stop a ready one): re-evaluate them.
REEVALUATE_FIELDS = ("on_hold", "mode", "tolerance_percent", "limit_valid_until", "review_date")
_logger = logging.getLogger(__name__)
CREDIT_GROUP_READERS = "sale_credit_control.group_credit_manager,sale_credit_control.group_credit_auditor"
REVIEW_STATES = [(REVIEW_OK, "Up to Date"), (REVIEW_DUE_SOON, "Due Soon"), (REVIEW_OVERDUE, "Overdue")]


class CreditProfile(models.Model):
    """The credit profile of one commercial partner in one company.

    The limit itself stays Odoo's own company-dependent ``res.partner.credit_limit``
    (0 means "no limit checked"); the profile adds the explicit cash-only mode,
    the hold, the tolerance, validity and review dates, and computes the exposure.
    Its row is also the lock taken while an order for the customer is checked.
    """

    _name = "credit.profile"
    _inherit = ["credit.finite.values.mixin", "mail.thread", "mail.activity.mixin"]
    _description = "Customer Credit Profile"
    _order = "partner_id, company_id"
    _rec_name = "partner_id"
    _check_company_auto = True
    _credit_finite_fields = ("credit_limit", "limit_amount_currency", "tolerance_percent")
    _sql_constraints = [
        (
            "partner_company_uniq",
            "unique(partner_id, company_id)",
            "A customer has one credit profile per company.",
        ),
        ("tolerance_positive", "CHECK(tolerance_percent >= 0)", "The tolerance cannot be negative."),
    ]

    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        ondelete="cascade",
        tracking=True,
        check_company=True,
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company, readonly=True
    )
    currency_id = fields.Many2one(related="company_id.currency_id", string="Currency")
    mode = fields.Selection(
        [("limit", "Credit Limit"), ("cash", "Cash Only")],
        string="Credit Mode",
        default="limit",
        required=True,
        tracking=True,
        help="Credit Limit: orders are checked against the limit (a limit of 0 means no limit is checked). "
        "Cash Only: no credit at all, every order must be paid before confirmation.",
    )
    credit_limit = fields.Monetary(
        compute="_compute_credit_limit",
        inverse="_inverse_credit_limit",
        help="Odoo's credit limit of the customer in this company. 0: no limit checked.",
    )
    limit_checked = fields.Boolean(compute="_compute_credit_limit")
    limit_currency_id = fields.Many2one(
        "res.currency",
        help="Empty: the limit is in the company currency (Odoo's own credit limit). Another currency: "
        "the limit is set in it, and each check converts it into the company currency at the rate of the "
        "check date; the customer's credit limit in the company currency follows at today's rate "
        "(refreshed daily).",
    )
    limit_amount_currency = fields.Monetary(
        aggregator=False,
        string="Limit in Its Currency",
        currency_field="limit_currency_id",
        help="The credit limit in the limit currency (0: no limit checked).",
    )
    tolerance_percent = fields.Float(
        aggregator=False,
        string="Tolerance (%)",
        default=lambda self: self.env.company.credit_default_tolerance,
        tracking=True,
        help="Exposure up to this share above the limit only raises a warning.",
    )
    limit_valid_until = fields.Date(
        tracking=True, help="After this date the limit rule treats the limit as expired."
    )
    review_date = fields.Date(string="Next Review", tracking=True)
    review_state = fields.Selection(
        REVIEW_STATES,
        compute="_compute_review_state",
        search="_search_review_state",
        string="Review Status",
        help="Due Soon: within the company's review reminder days before the review date. "
        "Overdue: the review date has passed (the confirmation check then applies the "
        "'Limit or Review Expired' rule).",
    )
    review_activity_date = fields.Date(
        readonly=True,
        copy=False,
        help="Review date for which the review activity was scheduled: never twice for the same date.",
    )
    credit_manager_id = fields.Many2one(
        "res.users",
        compute="_compute_credit_manager_id",
        store=True,
        readonly=False,
        precompute=True,
        tracking=True,
        check_company=True,
        domain=lambda self: [
            ("groups_id", "in", self.env.ref("sale_credit_control.group_credit_manager").ids)
        ],
        help="Responsible for this customer's reviews and early warnings. "
        "Default: the company's responsible credit manager.",
    )
    on_hold = fields.Boolean(string="On Credit Hold", readonly=True, tracking=True)
    hold_reason = fields.Text(readonly=True)
    hold_user_id = fields.Many2one("res.users", string="Held By", readonly=True)
    hold_date = fields.Datetime(string="Held Since", readonly=True)
    last_check_date = fields.Datetime(readonly=True, help="Last time an order of this customer was checked.")

    receivable_amount = fields.Monetary(compute="_compute_exposure", string="Open Receivables")
    uninvoiced_order_amount = fields.Monetary(
        compute="_compute_exposure",
        string="Confirmed Uninvoiced Orders",
        help="What confirmed orders invoiced to this customer still commit it to: for each line, the "
        "ordered quantity (or the delivered one, if more was delivered) less the quantity on posted "
        "invoices and credit notes, at the line's price with taxes, whatever the invoicing policy. "
        "Down payments already invoiced are deducted (they are in the open receivables).",
    )
    draft_invoice_amount = fields.Monetary(compute="_compute_exposure", string="Draft Invoices")
    exposure_amount = fields.Monetary(compute="_compute_exposure", string="Exposure")
    capacity_amount = fields.Monetary(
        compute="_compute_exposure",
        string="Total Capacity",
        help="The limit plus what adds to it (e.g. guarantees): what the limit rule allows.",
    )
    other_parts_html = fields.Html(
        compute="_compute_exposure",
        sanitize=False,
        string="Other Parts",
        help="Exposure and capacity parts added by other credit modules.",
    )
    available_amount = fields.Monetary(compute="_compute_exposure", string="Available Credit")
    utilization = fields.Float(compute="_compute_exposure", string="Utilization (%)")
    insured_exposure_amount = fields.Monetary(
        compute="_compute_insured_exposure",
        string="Insured Exposure",
        help="The part of the exposure credit insurance pays: min(exposure, insured limit) x the policy's "
        "coverage, over the customer's covers valid today.",
    )
    uninsured_exposure_amount = fields.Monetary(
        compute="_compute_insured_exposure",
        string="Uninsured Exposure",
        help="The exposure no credit insurance covers.",
    )
    overdue_amount = fields.Monetary(compute="_compute_exposure")
    overdue_days = fields.Integer(compute="_compute_exposure", string="Oldest Days Overdue")
    credit_state = fields.Selection(
        [
            ("no_limit", "No Limit Checked"),
            ("ok", "Within Limit"),
            ("over_limit", "Over Limit"),
            ("cash", "Cash Only"),
            ("on_hold", "On Hold"),
        ],
        compute="_compute_exposure",
        string="Credit Status",
    )
    rating_id = fields.Many2one(
        "credit.rating", string="Current Rating", readonly=True, index=True, check_company=True
    )
    grade_code = fields.Char(related="rating_id.grade_code", string="Grade")
    score = fields.Float(related="rating_id.score", string="Score")
    rating_trend = fields.Selection(related="rating_id.trend", string="Rating Trend")
    recommended_limit = fields.Monetary(related="rating_id.recommended_limit", string="Recommended Limit")
    rating_date = fields.Date(related="rating_id.date", string="Rated On")
    rating_ids = fields.One2many(
        "credit.rating", compute="_compute_credit_information", string="Rating History"
    )
    financial_statement_ids = fields.One2many(
        "credit.financial.statement", compute="_compute_credit_information", string="Financial Statements"
    )
    bureau_report_ids = fields.One2many(
        "credit.bureau.report", compute="_compute_credit_information", string="Bureau Reports"
    )
    bank_reference_ids = fields.One2many(
        "credit.bank.reference", compute="_compute_credit_information", string="Bank References"
    )
    # Payment behaviour as of today, from the customer's posted invoices and payments in the company
    # (the figures the rating scores; computed on display, see credit.rating.engine).
    behaviour_has_history = fields.Boolean(compute="_compute_payment_behaviour", string="Has Invoices")
    behaviour_has_payments = fields.Boolean(compute="_compute_payment_behaviour", string="Has Paid Invoices")
    behaviour_late_share = fields.Float(
        compute="_compute_payment_behaviour",
        string="Paid Late (share of amount)",
        help="Share of the amount paid over the last two years that was paid after its due date.",
    )
    behaviour_weighted_days_late = fields.Float(
        compute="_compute_payment_behaviour",
        string="Average Days Beyond Terms",
        digits=(16, 1),
        help="Days paid after the due date, averaged over the paid amount (on-time payments count as 0).",
    )
    behaviour_max_days_late = fields.Integer(
        compute="_compute_payment_behaviour", string="Most Days Paid Late"
    )
    behaviour_max_days_overdue = fields.Integer(
        compute="_compute_payment_behaviour", string="Oldest Open Item (days overdue)"
    )
    behaviour_overdue_ratio = fields.Float(
        compute="_compute_payment_behaviour", string="Overdue Share of Open Receivables"
    )
    behaviour_has_dso = fields.Boolean(compute="_compute_payment_behaviour", string="Has DSO")
    behaviour_dso = fields.Float(
        compute="_compute_payment_behaviour",
        string="DSO (days)",
        digits=(16, 1),
        help="Days sales outstanding: receivables / sales of the last 365 days x 365 (over the customer's "
        "history when it is shorter). Empty until the customer has 90 days of sales history.",
    )
    behaviour_recent_late_share = fields.Float(
        compute="_compute_payment_behaviour", string="Paid Late, Last 90 Days"
    )
    behaviour_previous_late_share = fields.Float(
        compute="_compute_payment_behaviour", string="Paid Late, 90 Days Before"
    )
    behaviour_late_share_trend = fields.Float(
        compute="_compute_payment_behaviour",
        string="Late Share Trend",
        help="Late share of the last 90 days minus that of the 90 days before: positive means paying later.",
    )
    behaviour_first_invoice_date = fields.Date(compute="_compute_payment_behaviour", string="Customer Since")
    behaviour_relationship_years = fields.Float(
        compute="_compute_payment_behaviour", string="Relationship (years)", digits=(16, 1)
    )
    behaviour_sales_volume = fields.Monetary(
        compute="_compute_payment_behaviour", string="Sales, Last 12 Months"
    )
    is_over_limit = fields.Boolean(
        compute="_compute_exposure", search="_search_is_over_limit", string="Over Limit"
    )
    history_ids = fields.One2many("credit.limit.history", "profile_id")
    approval_ids = fields.One2many("credit.approval", compute="_compute_approval_ids", string="Approvals")
    check_ids = fields.One2many("credit.check", compute="_compute_approval_ids", string="Checks")
    # The customer's credit group (corporate family) in this company and its figures.
    credit_group_id = fields.Many2one(
        "credit.group", compute="_compute_credit_group", groups=CREDIT_GROUP_READERS
    )
    group_limit = fields.Monetary(compute="_compute_credit_group", groups=CREDIT_GROUP_READERS)
    group_exposure_amount = fields.Monetary(
        compute="_compute_credit_group",
        string="Group Exposure",
        groups=CREDIT_GROUP_READERS,
        help="The sum of the exposure of all members of the customer's credit group.",
    )
    group_available_amount = fields.Monetary(
        compute="_compute_credit_group", string="Group Available", groups=CREDIT_GROUP_READERS
    )
    group_share = fields.Float(
        compute="_compute_credit_group",
        string="Share of Group Exposure",
        groups=CREDIT_GROUP_READERS,
        help="This customer's exposure over its credit group's exposure.",
    )

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains("partner_id")
    def _check_commercial_partner(self):
        for profile in self:
            if profile.partner_id != profile.partner_id.commercial_partner_id:
                raise ValidationError(
                    self.env._(
                        "Credit profiles belong to the company, not to a contact or address: "
                        "use %(commercial)s instead of %(partner)s.",
                        commercial=profile.partner_id.commercial_partner_id.display_name,
                        partner=profile.partner_id.display_name,
                    )
                )

    @api.constrains("tolerance_percent", "company_id")
    def _check_tolerance_percent(self):
        """A tolerance is a percentage from 0 to 100; it only warns, so it may not grant more
        than the company's maximum."""
        for profile in self:
            company = profile.company_id
            if round(profile.tolerance_percent, 2) > round(company.credit_max_tolerance, 2):
                raise ValidationError(
                    self.env._(
                        "The tolerance of %(tolerance)s%% for %(partner)s is above the maximum tolerance "
                        "of %(maximum)s%% of %(company)s: a larger margin needs a limit request.",
                        tolerance=company._credit_format_percent(profile.tolerance_percent),
                        partner=profile.partner_id.display_name,
                        maximum=company._credit_format_percent(company.credit_max_tolerance),
                        company=company.name,
                    )
                )
            company._credit_check_figure(
                profile.tolerance_percent,
                self._fields["tolerance_percent"]._description_string(self.env),
                profile.partner_id.display_name,
                maximum=100.0,
                percent=True,
            )

    # ------------------------------------------------------------
    # ONCHANGE
    # ------------------------------------------------------------

    @api.onchange("limit_currency_id")
    def _onchange_limit_currency_id(self):
        """Another limit currency proposes today's value of the limit in it (not a limit of 0)."""
        company = self.company_id or self.env.company
        currency = self.limit_currency_id or company.currency_id
        limit = self._origin.credit_limit if self._origin else self.credit_limit
        rate = self._credit_limit_rates(currency, company, fields.Date.context_today(self)).get(currency.id)
        if self.limit_currency_id and rate:
            self.limit_amount_currency = currency.round(limit / rate)

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        # A limit in its currency is set like any limit change (rights, rate, history).
        for vals in vals_list:
            if "tolerance_percent" in vals:
                # Before the INSERT, whose CHECK constraint would name no figure.
                self.new(vals)._check_tolerance_percent()
        vals_list = [dict(vals) for vals in vals_list]
        limit_vals_list = [
            {name: vals.pop(name) for name in LIMIT_CURRENCY_FIELDS if name in vals} for vals in vals_list
        ]
        profiles = super().create(vals_list)
        for profile, limit_vals in zip(profiles, limit_vals_list, strict=True):
            if limit_vals:
                profile.write(limit_vals)
        return profiles

    def write(self, vals):
        if any(name in vals for name in LIMIT_CURRENCY_FIELDS):
            # The limit in its currency goes through _credit_set_limit, after the other values.
            vals = dict(vals)
            limit_vals = {name: vals.pop(name) for name in LIMIT_CURRENCY_FIELDS if name in vals}
            result = self.write(vals) if vals else True
            self._write_limit_currency(limit_vals)
            return result
        audited = [name for name in AUDITED_FIELDS if name in vals]
        old_values = {profile: {name: profile[name] for name in audited} for profile in self}
        result = super().write(vals)
        reason = self.env.context.get("credit_change_reason") or self.env._("Edited on the credit profile")
        history = self.env["credit.limit.history"]
        for profile in self:
            for name in audited:
                if old_values[profile][name] != profile[name]:
                    history._record(profile, name, old_values[profile][name], profile[name], reason)
        if any(name in vals for name in REEVALUATE_FIELDS):
            for company, profiles in self.grouped("company_id").items():
                self.env["sale.order"]._credit_reevaluate_partners(profiles.partner_id, company)
        return result

    def _write_past_limit_routing(self, vals):
        """Write ``vals`` past this model's ``write``, which routes the limit in its currency
        through ``_credit_set_limit`` (that method's own write)."""
        return super().write(vals)  # pylint: disable=super-method-mismatch  # skips this class's write

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_release_hold(self):
        self._check_credit_manager()
        for profile in self.filtered("on_hold"):
            profile.with_context(credit_change_reason=self.env._("Hold released")).write(
                {"on_hold": False, "hold_reason": False, "hold_user_id": False, "hold_date": False}
            )
            profile.message_post(
                body=self.env._("Credit hold released by %(user)s.", user=self.env.user.name)
            )
        return True

    def action_rate(self):
        """Rate these customers now (on demand), each in its profile's company."""
        engine = self.env["credit.rating.engine"]
        engine._check_rating_rights()
        for company, profiles in self.grouped("company_id").items():
            engine._rate_partners(profiles.partner_id, company, trigger="manual")
        return True

    def action_view_ratings(self):
        return self._credit_information_action("sale_credit_control.credit_rating_action")

    def action_view_financial_statements(self):
        return self._credit_information_action("sale_credit_control.credit_financial_statement_action")

    def action_view_bureau_reports(self):
        return self._credit_information_action("sale_credit_control.credit_bureau_report_action")

    def action_view_bank_references(self):
        return self._credit_information_action("sale_credit_control.credit_bank_reference_action")

    def _credit_information_action(self, xml_id):
        """The list of ``xml_id`` for this customer in this company, new records defaulting to both."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(xml_id)
        action["domain"] = [("partner_id", "=", self.partner_id.id), ("company_id", "=", self.company_id.id)]
        action["context"] = {
            "default_partner_id": self.partner_id.id,
            "default_company_id": self.company_id.id,
        }
        return action

    def action_view_orders(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("sale.action_orders")
        action["domain"] = [
            ("partner_id", "child_of", self.partner_id.id),
            ("company_id", "=", self.company_id.id),
        ]
        return action

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _put_on_hold(self, reason):
        """Stop new confirmations for these customers, recording who and why."""
        self._check_credit_manager()
        self.with_context(credit_change_reason=reason).write(
            {
                "on_hold": True,
                "hold_reason": reason,
                "hold_user_id": self.env.user.id,
                "hold_date": fields.Datetime.now(),
            }
        )
        for profile in self:
            profile.message_post(
                body=self.env._(
                    "Put on credit hold by %(user)s: %(reason)s", user=self.env.user.name, reason=reason
                )
            )

    def _check_credit_manager(self):
        if not self.env.su and not self.env.user.has_group("sale_credit_control.group_credit_manager"):
            raise AccessError(self.env._("Only credit managers can change credit holds and limits."))
