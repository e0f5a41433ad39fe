from typing import NamedTuple

from odoo import api, fields, models, tools
from odoo.exceptions import ValidationError
from odoo.tools import SQL, frozendict

from ..credit_policy.country import (
    RISK_CLASS_MAX,
    RISK_CLASS_MIN,
    exceeds_cap,
    is_deposit_percent,
    is_risk_class,
)


class CountryRisk(NamedTuple):
    """One active row of a company's country risk table, as the credit check and the rating read it."""

    id: int
    country_id: int
    risk_class: int
    limit_cap: float  # company currency; 0: no cap
    deposit_percent: float


class CreditCountryRisk(models.Model):
    """The risk class of a country for one company (国家风险), as export credit agencies publish it.

    The OECD's classes run from 0 (high-income countries, lowest risk) to 7. A class feeds
    the scorecard's ``country_risk`` factor; the row's limit cap caps the limits the rating
    recommends for customers of the country (and direct edits of their limits), and its
    deposit is required before an order of such a customer is confirmed when it is larger
    than the grade's. The customer's country is its commercial partner's.

    The credit check reads the company's table from a registry cache (no query once warm,
    none at all for a company without rows), cleared whenever a row changes.
    """

    _name = "credit.country.risk"
    _inherit = ["credit.finite.values.mixin", "mail.thread"]
    _description = "Country Risk Class"
    _order = "company_id, risk_class desc, country_id"
    _rec_name = "country_id"
    _check_company_auto = True
    _credit_finite_fields = ("limit_cap", "deposit_percent")
    _sql_constraints = [
        (
            "company_country_uniq",
            "unique(company_id, country_id)",
            "A country has one risk class per company (archived rows included).",
        ),
    ]

    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company, tracking=True
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    country_id = fields.Many2one("res.country", required=True, tracking=True)
    risk_class = fields.Integer(
        required=True,
        tracking=True,
        aggregator=False,
        help=f"Country risk class from {RISK_CLASS_MIN} (high-income countries, lowest risk) to "
        f"{RISK_CLASS_MAX} (highest risk), as the OECD publishes it. It is the value of the "
        "scorecard's Country Risk factor.",
    )
    limit_cap = fields.Monetary(
        tracking=True,
        aggregator=False,
        help="The most a rating recommends as credit limit for a customer of this country, in the "
        "company currency; a credit limit above it can only be set through a limit request. 0: no cap.",
    )
    deposit_percent = fields.Float(
        string="Required Deposit (%)",
        tracking=True,
        aggregator=False,
        help="Share of an order a customer of this country pays before confirmation (0-100). "
        "The larger of this and the grade's deposit applies. 0: none.",
    )
    source = fields.Char(tracking=True, help="Who publishes the class, e.g. OECD, Sinosure, Euler Hermes.")
    reference = fields.Char(tracking=True, help="The publication, e.g. the OECD classification of its date.")
    date = fields.Date(string="As Of", tracking=True, help="Date of the published classification.")
    notes = fields.Text()
    active = fields.Boolean(default=True, tracking=True)

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends("country_id", "risk_class")
    def _compute_display_name(self):
        for row in self:
            row.display_name = self.env._(
                "%(country)s (class %(risk_class)s)",
                country=row.country_id.name or "",
                risk_class=row.risk_class,
            )

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains("risk_class")
    def _check_risk_class(self):
        for row in self:
            if not is_risk_class(row.risk_class):
                raise ValidationError(
                    self.env._(
                        "The country risk class of %(country)s must be a whole number from %(min)s (lowest "
                        "risk) to %(max)s (highest risk), not %(value)s.",
                        country=row.country_id.name,
                        min=RISK_CLASS_MIN,
                        max=RISK_CLASS_MAX,
                        value=row.risk_class,
                    )
                )

    @api.constrains("deposit_percent")
    def _check_deposit_percent(self):
        for row in self:
            if not is_deposit_percent(row.deposit_percent):
                raise ValidationError(
                    self.env._(
                        "The required deposit of %(country)s must be between 0 and 100%%, not %(value)s%%.",
                        country=row.country_id.name,
                        value=row.deposit_percent,
                    )
                )

    @api.constrains("limit_cap")
    def _check_limit_cap(self):
        label = self._fields["limit_cap"]._description_string(self.env)
        for row in self:
            if row.limit_cap < 0:
                raise ValidationError(
                    self.env._(
                        "%(field)s: the limit cap of %(country)s cannot be negative (0 means no cap), "
                        "not %(value)s.",
                        field=label,
                        country=row.country_id.name,
                        value=self.env["res.company"]._credit_format_money(row.limit_cap, row.currency_id),
                    )
                )
            # NaN passes the sign check above; 1e20 is a typing error.
            row.company_id._credit_check_figure(
                row.limit_cap, label, row.country_id.name, currency=row.currency_id
            )

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        rows = super().create(vals_list)
        self.env.registry.clear_cache()  # the credit check's copy of the table
        return rows

    def write(self, vals):
        result = super().write(vals)
        self.env.registry.clear_cache()
        return result

    def unlink(self):
        result = super().unlink()
        self.env.registry.clear_cache()
        return result

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    @api.model
    @tools.ormcache("company_id")
    def _country_risk_table(self, company_id):
        """``{country_id: CountryRisk}`` of the active rows of ``company_id`` (cached; read-only)."""
        self.flush_model(["company_id", "country_id", "risk_class", "limit_cap", "deposit_percent", "active"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT id, country_id, risk_class, COALESCE(limit_cap, 0), COALESCE(deposit_percent, 0)
                  FROM credit_country_risk
                 WHERE company_id = %s AND active
                """,
                company_id,
            )
        )
        return frozendict(
            {
                country_id: CountryRisk(row_id, country_id, risk_class, float(cap), float(deposit))
                for row_id, country_id, risk_class, cap, deposit in rows
            }
        )

    @api.model
    def _credit_country_risk(self, partner, company):
        """The country risk row (:class:`CountryRisk`) of ``partner``'s commercial partner's country
        in ``company``, or ``None``. No query for a company without rows once the cache is warm."""
        table = self._country_risk_table(company.id)
        if not table:
            return None
        return table.get(partner.commercial_partner_id.country_id.id)

    @api.model
    def _credit_deposit_facts(self, partner, company):
        """Facts of the deposit rule (``CreditFacts.extra``) the customer's country gives: its deposit
        share, name and class; empty when the country has no class or no deposit."""
        risk = self._credit_country_risk(partner, company)
        if not risk or not risk.deposit_percent:
            return {}
        return {
            "country_deposit_percent": risk.deposit_percent,
            "country": self.env["res.country"].browse(risk.country_id).name,
            "country_risk_class": risk.risk_class,
        }

    @api.model
    def _credit_check_limit_caps(self, partners, company):
        """Refuse a credit limit of ``partners`` (commercial partners, limits already written in
        ``company``) above the cap of their country.

        A limit request may go above the cap: it compares the amount with the capped
        recommendation and asks for a second approval, so limits it applies are not checked.
        A limit of 0 ("no limit checked") allows any amount and is above every cap.
        """
        if self.env.context.get("credit_limit_request_id"):
            return
        table = self._country_risk_table(company.id)
        if not table:
            return
        for partner in partners:
            if partner != partner.commercial_partner_id:
                continue  # a contact gets its company's limit: checked on the company
            risk = table.get(partner.country_id.id)
            if not risk:
                continue
            limit = partner.with_company(company).credit_limit
            if not exceeds_cap(limit, risk.limit_cap):
                continue
            cap = self.env["res.company"]._credit_format_money(risk.limit_cap, company.currency_id)
            raise ValidationError(
                self.env._(
                    "The credit limit of %(partner)s cannot be %(limit)s: customers in %(country)s "
                    "(country risk class %(risk_class)s) get at most %(cap)s in %(company)s. Set a limit "
                    "of at most %(cap)s, or request a higher one with a limit request (Request Limit "
                    "Change on the credit profile), which needs a second approval above the cap.",
                    partner=partner.display_name,
                    limit=self.env["res.company"]._credit_format_money(limit, company.currency_id)
                    if limit
                    else self.env._("no limit checked (0)"),
                    country=self.env["res.country"].browse(risk.country_id).name,
                    risk_class=risk.risk_class,
                    cap=cap,
                    company=company.name,
                )
            )
