from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

# Who reads the credit data on a customer (the related fields are computed as superuser, so
# `groups` is what keeps them from other users, portal users on their own company included):
# - salespeople (credit users) see what they sell under: status, mode, hold flag, available credit;
#   the reasons that block one of their orders are in that order's credit check message;
# - credit managers and auditors see the credit file: hold reason, exposure breakdown, rating;
# - administrators (who have full rights on credit profiles) see both.
CREDIT_STATUS_GROUPS = (
    "sale_credit_control.group_credit_user,sale_credit_control.group_credit_auditor,base.group_system"
)
CREDIT_FILE_GROUPS = (
    "sale_credit_control.group_credit_manager,sale_credit_control.group_credit_auditor,base.group_system"
)


class ResPartner(models.Model):
    _inherit = "res.partner"

    credit_profile_ids = fields.One2many(
        "credit.profile", "partner_id", string="Credit Profiles", groups=CREDIT_FILE_GROUPS
    )
    credit_profile_id = fields.Many2one(
        "credit.profile",
        compute="_compute_credit_profile_id",
        search="_search_credit_profile_id",
        compute_sudo=True,
        groups=CREDIT_STATUS_GROUPS,
        help="Credit profile of the commercial partner in the current company.",
    )
    credit_mode = fields.Selection(
        related="credit_profile_id.mode", string="Credit Mode", groups=CREDIT_STATUS_GROUPS
    )
    credit_on_hold = fields.Boolean(
        related="credit_profile_id.on_hold", string="On Credit Hold", groups=CREDIT_STATUS_GROUPS
    )
    credit_hold_reason = fields.Text(related="credit_profile_id.hold_reason", groups=CREDIT_FILE_GROUPS)
    credit_state = fields.Selection(
        related="credit_profile_id.credit_state", string="Credit Status", groups=CREDIT_STATUS_GROUPS
    )
    credit_exposure = fields.Monetary(
        related="credit_profile_id.exposure_amount", string="Credit Exposure", groups=CREDIT_FILE_GROUPS
    )
    credit_available = fields.Monetary(
        related="credit_profile_id.available_amount", string="Available Credit", groups=CREDIT_STATUS_GROUPS
    )
    credit_utilization = fields.Float(
        related="credit_profile_id.utilization", string="Credit Utilization (%)", groups=CREDIT_FILE_GROUPS
    )
    credit_overdue_amount = fields.Monetary(
        related="credit_profile_id.overdue_amount", string="Overdue Amount", groups=CREDIT_FILE_GROUPS
    )
    credit_overdue_days = fields.Integer(
        related="credit_profile_id.overdue_days", string="Oldest Days Overdue", groups=CREDIT_FILE_GROUPS
    )
    credit_receivable_amount = fields.Monetary(
        related="credit_profile_id.receivable_amount",
        string="Open Receivables (Today's Rate)",
        groups=CREDIT_FILE_GROUPS,
    )
    credit_uninvoiced_order_amount = fields.Monetary(
        related="credit_profile_id.uninvoiced_order_amount",
        string="Confirmed Uninvoiced Orders",
        groups=CREDIT_FILE_GROUPS,
    )
    credit_draft_invoice_amount = fields.Monetary(
        related="credit_profile_id.draft_invoice_amount",
        string="Draft Invoices (Credit)",
        groups=CREDIT_FILE_GROUPS,
    )
    credit_approval_count = fields.Integer(
        compute="_compute_credit_approval_count", groups=CREDIT_STATUS_GROUPS
    )
    credit_grade_code = fields.Char(
        related="credit_profile_id.grade_code", string="Credit Grade", groups=CREDIT_FILE_GROUPS
    )
    credit_score = fields.Float(
        related="credit_profile_id.score", string="Credit Score", groups=CREDIT_FILE_GROUPS
    )
    credit_rating_trend = fields.Selection(
        related="credit_profile_id.rating_trend", string="Credit Rating Trend", groups=CREDIT_FILE_GROUPS
    )
    credit_rating_date = fields.Date(
        related="credit_profile_id.rating_date", string="Rated On", groups=CREDIT_FILE_GROUPS
    )
    credit_recommended_limit = fields.Monetary(
        related="credit_profile_id.recommended_limit",
        string="Recommended Credit Limit",
        groups=CREDIT_FILE_GROUPS,
    )
    credit_review_date = fields.Date(
        related="credit_profile_id.review_date", string="Next Credit Review", groups=CREDIT_FILE_GROUPS
    )

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

    @api.model
    def _search(self, domain, offset=0, limit=None, order=None):
        self._credit_check_search_access(domain)
        return super()._search(domain, offset=offset, limit=limit, order=order)

    @api.model
    def _credit_check_search_access(self, domain):
        """Refuse a domain on a credit field the user may not read.

        Related fields are searched as superuser and Odoo checks ``groups`` in domains on
        stored fields only: without this, ``search_count`` with a condition on the score or
        the hold reason would reveal what ``groups`` hides. Paths through other partners
        (``child_ids.credit_score``) come back here through the comodel's ``_search``.
        """
        if self.env.su:
            return
        names = {
            leaf[0].split(".", 1)[0]
            for leaf in domain
            if isinstance(leaf, (list, tuple)) and leaf and isinstance(leaf[0], str)
        }
        restricted = [
            name
            for name in names
            if name in self._fields
            and self._fields[name]._module == "sale_credit_control"
            and self._fields[name].groups
        ]
        if restricted:
            self.check_field_access_rights("read", restricted)

    @api.depends_context("company")
    def _compute_credit_approval_count(self):
        counts = dict(
            self.env["credit.approval"]._read_group(
                [
                    ("partner_id", "in", self.commercial_partner_id.ids),
                    ("company_id", "=", self.env.company.id),
                ],
                ["partner_id"],
                ["__count"],
            )
        )
        for partner in self:
            partner.credit_approval_count = counts.get(partner.commercial_partner_id, 0)

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        company = self.env.company
        if not company.credit_control_enabled:
            # Credit control off: Odoo's own rules for credit limits, nothing added.
            return super().create(vals_list)
        # A limit given at creation (in the values, the context's default or a personal
        # default) is a limit change like any other: guarded and recorded. Contacts and
        # addresses are left alone: Odoo replaces their limit by their company's.
        fallback = self._credit_default_limit()
        defaults = None
        vals_list = [dict(vals) for vals in vals_list]
        limits = []
        for vals in vals_list:
            if "credit_limit" not in vals:
                if defaults is None:
                    defaults = self.default_get(["credit_limit"])
                if "credit_limit" in defaults:
                    vals["credit_limit"] = defaults["credit_limit"]
            limit = None
            if "credit_limit" in vals:
                value = self._fields["credit_limit"].convert_to_cache(vals["credit_limit"], self)
                self._credit_check_limit_value(value, vals.get("name") or "")
            if "credit_limit" in vals and (vals.get("is_company") or not vals.get("parent_id")):
                if company.currency_id.compare_amounts(value, fallback):
                    limit = value
                    del vals["credit_limit"]
            limits.append(limit)
        if all(limit is None for limit in limits):
            return super().create(vals_list)
        names = [
            vals.get("name") or "" for vals, limit in zip(vals_list, limits, strict=True) if limit is not None
        ]
        self._credit_check_limit_rights(", ".join(names))
        # Created without their limit (the ORM would also apply a default limit then: it is
        # replaced at once), then the limit is written as superuser, as in ``write``.
        partners = super().create(vals_list)
        old_limits = {}
        for partner, limit in zip(partners.sudo(), limits, strict=True):
            if limit is None or partner != partner.commercial_partner_id:
                continue
            old_limits[partner] = fallback
            # pylint: disable-next=super-method-mismatch  # past this class's write: rights checked above
            super(ResPartner, partner).write({"credit_limit": limit})
        if old_limits:
            created = partners.sudo().browse([partner.id for partner in old_limits])
            reason = self.env.context.get("credit_change_reason") or self.env._(
                "Set when the customer was created"
            )
            created.with_context(credit_change_reason=reason)._credit_record_limit_changes(
                old_limits, create_profile=False
            )
        return partners

    def write(self, vals):
        if "credit_limit" not in vals or not self.env.company.credit_control_enabled:
            # Credit control off in the company the limit is written in (the limit is
            # company-dependent): Odoo's own rules apply, exactly as without this add-on.
            return super().write(vals)
        self._credit_check_limit_rights()
        new_limit = self._fields["credit_limit"].convert_to_cache(vals["credit_limit"], self)
        self._credit_check_limit_value(new_limit)
        # Setting limits is the credit manager's right, whether or not they may edit
        # contacts or see accounting fields: only the limit itself is written as superuser.
        partners = self.sudo()
        old_limits = {partner: partner.credit_limit for partner in partners}
        other_vals = {name: value for name, value in vals.items() if name != "credit_limit"}
        result = super().write(other_vals) if other_vals else True
        result = super(ResPartner, partners).write({"credit_limit": vals["credit_limit"]}) and result
        partners._credit_record_limit_changes(old_limits)
        changed = partners.filtered(
            lambda partner: (
                partner == partner.commercial_partner_id and partner.credit_limit != old_limits[partner]
            )
        )
        if changed:
            # The limit is per company: re-evaluate the held quotations in the company it changed in.
            self.env["sale.order"]._credit_reevaluate_partners(changed, self.env.company)
            if not self.env.context.get("credit_limit_request_id"):
                # A direct edit while a temporary limit applies is the new permanent limit:
                # the temporary limit reverts to it, not to the limit before it.
                self.env["credit.limit.request"]._rebase_temporary_limits(changed, self.env.company)
        return result

    # ------------------------------------------------------------
    # PRIVATE: credit limits
    # ------------------------------------------------------------

    @api.model
    def _credit_default_limit(self):
        """The limit of a customer without one of its own in the current company (Odoo's
        company default credit limit, an ``ir.default``; 0 without one)."""
        return self._fields["credit_limit"].get_company_dependent_fallback(self) or 0.0

    def _credit_check_limit_value(self, limit, partner_names=None):
        """Refuse a credit limit that is negative, not a finite number or absurdly large (an
        import's "nan", "-500" or "1e20"), naming the customers and the figure: the credit
        check and the warning rules count on a limit from 0 ("no limit checked") up."""
        if partner_names is None:
            partner_names = ", ".join(self.commercial_partner_id.mapped("display_name"))
        company = self.env.company
        label = company._credit_field_label("credit_limit", self._name)
        company._credit_check_figure(limit, label, partner_names, currency=company.currency_id)

    def _credit_check_limit_rights(self, partner_names=None):
        """Raise unless the current user may set credit limits directly in the current
        company (where credit control is on): credit managers only, and only where the
        company allows direct edits. ``partner_names``: the customers named in the error
        (default: the commercial partners of ``self``)."""
        if self.env.su:
            return
        company = self.env.company
        if partner_names is None:
            partner_names = ", ".join(self.commercial_partner_id.mapped("display_name"))
        if not self.env.user.has_group("sale_credit_control.group_credit_manager"):
            raise AccessError(
                self.env._(
                    "Only credit managers can change credit limits in %(company)s, where credit "
                    "control is on (limit of %(partners)s). An administrator gives this right in "
                    "Settings > Users & Companies > Users: open the user and, in Access Rights "
                    "under Sales, set Credit Control to Manager.",
                    company=company.name,
                    partners=partner_names,
                )
            )
        if not company.credit_allow_direct_limit_edit:
            raise UserError(
                self.env._(
                    "%(company)s does not allow editing credit limits directly: use a limit request "
                    "(Request Limit Change on the credit profile) to change the limit of %(partners)s.",
                    company=company.name,
                    partners=partner_names,
                )
            )

    def _credit_record_limit_changes(self, old_limits, create_profile=True):
        """Record limit changes (in the current company) in the credit history and chatter.

        ``create_profile=False`` (customers being created): no credit profile is created
        for the change; the history row joins the profile when there is one.
        """
        reason = self.env.context.get("credit_change_reason") or self.env._("Edited on the customer")
        history = self.env["credit.limit.history"]
        company = self.env.company
        # Refused above the cap of the customer's country (a limit request may go above it).
        changed = [partner for partner, old_limit in old_limits.items() if partner.credit_limit != old_limit]
        self.env["credit.country.risk"].sudo()._credit_check_limit_caps(changed, company)
        for partner, old_limit in old_limits.items():
            # Contacts receive the limit by Odoo's commercial-field sync: record it once.
            if partner != partner.commercial_partner_id or partner.credit_limit == old_limit:
                continue
            if create_profile:
                profile = self.env["credit.profile"]._get_or_create(partner, company)
            else:
                profile = (
                    self.env["credit.profile"]
                    .sudo()
                    .search([("partner_id", "=", partner.id), ("company_id", "=", company.id)], limit=1)
                )
            if not profile:
                history._record_partner(
                    partner, company, "credit_limit", old_limit, partner.credit_limit, reason
                )
                continue
            # Odoo's own limit, in the company currency: a limit set in another currency gives way.
            limit_vals = profile._credit_on_company_limit_set(old_limit, partner.credit_limit)
            history._record(profile, "credit_limit", old_limit, partner.credit_limit, reason, limit_vals)
            profile.message_post(
                body=self.env._(
                    "Credit limit changed from %(old)s to %(new)s by %(user)s: %(reason)s",
                    old=profile._format_amount(old_limit),
                    new=profile._format_amount(partner.credit_limit),
                    user=self.env.user.name,
                    reason=reason,
                )
            )

    def _credit_write_limit_mirror(self, amount):
        """Write the company-currency limit that follows a limit set in another currency (in the
        current company), as superuser and without recording it: the limit set is what the
        credit profile records (``credit.profile._credit_set_limit``)."""
        self._credit_check_limit_value(amount)
        # pylint: disable-next=super-method-mismatch  # past this class's write, which records limits
        return super(ResPartner, self.sudo()).write({"credit_limit": amount})

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

    def action_print_credit_report(self):
        """The credit report (PDF) of the commercial partner's profile in the current company."""
        self.ensure_one()
        commercial = self.commercial_partner_id
        profile = self.env["credit.profile"].search(
            [("partner_id", "=", commercial.id), ("company_id", "=", self.env.company.id)], limit=1
        )
        if not profile:
            raise UserError(
                self.env._(
                    "%(partner)s has no credit profile in %(company)s yet: "
                    "there is no credit report to print.",
                    partner=commercial.display_name,
                    company=self.env.company.name,
                )
            )
        return profile.action_print_credit_report()

    # ------------------------------------------------------------
    # CREDIT TAB: the limit and the open alerts (stat button)
    # ------------------------------------------------------------

    credit_profile_limit = fields.Monetary(
        related="credit_profile_id.credit_limit",
        string="Credit Limit in This Company",
        groups=CREDIT_STATUS_GROUPS,
        help="The customer's credit limit in this company (0: no limit checked).",
    )
    credit_alert_count = fields.Integer(
        compute="_compute_credit_alert_count", string="Open Credit Alerts", groups=CREDIT_FILE_GROUPS
    )

    @api.depends_context("company")
    def _compute_credit_alert_count(self):
        counts = dict(
            self.env["credit.alert"]._read_group(
                [
                    ("partner_id", "in", self.commercial_partner_id.ids),
                    ("company_id", "=", self.env.company.id),
                    ("state", "in", ("new", "acknowledged")),
                ],
                ["partner_id"],
                ["__count"],
            )
        )
        for partner in self:
            partner.credit_alert_count = counts.get(partner.commercial_partner_id, 0)

    def action_view_credit_alerts(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("sale_credit_control.credit_alert_action")
        action["domain"] = [
            ("partner_id", "=", self.commercial_partner_id.id),
            ("company_id", "=", self.env.company.id),
        ]
        return action
