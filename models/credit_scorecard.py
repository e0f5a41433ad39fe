from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..credit_policy.grades import GradeTable
from ..credit_policy.scoring import Scorecard


class CreditScorecard(models.Model):
    """Weighted factors scored from bands (评分卡), and the grade table the score maps to.

    A scorecard without company applies to every company that has none of its own.

    Money amounts (the bands of money factors such as the sales volume, the grades'
    fixed limit caps) are in the scorecard's currency. A scorecard shared by companies
    with different currencies is converted into each company's currency at the rating
    date: 10,000 of a USD card is 10,000 USD's worth in a EUR company, not 10,000 EUR.
    Ratios, days, years and scores have no currency. A company scorecard defaults to
    its company's currency; a shared one needs a currency as soon as it holds a money
    amount.
    """

    _name = "credit.scorecard"
    _description = "Credit Scorecard"
    _order = "company_id, sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", index=True, help="Empty: used by companies without their own."
    )
    currency_id = fields.Many2one(
        "res.currency",
        compute="_compute_currency_id",
        store=True,
        readonly=False,
        precompute=True,
        help="Currency of the money amounts (sales volume bands, fixed limit caps). Each company rates "
        "with them converted into its own currency at the rating date.",
    )
    factor_ids = fields.One2many("credit.scorecard.factor", "scorecard_id", string="Factors", copy=True)
    grade_ids = fields.One2many("credit.grade", "scorecard_id", string="Grades", copy=True)
    note = fields.Html()

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends("company_id")
    def _compute_currency_id(self):
        for scorecard in self:
            scorecard.currency_id = (
                scorecard.company_id.currency_id or scorecard.currency_id or self.env.company.currency_id
            )

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains("factor_ids", "grade_ids")
    def _check_policy(self):
        for scorecard in self:
            try:
                scorecard._to_policy()
                scorecard._grade_table()
            except ValueError as error:
                raise ValidationError(
                    self.env._(
                        "Scorecard %(name)s is not usable: %(error)s", name=scorecard.name, error=error
                    )
                ) from error

    @api.constrains("company_id", "currency_id", "factor_ids", "grade_ids")
    def _check_money_currency(self):
        for scorecard in self:
            if scorecard._amount_currency():
                continue
            amounts = scorecard._money_amount_labels()
            if amounts:
                raise ValidationError(
                    self.env._(
                        "Scorecard %(name)s applies to every company and holds money amounts (%(amounts)s): "
                        "set its currency, or its company, so that each company converts them into its own "
                        "currency.",
                        name=scorecard.name,
                        amounts=", ".join(amounts),
                    )
                )

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    @api.model
    def _for_company(self, company):
        """The scorecard used to rate customers of ``company``."""
        return self.search(
            [("company_id", "in", (company.id, False))], order="company_id nulls last, sequence, id", limit=1
        )

    def _amount_currency(self):
        """The currency of this scorecard's money amounts (its own, else its company's)."""
        self.ensure_one()
        return self.currency_id or self.company_id.currency_id

    def _money_amount_labels(self):
        """What in this scorecard is money: money factors with bands, non-zero fixed caps."""
        self.ensure_one()
        labels = dict(self.env["credit.scorecard.factor"]._fields["code"]._description_selection(self.env))
        amounts = [
            labels[factor.code] for factor in self.factor_ids if factor._is_money() and factor.band_ids
        ]
        amounts += [
            self.env._("fixed cap of grade %(grade)s", grade=grade.code)
            for grade in self.grade_ids
            if grade.use_fixed_cap and grade.max_limit_fixed
        ]
        return amounts

    def _money_rate(self, company=None, date=None):
        """How many units of ``company``'s currency one unit of the scorecard's money is worth at ``date``.

        1.0 without company, or when the currencies are the same (no query then).
        """
        self.ensure_one()
        currency = self._amount_currency()
        if not company or not currency or currency == company.currency_id:
            return 1.0
        return self.env["res.currency"]._get_conversion_rate(
            currency, company.currency_id, company, date or fields.Date.context_today(self)
        )

    def _to_policy(self, company=None, date=None):
        """This scorecard as a policy-core :class:`Scorecard`, its money bands in ``company``'s
        currency at ``date`` (in the scorecard's currency without ``company``)."""
        self.ensure_one()
        rate = self._money_rate(company, date)
        return Scorecard([factor._to_policy(rate) for factor in self.factor_ids])

    def _grade_table(self, company=None, date=None):
        """The grades as a policy-core :class:`GradeTable`, their fixed caps in ``company``'s
        currency at ``date`` (in the scorecard's currency without ``company``)."""
        self.ensure_one()
        rate = self._money_rate(company, date)
        return GradeTable([grade._to_policy(rate) for grade in self.grade_ids])
