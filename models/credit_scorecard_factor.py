from odoo import api, fields, models
from odoo.tools import formatLang

from ..credit_policy import factors as core_factors
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
    "predicted_late_share": "Predicted Late Share (late-payment model)",
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
# The labels of the kinds (units) of factor values; the kinds are the policy core's.
FACTOR_KIND_LABELS = {
    core_factors.KIND_SHARE: "Percentage",
    core_factors.KIND_DAYS: "Days",
    core_factors.KIND_RATIO: "Ratio",
    core_factors.KIND_YEARS: "Years",
    core_factors.KIND_AMOUNT: "Amount",
    core_factors.KIND_SCORE: "Score",
}
FACTOR_KINDS = [(kind, FACTOR_KIND_LABELS[kind]) for kind in core_factors.FACTOR_KINDS]
# The metrics that are money amounts (in the company currency): their bands are in the
# scorecard's currency and are converted into the rated company's currency.
MONEY_FACTOR_CODES = tuple(
    code for code, kind in core_factors.FACTOR_KIND.items() if kind == core_factors.KIND_AMOUNT
)


class CreditScorecardFactor(models.Model):
    _name = "credit.scorecard.factor"
    _description = "Credit Scorecard Factor"
    _order = "scorecard_id, sequence, id"

    scorecard_id = fields.Many2one("credit.scorecard", required=True, index=True, ondelete="cascade")
    company_id = fields.Many2one(related="scorecard_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="scorecard_id.currency_id")
    sequence = fields.Integer(default=10)
    code = fields.Selection(
        FACTOR_CODES,
        string="Metric",
        required=True,
        help="What the factor scores. Predicted Late Share: the probability that the customer's next "
        "typical invoice is paid late, from the rated company's active late-payment model; it needs a "
        "model trained and activated by a credit manager, without one the factor is missing and scored "
        "by the missing-data rule.",
    )
    kind = fields.Selection(
        FACTOR_KINDS,
        string="Unit",
        compute="_compute_kind",
        help="How the metric's values read: a percentage, days, a ratio, years, an amount or a score.",
    )
    weight = fields.Float(required=True, default=1.0, aggregator=False)
    missing_mode = fields.Selection(
        [("neutral", "Neutral Points"), ("points", "Fixed Points")],
        string="When Data Is Missing",
        default="neutral",
        required=True,
        help="Neutral: the mid-point between the lowest and highest band points. "
        "Fixed Points: the points below (a penalty or a default).",
    )
    missing_points = fields.Float(aggregator=False)
    band_ids = fields.One2many("credit.scorecard.band", "factor_id", string="Bands", copy=True)

    _sql_constraints = [
        ("weight_positive", "CHECK(weight >= 0)", "A factor's weight cannot be negative."),
        ("code_scorecard_uniq", "unique(scorecard_id, code)", "Each metric is scored once per scorecard."),
    ]

    @api.depends("code")
    def _compute_kind(self):
        for factor in self:
            factor.kind = core_factors.FACTOR_KIND.get(factor.code)

    @api.depends("code", "scorecard_id.name")
    def _compute_display_name(self):
        labels = dict(self._fields["code"]._description_selection(self.env))
        for factor in self:
            metric = labels.get(factor.code) or self.env._("New Factor")
            if factor.scorecard_id.name:
                factor.display_name = f"{factor.scorecard_id.name} / {metric}"
            else:
                factor.display_name = metric

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

    # ------------------------------------------------------------
    # FORMATTING
    # ------------------------------------------------------------

    @api.model
    def _format_value(self, code, value, currency=None):
        """A value of metric ``code`` as people read it, in the reader's language: a share as a
        percentage, days as whole days, a ratio with two decimals, an amount in ``currency``;
        ``""`` for a missing value (``None``), which the caller shows as missing."""
        if value is None:
            return ""
        kind = core_factors.FACTOR_KIND.get(code)
        if kind == core_factors.KIND_SHARE:
            return f"{formatLang(self.env, value * 100, digits=1)}%"
        if kind == core_factors.KIND_DAYS:
            return self.env._("%(days)s days", days=formatLang(self.env, value, digits=0))
        if kind == core_factors.KIND_YEARS:
            return self.env._("%(years)s years", years=formatLang(self.env, value, digits=1))
        if kind == core_factors.KIND_AMOUNT:
            return self.env["res.company"]._credit_format_money(value, currency)
        if kind == core_factors.KIND_SCORE and float(value).is_integer():
            return formatLang(self.env, value, digits=0)
        return formatLang(self.env, value, digits=2)
