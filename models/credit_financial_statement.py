from odoo import api, fields, models
from odoo.tools import format_date

from ..credit_policy.factors import financial_ratios

#: The statement's figures, the inputs of its ratios (and of the rating's recommended limit).
STATEMENT_FIGURES = (
    "revenue",
    "total_assets",
    "total_liabilities",
    "current_assets",
    "current_liabilities",
    "equity",
    "net_profit",
)
#: The ratios, as the policy core names them (``credit_policy.factors.financial_ratios``).
RATIO_FIELDS = ("debt_to_asset", "current_ratio", "equity_ratio", "net_margin")


class CreditFinancialStatement(models.Model):
    """A customer's financial statement for one period (财务报表), with its derived ratios.

    The ratios are the policy core's (``financial_ratios``), the very values the scorecard
    rates: a ratio whose denominator is zero (or not entered) is *missing* there and here
    (``<ratio>_missing``, shown empty), never a 0 that would read as a real ratio.
    """

    _name = "credit.financial.statement"
    _description = "Customer Financial Statement"
    _order = "partner_id, period_end desc, id desc"
    _check_company_auto = True

    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, check_company=True
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(
        "res.currency", required=True, default=lambda self: self.env.company.currency_id
    )
    period_start = fields.Date()
    period_end = fields.Date(required=True)
    source = fields.Selection(
        [
            ("audited", "Audited Accounts"),
            ("management", "Management Accounts"),
            ("tax", "Tax Filing"),
            ("bureau", "Credit Bureau"),
        ],
        required=True,
        default="audited",
    )
    received_date = fields.Date(string="Received On", default=fields.Date.context_today)
    attachment_ids = fields.Many2many("ir.attachment", string="Documents")
    revenue = fields.Monetary(aggregator=False)
    total_assets = fields.Monetary(aggregator=False)
    total_liabilities = fields.Monetary(aggregator=False)
    current_assets = fields.Monetary(aggregator=False)
    current_liabilities = fields.Monetary(aggregator=False)
    equity = fields.Monetary(aggregator=False)
    net_profit = fields.Monetary(aggregator=False)
    debt_to_asset = fields.Float(
        compute="_compute_ratios",
        store=True,
        digits=(16, 4),
        aggregator=False,
        help="Total liabilities / total assets; empty (missing) without total assets.",
    )
    current_ratio = fields.Float(
        compute="_compute_ratios",
        store=True,
        digits=(16, 4),
        aggregator=False,
        help="Current assets / current liabilities; empty (missing) without current liabilities.",
    )
    equity_ratio = fields.Float(
        compute="_compute_ratios",
        store=True,
        digits=(16, 4),
        aggregator=False,
        help="Equity / total assets; empty (missing) without total assets.",
    )
    net_margin = fields.Float(
        compute="_compute_ratios",
        store=True,
        digits=(16, 4),
        aggregator=False,
        help="Net profit / revenue; empty (missing) without revenue.",
    )
    debt_to_asset_missing = fields.Boolean(compute="_compute_ratios", store=True)
    current_ratio_missing = fields.Boolean(compute="_compute_ratios", store=True)
    equity_ratio_missing = fields.Boolean(compute="_compute_ratios", store=True)
    net_margin_missing = fields.Boolean(compute="_compute_ratios", store=True)
    note = fields.Text()

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends("partner_id.name", "period_end")
    def _compute_display_name(self):
        for statement in self:
            statement.display_name = self.env._(
                "%(customer)s - Statement %(date)s",
                customer=statement.partner_id.name or "",
                date=format_date(self.env, statement.period_end),
            )

    @api.depends(*STATEMENT_FIGURES)
    def _compute_ratios(self):
        for statement in self:
            for name, value in self._ratios_of(statement).items():
                statement[name] = value if value is not None else 0.0
                statement[f"{name}_missing"] = value is None

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    @api.model
    def _ratios_of(self, figures):
        """``{ratio: value or None (missing)}`` of a statement's ``figures`` (a statement, or a
        row of its columns as the rating reads them): the policy core's ratios, a figure not
        entered reading 0 as on the screen. The screen and the scorecard both take them here."""
        return financial_ratios(**{name: figures[name] or 0.0 for name in STATEMENT_FIGURES})
