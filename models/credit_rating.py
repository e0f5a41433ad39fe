from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import format_date, formatLang


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
    score = fields.Float(readonly=True, digits=(5, 2), aggregator=False)
    grade_id = fields.Many2one(
        "credit.grade", string="Grade Definition", readonly=True, ondelete="set null", check_company=True
    )
    grade_code = fields.Char(string="Grade", required=True, readonly=True, index=True)
    previous_grade_code = fields.Char(string="Previous Grade", readonly=True)
    trend = fields.Selection(
        [("new", "First Rating"), ("up", "Upgrade"), ("same", "Unchanged"), ("down", "Downgrade")],
        readonly=True,
    )
    recommended_limit = fields.Monetary(
        readonly=True, aggregator=False, help="Empty when the grade makes no recommendation."
    )
    has_recommendation = fields.Boolean(readonly=True)
    # The customer's country risk (国家风险) when its country has a class in the company's table.
    country_id = fields.Many2one("res.country", readonly=True, help="Country whose risk class was scored.")
    country_risk_class = fields.Integer(readonly=True, aggregator=False, help="0 (lowest risk) to 7.")
    country_limit_cap = fields.Monetary(readonly=True, aggregator=False, help="0: the country caps no limit.")
    country_cap_applied = fields.Boolean(
        string="Capped by Country",
        readonly=True,
        help="The recommended limit is the country's cap, lower than the grade's recommendation (or the "
        "only one).",
    )
    breakdown = fields.Json(
        readonly=True, help="Per factor: code, value, points, weight, contribution, status."
    )
    breakdown_html = fields.Html(compute="_compute_breakdown_html", string="Why This Grade")
    trigger = fields.Selection(
        [("manual", "On Demand"), ("batch", "Batch Run"), ("cron", "Scheduled")], required=True, readonly=True
    )
    user_id = fields.Many2one("res.users", string="Run By", readonly=True, default=lambda self: self.env.user)
    grade_payment_term_id = fields.Many2one(
        related="grade_id.payment_term_id",
        string="Grade's Payment Terms",
        help="Proposed to the customer: a credit manager applies them (Apply Grade's Terms).",
    )

    @api.depends("grade_code", "date")
    def _compute_display_name(self):
        for rating in self:
            rating.display_name = self.env._(
                "Rating %(grade)s %(date)s",
                grade=rating.grade_code or "",
                date=format_date(self.env, rating.date) if rating.date else "",
            ).strip()

    def _compute_breakdown_html(self):
        for rating in self:
            rating.breakdown_html = rating._render_breakdown()

    def _render_breakdown(self):
        """The breakdown as a table: each factor's value in its unit (a percentage, days, an
        amount in the company currency...), a missing value as a "Missing" badge."""
        factor_model = self.env["credit.scorecard.factor"]
        labels = dict(factor_model._fields["code"]._description_selection(self.env))
        head = Markup("<tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr>") % (
            self.env._("Factor"),
            self.env._("Value"),
            self.env._("Points"),
            self.env._("Weight"),
            self.env._("Contribution"),
        )
        missing = Markup('<span class="badge text-bg-secondary o_credit_factor_missing">%s</span>') % (
            self.env._("Missing")
        )
        rows = Markup("").join(
            Markup("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>")
            % (
                labels.get(line["code"], line["code"]),
                missing
                if line["value"] is None
                else factor_model._format_value(line["code"], line["value"], self.currency_id),
                formatLang(self.env, line["points"], digits=1),
                f"{formatLang(self.env, line['weight'] * 100, digits=0)}%",
                formatLang(self.env, line["contribution"], digits=1),
            )
            for line in self.breakdown or []
        )
        table = Markup('<table class="table table-sm o_credit_rating_breakdown">%s%s</table>') % (head, rows)
        if self.country_cap_applied:
            table += Markup('<p class="o_credit_rating_country_cap">%s</p>') % self.env._(
                "Recommended limit capped at %(cap)s by the country risk of %(country)s "
                "(class %(risk_class)s).",
                cap=self.env["res.company"]._credit_format_money(self.country_limit_cap, self.currency_id),
                country=self.country_id.name,
                risk_class=self.country_risk_class,
            )
        return table

    @api.model_create_multi
    def create(self, vals_list):
        ratings = super().create(vals_list)
        # The engine inserts its ratings in bulk and logs them itself; these are the others.
        self.env["credit.decision.log"]._log_rating_records(ratings)
        return ratings

    def write(self, vals):
        if not self.env.su:
            raise UserError(self.env._("Ratings are kept as they were made; run a new rating instead."))
        return super().write(vals)

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_apply_grade_terms(self):
        """Accept the grade's payment term for the customer: a credit manager sets it as the
        customer's default terms in the rating's company (Odoo's company-dependent
        ``property_payment_term_id``, which new quotations and invoices take), recorded in
        the credit profile's chatter with who, old and new terms.

        Every rating is checked before anything is written: nothing changes if one fails.
        """
        if not self.env.su and not self.env.user.has_group("sale_credit_control.group_credit_manager"):
            raise AccessError(
                self.env._("Only credit managers can apply a grade's payment terms to a customer.")
            )
        todo = []
        for rating in self:
            term = rating.grade_id.payment_term_id
            if not term:
                raise UserError(
                    self.env._(
                        "Grade %(grade)s has no default payment terms, so there is nothing to apply to "
                        "%(partner)s: set the terms on the grade (Configuration > Grades) first.",
                        grade=rating.grade_code,
                        partner=rating.partner_id.display_name,
                    )
                )
            profile = self.env["credit.profile"]._get_or_create(rating.partner_id, rating.company_id)
            if profile.rating_id != rating:
                raise UserError(
                    self.env._(
                        "The rating of %(date)s (grade %(grade)s) is not the current rating of %(partner)s "
                        "(grade %(current)s of %(current_date)s): apply the terms of the current rating.",
                        date=format_date(self.env, rating.date),
                        grade=rating.grade_code,
                        partner=rating.partner_id.display_name,
                        current=profile.rating_id.grade_code or self.env._("none"),
                        current_date=format_date(self.env, profile.rating_id.date),
                    )
                )
            todo.append((rating, profile, term))
        changed = []
        for rating, profile, term in todo:
            # The customer's contact rights are not the question: the credit manager's is checked above.
            partner = rating.partner_id.sudo().with_company(rating.company_id)
            old_term = partner.property_payment_term_id
            if old_term == term:
                continue
            partner.property_payment_term_id = term
            profile.message_post(
                body=self.env._(
                    "Payment terms of %(partner)s in %(company)s changed by %(user)s from %(old)s to "
                    "%(new)s: the terms of grade %(grade)s (rating of %(date)s).",
                    partner=rating.partner_id.display_name,
                    company=rating.company_id.name,
                    user=self.env.user.name,
                    old=old_term.name or self.env._("none"),
                    new=term.name,
                    grade=rating.grade_code,
                    date=format_date(self.env, rating.date),
                )
            )
            changed.append(rating.partner_id.display_name)
        if changed:
            message = self.env._("Payment terms applied to %(partners)s.", partners=", ".join(changed))
        else:
            message = self.env._("The customer already has the grade's payment terms: nothing changed.")
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"message": message, "type": "success" if changed else "info", "sticky": False},
        }
