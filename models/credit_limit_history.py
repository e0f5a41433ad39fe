from odoo import api, fields, models
from odoo.tools import format_date, format_datetime, formatLang

#: Settings whose values are money amounts (kept typed in ``old/new_limit_amount``).
AMOUNT_SETTINGS = ("credit_limit", "default_credit_limit")


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
    old_limit_currency_id = fields.Many2one("res.currency", readonly=True)
    old_limit_amount = fields.Monetary(
        aggregator=False, string="Old Limit", currency_field="old_limit_currency_id", readonly=True
    )
    new_limit_currency_id = fields.Many2one("res.currency", readonly=True)
    new_limit_amount = fields.Monetary(
        aggregator=False, string="New Limit", currency_field="new_limit_currency_id", readonly=True
    )
    reason = fields.Text(readonly=True)
    # The values as people read them, rendered on display in the reader's language: amounts
    # with their currency, the tolerance as a percentage, dates and states by their labels.
    old_value_display = fields.Char(compute="_compute_value_display", string="Before")
    new_value_display = fields.Char(compute="_compute_value_display", string="After")

    @api.depends("field_name", "partner_id.name", "company_id.name", "date")
    def _compute_display_name(self):
        settings = dict(self._fields["field_name"]._description_selection(self.env))
        for row in self:
            row.display_name = self.env._(
                "%(setting)s of %(subject)s, %(date)s",
                setting=settings.get(row.field_name, ""),
                subject=row.partner_id.name or row.company_id.name or "",
                date=format_datetime(self.env, row.date) if row.date else "",
            )

    @api.depends(
        "field_name",
        "old_value",
        "new_value",
        "old_limit_amount",
        "new_limit_amount",
        "old_limit_currency_id",
        "new_limit_currency_id",
    )
    def _compute_value_display(self):
        for row in self:
            row.old_value_display = row._format_value(
                row.old_value, row.old_limit_amount, row.old_limit_currency_id
            )
            row.new_value_display = row._format_value(
                row.new_value, row.new_limit_amount, row.new_limit_currency_id
            )

    def _format_value(self, text, amount, currency):
        """One side of the change (``text`` as stored, ``amount`` in ``currency`` for an amount)
        as people read it."""
        self.ensure_one()
        if self.field_name in AMOUNT_SETTINGS:
            if not currency:
                currency = self.company_id.currency_id
                amount = _as_float(text)
            return self.env["res.company"]._credit_format_money(amount, currency)
        if self.field_name == "tolerance_percent":
            return f"{formatLang(self.env, _as_float(text), digits=2)}%"
        if self.field_name == "on_hold":
            return self.env._("On Hold") if text == "True" else self.env._("Not on Hold")
        if self.field_name == "mode":
            return dict(self.env["credit.profile"]._fields["mode"]._description_selection(self.env)).get(
                text, text
            )
        if self.field_name == "guarantee":
            states = dict(self.env["credit.guarantee"]._fields["state"]._description_selection(self.env))
            if text in states:
                return states[text]
        date = _as_date(text)
        return format_date(self.env, date) if date else text or ""

    @api.depends("partner_id.credit_profile_ids", "company_id")
    def _compute_profile_id(self):
        # A change recorded before the customer had a profile (a limit given when the
        # customer was created) joins the profile once it exists.
        for row in self:
            profiles = row.partner_id.credit_profile_ids.filtered(
                lambda p, company=row.company_id: p.company_id == company
            )
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
        if field_name not in AMOUNT_SETTINGS:
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
                **self._limit_vals(company, field_name, old_value, new_value),
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


def _as_float(text):
    """A stored amount or percentage (``"5000.0"``) as a number; 0 for an empty value."""
    try:
        return float(text or 0.0)
    except ValueError:
        return 0.0


def _as_date(text):
    """A stored date (``"2026-12-31"``) as a date, ``None`` for any other value."""
    try:
        return fields.Date.to_date(text) if text else None
    except ValueError:
        return None
