from odoo import api, fields, models
from odoo.tools import format_date


class CreditBureauReport(models.Model):
    """A credit bureau report on a customer (征信报告): agency, score, rating, date."""

    _name = "credit.bureau.report"
    _description = "Credit Bureau Report"
    _order = "partner_id, report_date desc, id desc"
    _check_company_auto = True

    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, check_company=True
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    agency = fields.Char(required=True)
    report_date = fields.Date(required=True, default=fields.Date.context_today)
    score = fields.Float(aggregator=False, help="The agency's score, on a 0-100 scale.")
    rating = fields.Char(help="The agency's own rating, as reported.")
    attachment_ids = fields.Many2many("ir.attachment", string="Documents")
    note = fields.Text()

    @api.depends("agency", "report_date")
    def _compute_display_name(self):
        for report in self:
            report.display_name = self.env._(
                "%(agency)s report of %(date)s",
                agency=report.agency or self.env._("Bureau"),
                date=format_date(self.env, report.report_date),
            )
