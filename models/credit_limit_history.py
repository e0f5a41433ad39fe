from odoo import api, fields, models


class CreditLimitHistory(models.Model):
    """One recorded change of a customer's credit settings: who, when, old, new, why.

    Rows are written by the application (through ``_record``) and never edited.
    """

    _name = "credit.limit.history"
    _description = "Credit Settings History"
    _order = "date desc, id desc"
    _check_company_auto = True

    partner_id = fields.Many2one("res.partner", string="Customer", required=True, index=True, readonly=True)
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    profile_id = fields.Many2one(
        "credit.profile", string="Credit Profile", index=True, readonly=True, check_company=True
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
        ],
        string="Setting",
        required=True,
        readonly=True,
    )
    old_value = fields.Char(readonly=True)
    new_value = fields.Char(readonly=True)
    reason = fields.Text(readonly=True)

    @api.model
    def _record(self, profile, field_name, old_value, new_value, reason):
        """Append one change to the history of ``profile``."""
        field = profile._fields.get(field_name)
        field_type = field.type if field else None
        return self.sudo().create(
            {
                "partner_id": profile.partner_id.id,
                "company_id": profile.company_id.id,
                "profile_id": profile.id,
                "field_name": field_name,
                "old_value": self._as_text(old_value, field_type),
                "new_value": self._as_text(new_value, field_type),
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
