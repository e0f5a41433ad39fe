from odoo import api, fields, models


class CreditLimitHistory(models.Model):
    """One recorded change of a customer's credit settings: who, when, old, new, why.

    Rows are written by the application (through ``_record``) and never edited. A row
    without a customer is a company-wide setting (Odoo's default credit limit).
    """

    _name = "credit.limit.history"
    _description = "Credit Settings History"
    _order = "date desc, id desc"
    _check_company_auto = True

    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        index=True,
        readonly=True,
        check_company=True,
        help="Empty for a company-wide setting, such as the default credit limit.",
    )
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    profile_id = fields.Many2one(
        "credit.profile",
        string="Credit Profile",
        compute="_compute_profile_id",
        store=True,
        index=True,
        readonly=True,
        check_company=True,
    )
    date = fields.Datetime(default=fields.Datetime.now, required=True, readonly=True)
    user_id = fields.Many2one(
        "res.users", string="Changed By", default=lambda self: self.env.user, required=True, readonly=True
    )
    field_name = fields.Selection(
        [
            ("credit_limit", "Credit Limit"),
            ("mode", "Credit Mode"),
            ("tolerance_percent", "Tolerance"),
            ("on_hold", "Credit Hold"),
            ("limit_valid_until", "Limit Valid Until"),
            ("default_credit_limit", "Company Default Credit Limit"),
            ("guarantee", "Guarantee"),
        ],
        string="Setting",
        required=True,
        readonly=True,
    )
    old_value = fields.Char(readonly=True)
    new_value = fields.Char(readonly=True)
    # A limit change as typed amounts, each in the currency the limit was set in (the
    # company's, or another one: a foreign-currency limit); the values above are the
    # limit in the company currency.
    old_limit_currency_id = fields.Many2one("res.currency", string="Old Limit Currency", readonly=True)
    old_limit_amount = fields.Monetary(
        string="Old Limit", currency_field="old_limit_currency_id", readonly=True
    )
    new_limit_currency_id = fields.Many2one("res.currency", string="New Limit Currency", readonly=True)
    new_limit_amount = fields.Monetary(
        string="New Limit", currency_field="new_limit_currency_id", readonly=True
    )
    reason = fields.Text(readonly=True)

    @api.depends("partner_id.credit_profile_ids", "company_id")
    def _compute_profile_id(self):
        # A change recorded before the customer had a profile (a limit given when the
        # customer was created) joins the profile once it exists.
        for row in self:
            profiles = row.partner_id.credit_profile_ids.filtered(lambda p: p.company_id == row.company_id)
            row.profile_id = profiles[:1]

    @api.model_create_multi
    def create(self, vals_list):
        rows = super().create(vals_list)
        # Limit changes and holds go to the decision log.
        self.env["credit.decision.log"]._log_setting_changes(rows)
        return rows

    @api.model
    def _record(self, profile, field_name, old_value, new_value, reason, limit_vals=None):
        """Append one change to the history of ``profile``.

        ``limit_vals``: a limit change set in another currency than the company's, as
        ``{old_limit_currency_id, old_limit_amount, new_limit_currency_id, new_limit_amount}``
        (default for a limit change: both amounts in the company currency).
        """
        field = profile._fields.get(field_name)
        field_type = field.type if field else None
        vals = {
            "partner_id": profile.partner_id.id,
            "company_id": profile.company_id.id,
            "profile_id": profile.id,
            "field_name": field_name,
            "old_value": self._as_text(old_value, field_type),
            "new_value": self._as_text(new_value, field_type),
            "reason": reason,
        }
        vals.update(limit_vals or self._limit_vals(profile.company_id, field_name, old_value, new_value))
        return self.sudo().create(vals)

    @api.model
    def _limit_vals(self, company, field_name, old_value, new_value):
        """The typed amounts of a limit change in ``company``'s currency (none for other settings)."""
        if field_name != "credit_limit":
            return {}
        currency = company.currency_id.id
        return {
            "old_limit_currency_id": currency,
            "old_limit_amount": old_value or 0.0,
            "new_limit_currency_id": currency,
            "new_limit_amount": new_value or 0.0,
        }

    @api.model
    def _record_partner(self, partner, company, field_name, old_value, new_value, reason):
        """Append one change of ``partner``'s ``field_name`` in ``company`` (with or without a
        credit profile yet)."""
        field = partner._fields.get(field_name)
        return self.sudo().create(
            {
                "partner_id": partner.id,
                "company_id": company.id,
                "field_name": field_name,
                "old_value": self._as_text(old_value, field.type if field else None),
                "new_value": self._as_text(new_value, field.type if field else None),
                "reason": reason,
                **self._limit_vals(company, field_name, old_value, new_value),
            }
        )

    @api.model
    def _record_company(self, company, field_name, old_value, new_value, reason):
        """Append one change of a company-wide setting of ``company`` (no customer)."""
        return self.sudo().create(
            {
                "company_id": company.id,
                "field_name": field_name,
                "old_value": self._as_text(old_value),
                "new_value": self._as_text(new_value),
                "reason": reason,
            }
        )

    @api.model
    def _as_text(self, value, field_type=None):
        if field_type == "boolean":
            # A released hold reads "False", not an empty value.
            return str(bool(value))
        if value is False or value is None:
            return ""
        if isinstance(value, float):
            return repr(value)
        return str(value)
