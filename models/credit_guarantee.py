from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, format_date, ormcache

GUARANTEE_TYPES = [
    ("bank_guarantee", "Bank Guarantee"),
    ("standby_lc", "Standby Letter of Credit"),
    ("parent_guarantee", "Parent-Company Guarantee"),
    ("collateral", "Mortgage / Collateral"),
    ("cash_deposit", "Cash Deposit Held"),
]
GUARANTEE_STATES = [
    ("draft", "Draft"),
    ("active", "Active"),
    ("expired", "Expired"),
    ("released", "Released"),
    ("called", "Called"),
]
# Set in the cursor cache (no RPC caller can set it) while a button changes the state.
STATE_CHANGE_KEY = "sale_credit_control.guarantee_state_change"
# Written only by the state-changing actions.
WORKFLOW_FIELDS = {
    "state",
    "activated_by_id",
    "activated_date",
    "released_by_id",
    "released_date",
    "called_by_id",
    "called_date",
}
# The terms the secured capacity is computed from: fixed once the guarantee leaves draft.
TERMS_FIELDS = {
    "partner_id",
    "company_id",
    "guarantee_type",
    "amount",
    "currency_id",
    "coverage_percent",
    "valid_from",
}


class CreditGuarantee(models.Model):
    """A guarantee or collateral (担保 / 抵押) securing part of a customer's exposure.

    While active and valid on the check date it adds ``amount x coverage %`` (converted
    at the check date) to the customer's capacity: the ``secured`` capacity part of
    ``credit.profile._credit_capacity_parts``. It stops counting the day after its end
    date by itself; the daily cron only sets the visible state to ``expired``.
    """

    _name = "credit.guarantee"
    _inherit = ["credit.finite.values.mixin", "mail.thread", "mail.activity.mixin", "credit.validity.mixin"]
    _description = "Credit Guarantee"
    _order = "valid_to desc, id desc"
    _check_company_auto = True
    _credit_finite_fields = ("amount", "coverage_percent")

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
    guarantee_type = fields.Selection(
        GUARANTEE_TYPES, string="Type", required=True, default="bank_guarantee", tracking=True
    )
    issuer_id = fields.Many2one(
        "res.partner",
        check_company=True,
        tracking=True,
        help="Who stands behind the guarantee: the bank, the parent company, the owner of the collateral.",
    )
    reference = fields.Char(tracking=True, help="The guarantee's number on the issuer's document.")
    amount = fields.Monetary(required=True, tracking=True)
    currency_id = fields.Many2one(
        "res.currency", required=True, default=lambda self: self.env.company.currency_id, tracking=True
    )
    coverage_percent = fields.Float(
        string="Coverage (%)",
        required=True,
        default=100.0,
        aggregator=False,
        tracking=True,
        help="Share of the amount that counts as secured capacity (e.g. a haircut on collateral).",
    )
    secured_amount = fields.Monetary(
        compute="_compute_secured_amount",
        store=True,
        help="Amount x coverage: what the guarantee adds to the customer's limit while active and valid.",
    )
    valid_from = fields.Date(default=fields.Date.context_today, tracking=True)
    valid_to = fields.Date(tracking=True, help="Last day the guarantee counts. Empty: open-ended.")
    attachment_ids = fields.Many2many("ir.attachment", string="Documents")
    note = fields.Text()
    state = fields.Selection(
        GUARANTEE_STATES, required=True, default="draft", readonly=True, copy=False, index=True, tracking=True
    )
    activated_by_id = fields.Many2one("res.users", readonly=True, copy=False)
    activated_date = fields.Datetime(string="Activated On", readonly=True, copy=False)
    released_by_id = fields.Many2one("res.users", readonly=True, copy=False)
    released_date = fields.Datetime(string="Released On", readonly=True, copy=False)
    called_by_id = fields.Many2one("res.users", readonly=True, copy=False)
    called_date = fields.Datetime(string="Called On", readonly=True, copy=False)

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends("amount", "coverage_percent")
    def _compute_secured_amount(self):
        for guarantee in self:
            guarantee.secured_amount = guarantee.amount * guarantee.coverage_percent / 100.0

    @api.depends("guarantee_type", "reference", "partner_id")
    def _compute_display_name(self):
        types = dict(self._fields["guarantee_type"]._description_selection(self.env))
        for guarantee in self:
            name = " ".join(filter(None, (types.get(guarantee.guarantee_type), guarantee.reference)))
            if guarantee.partner_id:
                name = f"{name} ({guarantee.partner_id.display_name})"
            guarantee.display_name = name

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains("amount")
    def _check_amount(self):
        self._credit_check_positive("amount")
        label = self._field_label("amount")
        for guarantee in self:  # NaN passes the positive check; 1e20 is a typing error
            guarantee.company_id._credit_check_figure(
                guarantee.amount, label, guarantee.display_name, currency=guarantee.currency_id
            )

    @api.constrains("coverage_percent")
    def _check_coverage_percent(self):
        self._credit_check_coverage()

    @api.constrains("valid_from", "valid_to")
    def _check_dates(self):
        self._credit_check_period("valid_from", "valid_to")

    @api.constrains("partner_id")
    def _check_commercial_partner(self):
        self._credit_check_commercial_partner()

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("state", "draft") != "draft" or any(
                vals.get(name) for name in WORKFLOW_FIELDS - {"state"}
            ):
                raise UserError(
                    self.env._("A guarantee is created as a draft; a credit manager then activates it.")
                )
        return super().create(vals_list)

    def write(self, vals):
        changing_state = self.env.cr.cache.get(STATE_CHANGE_KEY)
        if not changing_state and WORKFLOW_FIELDS & vals.keys():
            raise UserError(
                self.env._(
                    "The state of a guarantee changes only through its buttons (Activate, Release, Call)."
                )
            )
        if not changing_state and TERMS_FIELDS & vals.keys():
            locked = self.filtered(lambda guarantee: guarantee.state != "draft")
            if locked:
                raise UserError(
                    self.env._(
                        "%(guarantee)s is no longer a draft: its customer, company, type, amount, currency, "
                        "coverage and start date are fixed. Reset it to draft first.",
                        guarantee=locked[0].display_name,
                    )
                )
        old_ends = {guarantee: guarantee.valid_to for guarantee in self} if "valid_to" in vals else {}
        if {"state", "company_id"} & vals.keys():
            self.env.registry.clear_cache()  # _credit_companies_with_active_guarantees
        result = super().write(vals)
        changed = self.browse()
        for guarantee, old_end in old_ends.items():
            if guarantee.valid_to != old_end and guarantee.state == "active":
                self.env["credit.limit.history"]._record_partner(
                    guarantee.partner_id,
                    guarantee.company_id,
                    "guarantee",
                    old_end,
                    guarantee.valid_to,
                    self.env._("%(guarantee)s: end date changed", guarantee=guarantee.display_name),
                )
                changed |= guarantee
        changed._reevaluate_held_orders()
        return result

    def unlink(self):
        result = super().unlink()
        self.env.registry.clear_cache()  # _credit_companies_with_active_guarantees
        return result

    @api.model
    @ormcache()
    def _credit_companies_with_active_guarantees(self):
        """Ids of the companies with an active guarantee (cached, cleared when a guarantee
        changes state or company, or is deleted; guarantees are created as drafts)."""
        groups = self.sudo()._read_group([("state", "=", "active")], ["company_id"])
        return frozenset(company.id for [company] in groups)

    @api.ondelete(at_uninstall=False)
    def _unlink_only_drafts(self):
        if any(guarantee.state != "draft" for guarantee in self):
            raise UserError(
                self.env._("Only draft guarantees can be deleted; release an active one instead.")
            )

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_activate(self):
        self._check_credit_manager()
        today = fields.Date.context_today(self)
        for guarantee in self:
            if guarantee.state not in ("draft", "expired"):
                raise UserError(self.env._("%(guarantee)s is not a draft.", guarantee=guarantee.display_name))
            if guarantee.valid_to and guarantee.valid_to < today:
                raise UserError(
                    self.env._(
                        "%(guarantee)s ended on %(date)s: extend its Valid To date before activating it.",
                        guarantee=guarantee.display_name,
                        date=format_date(self.env, guarantee.valid_to),
                    )
                )
            guarantee._check_currency_rate(today)
        self._change_state(
            "active", {"activated_by_id": self.env.uid, "activated_date": fields.Datetime.now()}
        )
        return True

    def action_release(self):
        self._check_credit_manager()
        self._check_state("active", "expired")
        self._change_state(
            "released", {"released_by_id": self.env.uid, "released_date": fields.Datetime.now()}
        )
        return True

    def action_call(self):
        """The guarantee was drawn (the issuer paid): it no longer secures anything."""
        self._check_credit_manager()
        self._check_state("active", "expired")
        self._change_state("called", {"called_by_id": self.env.uid, "called_date": fields.Datetime.now()})
        return True

    def action_reset_draft(self):
        """Back to draft to correct an active guarantee's terms (it stops counting meanwhile)."""
        self._check_credit_manager()
        self._check_state("active")
        self._change_state("draft", {"activated_by_id": False, "activated_date": False})
        return True

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    @api.model
    def _cron_expire(self):
        """Show as expired the active guarantees whose end date has passed (they stopped
        counting on their own the day after it)."""
        today = fields.Date.context_today(self)
        guarantees = self.sudo().search([("state", "=", "active"), ("valid_to", "<", today)])
        guarantees._change_state("expired", {})

    @api.model
    def _query_secured_capacity(self, partner_ids, company, check_date):
        """``{partner_id: {currency_id: secured amount}}`` of the guarantees active and valid on
        ``check_date``: one grouped query, whatever the number of guarantees; none in a company
        without active guarantees."""
        if company.id not in self._credit_companies_with_active_guarantees():
            return {}
        self.flush_model(
            [
                "partner_id",
                "company_id",
                "state",
                "valid_from",
                "valid_to",
                "amount",
                "currency_id",
                "coverage_percent",
            ]
        )
        rows = self.env.execute_query(
            SQL(
                """
                SELECT partner_id, currency_id, SUM(amount * coverage_percent / 100.0)
                  FROM credit_guarantee
                 WHERE partner_id IN %(partners)s
                   AND company_id = %(company)s
                   AND state = 'active'
                   AND (valid_from IS NULL OR valid_from <= %(date)s)
                   AND (valid_to IS NULL OR valid_to >= %(date)s)
              GROUP BY partner_id, currency_id
                """,
                partners=tuple(partner_ids),
                company=company.id,
                date=check_date,
            )
        )
        result = defaultdict(dict)
        for partner_id, currency_id, amount in rows:
            result[partner_id][currency_id] = amount or 0.0
        return result

    def _change_state(self, new_state, vals):
        """Move to ``new_state`` with ``vals``, recording each change in the settings history;
        then re-evaluate the customers' held orders."""
        history = self.env["credit.limit.history"]
        for guarantee in self:
            old_state = guarantee.state
            self.env.cr.cache[STATE_CHANGE_KEY] = True
            try:
                guarantee.write(dict(vals, state=new_state))
            finally:
                self.env.cr.cache.pop(STATE_CHANGE_KEY, None)
            history._record_partner(
                guarantee.partner_id,
                guarantee.company_id,
                "guarantee",
                old_state,
                new_state,
                guarantee._state_change_reason(new_state),
            )
        self._reevaluate_held_orders()

    def _state_change_reason(self, new_state):
        self.ensure_one()
        texts = {
            "active": self.env._("Guarantee activated: %(guarantee)s secures %(secured)s."),
            "released": self.env._("Guarantee released: %(guarantee)s no longer secures %(secured)s."),
            "called": self.env._(
                "Guarantee called: %(guarantee)s was drawn and no longer secures %(secured)s."
            ),
            "expired": self.env._(
                "Guarantee expired: %(guarantee)s ended and no longer secures %(secured)s."
            ),
            "draft": self.env._("Guarantee reset to draft: %(guarantee)s no longer secures %(secured)s."),
        }
        return texts[new_state] % {
            "guarantee": self.display_name,
            "secured": self.env["res.company"]._credit_format_money(self.secured_amount, self.currency_id),
        }

    def _check_credit_manager(self):
        if not self.env.su and not self.env.user.has_group("sale_credit_control.group_credit_manager"):
            raise AccessError(self.env._("Only credit managers can activate, release or call guarantees."))

    def _check_currency_rate(self, check_date):
        """A guarantee in a foreign currency counts at the check date's rate: there must be one."""
        self.ensure_one()
        if self.currency_id == self.company_id.currency_id:
            return
        rate = (
            self.env["res.currency.rate"]
            .sudo()
            .search_count(
                [
                    ("currency_id", "=", self.currency_id.id),
                    ("name", "<=", check_date),
                    ("company_id", "in", (False, self.company_id.root_id.id)),
                ],
                limit=1,
            )
        )
        if not rate:
            raise UserError(
                self.env._(
                    "Currency: %(currency)s has no exchange rate on %(date)s, so %(guarantee)s cannot be "
                    "converted into %(company_currency)s. Enter a rate first.",
                    currency=self.currency_id.name,
                    date=format_date(self.env, check_date),
                    guarantee=self.display_name,
                    company_currency=self.company_id.currency_id.name,
                )
            )
