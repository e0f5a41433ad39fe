"""The counts of the credit profile's stat buttons and the lists they open."""

from odoo import fields, models


class CreditProfile(models.Model):
    _inherit = "credit.profile"  # pylint: disable=consider-merging-classes-inherited  # split by topic

    order_count = fields.Integer(compute="_compute_order_count", string="Sales Orders")
    check_count = fields.Integer(compute="_compute_record_counts", string="Credit Checks")
    approval_count = fields.Integer(compute="_compute_record_counts", string="Override Approvals")
    limit_request_count = fields.Integer(compute="_compute_record_counts", string="Limit Requests")
    alert_count = fields.Integer(
        compute="_compute_record_counts", string="Open Alerts", help="New and acknowledged alerts."
    )
    guarantee_count = fields.Integer(compute="_compute_record_counts", string="Guarantees")
    rating_count = fields.Integer(compute="_compute_record_counts", string="Ratings")
    repayment_plan_count = fields.Integer(compute="_compute_record_counts", string="Repayment Plans")
    history_count = fields.Integer(compute="_compute_record_counts", string="Setting Changes")

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    def _count_fields(self):
        """``{count field: (model, extra domain)}``: records of the profile's customer in its
        company, counted with one grouped query per model for the whole batch."""
        return {
            "check_count": ("credit.check", []),
            "approval_count": ("credit.approval", []),
            "limit_request_count": ("credit.limit.request", []),
            "alert_count": ("credit.alert", [("state", "in", ("new", "acknowledged"))]),
            "guarantee_count": ("credit.guarantee", []),
            "rating_count": ("credit.rating", []),
            "repayment_plan_count": ("credit.repayment.plan", []),
            "history_count": ("credit.limit.history", []),
        }

    def _compute_record_counts(self):
        domain = [
            ("partner_id", "in", self.partner_id.ids),
            ("company_id", "in", self.company_id.ids),
        ]
        for field_name, (model, extra_domain) in self._count_fields().items():
            counts = {
                (partner.id, company.id): count
                for partner, company, count in self.env[model]._read_group(
                    domain + extra_domain, ["partner_id", "company_id"], ["__count"]
                )
            }
            for profile in self:
                profile[field_name] = counts.get((profile.partner_id.id, profile.company_id.id), 0)

    def _compute_order_count(self):
        """Orders of the customer and its contacts (``partner_id`` child of the profile's customer)."""
        rows = self.env["sale.order"]._read_group(
            [
                ("partner_id.commercial_partner_id", "in", self.partner_id.ids),
                ("company_id", "in", self.company_id.ids),
            ],
            ["partner_id", "company_id"],
            ["__count"],
        )
        counts = {}
        for partner, company, count in rows:
            key = (partner.commercial_partner_id.id, company.id)
            counts[key] = counts.get(key, 0) + count
        for profile in self:
            profile.order_count = counts.get((profile.partner_id.id, profile.company_id.id), 0)

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_view_checks(self):
        return self._credit_information_action("sale_credit_control.credit_check_action")

    def action_view_approvals(self):
        return self._credit_information_action("sale_credit_control.credit_approval_action")

    def action_view_limit_requests(self):
        action = self._credit_information_action("sale_credit_control.credit_limit_request_action")
        action["context"]["default_amount"] = self.credit_limit
        return action

    def action_view_alerts(self):
        action = self._credit_information_action("sale_credit_control.credit_alert_action")
        action["context"]["search_default_open"] = 1
        return action

    def action_view_guarantees(self):
        return self._credit_information_action("sale_credit_control.credit_guarantee_action")

    def action_view_repayment_plans(self):
        return self._credit_information_action("sale_credit_control.credit_repayment_plan_action")

    def action_view_history(self):
        return self._credit_information_action("sale_credit_control.credit_limit_history_action")
