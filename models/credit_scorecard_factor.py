from odoo import fields, models

from ..credit_policy.scoring import Factor

# The metrics a factor can score; the rating run computes each for every customer.
FACTOR_CODES = [
    ("late_share", "Share of Amount Paid Late"),
    ("weighted_days_late", "Average Days Beyond Terms (amount-weighted)"),
    ("max_days_late", "Maximum Days Paid Late"),
    ("max_days_overdue", "Oldest Open Item, Days Overdue"),
    ("overdue_ratio", "Overdue Share of Receivables"),
    ("dso", "Days Sales Outstanding"),
    ("late_share_trend", "Late Share Trend (last 90 days vs. 90 before)"),
    ("debt_to_asset", "Debt-to-Asset Ratio"),
    ("current_ratio", "Current Ratio"),
    ("equity_ratio", "Equity Ratio"),
    ("net_margin", "Net Margin"),
    ("relationship_years", "Relationship Length (years)"),
    ("sales_volume", "Sales Volume, Last 12 Months"),
    ("bureau_score", "Credit Bureau Score"),
    ("country_risk", "Country Risk"),
]


class CreditScorecardFactor(models.Model):
    _name = "credit.scorecard.factor"
    _description = "Credit Scorecard Factor"
    _order = "scorecard_id, sequence, id"

    scorecard_id = fields.Many2one("credit.scorecard", required=True, index=True, ondelete="cascade")
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

    def _to_policy(self):
        self.ensure_one()
        return Factor(
            code=self.code,
            weight=self.weight,
            bands=[band._to_policy() for band in self.band_ids],
            missing_points=self.missing_points if self.missing_mode == "points" else None,
        )
