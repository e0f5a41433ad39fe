from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..credit_policy.grades import APPROVAL_DIRECTOR, APPROVAL_MANAGER, Grade


class CreditGrade(models.Model):
    """A grade of a scorecard's grade table and the terms it allows (评级结果应用)."""

    _name = "credit.grade"
    _description = "Credit Grade"
    _order = "scorecard_id, min_score desc, id"
    _check_company_auto = True

    scorecard_id = fields.Many2one("credit.scorecard", required=True, index=True, ondelete="cascade")
    company_id = fields.Many2one(related="scorecard_id.company_id", store=True)
    currency_id = fields.Many2one(related="scorecard_id.currency_id")
    code = fields.Char(required=True, help="Grade code, e.g. AAA, BB or D.")
    name = fields.Char(translate=True)
    min_score = fields.Float(
        aggregator=False, required=True, help="Lowest score (0-100) that earns this grade."
    )
    use_fixed_cap = fields.Boolean(string="Fixed Limit Cap")
    max_limit_fixed = fields.Float(
        aggregator=False,
        string="Maximum Limit",
        help="Absolute cap on the limit, in the scorecard's currency (converted into the rated company's "
        "currency at the rating date). 0: cash only.",
    )
    revenue_share = fields.Float(
        aggregator=False, string="Revenue Share (%)", help="Cap: this share of annual revenue. 0: no cap."
    )
    equity_share = fields.Float(
        aggregator=False, string="Equity Share (%)", help="Cap: this share of equity. 0: no cap."
    )
    payment_term_id = fields.Many2one(
        "account.payment.term", string="Default Payment Terms", check_company=True
    )
    payment_term_days = fields.Integer(aggregator=False, string="Longest Term (days)")
    deposit_percent = fields.Float(aggregator=False, string="Required Deposit (%)")
    review_months = fields.Integer(
        aggregator=False, string="Review Every (months)", default=12, required=True
    )
    approval_group_id = fields.Many2one(
        "res.groups",
        string="Approves Limits Above Recommendation",
        default=lambda self: self.env.ref(
            "sale_credit_control.group_credit_director", raise_if_not_found=False
        ),
        help="Group whose member must give the second approval for a limit above the recommendation.",
    )

    _sql_constraints = [
        ("code_scorecard_uniq", "unique(scorecard_id, code)", "Grade codes are unique within a scorecard."),
        (
            "min_score_range",
            "CHECK(min_score >= 0 AND min_score <= 100)",
            "A grade's minimum score is 0-100.",
        ),
        ("review_months_positive", "CHECK(review_months >= 1)", "Reviews happen at least every month."),
        (
            "shares_positive",
            "CHECK(revenue_share >= 0 AND equity_share >= 0"
            " AND deposit_percent >= 0 AND deposit_percent <= 100)",
            "Shares and deposits cannot be negative; a deposit is at most 100%.",
        ),
    ]

    @api.depends("code", "name")
    def _compute_display_name(self):
        for grade in self:
            grade.display_name = f"{grade.code} - {grade.name}" if grade.name else grade.code

    @api.constrains("use_fixed_cap", "max_limit_fixed", "scorecard_id")
    def _check_fixed_cap(self):
        for grade in self:
            if grade.use_fixed_cap and grade.max_limit_fixed < 0:
                raise ValidationError(
                    self.env._("The maximum limit of grade %(grade)s cannot be negative.", grade=grade.code)
                )
        self.scorecard_id._check_money_currency()

    def _to_policy(self, rate=1.0):
        """This grade as a policy-core :class:`Grade` (shares as fractions), its fixed cap
        multiplied by ``rate`` (scorecard currency to the rated company's currency)."""
        self.ensure_one()
        director = self.env.ref("sale_credit_control.group_credit_director", raise_if_not_found=False)
        return Grade(
            code=self.code,
            min_score=self.min_score,
            max_limit_fixed=self.max_limit_fixed * rate if self.use_fixed_cap else None,
            revenue_share=self.revenue_share / 100.0 if self.revenue_share else None,
            equity_share=self.equity_share / 100.0 if self.equity_share else None,
            payment_term_days=self.payment_term_days or None,
            deposit_percent=self.deposit_percent,
            review_months=self.review_months,
            approval_level=APPROVAL_DIRECTOR if self.approval_group_id == director else APPROVAL_MANAGER,
        )
