from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_date

from .credit_repayment_plan import STATE_CHANGE_KEY


class CreditRepaymentInstalment(models.Model):
    """One instalment (分期) of a repayment plan: what the customer promised to pay by a date.

    Its paid amount is written by the plan's progress update only: the plan's reconciled
    payments allocated to its instalments in date order.
    """

    _name = "credit.repayment.instalment"
    _description = "Repayment Plan Instalment"
    _order = "date_due, id"

    plan_id = fields.Many2one(
        "credit.repayment.plan", string="Repayment Plan", required=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="plan_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="plan_id.currency_id")
    date_due = fields.Date(string="Due Date", required=True)
    amount = fields.Monetary(required=True)
    amount_paid = fields.Monetary(string="Paid", readonly=True, copy=False)
    amount_remaining = fields.Monetary(compute="_compute_amount_remaining", string="Remaining")
    payment_state = fields.Selection(
        [("paid", "Paid"), ("partial", "Partly Paid"), ("due", "Not Yet Due"), ("overdue", "Past Due")],
        compute="_compute_amount_remaining",
        string="Status",
    )

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends("amount", "amount_paid", "date_due")
    def _compute_amount_remaining(self):
        today = fields.Date.context_today(self)
        for instalment in self:
            currency = instalment.currency_id or self.env.company.currency_id
            remaining = instalment.amount - instalment.amount_paid
            instalment.amount_remaining = remaining
            if currency.compare_amounts(remaining, 0.0) <= 0:
                instalment.payment_state = "paid"
            elif instalment.date_due and instalment.date_due < today:
                instalment.payment_state = "overdue"
            elif currency.compare_amounts(instalment.amount_paid, 0.0) > 0:
                instalment.payment_state = "partial"
            else:
                instalment.payment_state = "due"

    @api.depends("date_due", "amount", "currency_id")
    def _compute_display_name(self):
        for instalment in self:
            instalment.display_name = self.env._(
                "%(amount)s due on %(date)s",
                amount=self.env["res.company"]._credit_format_money(
                    instalment.amount, instalment.currency_id
                ),
                date=format_date(self.env, instalment.date_due),
            )

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        plans = self.env["credit.repayment.plan"].browse(
            {vals["plan_id"] for vals in vals_list if vals.get("plan_id")}
        )
        plans._check_draft_instalments()
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.cr.cache.get(STATE_CHANGE_KEY):
            if "amount_paid" in vals:
                raise UserError(
                    self.env._("What an instalment has been paid comes from the reconciled payments only.")
                )
            self.plan_id._check_draft_instalments()
            if "plan_id" in vals:
                self.env["credit.repayment.plan"].browse(vals["plan_id"])._check_draft_instalments()
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_only_in_draft(self):
        # A cancelled plan may be deleted with its instalments; a running one keeps them.
        self.plan_id.exists().filtered(lambda plan: plan.state != "cancelled")._check_draft_instalments()
