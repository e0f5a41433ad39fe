from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    credit_control_enabled = fields.Boolean(related="company_id.credit_control_enabled", readonly=False)
    credit_limit_action = fields.Selection(related="company_id.credit_limit_action", readonly=False)
    credit_hold_action = fields.Selection(related="company_id.credit_hold_action", readonly=False)
    credit_overdue_action = fields.Selection(related="company_id.credit_overdue_action", readonly=False)
    credit_overdue_days = fields.Integer(related="company_id.credit_overdue_days", readonly=False)
    credit_overdue_amount = fields.Monetary(related="company_id.credit_overdue_amount", readonly=False)
    credit_expired_action = fields.Selection(related="company_id.credit_expired_action", readonly=False)
    credit_max_order_amount = fields.Monetary(related="company_id.credit_max_order_amount", readonly=False)
    credit_max_order_action = fields.Selection(related="company_id.credit_max_order_action", readonly=False)
    credit_count_draft_invoices = fields.Boolean(
        related="company_id.credit_count_draft_invoices", readonly=False
    )
    credit_default_tolerance = fields.Float(related="company_id.credit_default_tolerance", readonly=False)
    credit_manager_id = fields.Many2one(related="company_id.credit_manager_id", readonly=False)
    credit_review_lead_days = fields.Integer(related="company_id.credit_review_lead_days", readonly=False)
    credit_allow_direct_limit_edit = fields.Boolean(related="company_id.credit_allow_direct_limit_edit", readonly=False)
    credit_limit_second_approval_threshold = fields.Monetary(
        related="company_id.credit_limit_second_approval_threshold", readonly=False
    )
