from odoo import api, models


class AccountPartialReconcile(models.Model):
    _inherit = "account.partial.reconcile"

    @api.model_create_multi
    def create(self, vals_list):
        partials = super().create(vals_list)
        # Repayment plans first: their progress decides which overdue debt the re-evaluation counts.
        partials._credit_update_repayment_plans()
        partials._credit_reevaluate_held_orders()
        return partials

    def _credit_update_repayment_plans(self):
        """A payment reconciled with a covered invoice is progress of its repayment plan."""
        moves = (
            self.sudo()
            .debit_move_id.filtered(lambda line: line.account_id.account_type == "asset_receivable")
            .move_id
        )
        self.env["credit.repayment.plan"]._credit_update_for_moves(moves)

    def _credit_reevaluate_held_orders(self):
        """A payment (or credit note) reconciled with receivables lowers the customers'
        exposure and overdue: re-evaluate their held quotations."""
        lines = (
            (self.debit_move_id | self.credit_move_id)
            .sudo()
            .filtered(lambda line: line.partner_id and line.account_id.account_type == "asset_receivable")
        )
        for company, company_lines in lines.grouped("company_id").items():
            if company.credit_control_enabled:
                self.env["sale.order"]._credit_reevaluate_partners(company_lines.partner_id, company)
