from odoo import api, fields, models

from ..credit_policy.factors import FACTOR_CODES as CORE_FACTOR_CODES
from ..credit_policy.scoring import Factor

# The labels of the metrics a factor can score; the codes and their order are the policy
# core's (``credit_policy.factors.FACTOR_CODES``), which the rating run computes for every customer.
FACTOR_LABELS = {
    "late_share": "Share of Amount Paid Late",
    "weighted_days_late": "Average Days Beyond Terms (amount-weighted)",
    "max_days_late": "Maximum Days Paid Late",
    "max_days_overdue": "Oldest Open Item, Days Overdue",
    "overdue_ratio": "Overdue Share of Receivables",
    "dso": "Days Sales Outstanding",
    "late_share_trend": "Late Share Trend (last 90 days vs. 90 before)",
    "debt_to_asset": "Debt-to-Asset Ratio",
    "current_ratio": "Current Ratio",
    "equity_ratio": "Equity Ratio",
    "net_margin": "Net Margin",
    "relationship_years": "Relationship Length (years)",
    "sales_volume": "Sales Volume, Last 12 Months",
    "bureau_score": "Credit Bureau Score",
    "country_risk": "Country Risk",
}
FACTOR_CODES = [(code, FACTOR_LABELS[code]) for code in CORE_FACTOR_CODES]
# The metrics that are money amounts (in the company currency): their bands are in the
# scorecard's currency and are converted into the rated company's currency.
MONEY_FACTOR_CODES = ("sales_volume",)


class CreditScorecardFactor(models.Model):
    _name = "credit.scorecard.factor"
    _description = "Credit Scorecard Factor"
    _order = "scorecard_id, sequence, id"

    scorecard_id = fields.Many2one("credit.scorecard", required=True, index=True, ondelete="cascade")
    company_id = fields.Many2one(related="scorecard_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="scorecard_id.currency_id")
    sequence = fields.Integer(default=10)
    code = fields.Selection(FACTOR_CODES, string="Metric", required=True)
    weight = fields.Float(required=True, default=1.0)
    missing_mode = fields.Selection(
        [("neutral", "Neutral Points"), ("points", "Fixed Points")],
        string="When Data Is Missing",
        default="neutral",
        required=True,
        help="Neutral: the mid-point between the lowest and highest band points. "
        "Fixed Points: the points below (a penalty or a default).",
    )
    missing_points = fields.Float()
    band_ids = fields.One2many("credit.scorecard.band", "factor_id", string="Bands", copy=True)

    _sql_constraints = [
        ("weight_positive", "CHECK(weight >= 0)", "A factor's weight cannot be negative."),
        ("code_scorecard_uniq", "unique(scorecard_id, code)", "Each metric is scored once per scorecard."),
    ]

    @api.constrains("code", "band_ids", "scorecard_id")
    def _check_money_currency(self):
        self.scorecard_id._check_money_currency()

    def _is_money(self):
        """Whether this factor's values (and so its band bounds) are money amounts."""
        self.ensure_one()
        return self.code in MONEY_FACTOR_CODES

    def _to_policy(self, rate=1.0):
        """This factor as a policy-core :class:`Factor`; money bounds multiplied by ``rate``
        (scorecard currency to the rated company's currency)."""
        self.ensure_one()
        rate = rate if self._is_money() else 1.0
        return Factor(
            code=self.code,
            weight=self.weight,
            bands=[band._to_policy(rate) for band in self.band_ids],
            missing_points=self.missing_points if self.missing_mode == "points" else None,
        )
