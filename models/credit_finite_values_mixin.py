import math

from odoo import api, models
from odoo.exceptions import ValidationError


class CreditFiniteValuesMixin(models.AbstractModel):
    """Refuses NaN and infinity in the credit figures listed in ``_credit_finite_fields``, on
    create and write (form, RPC or import alike), naming the field, whose it is and the figure.

    The ORM rounds a monetary value before any constraint runs and fails on NaN or infinity
    with a bare ``ValueError`` naming nothing: this check runs before it. The range of each
    figure (negative, too large) is each model's own constraint (``_credit_check_figure``).
    """

    _name = "credit.finite.values.mixin"
    _description = "Credit Figures Refusing NaN and Infinity"

    # The float and monetary fields checked, by name.
    _credit_finite_fields = ()

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        self.browse()._credit_check_finite_values(vals_list)
        return super().create(vals_list)

    def write(self, vals):
        self._credit_check_finite_values([vals])
        return super().write(vals)

    # ------------------------------------------------------------
    # PRIVATE
    # ------------------------------------------------------------

    def _credit_check_finite_values(self, vals_list):
        """Refuse NaN and infinity among the checked figures of ``vals_list``, the values of
        these records' ``write`` (or, no record, of a ``create``)."""
        for vals in vals_list:
            for name in self._credit_finite_fields:
                value = vals.get(name)
                if not isinstance(value, float) or math.isfinite(value):
                    continue
                subject = ", ".join(self.mapped("display_name")) or vals.get(self._rec_name)
                raise ValidationError(
                    self.env._(
                        "%(field)s of %(subject)s must be a number, not %(value)s.",
                        field=self._fields[name]._description_string(self.env),
                        subject=subject or self._description,
                        value=self.env["res.company"]._credit_format_figure(value),
                    )
                )
