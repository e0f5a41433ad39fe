from odoo import api, fields, models
from odoo.exceptions import AccessError


class ResConfigSettings(models.TransientModel):  # pylint: disable=no-wizard-in-models  # settings: models/
    _name = "res.config.settings"
    _inherit = ["res.config.settings", "credit.finite.values.mixin"]
    _credit_finite_fields = (
        "account_default_credit_limit",
        "credit_overdue_amount",
        "credit_max_order_amount",
        "credit_default_tolerance",
        "credit_max_tolerance",
        "credit_limit_second_approval_threshold",
    )

    credit_control_enabled = fields.Boolean(related="company_id.credit_control_enabled", readonly=False)
    credit_limit_action = fields.Selection(related="company_id.credit_limit_action", readonly=False)
    credit_hold_action = fields.Selection(related="company_id.credit_hold_action", readonly=False)
    credit_overdue_action = fields.Selection(related="company_id.credit_overdue_action", readonly=False)
    credit_overdue_days = fields.Integer(related="company_id.credit_overdue_days", readonly=False)
    credit_overdue_amount = fields.Monetary(related="company_id.credit_overdue_amount", readonly=False)
    credit_expired_action = fields.Selection(related="company_id.credit_expired_action", readonly=False)
    credit_max_order_amount = fields.Monetary(related="company_id.credit_max_order_amount", readonly=False)
    credit_max_order_action = fields.Selection(related="company_id.credit_max_order_action", readonly=False)
    credit_term_action = fields.Selection(related="company_id.credit_term_action", readonly=False)
    credit_deposit_action = fields.Selection(related="company_id.credit_deposit_action", readonly=False)
    credit_team_budget_action = fields.Selection(
        related="company_id.credit_team_budget_action", readonly=False
    )
    credit_insurance_required = fields.Boolean(related="company_id.credit_insurance_required", readonly=False)
    credit_insurance_action = fields.Selection(related="company_id.credit_insurance_action", readonly=False)
    credit_group_action = fields.Selection(related="company_id.credit_group_action", readonly=False)
    credit_count_draft_invoices = fields.Boolean(
        related="company_id.credit_count_draft_invoices", readonly=False
    )
    credit_repayment_grace_days = fields.Integer(
        related="company_id.credit_repayment_grace_days", readonly=False
    )
    credit_repayment_hold_on_broken = fields.Boolean(
        related="company_id.credit_repayment_hold_on_broken", readonly=False
    )
    credit_repayment_excludes_overdue = fields.Boolean(
        related="company_id.credit_repayment_excludes_overdue", readonly=False
    )
    # Not related fields: the default and the maximum tolerance are written together, so
    # that raising (or lowering) both at once is checked on the final pair of values.
    credit_default_tolerance = fields.Float(
        string="Default Tolerance (%)",
        compute="_compute_credit_tolerances",
        inverse="_inverse_credit_tolerances",
        readonly=False,
        help="Share above the limit tolerated with a warning only, for customers without their "
        "own tolerance.",
    )
    credit_max_tolerance = fields.Float(
        string="Maximum Tolerance (%)",
        compute="_compute_credit_tolerances",
        inverse="_inverse_credit_tolerances",
        readonly=False,
        help="No customer's tolerance (nor the default one) may exceed this share above the limit. "
        "Between 0 and 100.",
    )
    credit_manager_id = fields.Many2one(related="company_id.credit_manager_id", readonly=False)
    credit_review_lead_days = fields.Integer(related="company_id.credit_review_lead_days", readonly=False)
    credit_approval_validity_days = fields.Integer(
        related="company_id.credit_approval_validity_days", readonly=False
    )
    credit_allow_direct_limit_edit = fields.Boolean(
        related="company_id.credit_allow_direct_limit_edit", readonly=False
    )
    credit_limit_second_approval_threshold = fields.Monetary(
        related="company_id.credit_limit_second_approval_threshold", readonly=False
    )
    credit_aging_edges = fields.Char(related="company_id.credit_aging_edges", readonly=False)
    credit_portal_show_rating = fields.Boolean(related="company_id.credit_portal_show_rating", readonly=False)

    @api.depends("company_id")
    def _compute_credit_tolerances(self):
        for setting in self:
            setting.credit_default_tolerance = setting.company_id.credit_default_tolerance
            setting.credit_max_tolerance = setting.company_id.credit_max_tolerance

    def _inverse_credit_tolerances(self):
        for setting in self:
            company = setting.company_id
            vals = {
                name: setting[name]
                for name in ("credit_default_tolerance", "credit_max_tolerance")
                if round(setting[name], 2) != round(company[name], 2)
            }
            if vals:
                company.write(vals)

    def _inverse_account_default_credit_limit(self):
        """Odoo's default credit limit is the limit of every customer without one of their
        own: where credit control is on, only credit managers change it, and it is recorded."""
        changes = []
        partners = self.env["res.partner"]
        for setting in self:
            company = setting.company_id
            if not company.credit_control_enabled:
                continue
            old_limit = partners.with_company(company)._credit_default_limit()
            new_limit = setting.account_default_credit_limit or 0.0
            label = company._credit_field_label("account_default_credit_limit", self._name)
            company._credit_check_figure(new_limit, label, company.name, currency=company.currency_id)
            if not company.currency_id.compare_amounts(old_limit, new_limit):
                continue
            if not self.env.su and not self.env.user.has_group("sale_credit_control.group_credit_manager"):
                raise AccessError(
                    self.env._(
                        "Only credit managers can change the default credit limit of %(company)s "
                        "(from %(old)s to %(new)s): it is the limit of every customer without a limit "
                        "of their own, and credit control is on in this company. An administrator "
                        "gives this right in Settings > Users & Companies > Users: open the user and, "
                        "in Access Rights under Sales, set Credit Control to Manager.",
                        company=company.name,
                        old=company._credit_format_amount(old_limit),
                        new=company._credit_format_amount(new_limit),
                    )
                )
            changes.append((company, old_limit, new_limit))
        result = super()._inverse_account_default_credit_limit()
        reason = self.env.context.get("credit_change_reason") or self.env._(
            "Default credit limit changed in the settings"
        )
        for company, old_limit, new_limit in changes:
            self.env["credit.limit.history"]._record_company(
                company, "default_credit_limit", old_limit, new_limit, reason
            )
        return result
