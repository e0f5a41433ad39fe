from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError


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
    credit_grade_code = fields.Char(related="credit_profile_id.grade_code", string="Credit Grade")
    credit_score = fields.Float(related="credit_profile_id.score", string="Credit Score")
    credit_rating_trend = fields.Selection(related="credit_profile_id.rating_trend", string="Credit Rating Trend")
    credit_rating_date = fields.Date(related="credit_profile_id.rating_date", string="Rated On")
    credit_recommended_limit = fields.Monetary(
        related="credit_profile_id.recommended_limit", string="Recommended Credit Limit"
    )
    credit_review_date = fields.Date(related="credit_profile_id.review_date", string="Next Credit Review")

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
        if not self.env.su and not self.env.company.credit_allow_direct_limit_edit:
            raise UserError(
                _(
                    "%(company)s does not allow editing credit limits directly: use a limit request "
                    "(Request Limit Change on the credit profile) to change the limit of %(partners)s.",
                    company=self.env.company.name,
                    partners=", ".join(self.commercial_partner_id.mapped("display_name")),
                )
            )
        # Setting limits is the credit manager's right, whether or not they may edit
        # contacts or see accounting fields: only the limit itself is written as superuser.
        partners = self.sudo()
        old_limits = {partner: partner.credit_limit for partner in partners}
        other_vals = {name: value for name, value in vals.items() if name != "credit_limit"}
        result = super().write(other_vals) if other_vals else True
        result = super(ResPartner, partners).write({"credit_limit": vals["credit_limit"]}) and result
        partners._credit_record_limit_changes(old_limits)
        changed = partners.filtered(
            lambda partner: partner == partner.commercial_partner_id and partner.credit_limit != old_limits[partner]
        )
        if changed:
            # The limit is per company: re-evaluate the held quotations in the company it changed in.
            self.env["sale.order"]._credit_reevaluate_partners(changed, self.env.company)
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

    def action_credit_rate(self):
        """Rate these customers now in the current company (on demand)."""
        engine = self.env["credit.rating.engine"]
        engine._check_rating_rights()
        engine._rate_partners(self, self.env.company, trigger="manual")
        return True

    def action_view_credit_ratings(self):
        return self._credit_information_action("sale_credit_control.credit_rating_action")

    def action_view_credit_financial_statements(self):
        return self._credit_information_action("sale_credit_control.credit_financial_statement_action")

    def action_view_credit_bureau_reports(self):
        return self._credit_information_action("sale_credit_control.credit_bureau_report_action")

    def action_view_credit_bank_references(self):
        return self._credit_information_action("sale_credit_control.credit_bank_reference_action")

    def _credit_information_action(self, xml_id):
        """The list of ``xml_id`` for the commercial partner in the current company."""
        self.ensure_one()
        commercial = self.commercial_partner_id
        action = self.env["ir.actions.act_window"]._for_xml_id(xml_id)
        action["domain"] = [("partner_id", "=", commercial.id), ("company_id", "=", self.env.company.id)]
        action["context"] = {"default_partner_id": commercial.id, "default_company_id": self.env.company.id}
        return action

    def action_view_credit_approvals(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("sale_credit_control.credit_approval_action")
        action["domain"] = [("partner_id", "=", self.commercial_partner_id.id)]
        return action
