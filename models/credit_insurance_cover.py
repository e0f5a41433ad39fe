from collections import defaultdict

from odoo import api, fields, models
from odoo.tools import SQL


class CreditInsuranceCover(models.Model):
    """One buyer's cover under a credit insurance policy: the insurer's insured limit for it.

    Counts while its policy is active and both are valid on the check date (see
    :meth:`_query_insured_limits`); the insured exposure is
    ``min(exposure, insured limit) x the policy's coverage %``.
    """

    _name = "credit.insurance.cover"
    _inherit = ["credit.finite.values.mixin", "credit.validity.mixin"]
    _description = "Credit Insurance Buyer Cover"
    _order = "policy_id, partner_id, id"
    _check_company_auto = True
    _credit_finite_fields = ("insured_limit",)

    policy_id = fields.Many2one("credit.insurance.policy", required=True, index=True, ondelete="cascade")
    company_id = fields.Many2one(related="policy_id.company_id", store=True, index=True, precompute=True)
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        check_company=True,
        domain="['|', ('is_company', '=', True), ('parent_id', '=', False)]",
    )
    insured_limit = fields.Monetary(required=True)
    currency_id = fields.Many2one(
        "res.currency",
        compute="_compute_currency_id",
        store=True,
        readonly=False,
        precompute=True,
        required=True,
        help="Currency of the insured limit: the policy's unless the insurer decided in another one.",
    )
    decision_date = fields.Date(string="Insurer Decision Date")
    decision_reference = fields.Char(string="Insurer Decision Reference")
    date_from = fields.Date(string="Valid From")
    date_to = fields.Date(string="Valid To", help="Last day the cover counts. Empty: as long as the policy.")

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends("policy_id.currency_id")
    def _compute_currency_id(self):
        for cover in self:
            if not cover.currency_id:
                cover.currency_id = cover.policy_id.currency_id

    @api.depends("policy_id", "partner_id")
    def _compute_display_name(self):
        for cover in self:
            cover.display_name = " - ".join(
                filter(None, (cover.policy_id.display_name, cover.partner_id.name))
            )

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains("insured_limit")
    def _check_insured_limit(self):
        self._credit_check_positive("insured_limit")
        label = self._field_label("insured_limit")
        for cover in self:  # NaN passes the positive check; 1e20 is a typing error
            cover.policy_id.company_id._credit_check_figure(
                cover.insured_limit, label, cover.display_name, currency=cover.currency_id
            )

    @api.constrains("date_from", "date_to")
    def _check_dates(self):
        self._credit_check_period("date_from", "date_to")

    @api.constrains("partner_id")
    def _check_commercial_partner(self):
        self._credit_check_commercial_partner()

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        covers = super().create(vals_list)
        covers._reevaluate_held_orders()
        return covers

    def write(self, vals):
        old_partners = self.partner_id if "partner_id" in vals else self.env["res.partner"]
        result = super().write(vals)
        self._reevaluate_held_orders(old_partners)
        return result

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _reevaluate_held_orders(self, extra_partners=None):
        """What an active policy insures changed: its buyers' held quotations may pass (or not)."""
        active = self.filtered(lambda cover: cover.policy_id.state == "active")
        for company, covers in active.grouped("company_id").items():
            partners = covers.partner_id | (extra_partners or self.env["res.partner"])
            self.env["sale.order"]._credit_reevaluate_partners(partners, company)

    @api.model
    def _query_insured_limits(self, partner_ids, company, check_date):
        """The covers of commercial ``partner_ids`` valid on ``check_date`` in ``company``, from one
        grouped query: ``{partner_id: [(currency_id, coverage %, insured limit, insurers)]}``
        (``insurers``: "insurer policy number" of each policy, comma-separated)."""
        self.flush_model(
            ["policy_id", "company_id", "partner_id", "insured_limit", "currency_id", "date_from", "date_to"]
        )
        self.env["credit.insurance.policy"].flush_model(
            ["name", "insurer_id", "state", "coverage_percent", "date_from", "date_to"]
        )
        self.env["res.partner"].flush_model(["name"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT cover.partner_id,
                       cover.currency_id,
                       policy.coverage_percent,
                       SUM(cover.insured_limit),
                       STRING_AGG(DISTINCT CONCAT_WS(' ', insurer.name, policy.name), ', ')
                  FROM credit_insurance_cover cover
                  JOIN credit_insurance_policy policy ON policy.id = cover.policy_id
                  JOIN res_partner insurer ON insurer.id = policy.insurer_id
                 WHERE cover.partner_id IN %(partners)s
                   AND policy.company_id = %(company)s
                   AND policy.state = 'active'
                   AND (policy.date_from IS NULL OR policy.date_from <= %(date)s)
                   AND (policy.date_to IS NULL OR policy.date_to >= %(date)s)
                   AND (cover.date_from IS NULL OR cover.date_from <= %(date)s)
                   AND (cover.date_to IS NULL OR cover.date_to >= %(date)s)
              GROUP BY cover.partner_id, cover.currency_id, policy.coverage_percent
                """,
                partners=tuple(partner_ids) or (0,),
                company=company.id,
                date=check_date,
            )
        )
        result = defaultdict(list)
        for partner_id, currency_id, coverage, limit, insurers in rows:
            result[partner_id].append((currency_id, coverage, limit or 0.0, insurers or ""))
        return result

    @api.model
    def _insured_covers(self, partner_ids, company, check_date):
        """``{partner_id: ([(insured limit, coverage %)], insurers)}``, limits in ``company``'s
        currency at ``check_date``."""
        convert = self.env["credit.profile"]._converter(company, check_date)
        result = {}
        for partner_id, rows in self._query_insured_limits(partner_ids, company, check_date).items():
            covers = [
                (convert({currency_id: limit}), coverage) for currency_id, coverage, limit, _names in rows
            ]
            insurers = ", ".join(sorted({name for row in rows for name in row[3].split(", ") if name}))
            result[partner_id] = (covers, insurers)
        return result
