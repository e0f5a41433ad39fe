from odoo import api, fields, models
from odoo.tools.sql import table_exists


class CreditExposureOrderLine(models.Model):
    """What one confirmed order line still commits its customer to, as the exposure ledger
    counts it (``credit.exposure.ledger``).

    The commitment of a line is not linear in what changes it (``GREATEST(committed −
    invoiced, 0) × unit price``), so the ledger cannot add the change of a quantity or of an
    invoice to its total: the database triggers recompute the commitment of each line a change
    touches, and add the difference with the amount kept here to the ledger. Lines committing
    nothing (fully invoiced, not confirmed) have no row. Written by those triggers only.
    """

    _name = "credit.exposure.order.line"
    _description = "Credit Exposure of an Order Line"
    _log_access = False
    _order = "order_line_id"

    # Plain integers, not foreign keys: a foreign key would delete the row with its order line
    # before the trigger that subtracts the line's commitment from the ledger can read it.
    order_line_id = fields.Integer(aggregator=False, required=True, readonly=True)
    order_id = fields.Integer(aggregator=False, required=True, readonly=True, index=True)
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, readonly=True, ondelete="cascade"
    )
    company_id = fields.Many2one("res.company", required=True, readonly=True, ondelete="cascade")
    currency_id = fields.Many2one("res.currency", required=True, readonly=True)
    amount = fields.Monetary(currency_field="currency_id", readonly=True)

    _sql_constraints = [
        ("order_line_unique", "UNIQUE (order_line_id)", "An order line counts once in the exposure ledger."),
    ]

    @api.depends("order_id", "partner_id.name")
    def _compute_display_name(self):
        orders = self.env["sale.order"].sudo().browse(set(self.mapped("order_id"))).exists()
        names = {order.id: order.name for order in orders}
        for row in self:
            row.display_name = self.env._(
                "%(customer)s - line of %(order)s",
                customer=row.partner_id.name or "",
                order=names.get(row.order_id) or self.env._("a deleted order"),
            )

    def init(self):
        result = super().init()
        # See credit.exposure.ledger's init: the second of the two tables installs the triggers.
        if table_exists(self.env.cr, "credit_exposure_ledger"):
            self.env["credit.exposure.ledger"]._install_triggers()
        return result
