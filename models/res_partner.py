from odoo import _, api, fields, models
from odoo.exceptions import AccessError


class ResPartner(models.Model):
    _inherit = "res.partner"

    credit_profile_ids = fields.One2many("credit.profile", "partner_id", string="Credit Profiles")
    credit_profile_id = fields.Many2one(
        "credit.profile",
        compute="_compute_credit_profile_id",
        search="_search_credit_profile_id",
        string="Credit Profile",
        help="Credit profile of the commercial partner in the current company.",
    )
    credit_mode = fields.Selection(related="credit_profile_id.mode", string="Credit Mode")
    credit_on_hold = fields.Boolean(related="credit_profile_id.on_hold", string="On Credit Hold")
    credit_hold_reason = fields.Text(related="credit_profile_id.hold_reason")
    credit_state = fields.Selection(related="credit_profile_id.credit_state", string="Credit Status")
    credit_exposure = fields.Monetary(related="credit_profile_id.exposure_amount", string="Credit Exposure")
    credit_available = fields.Monetary(related="credit_profile_id.available_amount", string="Available Credit")
    credit_utilization = fields.Float(related="credit_profile_id.utilization", string="Credit Utilization (%)")
    credit_overdue_amount = fields.Monetary(related="credit_profile_id.overdue_amount", string="Overdue Amount")
    credit_overdue_days = fields.Integer(related="credit_profile_id.overdue_days", string="Oldest Days Overdue")
    credit_receivable_amount = fields.Monetary(
        related="credit_profile_id.receivable_amount", string="Open Receivables (Today's Rate)"
    )
    credit_uninvoiced_order_amount = fields.Monetary(
        related="credit_profile_id.uninvoiced_order_amount", string="Confirmed Uninvoiced Orders"
    )
    credit_draft_invoice_amount = fields.Monetary(
        related="credit_profile_id.draft_invoice_amount", string="Draft Invoices (Credit)"
    )
    credit_approval_count = fields.Integer(compute="_compute_credit_approval_count")

    @api.depends_context("company")
    @api.depends("commercial_partner_id")
    def _compute_credit_profile_id(self):
        commercial = self.commercial_partner_id
        profiles = self.env["credit.profile"].search(
            [("partner_id", "in", commercial.ids), ("company_id", "=", self.env.company.id)]
        )
        by_partner = {profile.partner_id: profile for profile in profiles}
        for partner in self:
            partner.credit_profile_id = by_partner.get(partner.commercial_partner_id, False)

    def _search_credit_profile_id(self, operator, value):
        return [("commercial_partner_id.credit_profile_ids", operator, value)]

    @api.depends_context("company")
    def _compute_credit_approval_count(self):
        counts = dict(
            self.env["credit.approval"]._read_group(
                [("partner_id", "in", self.commercial_partner_id.ids), ("company_id", "=", self.env.company.id)],
                ["partner_id"],
                ["__count"],
            )
        )
        for partner in self:
            partner.credit_approval_count = counts.get(partner.commercial_partner_id, 0)

    def write(self, vals):
        if "credit_limit" not in vals:
            return super().write(vals)
        if not self.env.su and not self.env.user.has_group("sale_credit_control.group_credit_manager"):
            raise AccessError(_("Only credit managers can change credit limits."))
        old_limits = {partner: partner.credit_limit for partner in self}
        result = super().write(vals)
        self._credit_record_limit_changes(old_limits)
        return result

    def _credit_record_limit_changes(self, old_limits):
        """Record limit changes (in the current company) in the credit history and chatter."""
        reason = self.env.context.get("credit_change_reason") or _("Edited on the customer")
        history = self.env["credit.limit.history"]
        for partner, old_limit in old_limits.items():
            # Contacts receive the limit by Odoo's commercial-field sync: record it once.
            if partner != partner.commercial_partner_id or partner.credit_limit == old_limit:
                continue
            profile = self.env["credit.profile"]._get_or_create(partner, self.env.company)
            history._record(profile, "credit_limit", old_limit, partner.credit_limit, reason)
            profile.message_post(
                body=_(
                    "Credit limit changed from %(old)s to %(new)s by %(user)s: %(reason)s",
                    old=profile._format_amount(old_limit),
                    new=profile._format_amount(partner.credit_limit),
                    user=self.env.user.name,
                    reason=reason,
                )
            )

    def action_open_credit_profile(self):
        self.ensure_one()
        profile = self.credit_profile_id
        if not profile:
            self.env["credit.profile"].check_access("create")
            profile = self.env["credit.profile"].create(
                {"partner_id": self.commercial_partner_id.id, "company_id": self.env.company.id}
            )
        return {
            "type": "ir.actions.act_window",
            "res_model": "credit.profile",
            "res_id": profile.id,
            "view_mode": "form",
        }

    def action_view_credit_approvals(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("sale_credit_control.credit_approval_action")
        action["domain"] = [("partner_id", "=", self.commercial_partner_id.id)]
        return action
