from odoo import api, fields, models


class CreditFinancialStatement(models.Model):
    """A customer's financial statement for one period (财务报表), with its derived ratios."""

    _name = "credit.financial.statement"
    _description = "Customer Financial Statement"
    _order = "partner_id, period_end desc, id desc"
    _check_company_auto = True

    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, check_company=True
    )
    company_id = fields.Many2one("res.company", required=True, index=True, default=lambda self: self.env.company)
    currency_id = fields.Many2one(
        "res.currency", required=True, default=lambda self: self.env.company.currency_id
    )
    period_start = fields.Date()
    period_end = fields.Date(required=True)
    source = fields.Selection(
        [("audited", "Audited Accounts"), ("management", "Management Accounts"),
         ("tax", "Tax Filing"), ("bureau", "Credit Bureau")],
        required=True,
        default="audited",
    )
    received_date = fields.Date(string="Received On", default=fields.Date.context_today)
    attachment_ids = fields.Many2many("ir.attachment", string="Documents")
    revenue = fields.Monetary()
    total_assets = fields.Monetary()
    total_liabilities = fields.Monetary()
    current_assets = fields.Monetary()
    current_liabilities = fields.Monetary()
    equity = fields.Monetary()
    net_profit = fields.Monetary()
    debt_to_asset = fields.Float(compute="_compute_ratios", store=True, digits=(16, 4), help="Total liabilities / total assets.")
    current_ratio = fields.Float(compute="_compute_ratios", store=True, digits=(16, 4), help="Current assets / current liabilities.")
    equity_ratio = fields.Float(compute="_compute_ratios", store=True, digits=(16, 4), help="Equity / total assets.")
    net_margin = fields.Float(compute="_compute_ratios", store=True, digits=(16, 4), help="Net profit / revenue.")
    note = fields.Text()

    @api.depends("revenue", "total_assets", "total_liabilities", "current_assets", "current_liabilities",
                 "equity", "net_profit")
    def _compute_ratios(self):
        for statement in self:
            statement.debt_to_asset = self._ratio(statement.total_liabilities, statement.total_assets)
            statement.current_ratio = self._ratio(statement.current_assets, statement.current_liabilities)
            statement.equity_ratio = self._ratio(statement.equity, statement.total_assets)
            statement.net_margin = self._ratio(statement.net_profit, statement.revenue)

    @staticmethod
    def _ratio(numerator, denominator):
        return numerator / denominator if denominator else 0.0
