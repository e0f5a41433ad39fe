from odoo import api, fields, models, tools
from odoo.tools import SQL, format_date

# Month ends shown by the trend, besides today.
TREND_MONTHS = 12

# The models whose tables the view reads (flushed before it is searched).
SOURCE_MODELS = ("account.move", "account.move.line", "account.partial.reconcile", "res.partner")


class CreditOverdueTrend(models.Model):
    """Overdue receivables as they stood at each of the last month ends and today, per customer
    and company, for the credit dashboard's trend.

    Nothing has to be stored for the history: an invoice's open amount at a past date is its
    receivable amount less the reconciliations made up to that date (``max_date`` of the partial
    reconciliations), so the trend also covers the months before the add-on was installed and
    stays right when a payment is entered late. Amounts are in the company currency at the
    invoices' own rates; credit notes and payments count from the day they were reconciled with
    the invoice (unallocated ones are not netted).
    """

    _name = "credit.overdue.trend"
    _description = "Overdue Trend"
    _auto = False
    _order = "date desc, overdue_amount desc, id"
    _rec_name = "partner_id"

    date = fields.Date(string="As of", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    overdue_amount = fields.Monetary(readonly=True)
    overdue_30_amount = fields.Monetary(string="Overdue > 30 Days", readonly=True)
    overdue_invoice_count = fields.Integer(string="Overdue Invoices", readonly=True)

    @api.depends("partner_id.name", "date")
    def _compute_display_name(self):
        for row in self:
            row.display_name = self.env._(
                "%(customer)s, %(date)s",
                customer=row.partner_id.name or "",
                date=format_date(self.env, row.date) if row.date else "",
            )

    @api.model
    def _search(self, domain, offset=0, limit=None, order=None):
        for model in SOURCE_MODELS:
            self.env[model].flush_model()
        return super()._search(domain, offset=offset, limit=limit, order=order)

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL("CREATE OR REPLACE VIEW %s AS (%s)", SQL.identifier(self._table), self._query())
        )

    def _query(self):
        return SQL(
            """
            WITH as_of AS (
                SELECT CURRENT_DATE AS date
                 UNION
                SELECT (date_trunc('month', CURRENT_DATE) - make_interval(months => n)
                        - interval '1 day')::date
                  FROM generate_series(0, %(months)s - 1) AS n
            ),
            open_item AS (
                SELECT as_of.date,
                       aml.company_id,
                       partner.commercial_partner_id AS partner_id,
                       aml.move_id,
                       aml.date_maturity,
                       aml.balance - COALESCE((
                           SELECT SUM(part.amount)
                             FROM account_partial_reconcile part
                            WHERE part.debit_move_id = aml.id
                              AND part.max_date <= as_of.date
                       ), 0) AS residual
                  FROM as_of
                  JOIN account_move_line aml
                    ON aml.date <= as_of.date
                   AND aml.date_maturity < as_of.date
                  JOIN account_move move ON move.id = aml.move_id AND move.state = 'posted'
                  JOIN account_account account
                    ON account.id = aml.account_id AND account.account_type = 'asset_receivable'
                  JOIN res_partner partner ON partner.id = aml.partner_id
                 WHERE aml.balance > 0
                   -- lines settled before the first date shown were open at none of them
                   AND (NOT aml.reconciled OR EXISTS (
                           SELECT 1
                             FROM account_partial_reconcile part
                            WHERE part.debit_move_id = aml.id
                              AND part.max_date >= (SELECT MIN(date) FROM as_of)
                       ))
            )
            SELECT row_number() OVER (ORDER BY item.date, item.company_id, item.partner_id) AS id,
                   item.date,
                   item.company_id,
                   company.currency_id,
                   item.partner_id,
                   customer.user_id,
                   SUM(item.residual) AS overdue_amount,
                   COALESCE(SUM(item.residual) FILTER (WHERE item.date_maturity < item.date - 30), 0)
                       AS overdue_30_amount,
                   COUNT(DISTINCT item.move_id) AS overdue_invoice_count
              FROM open_item item
              JOIN res_company company ON company.id = item.company_id
              JOIN res_partner customer ON customer.id = item.partner_id
             WHERE item.residual > 0
          GROUP BY item.date, item.company_id, company.currency_id, item.partner_id, customer.user_id
            """,
            months=TREND_MONTHS,
        )
