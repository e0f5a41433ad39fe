from odoo import models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import format_date, formatLang


class CreditValidityMixin(models.AbstractModel):
    """Checks shared by what secures a customer's exposure (guarantees, insurance policies and
    covers): a validity period, a coverage share, a positive amount, a commercial partner.

    Each model keeps its own ``@api.constrains`` (Odoo triggers them by field) and calls these
    with its own field names, so the messages name the field the user has to correct. Models with
    a ``state``, a customer ``partner_id`` and a ``company_id`` also share the workflow helpers.
    """

    _name = "credit.validity.mixin"
    _description = "Credit Security Validity Checks"

    def _field_label(self, field_name):
        return self._fields[field_name]._description_string(self.env)

    def _credit_check_period(self, start_field, end_field):
        for record in self:
            start, end = record[start_field], record[end_field]
            if start and end and end < start:
                raise ValidationError(
                    self.env._(
                        "%(field)s: %(record)s cannot end (%(end)s) before it starts (%(start)s).",
                        field=self._field_label(end_field),
                        record=record.display_name,
                        end=format_date(self.env, end),
                        start=format_date(self.env, start),
                    )
                )

    def _credit_check_coverage(self, field_name="coverage_percent"):
        for record in self:
            if not 0 < record[field_name] <= 100:
                raise ValidationError(
                    self.env._(
                        "%(field)s: must be above 0%% and at most 100%%, not %(coverage)s%%.",
                        field=self._field_label(field_name),
                        coverage=formatLang(self.env, record[field_name]),
                    )
                )

    def _credit_check_positive(self, field_name, currency_field="currency_id"):
        for record in self:
            if record[field_name] <= 0:
                raise ValidationError(
                    self.env._(
                        "%(field)s: %(record)s must be a positive amount, not %(amount)s.",
                        field=self._field_label(field_name),
                        record=record.display_name,
                        amount=self.env["res.company"]._credit_format_money(
                            record[field_name], record[currency_field]
                        ),
                    )
                )

    def _credit_check_commercial_partner(self, field_name="partner_id"):
        for record in self:
            partner = record[field_name]
            commercial = partner.commercial_partner_id
            if partner != commercial:
                raise ValidationError(
                    self.env._(
                        "%(field)s: credit is managed for the company, not for a contact or address: "
                        "use %(commercial)s instead of %(partner)s.",
                        field=self._field_label(field_name),
                        commercial=commercial.display_name,
                        partner=partner.display_name,
                    )
                )

    def _check_state(self, *states):
        """Refuse an action on records that are not in one of ``states``."""
        labels = dict(self._fields["state"]._description_selection(self.env))
        for record in self:
            if record.state not in states:
                raise UserError(
                    self.env._(
                        "%(record)s is %(state)s: this action is not possible.",
                        record=record.display_name,
                        state=labels[record.state],
                    )
                )

    def _reevaluate_held_orders(self):
        """The customers' held quotations may pass (or stop) now: re-check them, per company."""
        for company, records in self.grouped("company_id").items():
            self.env["sale.order"]._credit_reevaluate_partners(records.partner_id, company)
