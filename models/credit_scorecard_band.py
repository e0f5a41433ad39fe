from odoo import api, fields, models
from odoo.tools import formatLang

from ..credit_policy.scoring import Band


class CreditScorecardBand(models.Model):
    """Values from ``lower`` (inclusive) to ``upper`` (exclusive) earn ``points`` (0-100)."""

    _name = "credit.scorecard.band"
    _description = "Credit Scorecard Band"
    _order = "factor_id, has_lower, lower, id"

    factor_id = fields.Many2one("credit.scorecard.factor", required=True, index=True, ondelete="cascade")
    company_id = fields.Many2one(related="factor_id.company_id", store=True, index=True)
    has_lower = fields.Boolean(string="Has Lower Bound", default=True)
    lower = fields.Float(aggregator=False, string="From", digits=(16, 4))
    has_upper = fields.Boolean(string="Has Upper Bound", default=True)
    upper = fields.Float(aggregator=False, string="Below", digits=(16, 4))
    points = fields.Float(aggregator=False, required=True)

    _sql_constraints = [
        ("points_range", "CHECK(points >= 0 AND points <= 100)", "Band points are between 0 and 100."),
    ]

    @api.depends("has_lower", "lower", "has_upper", "upper", "points", "factor_id.code")
    def _compute_display_name(self):
        """The band in its factor's unit: "10.0% to under 50.0%: 60 points"."""
        for band in self:
            factor = band.factor_id

            def bound(value, factor=factor):
                return factor._format_value(factor.code, value, factor.currency_id)

            points = formatLang(self.env, band.points, digits=1)
            if band.has_lower and band.has_upper:
                band.display_name = self.env._(
                    "%(low)s to under %(high)s: %(points)s points",
                    low=bound(band.lower),
                    high=bound(band.upper),
                    points=points,
                )
            elif band.has_lower:
                band.display_name = self.env._(
                    "%(low)s or more: %(points)s points", low=bound(band.lower), points=points
                )
            elif band.has_upper:
                band.display_name = self.env._(
                    "Under %(high)s: %(points)s points", high=bound(band.upper), points=points
                )
            else:
                band.display_name = self.env._("Any value: %(points)s points", points=points)

    @api.constrains("factor_id", "has_lower", "lower", "has_upper", "upper")
    def _check_money_currency(self):
        self.factor_id.scorecard_id._check_money_currency()

    def _to_policy(self, rate=1.0):
        """This band as a policy-core :class:`Band`, its bounds multiplied by ``rate``
        (1.0 except for money factors of a scorecard in another currency than the company's)."""
        self.ensure_one()
        return Band(
            self.lower * rate if self.has_lower else None,
            self.upper * rate if self.has_upper else None,
            self.points,
        )
