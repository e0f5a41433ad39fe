from odoo import SUPERUSER_ID, api, fields, models, tools
from odoo.tools import SQL

from ..credit_policy.repayment import RUNNING_STATES

# The models whose tables the view reads (flushed before it is searched).
SOURCE_MODELS = (
    "credit.profile",
    "credit.rating",
    "credit.guarantee",
    "credit.repayment.plan",
    "res.partner",
    "res.users",
    "res.company",
    "res.currency.rate",
    "ir.default",
    "sale.order",
    "sale.order.line",
    "account.move",
    "account.move.line",
)


class CreditExposureReport(models.Model):
    """Credit analysis: one row per credit profile (customer x company), the profile's exposure
    figures as of today, in the company currency, for pivot and graph views.

    The figures follow ``credit.profile._exposure_figures`` exactly (the tests compare them): the
    confirmed uninvoiced orders come from the very SQL of ``_query_order_commitments``
    (``credit.profile._order_commitments_sql``); the other parts repeat their query's conditions
    for every company at once (those queries are bound to one company and a list of partners).
    """

    _name = "credit.exposure.report"
    _description = "Credit Analysis"
    _auto = False
    _order = "exposure_amount desc, id"
    _rec_name = "partner_id"

    profile_id = fields.Many2one("credit.profile", string="Credit Profile", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    # res.partner has no sales team without crm: the salesperson's main team, which Odoo proposes
    # on the customer's orders (res.users.sale_team_id).
    team_id = fields.Many2one("crm.team", string="Sales Team", readonly=True)
    country_id = fields.Many2one("res.country", readonly=True)
    grade_code = fields.Char(string="Grade", readonly=True)
    mode = fields.Selection(
        [("limit", "Credit Limit"), ("cash", "Cash Only")], string="Credit Mode", readonly=True
    )
    on_hold = fields.Boolean(string="On Credit Hold", readonly=True)
    is_over_limit = fields.Boolean(
        string="Over Limit",
        readonly=True,
        help="A checked limit (credit limit mode, limit > 0) and an exposure above the total capacity.",
    )
    credit_limit = fields.Monetary(readonly=True)
    secured_amount = fields.Monetary(string="Secured by Guarantees", readonly=True)
    capacity_amount = fields.Monetary(string="Total Capacity", readonly=True)
    receivable_amount = fields.Monetary(string="Open Receivables", readonly=True)
    uninvoiced_order_amount = fields.Monetary(string="Confirmed Uninvoiced Orders", readonly=True)
    draft_invoice_amount = fields.Monetary(string="Draft Invoices", readonly=True)
    exposure_amount = fields.Monetary(string="Exposure", readonly=True)
    available_amount = fields.Monetary(string="Available Credit", readonly=True)
    utilization = fields.Float(
        string="Utilization (%)",
        readonly=True,
        aggregator="avg",
        help="Exposure over total capacity; grouped: the average of the customers' utilizations.",
    )
    overdue_amount = fields.Monetary(readonly=True)
    overdue_days = fields.Integer(string="Oldest Days Overdue", readonly=True, aggregator="max")

    # ------------------------------------------------------------
    # VIEW
    # ------------------------------------------------------------

    @api.model
    def _search(self, domain, offset=0, limit=None, order=None):
        # The view reads other models' tables: their pending writes first (search, search_read
        # and _read_group all come through here).
        self._flush_sources()
        return super()._search(domain, offset=offset, limit=limit, order=order)

    @api.model
    def _flush_sources(self):
        for model in SOURCE_MODELS:
            self.env[model].flush_model()

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL("CREATE OR REPLACE VIEW %s AS (%s)", SQL.identifier(self._table), self._query())
        )

    def _rate_sql(self, currency):
        """The rate of ``currency`` (an SQL expression) for the company ``company`` of the query on
        CURRENT_DATE, as ``res.currency._get_rates`` takes it: the latest rate on or before the date,
        the root company's own before the shared one, 1.0 without any. (Odoo 18's SQL currency tables,
        ``_get_simple_currency_table`` and ``_select_companies_rates``, convert company currencies
        into the current company's, in a temporary table or with another precedence: not this.)"""
        return SQL(
            """COALESCE((SELECT r.rate
                           FROM res_currency_rate r
                          WHERE r.currency_id = %s
                            AND r.name <= CURRENT_DATE
                            AND (r.company_id IS NULL OR r.company_id = company.root_id)
                       ORDER BY r.company_id, r.name DESC
                          LIMIT 1), 1.0)""",
            currency,
        )

    def _query(self):
        profile_model = self.env["credit.profile"]
        self._flush_sources()
        orders = profile_model._order_commitments_sql(SQL("customer.commercial_partner_id"), SQL("TRUE"))
        return SQL(
            """
            WITH company AS (
                SELECT company.id,
                       company.currency_id,
                       split_part(company.parent_path, '/', 1)::integer AS root_id,
                       company.credit_count_draft_invoices,
                       company.credit_repayment_excludes_overdue
                  FROM res_company company
            ),
            -- Open receivables and overdue items (credit.profile._query_receivables and
            -- _open_receivable_condition; lines of running repayment plans leave the overdue
            -- figures where the company says so, credit.repayment.plan._credit_covered_overdue_sql).
            receivable AS (
                SELECT partner.commercial_partner_id AS partner_id,
                       aml.company_id,
                       aml.currency_id,
                       SUM(aml.amount_residual_currency) AS residual,
                       SUM(aml.amount_residual_currency) FILTER (WHERE item.overdue) AS overdue,
                       MIN(aml.date_maturity) FILTER (WHERE item.overdue) AS oldest_due
                  FROM account_move_line aml
                  JOIN res_partner partner ON partner.id = aml.partner_id
                  JOIN account_account account ON account.id = aml.account_id
                  JOIN company ON company.id = aml.company_id
                 CROSS JOIN LATERAL (
                    SELECT aml.date_maturity < CURRENT_DATE AND aml.amount_residual_currency > 0
                           AND NOT (company.credit_repayment_excludes_overdue AND EXISTS (
                               SELECT 1
                                 FROM credit_repayment_plan plan
                                 JOIN credit_repayment_plan_invoice_rel rel ON rel.plan_id = plan.id
                                WHERE rel.move_id = aml.move_id
                                  AND plan.partner_id = partner.commercial_partner_id
                                  AND plan.company_id = aml.company_id
                                  AND plan.state IN %(running)s
                                  AND plan.grace_end_date >= CURRENT_DATE)) AS overdue
                 ) item
                 WHERE account.account_type = 'asset_receivable'
                   AND aml.parent_state = 'posted'
                   AND aml.reconciled IS NOT TRUE
                   AND aml.amount_residual_currency <> 0
              GROUP BY 1, 2, 3
            ),
            -- Draft invoices not coming from orders (credit.profile._query_draft_invoices), where
            -- the company counts them.
            draft AS (
                SELECT move.commercial_partner_id AS partner_id,
                       move.company_id,
                       move.currency_id,
                       SUM(CASE WHEN move.move_type = 'out_refund' THEN -line.price_total
                                ELSE line.price_total END) AS amount
                  FROM account_move_line line
                  JOIN account_move move ON move.id = line.move_id
                  JOIN company ON company.id = move.company_id
                 WHERE company.credit_count_draft_invoices
                   AND move.state = 'draft'
                   AND move.move_type IN ('out_invoice', 'out_refund')
                   AND line.display_type = 'product'
                   AND NOT EXISTS (
                       SELECT 1 FROM sale_order_line_invoice_rel rel WHERE rel.invoice_line_id = line.id)
              GROUP BY 1, 2, 3
            ),
            -- Secured capacity of active guarantees valid today (credit.guarantee._query_secured_capacity).
            secured AS (
                SELECT partner_id, company_id, currency_id, SUM(amount * coverage_percent / 100.0) AS amount
                  FROM credit_guarantee
                 WHERE state = 'active'
                   AND (valid_from IS NULL OR valid_from <= CURRENT_DATE)
                   AND (valid_to IS NULL OR valid_to >= CURRENT_DATE)
              GROUP BY 1, 2, 3
            ),
            part AS (
                SELECT partner_id, company_id, currency_id, residual AS receivable, overdue,
                       oldest_due, 0.0 AS orders, 0.0 AS draft, 0.0 AS secured
                  FROM receivable
                 UNION ALL
                SELECT key_id, company_id, currency_id, 0.0, 0.0, NULL, amount, 0.0, 0.0
                  FROM (%(orders)s) orders
                 UNION ALL
                SELECT partner_id, company_id, currency_id, 0.0, 0.0, NULL, 0.0, amount, 0.0
                  FROM draft
                 UNION ALL
                SELECT partner_id, company_id, currency_id, 0.0, 0.0, NULL, 0.0, 0.0, amount
                  FROM secured
            ),
            -- Every part summed per currency, then converted (credit.profile._converter).
            figure AS (
                SELECT part.partner_id,
                       part.company_id,
                       SUM(COALESCE(part.receivable, 0) * conversion.factor) AS receivable,
                       SUM(COALESCE(part.overdue, 0) * conversion.factor) AS overdue,
                       MIN(part.oldest_due) AS oldest_due,
                       SUM(COALESCE(part.orders, 0) * conversion.factor) AS orders,
                       SUM(COALESCE(part.draft, 0) * conversion.factor) AS draft,
                       SUM(COALESCE(part.secured, 0) * conversion.factor) AS secured
                  FROM part
                  JOIN company ON company.id = part.company_id
                 CROSS JOIN LATERAL (
                    SELECT CASE WHEN part.currency_id = company.currency_id THEN 1.0
                                ELSE %(company_rate)s / %(part_rate)s END AS factor
                 ) conversion
              GROUP BY 1, 2
            ),
            -- The limit as credit.profile._compute_credit_limit reads it: Odoo's company-dependent
            -- credit_limit (its default, ir.default, where the customer has none), or a limit set
            -- in another currency converted at today's rate when there is one.
            profile AS (
                SELECT profile.*,
                       company.currency_id AS company_currency_id,
                       COALESCE(
                           CASE WHEN profile.limit_currency_id = company.currency_id
                                THEN profile.limit_amount_currency
                                WHEN profile.limit_currency_id IS NOT NULL AND limit_rate.rate IS NOT NULL
                                THEN profile.limit_amount_currency * %(company_rate)s / limit_rate.rate
                           END,
                           (partner.credit_limit ->> profile.company_id::text)::numeric,
                           (SELECT d.json_value::numeric
                              FROM ir_default d
                              JOIN ir_model_fields f ON f.id = d.field_id
                             WHERE f.model = 'res.partner'
                               AND f.name = 'credit_limit'
                               AND (d.user_id IS NULL OR d.user_id = %(superuser)s)
                               AND (d.company_id IS NULL OR d.company_id = profile.company_id)
                               AND d.condition IS NULL
                          ORDER BY d.user_id, d.company_id, d.id
                             LIMIT 1),
                           0.0
                       ) AS credit_limit
                  FROM credit_profile profile
                  JOIN res_partner partner ON partner.id = profile.partner_id
                  JOIN company ON company.id = profile.company_id
             LEFT JOIN LATERAL (
                    SELECT r.rate
                      FROM res_currency_rate r
                     WHERE r.currency_id = profile.limit_currency_id
                       AND r.name <= CURRENT_DATE
                       AND (r.company_id IS NULL OR r.company_id = company.root_id)
                  ORDER BY r.company_id, r.name DESC
                     LIMIT 1
                 ) limit_rate ON TRUE
            ),
            total AS (
                SELECT profile.*,
                       COALESCE(figure.receivable, 0) AS receivable,
                       COALESCE(figure.orders, 0) AS orders,
                       COALESCE(figure.draft, 0) AS draft,
                       COALESCE(figure.receivable, 0) + COALESCE(figure.orders, 0)
                           + COALESCE(figure.draft, 0) AS exposure,
                       CASE WHEN profile.credit_limit <> 0
                            THEN profile.credit_limit + COALESCE(figure.secured, 0) ELSE 0 END AS capacity,
                       COALESCE(figure.secured, 0) AS secured,
                       COALESCE(figure.overdue, 0) AS overdue,
                       figure.oldest_due
                  FROM profile
             LEFT JOIN figure ON figure.partner_id = profile.partner_id
                             AND figure.company_id = profile.company_id
            )
            SELECT total.id,
                   total.id AS profile_id,
                   total.partner_id,
                   total.company_id,
                   total.company_currency_id AS currency_id,
                   partner.user_id,
                   salesperson.sale_team_id AS team_id,
                   partner.country_id,
                   rating.grade_code,
                   total.mode,
                   COALESCE(total.on_hold, FALSE) AS on_hold,
                   (total.mode = 'limit' AND total.credit_limit <> 0
                    AND total.exposure > total.capacity) AS is_over_limit,
                   total.credit_limit,
                   total.secured AS secured_amount,
                   total.capacity AS capacity_amount,
                   total.receivable AS receivable_amount,
                   total.orders AS uninvoiced_order_amount,
                   total.draft AS draft_invoice_amount,
                   total.exposure AS exposure_amount,
                   CASE WHEN total.credit_limit <> 0 THEN total.capacity - total.exposure ELSE 0 END
                       AS available_amount,
                   CASE WHEN total.capacity <> 0 THEN total.exposure / total.capacity * 100 ELSE 0 END
                       AS utilization,
                   total.overdue AS overdue_amount,
                   COALESCE(CURRENT_DATE - total.oldest_due, 0) AS overdue_days
              FROM total
              JOIN res_partner partner ON partner.id = total.partner_id
         LEFT JOIN res_users salesperson ON salesperson.id = partner.user_id
         LEFT JOIN credit_rating rating ON rating.id = total.rating_id
            """,
            running=RUNNING_STATES,
            orders=orders,
            superuser=SUPERUSER_ID,
            company_rate=self._rate_sql(SQL("company.currency_id")),
            part_rate=self._rate_sql(SQL("part.currency_id")),
        )
