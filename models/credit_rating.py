from markupsafe import Markup

from odoo import _, fields, models
from odoo.exceptions import UserError


class CreditRating(models.Model):
    """One rating of a customer: score, grade and every factor's value and points (the "why").

    Ratings are immutable: a new run adds a new rating, history stays as it was.
    """

    _name = "credit.rating"
    _description = "Credit Rating"
    _order = "date desc, id desc"
    _check_company_auto = True

    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, readonly=True, check_company=True
    )
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    date = fields.Date(required=True, index=True, readonly=True, help="Date the figures were taken as of.")
    scorecard_id = fields.Many2one("credit.scorecard", readonly=True, ondelete="restrict", check_company=True)
    score = fields.Float(readonly=True, digits=(5, 2))
    grade_id = fields.Many2one(
        "credit.grade", string="Grade Definition", readonly=True, ondelete="set null", check_company=True
    )
    grade_code = fields.Char(string="Grade", required=True, readonly=True, index=True)
    previous_grade_code = fields.Char(string="Previous Grade", readonly=True)
    trend = fields.Selection(
        [("new", "First Rating"), ("up", "Upgrade"), ("same", "Unchanged"), ("down", "Downgrade")],
        readonly=True,
    )
    recommended_limit = fields.Monetary(readonly=True, help="Empty when the grade makes no recommendation.")
    has_recommendation = fields.Boolean(readonly=True)
    breakdown = fields.Json(readonly=True, help="Per factor: code, value, points, weight, contribution, status.")
    breakdown_html = fields.Html(compute="_compute_breakdown_html", string="Why This Grade")
    trigger = fields.Selection(
        [("manual", "On Demand"), ("batch", "Batch Run"), ("cron", "Scheduled")], required=True, readonly=True
    )
    user_id = fields.Many2one("res.users", string="Run By", readonly=True, default=lambda self: self.env.user)

    def _compute_breakdown_html(self):
        for rating in self:
            rating.breakdown_html = rating._render_breakdown()

    def _render_breakdown(self):
        labels = dict(self.env["credit.scorecard.factor"]._fields["code"]._description_selection(self.env))
        head = Markup("<tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr>") % (
            _("Factor"), _("Value"), _("Points"), _("Weight"), _("Contribution"),
        )
        missing = _("missing")  # translated here: a generator expression has no `self` to find the language
        rows = Markup("").join(
            Markup("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>")
            % (
                labels.get(line["code"], line["code"]),
                missing if line["value"] is None else f"{line['value']:.4g}",
                f"{line['points']:.1f}",
                f"{line['weight']:.0%}",
                f"{line['contribution']:.1f}",
            )
            for line in self.breakdown or []
        )
        return Markup('<table class="table table-sm o_credit_rating_breakdown">%s%s</table>') % (head, rows)

    def write(self, vals):
        if not self.env.su:
            raise UserError(_("Ratings are kept as they were made; run a new rating instead."))
        return super().write(vals)
