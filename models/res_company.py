import math

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import float_compare, format_amount, formatLang

from ..credit_policy.aging import DEFAULT_EDGES, format_edges, parse_edges
from ..credit_policy.decision import CreditPolicy

# The largest amount a credit figure (limit, cap, guarantee, threshold) may be: beyond any real
# limit, also in currencies of small unit, and still exact to the unit in a float. Larger
# figures are typing or import errors (1e20 has lost its cents and its meaning).
MAX_CREDIT_AMOUNT = 1e15
# Units of rounding (cents) up to which a float holds an amount exactly enough for Odoo's rounding.
MONEY_EXACT_UNITS = 1e14
# The largest number of days a policy setting may count (a century).
MAX_CREDIT_DAYS = 36500
# Company policy figures: amounts in the company currency, and days.
POLICY_AMOUNT_FIELDS = (
    "credit_overdue_amount",
    "credit_max_order_amount",
    "credit_limit_second_approval_threshold",
)
POLICY_DAYS_FIELDS = (
    "credit_overdue_days",
    "credit_review_lead_days",
    "credit_repayment_grace_days",
    "credit_approval_validity_days",
)


RULE_ACTIONS = [
    ("block", "Block"),
    ("warn", "Warn"),
    ("ignore", "Ignore"),
]


class ResCompany(models.Model):
    _name = "res.company"
    _inherit = ["res.company", "credit.finite.values.mixin"]
    _credit_finite_fields = (*POLICY_AMOUNT_FIELDS, "credit_default_tolerance", "credit_max_tolerance")

    credit_control_enabled = fields.Boolean(
        string="Check Credit at Confirmation",
        help="Check the customer's credit whenever a sales order is confirmed.",
    )
    credit_limit_action = fields.Selection(
        RULE_ACTIONS, string="Limit Exceeded", default="block", required=True
    )
    credit_hold_action = fields.Selection(
        RULE_ACTIONS, string="Customer on Hold", default="block", required=True
    )
    credit_overdue_action = fields.Selection(
        RULE_ACTIONS, string="Overdue Receivables", default="block", required=True
    )
    credit_overdue_days = fields.Integer(
        aggregator=False,
        string="Overdue Days Allowed",
        default=30,
        help="The overdue rule fires when the oldest overdue receivable is more days past due than this.",
    )
    credit_overdue_amount = fields.Monetary(
        aggregator=False,
        string="Overdue Amount Allowed",
        currency_field="currency_id",
        help="The overdue rule fires only when the overdue amount is above this amount.",
    )
    credit_expired_action = fields.Selection(
        RULE_ACTIONS,
        string="Limit or Review Expired",
        default="block",
        required=True,
        help="Applies when the limit's valid-until date or the customer's review date has passed.",
    )
    credit_max_order_amount = fields.Monetary(
        aggregator=False,
        string="Maximum Single Order",
        currency_field="currency_id",
        help="Orders above this amount (company currency, taxes included) trigger the rule. 0: no maximum.",
    )
    credit_max_order_action = fields.Selection(
        RULE_ACTIONS, string="Single Order Above Maximum", default="block", required=True
    )
    credit_term_action = fields.Selection(
        RULE_ACTIONS,
        string="Payment Term Beyond the Grade",
        default="block",
        required=True,
        help="Applies when a quotation's payment term is longer than the customer's grade allows.",
    )
    credit_deposit_action = fields.Selection(
        RULE_ACTIONS,
        string="Deposit Not Paid",
        default="block",
        required=True,
        help="Applies while less of the order is paid online than the deposit the customer's grade "
        "requires (all of it for a cash-only customer).",
    )
    credit_team_budget_action = fields.Selection(
        RULE_ACTIONS,
        string="Sales Team Budget Exceeded",
        default="block",
        required=True,
        help="Applies when a confirmation would take its sales team's exposure beyond the team's "
        "credit budget (teams without a budget are not checked).",
    )
    credit_group_action = fields.Selection(
        RULE_ACTIONS,
        string="Credit Group Limit Exceeded",
        default="block",
        required=True,
        help="Applies when a confirmation would take the customer's credit group beyond the group "
        "limit, even if the customer is within its own limit (groups without a limit are not checked).",
    )
    credit_insurance_required = fields.Boolean(
        help="Customers' exposure must be covered by credit insurance: the insurance rule applies when "
        "a confirmation would take a customer's exposure beyond its insured limit (0 without a valid cover).",
    )
    credit_insurance_action = fields.Selection(
        RULE_ACTIONS,
        string="Insured Limit Exceeded",
        default="warn",
        required=True,
        help="Applies, where credit insurance is required, when the exposure after the order is above "
        "the customer's insured limit.",
    )
    credit_repayment_grace_days = fields.Integer(
        aggregator=False,
        string="Repayment Grace Days",
        default=5,
        help="A repayment plan whose instalment is unpaid after its due date is late for this many days, "
        "then broken.",
    )
    credit_repayment_hold_on_broken = fields.Boolean(
        string="Hold on Broken Repayment Plan",
        default=True,
        help="Put the customer on credit hold when one of its repayment plans breaks (an instalment unpaid "
        "beyond the grace days).",
    )
    credit_repayment_excludes_overdue = fields.Boolean(
        string="Repayment Plans Suspend the Overdue Rule",
        default=True,
        help="While a repayment plan is on track (or late within its grace days), the overdue invoices it "
        "covers do not count in the overdue amount and days of the credit check (they still count in the "
        "exposure).",
    )
    credit_count_draft_invoices = fields.Boolean(
        string="Count Draft Invoices",
        help="Add draft customer invoices that do not come from a sales order to the exposure.",
    )
    credit_default_tolerance = fields.Float(
        aggregator=False,
        string="Default Tolerance (%)",
        help="Share above the limit tolerated with a warning only, "
        "for customers without their own tolerance.",
    )
    credit_max_tolerance = fields.Float(
        aggregator=False,
        string="Maximum Tolerance (%)",
        default=10.0,
        help="No customer's tolerance (nor the default one) may exceed this share above the limit: "
        "a tolerance only warns, so it must not grant more credit than a limit request could "
        "without its approvals. Between 0 and 100.",
    )
    credit_manager_id = fields.Many2one(
        "res.users",
        string="Responsible Credit Manager",
        compute="_compute_credit_manager_id",
        store=True,
        readonly=False,
        help="Receives approval requests and notifications. Empty: every credit manager of the company. "
        "A new company proposes its first credit manager (else the administrator).",
    )
    credit_review_lead_days = fields.Integer(
        aggregator=False,
        string="Review Reminder (days)",
        default=14,
        help="A credit review is due soon this many days before its date: the responsible credit "
        "manager gets an activity then.",
    )
    credit_approval_validity_days = fields.Integer(
        string="Override Validity (days)",
        default=30,
        help="Proposed validity of an approved credit override: the approver's dialog offers today "
        "plus this many days as its expiry date. 0: no expiry date is proposed.",
    )

    credit_allow_direct_limit_edit = fields.Boolean(
        string="Direct Limit Edits",
        default=True,
        help="Credit managers may edit customers' credit limits directly (still recorded in the history). "
        "Off: limits change only through approved limit requests.",
    )
    credit_limit_second_approval_threshold = fields.Monetary(
        aggregator=False,
        string="Second Approval Above",
        currency_field="currency_id",
        help="Limit requests above this amount (company currency) need a second approval by a credit "
        "director, whatever the grade recommends. 0: no threshold.",
    )
    credit_aging_edges = fields.Char(
        string="Aging Buckets (days)",
        default=format_edges(DEFAULT_EDGES),
        help="The last day past due of each aging bucket of the credit report, separated by commas: "
        "30,60,90,120 gives not due, 1-30, 31-60, 61-90, 91-120 and over 120 days past due. "
        "Empty: 30,60,90,120.",
    )
    credit_portal_show_rating = fields.Boolean(
        string="Show Grade on the Customer Portal",
        help="Customers see their current credit grade on their credit page in the portal (never their "
        "score, the rating's details or who manages their credit).",
    )

    _sql_constraints = [
        (
            "credit_policy_figures_positive",
            "CHECK(credit_overdue_days >= 0 AND credit_overdue_amount >= 0 AND credit_review_lead_days >= 0 "
            "AND credit_max_order_amount >= 0 AND credit_default_tolerance >= 0)",
            "Credit policy days, amounts and tolerance cannot be negative.",
        ),
        (
            "credit_limit_second_approval_threshold_positive",
            "CHECK(credit_limit_second_approval_threshold >= 0)",
            "The second-approval threshold of limit requests cannot be negative.",
        ),
        (
            "credit_repayment_grace_days_positive",
            "CHECK(credit_repayment_grace_days >= 0)",
            "The grace days of repayment plans cannot be negative.",
        ),
    ]

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains(*POLICY_AMOUNT_FIELDS)
    def _check_credit_policy_amounts(self):
        for company in self:
            for name in POLICY_AMOUNT_FIELDS:
                company._credit_check_figure(
                    company[name], self._credit_field_label(name), company.name, currency=company.currency_id
                )

    @api.constrains(*POLICY_DAYS_FIELDS)
    def _check_credit_policy_days(self):
        for company in self:
            for name in POLICY_DAYS_FIELDS:
                label = self._credit_field_label(name)
                company._credit_check_figure(
                    company[name], label, company.name, maximum=MAX_CREDIT_DAYS, digits=0
                )

    @api.constrains("credit_max_tolerance", "credit_default_tolerance")
    def _check_credit_tolerance(self):
        for company in self:
            for name in ("credit_default_tolerance", "credit_max_tolerance"):
                company._credit_check_figure(
                    company[name], self._credit_field_label(name), company.name, maximum=100.0, percent=True
                )
            maximum = company.credit_max_tolerance
            if float_compare(company.credit_default_tolerance, maximum, precision_digits=2) > 0:
                raise ValidationError(
                    self.env._(
                        "The default tolerance of %(tolerance)s%% is above the maximum tolerance of "
                        "%(maximum)s%% of %(company)s.",
                        tolerance=company._credit_format_percent(company.credit_default_tolerance),
                        maximum=company._credit_format_percent(maximum),
                        company=company.name,
                    )
                )
            above = (
                self.env["credit.profile"]
                .sudo()
                .search(
                    [("company_id", "=", company.id), ("tolerance_percent", ">", maximum + 0.005)],
                    order="tolerance_percent desc",
                    limit=5,
                )
            )
            if above:
                raise ValidationError(
                    self.env._(
                        "The maximum tolerance of %(company)s cannot be %(maximum)s%%: these customers "
                        "have a higher tolerance, lower it first: %(customers)s.",
                        company=company.name,
                        maximum=company._credit_format_percent(maximum),
                        customers=", ".join(
                            f"{profile.partner_id.display_name} "
                            f"({company._credit_format_percent(profile.tolerance_percent)}%)"
                            for profile in above
                        ),
                    )
                )

    @api.constrains("credit_aging_edges")
    def _check_credit_aging_edges(self):
        label = self._fields["credit_aging_edges"].get_description(self.env)["string"]
        for company in self:
            try:
                parse_edges(company.credit_aging_edges)
            except ValueError as error:
                raise ValidationError(
                    self.env._(
                        "%(field)s of %(company)s must be whole numbers of days past due, each larger "
                        "than the one before, separated by commas (e.g. 30,60,90,120), not "
                        '"%(value)s": %(error)s.',
                        field=label,
                        company=company.name,
                        value=company.credit_aging_edges,
                        error=error,
                    )
                ) from error

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _credit_aging_edges(self):
        """The company's aging bucket edges as a tuple of days (see ``credit_policy.aging``)."""
        self.ensure_one()
        return parse_edges(self.credit_aging_edges)

    def _credit_format_percent(self, value):
        return formatLang(self.env, value, digits=2)

    @api.model
    def _credit_format_money(self, amount, currency):
        """``amount`` in ``currency`` as every credit message shows money: Odoo's ``format_amount``
        (the currency's symbol and position, the reader's separators); a figure without a
        currency is shown as a number.

        From 10^14 units of rounding on (10^12 in a currency of cents) a float no longer holds
        the cents and ``format_amount``'s rounding shows its epsilon as cents (10^15 would read
        1,000,000,000,000,001.00): such a figure (the largest limit allowed, a typing error) is
        rounded half-even, as typed, in the same layout."""
        amount = amount or 0.0
        if not currency:
            return formatLang(self.env, amount)
        if abs(amount) < MONEY_EXACT_UNITS * currency.rounding:
            return format_amount(self.env, amount, currency)
        return formatLang(self.env, amount, currency_obj=currency)

    @api.model
    def _credit_field_label(self, field_name, model=None):
        """The label of ``field_name`` (of ``model``, default: the company) in the user's language."""
        return self.env[model or self._name]._fields[field_name]._description_string(self.env)

    @api.model
    def _credit_format_figure(self, value, currency=None, percent=False, digits=2):
        """``value`` as typed, readable also when it is not a finite number."""
        if math.isnan(value):
            return self.env._("NaN (not a number)")
        if math.isinf(value):
            return self.env._("infinity") if value > 0 else self.env._("minus infinity")
        if currency:
            return self._credit_format_money(value, currency)
        text = formatLang(self.env, value, digits=digits)
        return f"{text}%" if percent else text

    @api.model
    def _credit_check_figure(
        self,
        value,
        field_label,
        subject,
        currency=None,
        minimum=0.0,
        maximum=MAX_CREDIT_AMOUNT,
        percent=False,
        digits=2,
    ):
        """Refuse a credit figure that is not a finite number from ``minimum`` to ``maximum``
        (NaN, infinity, negative, or too large to be meant), naming the field, whose it is and
        the figure. Entered through a form, RPC or an import alike."""
        if value is None or value is False:
            return
        if math.isfinite(value) and minimum <= value <= maximum:
            return
        formatted = {"currency": currency, "percent": percent, "digits": digits}
        raise ValidationError(
            self.env._(
                "%(field)s of %(subject)s must be a number from %(minimum)s to %(maximum)s, not %(value)s.",
                field=field_label,
                subject=subject,
                minimum=self._credit_format_figure(minimum, **formatted),
                maximum=self._credit_format_figure(maximum, **formatted),
                value=self._credit_format_figure(value, **formatted),
            )
        )

    def _credit_format_amount(self, amount):
        """An amount in the company currency as a limit: 0 reads "no limit checked"."""
        self.ensure_one()
        if not amount:
            return self.env._("0 (no limit checked)")
        return self._credit_format_money(amount, self.currency_id)

    def _credit_policy(self):
        """The company's rule settings as a policy-core object."""
        self.ensure_one()
        return CreditPolicy(
            limit_action=self.credit_limit_action,
            hold_action=self.credit_hold_action,
            overdue_action=self.credit_overdue_action,
            overdue_days=self.credit_overdue_days,
            overdue_amount=self.credit_overdue_amount,
            expired_action=self.credit_expired_action,
            max_order_amount=self.credit_max_order_amount,
            max_order_action=self.credit_max_order_action,
            extra={
                "term_action": self.credit_term_action,
                "deposit_action": self.credit_deposit_action,
                "team_budget_action": self.credit_team_budget_action,
                "insurance_action": self.credit_insurance_action,
                "group_limit_action": self.credit_group_action,
            },
        )

    @api.depends()
    def _compute_credit_manager_id(self):
        """Computed once, when the company is created: its first credit manager, else the
        credit manager creating it (Odoo gives them the new company), else the administrator.
        Then set freely, or emptied, in the settings."""
        group = self.env.ref("sale_credit_control.group_credit_manager", raise_if_not_found=False)
        managers = group.sudo().users.filtered(lambda user: user.active and not user.share) if group else None
        managers = managers or self.env["res.users"]
        admin = self.env.ref("base.user_admin", raise_if_not_found=False) or self.env["res.users"]
        fallback = (self.env.user & managers) or admin.filtered("active")
        for company in self:
            in_company = managers.filtered(lambda user, company=company: company in user.company_ids)
            company.credit_manager_id = company.credit_manager_id or in_company.sorted("id")[:1] or fallback

    @api.model
    def _credit_manager_users(self, company, exclude=None):
        """Users notified about credit decisions of ``company``: its responsible credit
        manager, or every credit manager of the company when none is set or when the
        responsible one is in ``exclude`` (a requester cannot decide on their own request)."""
        exclude = exclude or self.env["res.users"]
        if company.credit_manager_id - exclude:
            return company.credit_manager_id
        group = self.env.ref("sale_credit_control.group_credit_manager")
        return (
            group.sudo().users.filtered(
                lambda user: company in user.company_ids and not user.share and user.active
            )
            - exclude
        )
