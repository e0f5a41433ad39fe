from odoo import api, fields, models
from odoo.tools import format_date


class CreditBankReference(models.Model):
    """A bank reference on a customer (银行资信证明)."""

    _name = "credit.bank.reference"
    _description = "Customer Bank Reference"
    _order = "partner_id, date desc, id desc"
    _check_company_auto = True

    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, check_company=True
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    bank_name = fields.Char(required=True)
    contact = fields.Char()
    date = fields.Date(required=True, default=fields.Date.context_today)
    opinion = fields.Selection(
        [
            ("good", "Good"),
            ("satisfactory", "Satisfactory"),
            ("poor", "Poor"),
            ("declined", "Declined to Answer"),
        ],
        required=True,
        default="satisfactory",
    )
    attachment_ids = fields.Many2many("ir.attachment", string="Documents")
    note = fields.Text()

    @api.depends("bank_name", "date")
    def _compute_display_name(self):
        for reference in self:
            reference.display_name = self.env._(
                "%(bank)s reference of %(date)s",
                bank=reference.bank_name or self.env._("Bank"),
                date=format_date(self.env, reference.date),
            )
