from odoo import api, fields, models

from ..credit_policy import payment_model as core


class CreditPaymentFeature(models.Model):
    """One input a late-payment model may use: a feature of the policy core
    (``credit_policy.payment_model.FEATURE_NAMES``), named and explained for people.

    The records are data of the add-on (``data/credit_payment_feature_data.xml``); a
    credit manager picks some of them when training a model.
    """

    _name = "credit.payment.feature"
    _description = "Late-Payment Model Feature"
    _order = "sequence, id"
    _sql_constraints = [("code_uniq", "unique(code)", "A feature is defined once.")]

    name = fields.Char(required=True, translate=True)
    code = fields.Char(
        required=True,
        readonly=True,
        help="The feature's name in the policy core (credit_policy/payment_model.py).",
    )
    description = fields.Text(translate=True)
    sequence = fields.Integer(default=10)
    is_default = fields.Boolean(
        string="Used by Default",
        compute="_compute_is_default",
        help="New models use this feature unless the credit manager unticks it.",
    )

    @api.depends("code")
    def _compute_is_default(self):
        defaults = set(self._default_codes())
        for feature in self:
            feature.is_default = feature.code in defaults

    @api.model
    def _default_codes(self):
        """The core's default features (those that validated best on the shared data)."""
        return tuple(core.DEFAULT_FEATURES)

    @api.model
    def _default_features(self):
        return self.search([("code", "in", self._default_codes())])
