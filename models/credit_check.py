import json
import logging
from datetime import timedelta

from psycopg2 import errors as pg_errors

from odoo import api, fields, models
from odoo.tools import SQL

from .recorded_text_columns import keep_recorded_text

_logger = logging.getLogger(__name__)

CHECK_RESULTS = [
    ("blocked", "Blocked"),
    ("warning", "Warning"),
    ("approved", "Passed by Approval"),
    ("bypassed", "Bypassed"),
    ("held_online", "Held (Online Confirmation)"),
    ("system_amended", "Amended by Odoo Despite a Block"),
]
# A retried request (serialization failure) repeats its check: the same attempt within this
# many seconds is recorded once.
RETRY_WINDOW_SECONDS = 60


class CreditCheck(models.Model):
    """A credit check of an order that did not simply pass: who, when, outcome, reasons, figures."""

    _name = "credit.check"
    _description = "Credit Check"
    _order = "date desc, id desc"
    _check_company_auto = True

    order_id = fields.Many2one(
        "sale.order", index=True, ondelete="cascade", readonly=True, check_company=True
    )
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, readonly=True, check_company=True
    )
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    user_id = fields.Many2one("res.users", string="Checked For", required=True, readonly=True)
    date = fields.Datetime(default=fields.Datetime.now, required=True, readonly=True)
    result = fields.Selection(CHECK_RESULTS, required=True, readonly=True)
    reason_data = fields.Json(
        readonly=True,
        copy=False,
        help="What the check decided, as reason codes and figures: rendered in each reader's language.",
    )
    reasons = fields.Text(compute="_compute_reasons", help="The reasons of the check, in your language.")
    recorded_reasons = fields.Text(
        readonly=True,
        copy=False,
        help="The reasons as text, of checks recorded before their data was kept (shown as they are).",
    )
    credit_limit = fields.Monetary(readonly=True)
    exposure_before = fields.Monetary(readonly=True)
    exposure_after = fields.Monetary(readonly=True)
    order_amount = fields.Monetary(readonly=True, help="Amount of the order adding to the exposure.")

    def _auto_init(self):
        # The reasons were stored as text in the column "reasons" (the checker's language); that
        # text is kept, as recorded, for the checks without reason data.
        keep_recorded_text(self.env.cr, self._table, "reasons", "recorded_reasons")
        return super()._auto_init()

    @api.depends("reason_data", "recorded_reasons")
    @api.depends_context("lang")
    def _compute_reasons(self):
        profiles = self.env["credit.profile"]
        for check in self:
            data = check.reason_data
            check.reasons = profiles._credit_render_reason_text(data) if data else check.recorded_reasons

    @api.model_create_multi
    def create(self, vals_list):
        checks = super().create(vals_list)
        if not self.env.context.get("credit_decision_log_later"):
            # Blocked and overridden checks go to the decision log (passing ones are not recorded at all).
            self.env["credit.decision.log"]._log_checks(checks)
        return checks

    @api.model
    def _prepare_vals(self, order, result, facts, reason_data):
        return {
            "order_id": order.id,
            "partner_id": order._credit_customer().id,
            "company_id": order.company_id.id,
            "user_id": self.env.uid,
            "result": result,
            "reason_data": reason_data,
            "credit_limit": facts.limit,
            "exposure_before": facts.exposure.before_order,
            "exposure_after": facts.exposure.total,
            "order_amount": facts.exposure.current_order,
        }

    @api.model
    def _record_outlasting_rollback(self, order, facts, reason_data, order_state="blocked"):
        """Record a blocked attempt in its own transaction.

        The confirmation is refused by raising a ``UserError``, which rolls the
        current transaction back; the record of the attempt (and the order's
        credit status) must survive that, so they are written and committed
        through a separate cursor. An order that is not committed yet (created
        in the same transaction) disappears with the rollback: nothing to keep.
        Recording is best effort: whatever fails here (a customer or user not
        committed yet, a lock, no free connection) is logged, and the refusal is
        still the user's answer, never a server error.
        """
        vals = self._prepare_vals(order, "blocked", facts, reason_data)
        # In Odoo's test mode the other cursor shares this transaction: let it see pending writes.
        self.env.flush_all()
        try:
            with self.env.registry.cursor() as cr:
                env = self.env(cr=cr, su=True)
                if not env["sale.order"].search_count([("id", "=", order.id)]):
                    return
                if not env["credit.check"]._is_retry_of(vals):
                    check = env["credit.check"].with_context(credit_decision_log_later=True).create(vals)
                    env["credit.decision.log"]._log_checks_outlasting(check, self.env.cr)
                self._mark_order_blocked(cr, order.id, reason_data, order_state)
        except Exception:  # noqa: BLE001 - the refusal must reach the user whatever happens here
            _logger.warning(
                "The blocked credit check of %s could not be recorded.", order.name, exc_info=True
            )
        order.invalidate_recordset(
            [
                "credit_check_state",
                "credit_check_reason_data",
                "credit_check_recorded_message",
                "credit_check_message",
                "credit_check_ids",
            ]
        )

    def _is_retry_of(self, vals):
        """Whether the same attempt (order, user, reasons with their figures) was recorded moments ago."""
        since = fields.Datetime.now() - timedelta(seconds=RETRY_WINDOW_SECONDS)
        recent = self.search(
            [
                ("order_id", "=", vals["order_id"]),
                ("user_id", "=", vals["user_id"]),
                ("result", "=", vals["result"]),
                ("date", ">=", since),
            ]
        )
        return any(check.reason_data == vals["reason_data"] for check in recent)

    @api.model
    def _mark_order_blocked(self, cr, order_id, reason_data, order_state="blocked"):
        # NOWAIT: if this very transaction's caller holds the order row, waiting would deadlock.
        try:
            with cr.savepoint():
                cr.execute(SQL("SELECT id FROM sale_order WHERE id = %s FOR NO KEY UPDATE NOWAIT", order_id))
                cr.execute(
                    SQL(
                        "UPDATE sale_order SET credit_check_state = %s, credit_check_reason_data = %s::jsonb,"
                        " credit_check_recorded_message = NULL WHERE id = %s",
                        order_state,
                        json.dumps(reason_data),
                        order_id,
                    )
                )
        except pg_errors.LockNotAvailable:
            _logger.info(
                "Order %s is locked; its blocked credit status is kept in the check log only.", order_id
            )

    @api.depends("order_id.name", "partner_id.name")
    def _compute_display_name(self):
        for check in self:
            check.display_name = self.env._(
                "Credit check of %(document)s", document=check.order_id.name or check.partner_id.name or ""
            )
