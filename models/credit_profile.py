import logging
from collections import defaultdict
from dataclasses import replace
from datetime import timedelta

from markupsafe import Markup
from psycopg2 import errors as pg_errors

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.osv import expression
from odoo.tools import SQL, format_date, formatLang

from ..credit_policy.aging import aging_from_sums, first_days
from ..credit_policy.budgets import BUDGET_RULES
from ..credit_policy.decision import RULES, CreditFacts, evaluate
from ..credit_policy.exposure import CORE_PARTS, Exposure
from ..credit_policy.groups import GROUP_RULES, member_shares
from ..credit_policy.insurance import INSURANCE_RULES, insured_split
from ..credit_policy.schedule import REVIEW_DUE_SOON, REVIEW_OK, REVIEW_OVERDUE, review_due
from ..credit_policy.terms import TERM_RULES

# Partial indexes init() creates on other modules' tables for the exposure queries
# (dropped by the uninstall hook).
EXPOSURE_INDEXES = (
    "account_move_line_credit_open_partner_idx",
    "sale_order_credit_confirmed_invoice_partner_idx",
)

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
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _description = "Customer Credit Profile"
    _order = "partner_id, company_id"
    _rec_name = "partner_id"
    _check_company_auto = True
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
    limit_checked = fields.Boolean(compute="_compute_credit_limit", string="Limit Checked")
    limit_currency_id = fields.Many2one(
        "res.currency",
        string="Limit Currency",
        help="Empty: the limit is in the company currency (Odoo's own credit limit). Another currency: "
        "the limit is set in it, and each check converts it into the company currency at the rate of the "
        "check date; the customer's credit limit in the company currency follows at today's rate "
        "(refreshed daily).",
    )
    limit_amount_currency = fields.Monetary(
        string="Limit in Its Currency",
        currency_field="limit_currency_id",
        help="The credit limit in the limit currency (0: no limit checked).",
    )
    tolerance_percent = fields.Float(
        string="Tolerance (%)",
        default=lambda self: self.env.company.credit_default_tolerance,
        tracking=True,
        help="Exposure up to this share above the limit only raises a warning.",
    )
    limit_valid_until = fields.Date(tracking=True, help="After this date the limit rule treats the limit as expired.")
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
        string="Credit Manager",
        compute="_compute_credit_manager_id",
        store=True,
        readonly=False,
        precompute=True,
        tracking=True,
        check_company=True,
        domain=lambda self: [("groups_id", "in", self.env.ref("sale_credit_control.group_credit_manager").ids)],
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
    overdue_amount = fields.Monetary(compute="_compute_exposure", string="Overdue Amount")
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
    rating_ids = fields.One2many("credit.rating", compute="_compute_credit_information", string="Rating History")
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
        compute="_compute_payment_behaviour", string="Paid Late (share of amount)",
        help="Share of the amount paid over the last two years that was paid after its due date.",
    )
    behaviour_weighted_days_late = fields.Float(
        compute="_compute_payment_behaviour", string="Average Days Beyond Terms", digits=(16, 1),
        help="Days paid after the due date, averaged over the paid amount (on-time payments count as 0).",
    )
    behaviour_max_days_late = fields.Integer(compute="_compute_payment_behaviour", string="Most Days Paid Late")
    behaviour_max_days_overdue = fields.Integer(
        compute="_compute_payment_behaviour", string="Oldest Open Item (days overdue)"
    )
    behaviour_overdue_ratio = fields.Float(
        compute="_compute_payment_behaviour", string="Overdue Share of Open Invoices"
    )
    behaviour_dso = fields.Float(
        compute="_compute_payment_behaviour", string="DSO (days)", digits=(16, 1),
        help="Days sales outstanding: receivables / sales of the last 365 days x 365.",
    )
    behaviour_recent_late_share = fields.Float(compute="_compute_payment_behaviour", string="Paid Late, Last 90 Days")
    behaviour_previous_late_share = fields.Float(
        compute="_compute_payment_behaviour", string="Paid Late, 90 Days Before"
    )
    behaviour_late_share_trend = fields.Float(
        compute="_compute_payment_behaviour", string="Late Share Trend",
        help="Late share of the last 90 days minus that of the 90 days before: positive means paying later.",
    )
    behaviour_first_invoice_date = fields.Date(compute="_compute_payment_behaviour", string="Customer Since")
    behaviour_relationship_years = fields.Float(
        compute="_compute_payment_behaviour", string="Relationship (years)", digits=(16, 1)
    )
    behaviour_sales_volume = fields.Monetary(compute="_compute_payment_behaviour", string="Sales, Last 12 Months")
    is_over_limit = fields.Boolean(
        compute="_compute_exposure", search="_search_is_over_limit", string="Over Limit"
    )
    history_ids = fields.One2many("credit.limit.history", "profile_id", string="History")
    approval_ids = fields.One2many("credit.approval", compute="_compute_approval_ids", string="Approvals")
    check_ids = fields.One2many("credit.check", compute="_compute_approval_ids", string="Checks")
    # The customer's credit group (corporate family) in this company and its figures.
    credit_group_id = fields.Many2one(
        "credit.group", compute="_compute_credit_group", string="Credit Group", groups=CREDIT_GROUP_READERS
    )
    group_limit = fields.Monetary(
        compute="_compute_credit_group", string="Group Limit", groups=CREDIT_GROUP_READERS
    )
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
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends(
        "partner_id",
        "company_id",
        "partner_id.credit_limit",
        "mode",
        "limit_currency_id",
        "limit_amount_currency",
    )
    def _compute_credit_limit(self):
        rates = {}
        for company, profiles in self.grouped("company_id").items():
            # Only the limit: a plain read would fetch every prefetched column of the partners.
            profiles.partner_id.sudo().with_company(company).fetch(["credit_limit"])
            currencies = profiles.limit_currency_id
            if currencies:
                # (Today only then: it may read the user's time zone, a query a check need not make.)
                today = fields.Date.context_today(self)
                rates[company] = self._credit_limit_rates(currencies, company, today)
        for profile in self:
            limit = profile.partner_id.sudo().with_company(profile.company_id).credit_limit
            if profile.limit_currency_id:
                # Today's conversion; without a rate, the last one kept on the customer.
                rate = rates[profile.company_id].get(profile.limit_currency_id.id)
                limit = profile.limit_amount_currency * rate if rate else limit
            profile.credit_limit = limit
            profile.limit_checked = profile.mode == "limit" and bool(limit)

    def _inverse_credit_limit(self):
        for profile in self:
            profile.partner_id.with_company(profile.company_id).credit_limit = profile.credit_limit

    @api.depends_context("company")
    @api.depends("partner_id", "company_id", "mode", "on_hold")
    def _compute_exposure(self):
        today = fields.Date.context_today(self)
        for company, profiles in self.grouped("company_id").items():
            figures = self._exposure_figures(profiles.partner_id, company, today)
            for profile in profiles:
                profile._set_exposure_fields(figures[profile.partner_id.id])

    def _set_exposure_fields(self, figures):
        exposure = figures["exposure"]
        limit = self.credit_limit
        capacity = limit + sum(amount for _code, amount in figures["capacity_parts"]) if limit else 0.0
        self.receivable_amount = exposure.receivables
        self.uninvoiced_order_amount = exposure.uninvoiced_orders
        self.draft_invoice_amount = exposure.draft_invoices
        self.exposure_amount = exposure.total
        self.capacity_amount = capacity
        self.other_parts_html = self._other_parts_html(exposure.other_parts, figures["capacity_parts"])
        self.available_amount = capacity - exposure.total if limit else 0.0
        self.utilization = exposure.total / capacity * 100 if capacity else 0.0
        self.overdue_amount = figures["overdue_amount"]
        self.overdue_days = figures["overdue_days"]
        self.is_over_limit = bool(limit) and self.mode == "limit" and exposure.total > capacity
        if self.on_hold:
            self.credit_state = "on_hold"
        elif self.mode == "cash":
            self.credit_state = "cash"
        elif not limit:
            self.credit_state = "no_limit"
        else:
            self.credit_state = "over_limit" if exposure.total > capacity else "ok"

    def _other_parts_html(self, exposure_parts, capacity_parts):
        """The exposure parts and capacity parts that add-ons contribute, as a small table."""
        if not exposure_parts and not capacity_parts:
            return False
        labels = self._credit_part_labels()
        exposure_label, capacity_label = _("Exposure: %(part)s"), _("Adds to the limit: %(part)s")
        rows = [(exposure_label % {"part": labels.get(code, code)}, amount) for code, amount in exposure_parts]
        rows += [(capacity_label % {"part": labels.get(code, code)}, amount) for code, amount in capacity_parts]
        return Markup("<table class='table table-sm mb-0'>%s</table>") % Markup("").join(
            Markup("<tr><td>%s</td><td class='text-end'>%s</td></tr>") % (label, self._format_amount(amount))
            for label, amount in rows
        )

    @api.depends_context("company")
    @api.depends("partner_id", "company_id")
    def _compute_credit_group(self):
        groups = self.env["credit.group"]._credit_groups_of(self.partner_id, self.company_id)
        exposures = groups._credit_member_exposures(fields.Date.context_today(self))
        group_of = {
            (partner_id, group.company_id.id): group for group in groups for partner_id in exposures[group.id]
        }
        for profile in self:
            group = group_of.get((profile.partner_id.id, profile.company_id.id), groups.browse())
            total, shares = member_shares(exposures.get(group.id, {}))
            profile.credit_group_id = group.id
            profile.group_limit = group.credit_limit
            profile.group_exposure_amount = total
            profile.group_available_amount = group.credit_limit - total if group.credit_limit else 0.0
            profile.group_share = shares.get(profile.partner_id.id, 0.0)

    def _search_is_over_limit(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise NotImplementedError(_("Unsupported search on Over Limit."))
        candidates = self.search([("mode", "=", "limit")])
        over = candidates.filtered("is_over_limit")
        wanted = value if operator == "=" else not value
        return [("id", "in" if wanted else "not in", over.ids)]

    @api.depends_context("company")
    @api.depends("partner_id", "company_id", "mode", "on_hold")
    def _compute_insured_exposure(self):
        today = fields.Date.context_today(self)
        covers = self.env["credit.insurance.cover"].sudo()
        for company, profiles in self.grouped("company_id").items():
            insured_by_partner = covers._insured_covers(profiles.partner_id.ids, company, today)
            for profile in profiles:
                limits, _insurers = insured_by_partner.get(profile.partner_id.id, ([], ""))
                insured, uninsured = insured_split(profile.exposure_amount, limits)
                profile.insured_exposure_amount = insured
                profile.uninsured_exposure_amount = uninsured

    def _compute_approval_ids(self):
        for profile in self:
            domain = [
                ("partner_id", "=", profile.partner_id.id),
                ("company_id", "=", profile.company_id.id),
            ]
            profile.approval_ids = self.env["credit.approval"].search(domain)
            profile.check_ids = self.env["credit.check"].search(domain, limit=50)

    def _compute_credit_information(self):
        models_by_field = {
            "rating_ids": "credit.rating",
            "financial_statement_ids": "credit.financial.statement",
            "bureau_report_ids": "credit.bureau.report",
            "bank_reference_ids": "credit.bank.reference",
        }
        for profile in self:
            domain = [
                ("partner_id", "=", profile.partner_id._origin.id),
                ("company_id", "=", profile.company_id._origin.id),
            ]
            for field_name, model_name in models_by_field.items():
                profile[field_name] = self.env[model_name].search(domain, limit=100)

    @api.depends_context("company")
    @api.depends("partner_id", "company_id")
    def _compute_payment_behaviour(self):
        today = fields.Date.context_today(self)
        engine = self.env["credit.rating.engine"]
        for company, profiles in self.grouped("company_id").items():
            partner_ids = [profile.partner_id._origin.id for profile in profiles if profile.partner_id._origin]
            facts = engine._customer_facts(partner_ids, company, today) if company and partner_ids else {}
            for profile in profiles:
                profile._set_behaviour_fields(facts.get(profile.partner_id._origin.id))

    def _set_behaviour_fields(self, facts):
        behaviour = facts and facts["behaviour"]
        values = facts["values"] if facts else {}
        self.behaviour_has_history = bool(facts and facts["first_invoice_date"])
        self.behaviour_has_payments = values.get("late_share") is not None
        self.behaviour_late_share = values.get("late_share") or 0.0
        self.behaviour_weighted_days_late = values.get("weighted_days_late") or 0.0
        self.behaviour_max_days_late = values.get("max_days_late") or 0
        self.behaviour_max_days_overdue = behaviour.max_days_overdue if behaviour else 0
        self.behaviour_overdue_ratio = values.get("overdue_ratio") or 0.0
        self.behaviour_dso = values.get("dso") or 0.0
        self.behaviour_recent_late_share = (facts and facts["recent_late_share"]) or 0.0
        self.behaviour_previous_late_share = (facts and facts["previous_late_share"]) or 0.0
        self.behaviour_late_share_trend = values.get("late_share_trend") or 0.0
        self.behaviour_first_invoice_date = facts and facts["first_invoice_date"]
        self.behaviour_relationship_years = values.get("relationship_years") or 0.0
        self.behaviour_sales_volume = facts["sales_volume"] if facts else 0.0

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains("partner_id")
    def _check_commercial_partner(self):
        for profile in self:
            if profile.partner_id != profile.partner_id.commercial_partner_id:
                raise ValidationError(
                    _(
                        "Credit profiles belong to the company, not to a contact or address: "
                        "use %(commercial)s instead of %(partner)s.",
                        commercial=profile.partner_id.commercial_partner_id.display_name,
                        partner=profile.partner_id.display_name,
                    )
                )

    @api.constrains("tolerance_percent", "company_id")
    def _check_tolerance_percent(self):
        """A tolerance only warns: it may not grant more than the company's maximum."""
        for profile in self:
            company = profile.company_id
            if round(profile.tolerance_percent, 2) > round(company.credit_max_tolerance, 2):
                raise ValidationError(
                    _(
                        "The tolerance of %(tolerance)s%% for %(partner)s is above the maximum tolerance "
                        "of %(maximum)s%% of %(company)s: a larger margin needs a limit request.",
                        tolerance=company._credit_format_percent(profile.tolerance_percent),
                        partner=profile.partner_id.display_name,
                        maximum=company._credit_format_percent(company.credit_max_tolerance),
                        company=company.name,
                    )
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
        reason = self.env.context.get("credit_change_reason") or _("Edited on the credit profile")
        history = self.env["credit.limit.history"]
        for profile in self:
            for name in audited:
                if old_values[profile][name] != profile[name]:
                    history._record(profile, name, old_values[profile][name], profile[name], reason)
        if any(name in vals for name in REEVALUATE_FIELDS):
            for company, profiles in self.grouped("company_id").items():
                self.env["sale.order"]._credit_reevaluate_partners(profiles.partner_id, company)
        return result

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_release_hold(self):
        self._check_credit_manager()
        for profile in self.filtered("on_hold"):
            profile.with_context(credit_change_reason=_("Hold released")).write(
                {"on_hold": False, "hold_reason": False, "hold_user_id": False, "hold_date": False}
            )
            profile.message_post(body=_("Credit hold released by %(user)s.", user=self.env.user.name))
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
        action["context"] = {"default_partner_id": self.partner_id.id, "default_company_id": self.company_id.id}
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
            profile.message_post(body=_("Put on credit hold by %(user)s: %(reason)s", user=self.env.user.name, reason=reason))

    def _check_credit_manager(self):
        if not self.env.su and not self.env.user.has_group("sale_credit_control.group_credit_manager"):
            raise AccessError(_("Only credit managers can change credit holds and limits."))

    @api.model
    def _get_or_create(self, partner, company):
        """The profile of ``partner``'s commercial partner in ``company``, created when missing."""
        commercial = partner.commercial_partner_id
        profile = self.sudo().search([("partner_id", "=", commercial.id), ("company_id", "=", company.id)])
        if not profile:
            try:
                with self.env.cr.savepoint():
                    profile = self.sudo().with_company(company).create(
                        {"partner_id": commercial.id, "company_id": company.id}
                    )
            except pg_errors.UniqueViolation:
                # A concurrent transaction created it after this one's snapshot was taken
                # (two first checks of a new customer at once). Under REPEATABLE READ the
                # same insert with ON CONFLICT fails with a serialization error, which Odoo
                # retries with a fresh snapshot, where the search above finds the profile.
                self.env.cr.execute(
                    SQL(
                        "INSERT INTO credit_profile (partner_id, company_id, mode) VALUES (%s, %s, 'limit')"
                        " ON CONFLICT (partner_id, company_id) DO NOTHING",
                        commercial.id,
                        company.id,
                    ),
                    log_exceptions=False,
                )
                raise  # only reached outside REPEATABLE READ
        return profile

    def _lock_for_check(self):
        """Serialize credit checks of one customer in one company.

        Updating the profile row makes a concurrent check of the same customer wait
        for this transaction; under Odoo's REPEATABLE READ isolation the waiting
        transaction then fails with a serialization error and is retried by Odoo
        with a fresh snapshot, in which it sees the order confirmed here.
        """
        self.ensure_one()
        self.env.cr.execute(
            SQL(
                "UPDATE credit_profile SET last_check_date = %s WHERE id = %s",
                fields.Datetime.now(),
                self.id,
            ),
            # The serialization error of a concurrent check is expected and retried: not an error log.
            log_exceptions=False,
        )
        self.invalidate_recordset(["last_check_date"])

    def _evaluate(
        self, check_date, order_amount, current_exposure, exclude_order_ids=(), pending_orders=0.0, order=None
    ):
        """The policy decision for a new commitment of this customer.

        ``order_amount`` is the order total and ``current_exposure`` the part of it
        that adds to the exposure (not prepaid), both in company currency.
        ``pending_orders`` are orders confirmed in the same batch before this one:
        not confirmed yet, so no query sees them, but already committed to.
        Returns ``(decision, facts)``.
        """
        self.ensure_one()
        figures = self._exposure_figures(
            self.partner_id, self.company_id, check_date, exclude_order_ids=exclude_order_ids
        )[self.partner_id.id]
        exposure = figures["exposure"]
        facts = CreditFacts(
            exposure=replace(
                exposure,
                uninvoiced_orders=exposure.uninvoiced_orders + pending_orders,
                current_order=current_exposure,
            ),
            capacity_parts=figures["capacity_parts"],
            check_date=check_date,
            mode=self.mode,
            limit=self._credit_limit_on(check_date),
            tolerance_percent=self.tolerance_percent,
            order_amount=order_amount,
            on_hold=self.on_hold,
            hold_reason=self.hold_reason or "",
            overdue_amount=figures["overdue_amount"],
            overdue_days=figures["overdue_days"],
            limit_valid_until=self.limit_valid_until or None,
            review_date=self.review_date or None,
            extra=self._credit_order_facts(order, check_date) if order else {},
            limit_currency=self.limit_currency_id.name or "",
            limit_amount_currency=self.limit_amount_currency if self.limit_currency_id else 0.0,
        )
        return evaluate(facts, self.company_id._credit_policy(), self._credit_rules()), facts

    def _credit_order_facts(self, order, check_date):
        """Facts about ``order`` for the rules beyond the core ones (``CreditFacts.extra``):
        its payment term and what was paid for it, against the customer's grade."""
        self.ensure_one()
        grade = self.rating_id.grade_id
        facts = {"paid_amount": order._credit_to_company_currency(order._credit_paid_online_amount(), check_date)}
        if grade:
            facts.update(
                grade=grade.code,
                max_term_days=grade.payment_term_days,
                term_days=order.payment_term_id._credit_longest_days(),
                deposit_percent=grade.deposit_percent,
            )
        # The deposit of the customer's country (its risk class), with or without a grade.
        country_risks = self.env["credit.country.risk"].sudo()
        facts.update(country_risks._credit_deposit_facts(self.partner_id, self.company_id))
        facts.update(self._credit_insurance_facts(check_date))
        team = order.team_id.sudo()
        if team.credit_budget:
            facts.update(
                team=team.name,
                team_budget=team.credit_budget,
                team_exposure=team._credit_exposures(
                    order.company_id, check_date, exclude_order_ids=order._credit_batch_ids()
                )[team.id],
            )
        facts.update(self._credit_group_facts(order, check_date))
        return facts

    def _credit_group_facts(self, order, check_date):
        """The customer's credit group facts: one lookup query when it is in no group with a limit."""
        group = self.env["credit.group"]._credit_group_of(self.partner_id, self.company_id)
        if not group:
            return {}
        exposures = group._credit_member_exposures(check_date, exclude_order_ids=order._credit_batch_ids())
        return {
            "group": group.name,
            "group_limit": group.credit_limit,
            "group_exposure": sum(exposures[group.id].values()),
        }

    def _credit_insurance_facts(self, check_date):
        """The customer's insured limit, where its company requires credit insurance (one grouped
        query then; none otherwise): 0 without a valid cover."""
        self.ensure_one()
        if not self.company_id.credit_insurance_required:
            return {}
        covers = self.env["credit.insurance.cover"].sudo()
        limits, insurers = covers._insured_covers(self.partner_id.ids, self.company_id, check_date).get(
            self.partner_id.id, ([], "")
        )
        return {
            "insurance_required": True,
            "insured_limit": sum(limit for limit, _coverage in limits),
            "insurers": insurers,
        }

    def _explain(self, decision, facts, reasons=None):
        """Translated lines explaining ``reasons`` (default: all of the decision's), with figures."""
        self.ensure_one()
        lines = [self._explain_reason(reason) for reason in (reasons or decision.reasons)]
        prepaid = facts.order_amount - facts.exposure.current_order
        if prepaid > 0:
            lines.append(
                _(
                    "Paid online for this order and not yet booked: %(prepaid)s, deducted from the order. "
                    "Payments already booked are in the open receivables and count only there.",
                    prepaid=self._format_amount(prepaid),
                )
            )
        lines.append(
            _(
                "Amounts in %(currency)s; other currencies converted at the rate of %(date)s.",
                currency=self.currency_id.name,
                date=format_date(self.env, facts.check_date),
            )
        )
        return lines

    def _explain_reason(self, reason):
        render = self._credit_reason_texts().get(reason.code)
        return render(reason.figures) if render else reason.code

    def _credit_reason_texts(self):
        """``{reason code: function(figures) -> text}``: an add-on adds its rule's text here."""
        return {
            "cash_only": self._text_cash_only,
            "on_hold": self._text_on_hold,
            "limit_exceeded": self._text_limit,
            "limit_tolerance": self._text_limit_tolerance,
            "overdue": self._text_overdue,
            "limit_expired": self._text_limit_expired,
            "review_overdue": self._text_review_overdue,
            "max_order": self._text_max_order,
            "payment_term": self._text_payment_term,
            "deposit": self._text_deposit,
            "team_budget": self._text_team_budget,
            "insurance": self._text_insurance,
            "group_limit": self._text_group_limit,
        }

    def _text_payment_term(self, fig):
        return _(
            "The payment term of %(days)s days is longer than grade %(grade)s allows (%(max_days)s days).",
            days=fig["term_days"],
            grade=fig["grade"],
            max_days=fig["max_term_days"],
        )

    def _text_deposit(self, fig):
        if fig.get("source") == "country":
            return _(
                "Customers in %(country)s (country risk class %(risk_class)s) pay a deposit of %(percent)s%% "
                "before confirmation: %(required)s, paid %(paid)s, missing %(missing)s. The customer can pay "
                "it online (Online payment on the quotation).",
                country=fig["country"],
                risk_class=fig["country_risk_class"],
                percent=fig["deposit_percent"],
                required=self._format_amount(fig["required_amount"]),
                paid=self._format_amount(fig["paid_amount"]),
                missing=self._format_amount(fig["missing_amount"]),
            )
        return _(
            "Grade %(grade)s requires a deposit of %(percent)s%% before confirmation: %(required)s, "
            "paid %(paid)s, missing %(missing)s. The customer can pay it online (Online payment on "
            "the quotation).",
            grade=fig["grade"],
            percent=fig["deposit_percent"],
            required=self._format_amount(fig["required_amount"]),
            paid=self._format_amount(fig["paid_amount"]),
            missing=self._format_amount(fig["missing_amount"]),
        )

    def _text_team_budget(self, fig):
        return _(
            "The sales team %(team)s would exceed its credit budget of %(budget)s: its exposure is "
            "%(before)s before this order and %(after)s after (available %(available)s).",
            team=fig["team"],
            budget=self._format_amount(fig["budget"]),
            before=self._format_amount(fig["exposure_before"]),
            after=self._format_amount(fig["exposure_after"]),
            available=self._format_amount(fig["available"]),
        )

    def _text_group_limit(self, fig):
        return _(
            "The credit group %(group)s would exceed its group limit of %(limit)s: the group's exposure is "
            "%(before)s before this order and %(after)s after (available %(available)s).",
            group=fig["group"],
            limit=self._format_amount(fig["limit"]),
            before=self._format_amount(fig["exposure_before"]),
            after=self._format_amount(fig["exposure_after"]),
            available=self._format_amount(fig["available"]),
        )

    def _text_insurance(self, fig):
        if not fig["insurers"]:
            return _(
                "%(partner)s has no valid credit insurance cover, which %(company)s requires: the exposure "
                "after this order would be %(after)s with an insured limit of %(limit)s.",
                partner=self.partner_id.display_name,
                company=self.company_id.name,
                after=self._format_amount(fig["exposure_after"]),
                limit=self._format_amount(fig["insured_limit"]),
            )
        return _(
            "The exposure after this order, %(after)s, exceeds the insured limit of %(limit)s "
            "(credit insurance: %(insurers)s) by %(excess)s.",
            after=self._format_amount(fig["exposure_after"]),
            limit=self._format_amount(fig["insured_limit"]),
            insurers=fig["insurers"],
            excess=self._format_amount(fig["excess"]),
        )

    def _text_cash_only(self, fig):
        return _(
            "%(partner)s is a cash-only customer: the order must be paid in advance (unpaid: %(amount)s).",
            partner=self.partner_id.display_name,
            amount=self._format_amount(fig["order_amount"]),
        )

    def _text_on_hold(self, fig):
        return _(
            "%(partner)s is on credit hold: %(reason)s",
            partner=self.partner_id.display_name,
            reason=fig["hold_reason"] or _("no reason given"),
        )

    def _text_limit_tolerance(self, fig):
        head = _(
            "Credit limit exceeded within the tolerance of %(tolerance)s%% (ceiling %(ceiling)s).",
            tolerance=fig["tolerance_percent"],
            ceiling=self._format_amount(fig["ceiling"]),
        )
        return head + " " + self._text_limit_figures(fig)

    def _text_limit(self, fig):
        head = _(
            "Credit limit exceeded (tolerance %(tolerance)s%%, ceiling %(ceiling)s).",
            tolerance=fig["tolerance_percent"],
            ceiling=self._format_amount(fig["ceiling"]),
        )
        return head + " " + self._text_limit_figures(fig)

    def _text_limit_figures(self, fig):
        """Limit (and what adds to it), every exposure part, this order, after, available."""
        money = self._format_amount
        labels = self._credit_part_labels()
        parts = ", ".join(f"{labels.get(code, code)} {money(amount)}" for code, amount in fig["parts"])
        limit_text = money(fig["limit"])
        if fig.get("limit_currency"):
            limit_text = self._text_limit_currency(fig)
        limit = _("Limit: %(limit)s.", limit=limit_text)
        if fig["capacity_parts"]:
            added = ", ".join(f"{labels.get(code, code)} {money(amount)}" for code, amount in fig["capacity_parts"])
            limit = _(
                "Limit: %(limit)s, plus %(added)s: capacity %(capacity)s.",
                limit=limit_text,
                added=added,
                capacity=money(fig["capacity"]),
            )
        return limit + " " + _(
            "Exposure before this order: %(before)s (%(parts)s). This order: %(order)s. "
            "Exposure after this order: %(after)s. Available credit: %(available)s.",
            before=money(fig["exposure_before"]),
            parts=parts,
            order=money(fig["order_amount"]),
            after=money(fig["exposure_after"]),
            available=money(fig["available"]),
        )

    def _text_limit_currency(self, fig):
        """A limit set in another currency: ``USD 10,000.00 (= EUR 9,150.00 at the rate of 12/02/2026)``."""
        currency = self.limit_currency_id
        if currency.name != fig["limit_currency"]:
            currency = self.env["res.currency"].with_context(active_test=False).search(
                [("name", "=", fig["limit_currency"])], limit=1
            )
        rate_date = fig.get("limit_rate_date") or fields.Date.context_today(self)
        return self._format_limit_in(fig["limit_amount_currency"], currency, fig["limit"], rate_date)

    def _text_rate_move(self, fig):
        """The early warning of a rule ``rate_move``: the rate alone put the customer over its limit."""
        currency = self.company_id.currency_id
        limit_currency = self.env["res.currency"].browse(fig["limit_currency_id"])
        rate_digits = 6
        return _(
            "Only the exchange rate put %(partner)s over its credit limit of %(limit)s: at the rate of "
            "%(date)s (1 %(limit_currency)s = %(rate_now)s %(currency)s) it is %(limit_now)s, at the rate "
            "of %(reference_date)s (1 %(limit_currency)s = %(rate_before)s %(currency)s) it was "
            "%(limit_before)s. "
            "With the same exposure of %(exposure)s and no new documents, the customer is now %(excess)s "
            "over its capacity of %(capacity_now)s (%(capacity_before)s at the earlier rate).",
            partner=self.partner_id.display_name,
            limit=self._format_amount_code(fig["limit_amount_currency"], limit_currency),
            date=format_date(self.env, fig["rate_date"]),
            reference_date=format_date(self.env, fig["reference_date"]),
            limit_currency=limit_currency.name,
            currency=currency.name,
            rate_now=formatLang(self.env, fig["rate_now"], digits=rate_digits),
            rate_before=formatLang(self.env, fig["rate_before"], digits=rate_digits),
            limit_now=self._format_amount_code(fig["limit_now"], currency),
            limit_before=self._format_amount_code(fig["limit_before"], currency),
            exposure=self._format_amount_code(fig["exposure"], currency),
            excess=self._format_amount_code(fig["excess"], currency),
            capacity_now=self._format_amount_code(fig["capacity_now"], currency),
            capacity_before=self._format_amount_code(fig["capacity_before"], currency),
        )

    def _text_overdue(self, fig):
        return _(
            "Overdue receivables: %(amount)s, the oldest %(days)s days past due "
            "(allowed: %(allowed_days)s days, %(allowed_amount)s).",
            amount=self._format_amount(fig["overdue_amount"]),
            days=fig["overdue_days"],
            allowed_days=fig["allowed_days"],
            allowed_amount=self._format_amount(fig["allowed_amount"]),
        )

    def _text_limit_expired(self, fig):
        return _("The credit limit expired on %(date)s.", date=format_date(self.env, fig["date"]))

    def _text_review_overdue(self, fig):
        return _("The credit review was due on %(date)s.", date=format_date(self.env, fig["date"]))

    def _text_max_order(self, fig):
        return _(
            "The order amount %(amount)s is above the maximum of %(maximum)s for a single order.",
            amount=self._format_amount(fig["order_amount"]),
            maximum=self._format_amount(fig["max_order_amount"]),
        )

    def _format_amount(self, amount):
        return formatLang(self.env, amount, currency_obj=self.company_id.currency_id)

    def _format_amount_code(self, amount, currency):
        """``USD 10,000.00``: the currency's code, where two currencies are shown side by side."""
        return f"{currency.name} {formatLang(self.env, amount, digits=currency.decimal_places)}"

    # ------------------------------------------------------------
    # FOREIGN-CURRENCY LIMITS
    # ------------------------------------------------------------

    @api.model
    def _credit_limit_rates(self, currencies, company, rate_date):
        """``{currency id: rate}``: company-currency units per unit of each of ``currencies`` at
        ``rate_date``, as Odoo converts (the latest rate on or before the date, the company's own
        before the shared one; ``None`` for a currency without any such rate). One query."""
        company_currency = company.currency_id
        self.env["res.currency.rate"].flush_model(["rate", "currency_id", "company_id", "name"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT currency.id,
                       (SELECT rate.rate
                          FROM res_currency_rate rate
                         WHERE rate.currency_id = currency.id
                           AND rate.name <= %(date)s
                           AND (rate.company_id IS NULL OR rate.company_id = %(company)s)
                      ORDER BY rate.company_id, rate.name DESC
                         LIMIT 1)
                  FROM res_currency currency
                 WHERE currency.id IN %(currencies)s
                """,
                date=rate_date,
                company=company.root_id.id,
                currencies=tuple((currencies | company_currency).ids),
            )
        )
        rates = dict(rows)
        # The company currency without a rate of its own is the base (1.0), as for Odoo.
        company_rate = rates.get(company_currency.id) or 1.0
        return {
            currency.id: 1.0 if currency == company_currency else (
                company_rate / rates[currency.id] if rates.get(currency.id) else None
            )
            for currency in currencies
        }

    def _credit_limit_on(self, check_date):
        """The limit in the company currency at ``check_date`` (0: no limit checked).

        A limit set in another currency is converted at the rate of ``check_date``,
        unrounded (as the exposure is); without a rate on or before that date, a
        ``UserError`` names the currency and the date: a limit is never converted at 1.0.
        """
        self.ensure_one()
        if not self.limit_currency_id or self.mode != "limit" or not self.limit_amount_currency:
            # Company currency; or no limit is checked (cash only, 0): nothing to convert.
            return self.credit_limit
        return self.limit_amount_currency * self._credit_limit_rate(self.limit_currency_id, check_date)

    def _credit_limit_rate(self, currency, rate_date):
        """The rate converting ``currency`` into the company currency at ``rate_date``; a clear
        error when there is none."""
        self.ensure_one()
        rate = self._credit_limit_rates(currency, self.company_id, rate_date)[currency.id]
        if not rate:
            raise UserError(
                _(
                    "Limit Currency: %(currency)s has no exchange rate on or before %(date)s, so the credit "
                    "limit of %(partner)s cannot be converted into %(company_currency)s. Enter a rate for "
                    "%(currency)s first (Accounting > Configuration > Currencies).",
                    currency=currency.name,
                    date=format_date(self.env, rate_date),
                    partner=self.partner_id.display_name,
                    company_currency=self.company_id.currency_id.name,
                )
            )
        return rate

    def _write_limit_currency(self, limit_vals):
        """``write`` of the limit currency and/or the amount in it, as the user who may set limits."""
        for profile in self:
            profile.partner_id.with_company(profile.company_id)._credit_check_limit_rights()
            company_currency = profile.company_id.currency_id
            currency = profile.limit_currency_id
            if "limit_currency_id" in limit_vals:
                currency = self.env["res.currency"].browse(limit_vals["limit_currency_id"])
            currency = currency or company_currency
            if "limit_amount_currency" in limit_vals:
                amount = limit_vals["limit_amount_currency"] or 0.0
            elif currency == (profile.limit_currency_id or company_currency):
                amount = profile.limit_amount_currency if profile.limit_currency_id else profile.credit_limit
            else:
                # Only the currency changes: the same limit, at today's value in the new currency.
                today = fields.Date.context_today(self)
                amount = currency.round(profile.credit_limit / profile._credit_limit_rate(currency, today))
            profile._credit_set_limit(currency, amount)

    def _credit_set_limit(self, currency, amount, reason=None, from_request=False):
        """Set the customer's limit to ``amount`` in ``currency`` in this profile's company.

        In the company currency it is Odoo's own limit (``res.partner.credit_limit``). In
        another currency that amount is the limit; the customer's limit in the company
        currency follows at today's rate (for Odoo's own screens; ``_cron_refresh_limit_currency``
        keeps it in step) and every check converts at the rate of its date. Needs a rate
        today (checked before anything is written). Recorded in the history with both
        currencies; re-evaluates the customer's held quotations. Rights are the caller's
        business (``_write_limit_currency``, limit requests).
        """
        self.ensure_one()
        company = self.company_id
        company_currency = company.currency_id
        currency = currency or company_currency
        if amount < 0:
            raise ValidationError(_("Limit in Its Currency: a credit limit cannot be negative."))
        today = fields.Date.context_today(self)
        rate = 1.0 if currency == company_currency else self._credit_limit_rate(currency, today)
        partner = self.partner_id.with_company(company).sudo()
        old_limit = partner.credit_limit
        old_currency = self.limit_currency_id or company_currency
        old_amount = self.limit_amount_currency if self.limit_currency_id else old_limit
        new_limit = company_currency.round(amount * rate)
        if old_currency == currency and not currency.compare_amounts(old_amount, amount):
            return False
        foreign = currency != company_currency
        super().write(
            {
                "limit_currency_id": currency.id if foreign else False,
                "limit_amount_currency": amount if foreign else 0.0,
            }
        )
        partner._credit_write_limit_mirror(new_limit)
        reason = reason or self.env.context.get("credit_change_reason") or _("Edited on the credit profile")
        self.env["credit.limit.history"]._record(
            self,
            "credit_limit",
            old_limit,
            new_limit,
            reason,
            {
                "old_limit_currency_id": old_currency.id,
                "old_limit_amount": old_amount,
                "new_limit_currency_id": currency.id,
                "new_limit_amount": amount,
            },
        )
        self.message_post(
            body=_(
                "Credit limit changed from %(old)s to %(new)s by %(user)s: %(reason)s",
                old=self._format_limit_in(old_amount, old_currency, old_limit, today),
                new=self._format_limit_in(amount, currency, new_limit, today),
                user=self.env.user.name,
                reason=reason,
            )
        )
        self.env["sale.order"]._credit_reevaluate_partners(self.partner_id, company)
        if not from_request:
            # As a direct edit on the customer: the new base of a temporary limit that applies.
            self.env["credit.limit.request"]._rebase_temporary_limits(self.partner_id, company)
        return True

    def _format_limit_in(self, amount, currency, converted, rate_date):
        """``USD 10,000.00 (= EUR 9,150.00 at the rate of 12/02/2026)``, or the amount alone in
        the company currency."""
        if currency == self.company_id.currency_id:
            return self._format_amount(amount)
        return _(
            "%(amount)s (= %(converted)s at the rate of %(date)s)",
            amount=self._format_amount_code(amount, currency),
            converted=self._format_amount_code(converted, self.company_id.currency_id),
            date=format_date(self.env, rate_date),
        )

    def _credit_limit_is(self, currency, amount):
        """Whether the limit is set to ``amount`` in ``currency`` (the company's: Odoo's own limit)."""
        self.ensure_one()
        company_currency = self.company_id.currency_id
        if (self.limit_currency_id or company_currency) != (currency or company_currency):
            return False
        current = self.limit_amount_currency if self.limit_currency_id else (
            self.partner_id.with_company(self.company_id).sudo().credit_limit
        )
        return not (currency or company_currency).compare_amounts(current, amount)

    def _credit_limit_before_vals(self):
        """The limit as set now, for a limit request to restore (``previous_limit_*``): empty
        currency for a limit in the company currency (its ``previous_limit``)."""
        self.ensure_one()
        return {
            "previous_limit_currency_id": self.limit_currency_id.id,
            "previous_limit_amount_currency": self.limit_amount_currency if self.limit_currency_id else 0.0,
        }

    def _credit_on_company_limit_set(self, old_limit, new_limit):
        """Odoo's own limit (in the company currency) was set on the customer: a limit in
        another currency no longer applies. Returns the history's typed amounts of the change."""
        self.ensure_one()
        company_currency = self.company_id.currency_id
        limit_vals = {
            "old_limit_currency_id": (self.limit_currency_id or company_currency).id,
            "old_limit_amount": self.limit_amount_currency if self.limit_currency_id else old_limit,
            "new_limit_currency_id": company_currency.id,
            "new_limit_amount": new_limit,
        }
        if self.limit_currency_id:
            super(CreditProfile, self.sudo()).write(
                {"limit_currency_id": False, "limit_amount_currency": 0.0}
            )
        return limit_vals

    @api.model
    def _cron_refresh_limit_currency(self):
        """Daily: the company-currency limit of each customer whose limit is in another currency
        follows today's rate (Odoo's own screens and reports read it; the check converts at its
        own date). Not a limit change: nothing is recorded. A currency without a rate is skipped."""
        today = fields.Date.context_today(self)
        profiles = self.sudo().search([("limit_currency_id", "!=", False)])
        for company, company_profiles in profiles.grouped("company_id").items():
            rates = self._credit_limit_rates(company_profiles.limit_currency_id, company, today)
            for profile in company_profiles:
                rate = rates.get(profile.limit_currency_id.id)
                if not rate:
                    _logger.warning(
                        "No rate of %s on %s: the limit of %s in %s is not refreshed.",
                        profile.limit_currency_id.name, today, profile.display_name, company.currency_id.name,
                    )
                    continue
                limit = company.currency_id.round(profile.limit_amount_currency * rate)
                partner = profile.partner_id.with_company(company)
                if company.currency_id.compare_amounts(partner.credit_limit, limit):
                    partner._credit_write_limit_mirror(limit)
        return True

    # ------------------------------------------------------------
    # REVIEWS
    # ------------------------------------------------------------

    @api.depends("company_id")
    def _compute_credit_manager_id(self):
        for profile in self:
            if not profile.credit_manager_id:
                profile.credit_manager_id = profile.company_id.credit_manager_id

    @api.depends("review_date", "company_id.credit_review_lead_days")
    def _compute_review_state(self):
        today = fields.Date.context_today(self)
        for profile in self:
            profile.review_state = review_due(
                profile.review_date or None, today, profile.company_id.credit_review_lead_days
            )

    def _search_review_state(self, operator, value):
        if operator in ("=", "!="):
            values = {value}
        elif operator in ("in", "not in"):
            values = set(value)
        else:
            raise NotImplementedError(_("Unsupported search on Review Status."))
        if operator in ("!=", "not in"):
            values = {state for state, _label in REVIEW_STATES} - values
        today = fields.Date.context_today(self)
        companies = self.env["res.company"].sudo().search([])
        domains = []
        if REVIEW_OVERDUE in values:
            domains.append([("review_date", "<", today)])
        for company in companies:
            last_ok = today + timedelta(days=company.credit_review_lead_days)
            if REVIEW_DUE_SOON in values:
                domains.append(
                    [("company_id", "=", company.id), ("review_date", ">=", today), ("review_date", "<=", last_ok)]
                )
            if REVIEW_OK in values:
                domains.append([("company_id", "=", company.id), ("review_date", ">", last_ok)])
        if REVIEW_OK in values:
            domains.append([("review_date", "=", False)])
        return expression.OR(domains) if domains else expression.FALSE_DOMAIN

    def _credit_responsible_user(self):
        """Who acts on this customer's reviews and alerts: the profile's credit manager, else the
        company's responsible credit manager, else the first credit manager of the company."""
        self.ensure_one()
        for user in (self.credit_manager_id, self.company_id.credit_manager_id):
            if user and user.active:
                return user
        return self.env["res.company"]._credit_manager_users(self.company_id).sorted("id")[:1]

    @api.model
    def _cron_schedule_reviews(self):
        """Schedule one review activity per review date that is due soon (or already overdue)."""
        profiles = self.sudo().search([("review_state", "in", (REVIEW_DUE_SOON, REVIEW_OVERDUE))])
        todo = profiles.filtered(lambda profile: profile.review_activity_date != profile.review_date)
        for profile in todo:
            user = profile._credit_responsible_user()
            if not user:
                _logger.warning("No credit manager for the review of %s: no activity scheduled.", profile.display_name)
                continue
            profile.activity_schedule(
                "sale_credit_control.mail_activity_type_credit_review",
                date_deadline=profile.review_date,
                user_id=user.id,
                summary=_("Credit review due on %(date)s", date=format_date(self.env, profile.review_date)),
                note=_(
                    "Review the credit of %(partner)s: rating, limit %(limit)s, exposure %(exposure)s.",
                    partner=profile.partner_id.display_name,
                    limit=profile._format_amount(profile.credit_limit),
                    exposure=profile._format_amount(profile.exposure_amount),
                ),
            )
        for review_date, profiles in todo.grouped("review_date").items():
            profiles.write({"review_activity_date": review_date})
        return todo

    # ------------------------------------------------------------
    # EXPOSURE (set-based)
    # ------------------------------------------------------------

    def init(self):
        super().init()
        # Partial covering indexes for the exposure queries below: they hold the open
        # items only, so a check reads the customer's open documents (index-only scan)
        # and not their whole history. Their predicates repeat the queries' conditions.
        self.env.cr.execute(
            SQL(
                """
                CREATE INDEX IF NOT EXISTS account_move_line_credit_open_partner_idx
                    ON account_move_line (partner_id)
                    INCLUDE (account_id, company_id, currency_id, amount_residual_currency, date_maturity)
                 WHERE parent_state = 'posted' AND reconciled IS NOT TRUE AND amount_residual_currency <> 0
                """
            )
        )
        self.env.cr.execute(
            SQL(
                """
                CREATE INDEX IF NOT EXISTS sale_order_credit_confirmed_invoice_partner_idx
                    ON sale_order (partner_invoice_id, company_id)
                 WHERE state = 'sale'
                """
            )
        )

    @api.model
    def _exposure_figures(self, partners, company, check_date, exclude_order_ids=()):
        """Exposure parts, capacity parts and overdue figures of commercial ``partners`` in ``company``.

        A constant number of grouped queries, whatever the customers' history: the open
        receivables, then one query per part of :meth:`_credit_exposure_parts` and of
        :meth:`_credit_capacity_parts`, each summed per currency and converted to the
        company currency at ``check_date``.
        Returns ``{partner_id: {"exposure": Exposure, "capacity_parts", "overdue_amount", "overdue_days"}}``.
        """
        partner_ids = tuple(partners.ids) or (0,)
        excluded = tuple(exclude_order_ids) or (0,)
        receivables = self._query_receivables(partner_ids, company, check_date)
        exposure_parts = [
            (code, query(partner_ids, company, check_date, excluded))
            for code, query in self._credit_exposure_parts(company)
        ]
        capacity_parts = [
            (code, query(partner_ids, company, check_date))
            for code, query in self._credit_capacity_parts(company)
        ]
        convert = self._converter(company, check_date)
        result = {}
        for partner_id in partners.ids:
            rec = receivables.get(partner_id, {})
            oldest_due = rec.get("oldest_due")
            parts = {code: convert(amounts.get(partner_id, {})) for code, amounts in exposure_parts}
            core = {code: parts.pop(code, 0.0) for code in CORE_PARTS if code != "receivables"}
            result[partner_id] = {
                "exposure": Exposure(
                    receivables=convert(rec.get("residual", {})), other_parts=tuple(parts.items()), **core
                ),
                # Parts adding nothing (no guarantee...) are left out: no "plus 0.00" in messages.
                "capacity_parts": tuple(
                    (code, amount)
                    for code, amount in (
                        (code, convert(amounts.get(partner_id, {}))) for code, amounts in capacity_parts
                    )
                    if amount
                ),
                "overdue_amount": convert(rec.get("overdue", {})),
                "overdue_days": (check_date - oldest_due).days if oldest_due else 0,
            }
        return result

    @api.model
    def _credit_exposure_parts(self, company):
        """The exposure parts beyond the open receivables, as ``[(code, query)]``.

        The extension point for what a customer owes or will owe (OCA's
        ``_risk_field_list``): each ``query(partner_ids, company, check_date,
        exclude_order_ids)`` returns ``{partner_id: {currency_id: amount}}`` from one
        grouped query. An add-on appends ``(code, self._query_its_part)`` and names the
        part in :meth:`_credit_part_labels`; the check, the blocked message and the profile
        then count and show it.
        """
        parts = [("uninvoiced_orders", self._query_uninvoiced_orders)]
        if company.credit_count_draft_invoices:
            parts.append(("draft_invoices", self._query_draft_invoices))
        return parts

    @api.model
    def _credit_capacity_parts(self, company):
        """What adds to a checked limit (e.g. guarantees), as ``[(code, query)]``; each
        ``query(partner_ids, company, check_date)`` returns ``{partner_id: {currency_id: amount}}``
        from one grouped query. Here: ``secured``, by active guarantees valid on the check date."""
        return [("secured", self.env["credit.guarantee"]._query_secured_capacity)]

    @api.model
    def _credit_part_labels(self):
        """``{part code: label}`` of the exposure and capacity parts, as people read them."""
        return {
            "receivables": _("open receivables"),
            "uninvoiced_orders": _("confirmed uninvoiced orders"),
            "draft_invoices": _("draft invoices"),
            "secured": _("secured by guarantees"),
        }

    @api.model
    def _credit_rules(self):
        """The rules the check runs (policy-core functions of facts and policy); an add-on
        returns ``super()._credit_rules() + (its_rule,)`` and renders its reason in
        :meth:`_credit_reason_texts`."""
        return RULES + TERM_RULES + BUDGET_RULES + GROUP_RULES + INSURANCE_RULES

    @api.model
    def _converter(self, company, check_date):
        """A function summing ``{currency_id: amount}`` into ``company``'s currency at ``check_date``."""
        company_currency = company.currency_id

        def convert(amounts_by_currency):
            total = 0.0
            for currency_id, amount in amounts_by_currency.items():
                if not amount:
                    continue
                currency = self.env["res.currency"].browse(currency_id)
                if currency == company_currency:
                    total += amount
                else:
                    total += currency._convert(amount, company_currency, company, check_date, round=False)
            return total

        return convert

    @api.model
    @api.model
    def _open_receivable_condition(self, company):
        """Where a journal item ``aml`` (its account joined as ``account``) is an open receivable
        of ``company``: the lines every receivable figure of the add-on sums. Flushes them."""
        self.env["account.move.line"].flush_model(
            ["partner_id", "company_id", "account_id", "parent_state", "reconciled",
             "amount_residual_currency", "currency_id", "date_maturity", "move_id"]
        )
        self.env["account.account"].flush_model(["account_type"])
        return SQL(
            "aml.company_id = %s AND account.account_type = 'asset_receivable'"
            " AND aml.parent_state = 'posted' AND aml.reconciled IS NOT TRUE",
            company.id,
        )

    def _query_receivables(self, partner_ids, company, check_date):
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        # Overdue lines that running repayment plans cover (grouped like ``line`` below) leave the
        # overdue figures, not the residual: the inner scan stays on the open-items index alone
        # and no query is added, whatever the number of plans.
        covered = self.env["credit.repayment.plan"]._credit_covered_overdue_sql(partner_ids, company, check_date)
        rows = self.env.execute_query(
            SQL(
                """
                SELECT line.partner_id,
                       line.currency_id,
                       SUM(line.residual),
                       SUM(line.overdue) - COALESCE(SUM(covered.residual), 0),
                       MIN(line.due) FILTER (WHERE line.lines > COALESCE(covered.lines, 0))
                  FROM (
                    SELECT partner.commercial_partner_id AS partner_id,
                           aml.currency_id,
                           CASE WHEN aml.date_maturity < %(date)s AND aml.amount_residual_currency > 0
                                THEN aml.date_maturity END AS due,
                           SUM(aml.amount_residual_currency) AS residual,
                           SUM(aml.amount_residual_currency) FILTER (
                               WHERE aml.date_maturity < %(date)s AND aml.amount_residual_currency > 0) AS overdue,
                           COUNT(*) FILTER (
                               WHERE aml.date_maturity < %(date)s AND aml.amount_residual_currency > 0) AS lines
                      FROM account_move_line aml
                      JOIN res_partner partner ON partner.id = aml.partner_id
                      JOIN account_account account ON account.id = aml.account_id
                     WHERE partner.commercial_partner_id IN %(partners)s
                       AND %(open_receivable)s
                       AND aml.amount_residual_currency <> 0
                  GROUP BY 1, 2, 3
                  ) line
             LEFT JOIN %(covered)s covered
                    ON covered.partner_id = line.partner_id
                   AND covered.currency_id = line.currency_id
                   AND covered.due = line.due
              GROUP BY line.partner_id, line.currency_id
                """,
                date=check_date,
                partners=partner_ids,
                open_receivable=self._open_receivable_condition(company),
                covered=covered,
            )
        )
        result = defaultdict(lambda: {"residual": {}, "overdue": {}, "oldest_due": None})
        for partner_id, currency_id, residual, overdue, oldest_due in rows:
            figures = result[partner_id]
            figures["residual"][currency_id] = residual or 0.0
            figures["overdue"][currency_id] = overdue or 0.0
            if oldest_due and (not figures["oldest_due"] or oldest_due < figures["oldest_due"]):
                figures["oldest_due"] = oldest_due
        return result

    @api.model
    def _query_uninvoiced_orders(self, partner_ids, company, check_date, exclude_order_ids, only_order_ids=None):
        """What confirmed orders still commit the customer to, taxes included, per order currency.

        For each line of a confirmed order invoiced to the customer: the quantity the
        customer is committed to (the ordered quantity, or the delivered one when more was
        delivered) less the quantity on posted invoices and credit notes, at the line's
        tax-included unit price, whatever the product's invoicing policy. A down payment
        line counts minus what its posted invoices carry: that part is a receivable already.
        Draft invoices of an order do not reduce it (they are no receivable yet). The
        customer is the invoice address's commercial partner, as for the receivables.
        """
        return self._query_order_commitments(
            SQL("customer.commercial_partner_id"),
            SQL("customer.commercial_partner_id IN %s", partner_ids),
            company,
            exclude_order_ids,
            only_order_ids,
        )

    @api.model
    def _query_order_commitments(self, key, condition, company, exclude_order_ids, only_order_ids=None):
        """The uninvoiced commitments of confirmed orders (see ``_query_uninvoiced_orders``),
        grouped by the SQL expression ``key`` over the orders matching ``condition``
        (``so`` is the order, ``customer`` its invoice address).
        Returns ``{key: {currency_id: amount}}``."""
        in_company = SQL("(%s) AND so.company_id = %s", condition, company.id)
        rows = self.env.execute_query(
            self._order_commitments_sql(key, in_company, exclude_order_ids, only_order_ids)
        )
        result = defaultdict(dict)
        for key_id, _company_id, currency_id, amount in rows:
            result[key_id][currency_id] = amount or 0.0
        return result

    @api.model
    def _order_commitments_sql(self, key, condition, exclude_order_ids=(0,), only_order_ids=None):
        """The query of :meth:`_query_order_commitments`, rows ``(key_id, company_id, currency_id,
        amount)`` of the confirmed orders matching ``condition`` (any company): the one definition
        of the uninvoiced-orders figure, also read by the ``credit.exposure.report`` view. Flushes."""
        self.env["sale.order"].flush_model(["partner_invoice_id", "team_id", "company_id", "state", "currency_id"])
        self.env["sale.order.line"].flush_model(
            ["order_id", "display_type", "is_downpayment", "product_uom_qty", "qty_delivered",
             "price_total", "price_unit", "discount", "product_uom"]
        )
        self.env["account.move"].flush_model(["state", "move_type"])
        self.env["account.move.line"].flush_model(["move_id", "quantity", "price_total", "product_uom_id"])
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        only_orders = SQL("AND so.id IN %s", tuple(only_order_ids)) if only_order_ids else SQL()
        return SQL(
            """
            WITH line AS (
                SELECT %(key)s AS key_id,
                       so.company_id,
                       so.currency_id,
                       sol.id,
                       sol.is_downpayment,
                       sol.product_uom,
                       CASE WHEN sol.product_uom_qty >= 0
                            THEN GREATEST(sol.product_uom_qty, COALESCE(sol.qty_delivered, 0))
                            ELSE LEAST(sol.product_uom_qty, COALESCE(sol.qty_delivered, 0))
                       END AS committed_qty,
                       CASE WHEN sol.product_uom_qty <> 0
                            THEN sol.price_total / sol.product_uom_qty
                            ELSE sol.price_unit * (1 - COALESCE(sol.discount, 0) / 100.0)
                       END AS unit_price
                  FROM sale_order so
                  JOIN res_partner customer ON customer.id = so.partner_invoice_id
                  JOIN sale_order_line sol ON sol.order_id = so.id
                 WHERE %(condition)s
                   AND so.state = 'sale'
                   AND sol.display_type IS NULL
                   AND so.id NOT IN %(excluded)s
                   %(only_orders)s
            ),
            invoiced AS (
                SELECT rel.order_line_id,
                       SUM(CASE WHEN move.move_type = 'out_refund' THEN -1 ELSE 1 END
                           * aml.quantity
                           * COALESCE(line_uom.factor / NULLIF(aml_uom.factor, 0), 1)) AS qty,
                       SUM(CASE WHEN move.move_type = 'out_refund' THEN -1 ELSE 1 END
                           * aml.price_total) AS amount
                  FROM sale_order_line_invoice_rel rel
                  JOIN line ON line.id = rel.order_line_id
                  JOIN account_move_line aml ON aml.id = rel.invoice_line_id
                  JOIN account_move move ON move.id = aml.move_id
             LEFT JOIN uom_uom aml_uom ON aml_uom.id = aml.product_uom_id
             LEFT JOIN uom_uom line_uom ON line_uom.id = line.product_uom
                 WHERE move.state = 'posted'
                   AND move.move_type IN ('out_invoice', 'out_refund')
              GROUP BY rel.order_line_id
            )
            SELECT line.key_id,
                   line.company_id,
                   line.currency_id,
                   SUM(CASE
                       WHEN line.is_downpayment THEN -COALESCE(invoiced.amount, 0)
                       WHEN line.committed_qty >= 0
                       THEN GREATEST(line.committed_qty - COALESCE(invoiced.qty, 0), 0) * line.unit_price
                       ELSE LEAST(line.committed_qty - COALESCE(invoiced.qty, 0), 0) * line.unit_price
                   END) AS amount
              FROM line
         LEFT JOIN invoiced ON invoiced.order_line_id = line.id
          GROUP BY line.key_id, line.company_id, line.currency_id
            """,
            key=key,
            condition=condition,
            excluded=tuple(exclude_order_ids) or (0,),
            only_orders=only_orders,
        )

    @api.model
    def _query_draft_invoices(self, partner_ids, company, check_date=None, exclude_order_ids=()):
        """Draft customer invoices and credit notes, without the lines that come from orders
        (those are still counted in the orders' uninvoiced amount)."""
        self.env["account.move"].flush_model(["commercial_partner_id", "company_id", "state", "move_type", "currency_id"])
        self.env["account.move.line"].flush_model(["move_id", "display_type", "price_total"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT move.commercial_partner_id,
                       move.currency_id,
                       SUM(CASE WHEN move.move_type = 'out_refund' THEN -line.price_total ELSE line.price_total END)
                  FROM account_move_line line
                  JOIN account_move move ON move.id = line.move_id
                 WHERE move.commercial_partner_id IN %(partners)s
                   AND move.company_id = %(company)s
                   AND move.state = 'draft'
                   AND move.move_type IN ('out_invoice', 'out_refund')
                   AND line.display_type = 'product'
                   AND NOT EXISTS (
                       SELECT 1 FROM sale_order_line_invoice_rel rel WHERE rel.invoice_line_id = line.id)
              GROUP BY move.commercial_partner_id, move.currency_id
                """,
                partners=partner_ids,
                company=company.id,
            )
        )
        result = defaultdict(dict)
        for partner_id, currency_id, amount in rows:
            result[partner_id][currency_id] = amount or 0.0
        return result

    # ------------------------------------------------------------
    # REPORTS
    # ------------------------------------------------------------

    def action_print_credit_report(self):
        """The customer credit report (PDF) of these profiles."""
        self.check_access("read")
        return self.env.ref("sale_credit_control.credit_profile_report").report_action(self)

    def _credit_aging(self, report_date=None):
        """The aging of each profile's open receivables on ``report_date`` (default today), in the
        buckets of its company (``res.company.credit_aging_edges``).

        The open items are those of the receivables figure (:meth:`_query_receivables`: posted,
        unreconciled lines of receivable accounts of the commercial partner in the company),
        credit notes and unapplied payments included, each in the bucket of its due date (not
        due without one). One grouped query per company sums them per bucket and currency; the
        sums are converted to the company currency at ``report_date``, so the buckets add up to
        the open receivables. Returns ``{profile id: credit_policy.aging.Aging}``.
        """
        report_date = report_date or fields.Date.context_today(self)
        result = {}
        for company, profiles in self.grouped("company_id").items():
            edges = company._credit_aging_edges()
            partner_ids = tuple(profiles.partner_id.ids) or (0,)
            sums = self._query_aging(partner_ids, company, report_date, edges)
            convert = self._converter(company, report_date)
            for profile in profiles:
                buckets = sums.get(profile.partner_id.id, {})
                result[profile.id] = aging_from_sums(
                    {index: convert(amounts) for index, amounts in buckets.items()}, edges
                )
        return result

    @api.model
    def _query_aging(self, partner_ids, company, report_date, edges):
        """``{partner_id: {bucket index: {currency_id: residual}}}`` of the commercial partners'
        open receivable items in ``company`` on ``report_date``; the bucket index is
        ``credit_policy.aging.bucket_index`` of the days past due, computed by the database."""
        self.env["account.move.line"].flush_model(
            ["partner_id", "company_id", "account_id", "parent_state", "reconciled",
             "amount_residual_currency", "currency_id", "date_maturity"]
        )
        self.env["account.account"].flush_model(["account_type"])
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT partner.commercial_partner_id,
                       CASE WHEN aml.date_maturity IS NULL OR aml.date_maturity >= %(date)s THEN 0
                            ELSE 1 + width_bucket(%(date)s - aml.date_maturity, %(thresholds)s::int[])
                       END AS bucket,
                       aml.currency_id,
                       SUM(aml.amount_residual_currency)
                  FROM account_move_line aml
                  JOIN res_partner partner ON partner.id = aml.partner_id
                  JOIN account_account account ON account.id = aml.account_id
                 WHERE partner.commercial_partner_id IN %(partners)s
                   AND aml.company_id = %(company)s
                   AND account.account_type = 'asset_receivable'
                   AND aml.parent_state = 'posted'
                   AND aml.reconciled IS NOT TRUE
                   AND aml.amount_residual_currency <> 0
              GROUP BY 1, 2, 3
                """,
                date=report_date,
                thresholds=first_days(edges),
                partners=partner_ids,
                company=company.id,
            )
        )
        result = defaultdict(lambda: defaultdict(dict))
        for partner_id, bucket, currency_id, residual in rows:
            result[partner_id][bucket][currency_id] = residual or 0.0
        return result
