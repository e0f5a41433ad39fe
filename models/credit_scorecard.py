from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..credit_policy.grades import GradeTable
from ..credit_policy.scoring import Scorecard


class CreditScorecard(models.Model):
    """Weighted factors scored from bands (评分卡), and the grade table the score maps to.

    A scorecard without company applies to every company that has none of its own.
    """

    _name = "credit.scorecard"
    _description = "Credit Scorecard"
    _order = "company_id, sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", index=True, help="Empty: used by companies without their own.")
    factor_ids = fields.One2many("credit.scorecard.factor", "scorecard_id", string="Factors", copy=True)
    grade_ids = fields.One2many("credit.grade", "scorecard_id", string="Grades", copy=True)
    note = fields.Html()

    @api.model
    def _for_company(self, company):
        """The scorecard used to rate customers of ``company``."""
        return self.search(
            [("company_id", "in", (company.id, False))], order="company_id nulls last, sequence, id", limit=1
        )

    @api.constrains("factor_ids", "grade_ids")
    def _check_policy(self):
        for scorecard in self:
            try:
                scorecard._to_policy()
                scorecard._grade_table()
            except ValueError as error:
                raise ValidationError(
                    self.env._("Scorecard %(name)s is not usable: %(error)s", name=scorecard.name, error=error)
                ) from error

    def _to_policy(self):
        """This scorecard as a policy-core :class:`Scorecard`."""
        self.ensure_one()
        return Scorecard([factor._to_policy() for factor in self.factor_ids])

    def _grade_table(self):
        self.ensure_one()
        return GradeTable([grade._to_policy() for grade in self.grade_ids])
