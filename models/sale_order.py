import logging
from contextlib import contextmanager

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from ..exceptions import CreditRefusal

_logger = logging.getLogger(__name__)

CREDIT_CHECK_STATES = [
    ("none", "Not Checked"),
    ("ok", "Within Credit"),
    ("warning", "Warning"),
    ("blocked", "Blocked"),
    ("pending", "Approval Pending"),
    ("approved", "Approved"),
    ("rejected", "Approval Rejected"),
    ("ready", "Ready to Confirm"),
    ("bypassed", "Bypassed"),
]
# Key of the per-transaction record of orders that passed the check (cursor cache:
# unlike the context, no RPC caller can set it).
CHECKED_KEY = "sale_credit_control.checked_orders"
# Set while Odoo confirms orders online (portal signature, payment), in the cursor cache: a
# client could set a context key, not this.
ONLINE_KEY = "sale_credit_control.online_confirmation"
# Key of the order whose confirmation the credit check just refused, offering an override request.
REFUSED_KEY = "sale_credit_control.refused_order"
# Quotations in the held-orders queue: re-evaluated when the customer's credit changes.
HELD_STATES = ("blocked", "rejected", "ready")
# Quotations shown as held (Held Orders, its analysis, the portal): the queue's, plus those waiting
# for a credit manager's decision (not re-evaluated: the approval decides them).
SHOWN_HELD_STATES = ("blocked", "rejected", "pending", "ready")
# Stored fields the credit check relies on that Odoo computes: nobody but the system writes them
# (readonly in a view protects nothing over RPC).
PROTECTED_ORDER_FIELDS = frozenset(
    (
        "amount_untaxed",
        "amount_tax",
        "amount_total",
        "transaction_ids",
        "invoice_status",
        "credit_check_state",
        "credit_check_message",
        "credit_check_reason_data",
        "credit_check_recorded_message",
        "credit_reevaluated_date",
    )
)
# The salesperson's to-dos that confirming the order completes.
CONFIRMED_ACTIVITY_TYPES = [
    "sale_credit_control.mail_activity_type_credit_ready",
    "sale_credit_control.mail_activity_type_credit_decision",
]
# Credit states of orders that never went through the held/approval flow: they have none of
# those to-dos. Key of the orders checked from another state in this transaction (cursor cache).
QUIET_CHECK_STATES = frozenset(("none", "ok", "warning"))
TODO_KEY = "sale_credit_control.orders_with_credit_todos"
# Changing what an approval was granted for voids it.
APPROVAL_BINDING_FIELDS = frozenset(
    ("partner_id", "partner_invoice_id", "company_id", "currency_id", "pricelist_id")
)


class SaleOrder(models.Model):
    _inherit = "sale.order"  # pylint: disable=consider-merging-classes-inherited  # split by topic

    credit_check_state = fields.Selection(
        CREDIT_CHECK_STATES,
        string="Credit Status",
        default="none",
        copy=False,
        readonly=True,
        tracking=True,
        index=True,
    )
    credit_check_message = fields.Text(
        string="Credit Check",
        compute="_compute_credit_check_message",
        inverse="_inverse_credit_check_message",
        readonly=True,
        groups="base.group_user",  # internal wording: portal customers read /my/credit instead
        help="Why the credit check holds or warns about the order, in your language.",
    )
    credit_check_reason_data = fields.Json(copy=False, readonly=True, groups="base.group_user")
    credit_check_recorded_message = fields.Text(copy=False, readonly=True, groups="base.group_user")
    credit_control_enabled = fields.Boolean(related="company_id.credit_control_enabled")
    credit_check_ids = fields.One2many("credit.check", "order_id", string="Credit Checks")
    credit_approval_ids = fields.One2many("credit.approval", "order_id", string="Credit Approvals")
    credit_approval_count = fields.Integer(compute="_compute_credit_approval_count")
    credit_can_request_approval = fields.Boolean(compute="_compute_credit_can_request_approval")
    credit_held_since = fields.Datetime(
        compute="_compute_credit_held", string="Held Since", help="Date of the last blocked credit check."
    )
    credit_held_days = fields.Integer(compute="_compute_credit_held", string="Held (Days)")
    credit_reevaluated_date = fields.Datetime(
        string="Credit Re-evaluated On",
        copy=False,
        readonly=True,
        help="Last re-evaluation of this held quotation.",
    )

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends("credit_approval_ids")
    def _compute_credit_approval_count(self):
        for order in self:
            order.credit_approval_count = len(order.credit_approval_ids)

    @api.depends("credit_check_state", "credit_check_ids.date", "credit_check_ids.result")
    def _compute_credit_held(self):
        held_since = self._credit_held_since_map()
        now = fields.Datetime.now()
        for order in self:
            since = held_since.get(order.id) if order.credit_check_state in SHOWN_HELD_STATES else False
            order.credit_held_since = since or False
            order.credit_held_days = (now - since).days if since else 0

    @api.depends("state", "credit_check_state", "credit_approval_ids.state")
    def _compute_credit_can_request_approval(self):
        for order in self:
            order.credit_can_request_approval = (
                order.state in ("draft", "sent")
                and order.credit_check_state in ("blocked", "rejected")
                and "pending" not in order.credit_approval_ids.mapped("state")
            )

    @api.depends("company_id", "partner_id", "partner_invoice_id")
    def _compute_require_payment(self):
        result = super()._compute_require_payment()
        deposits = self._credit_grade_deposit_percents()
        for order in self:
            if deposits.get(order):
                order.require_payment = True
        return result

    @api.depends("require_payment", "partner_id", "partner_invoice_id")
    def _compute_prepayment_percent(self):
        result = super()._compute_prepayment_percent()
        deposits = self._credit_grade_deposit_percents()
        for order in self:
            if deposits.get(order):
                order.prepayment_percent = deposits[order] / 100.0
        return result

    def _credit_grade_deposit_percents(self):
        """``{order: deposit share (0-100)}`` the customers' grades and countries require where credit
        control is on (the larger of the two; all of it for cash-only customers): proposed as the
        quotations' online prepayment."""
        orders = self.filtered(lambda order: order.partner_id and order.company_id.credit_control_enabled)
        if not orders:
            return {}
        customers = {order: order._credit_customer() for order in orders}
        profiles = (
            self.env["credit.profile"]
            .sudo()
            .search(
                [
                    ("partner_id", "in", [c.id for c in customers.values()]),
                    ("company_id", "in", orders.company_id.ids),
                ]
            )
        )
        by_key = {(profile.partner_id, profile.company_id): profile for profile in profiles}
        country_risks = self.env["credit.country.risk"].sudo()
        deposits = {}
        for order, customer in customers.items():
            profile = by_key.get((customer, order.company_id))
            if profile and profile.mode == "cash":
                deposits[order] = 100.0
                continue
            country = country_risks._credit_country_risk(customer, order.company_id)
            deposits[order] = max(
                profile.rating_id.grade_id.deposit_percent if profile else 0.0,
                country.deposit_percent if country else 0.0,
            )
        return deposits

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        self._credit_check_protected_fields(vals_list)
        orders = super().create(vals_list)
        confirmed = orders.filtered(lambda order: order.state == "sale")
        if confirmed:
            # Created confirmed: checked as any other transition into a confirmed state.
            confirmed._credit_check_transition()
        return orders

    def write(self, vals):
        self._credit_check_protected_fields([vals])
        if vals.get("state") == "sale":
            to_check = self.filtered(lambda order: order.state != "sale")
            try:
                # Whoever writes the state directly, from any state, goes through the same
                # check as action_confirm; the batch is what is written, never what the
                # caller's context says.
                to_check._credit_check_transition()
                result = super().write(vals)
            finally:
                self._credit_forget_checked()
            self._credit_close_confirmed_todos()
            return result
        result = super().write(vals)
        if APPROVAL_BINDING_FIELDS & set(vals):
            self.credit_approval_ids._void_if_unbound()
        return result

    def _credit_close_confirmed_todos(self):
        """Confirmed: the salesperson's "ready to confirm" and decision to-dos are done. Only
        orders that were held or under approval can have them: no query for the others."""
        with_todos = self.env.cr.cache.get(TODO_KEY, set())
        orders = self.filtered(
            lambda order: order.id in with_todos or order.credit_check_state not in QUIET_CHECK_STATES
        )
        with_todos.difference_update(self.ids)
        if orders:
            orders.sudo().activity_feedback(
                CONFIRMED_ACTIVITY_TYPES, feedback=self.env._("The order is confirmed.")
            )
            orders.sudo().credit_approval_ids._close_for_confirmed_order()

    def _credit_check_protected_fields(self, vals_list):
        """Refuse writes of the computed figures the check reads, where credit control is on."""
        if self.env.su:
            return
        companies = self.company_id | self.env["res.company"].browse(
            {vals["company_id"] for vals in vals_list if vals.get("company_id")}
        )
        if not self and not companies:
            companies = self.env.company
        if not any(companies.mapped("credit_control_enabled")):
            return
        written = set().union(*(PROTECTED_ORDER_FIELDS & set(vals) for vals in vals_list))
        if written:
            raise AccessError(
                self.env._(
                    "The credit check relies on %(fields)s: only Odoo itself sets them.",
                    fields=", ".join(sorted(self._fields[name].string for name in written)),
                )
            )

    def _credit_check_transition(self):
        """Check these orders before they enter the confirmed state; raise if one is blocked."""
        batch = self.with_context(credit_confirm_batch=self.ids)
        for order in batch.filtered(lambda o: o.company_id.credit_control_enabled):
            if not order._credit_already_checked():
                message = order._credit_check_confirmation()
                if message:
                    raise UserError(message)

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_confirm(self):
        orders = self.with_context(credit_confirm_batch=self.ids)
        self.env.cr.cache.pop(REFUSED_KEY, None)
        try:
            if self.env.cr.cache.get(ONLINE_KEY):
                orders -= orders._credit_hold_online_confirmation()
                if not orders:
                    return True
            return super(SaleOrder, orders).action_confirm()
        except UserError as error:
            refused = self.browse(self.env.cr.cache.pop(REFUSED_KEY, None))
            if refused:
                # Offer the override request straight from the refusal.
                raise CreditRefusal(
                    error.args[0],
                    refused.action_credit_request_approval(),
                    self.env._("Request Credit Approval"),
                ) from error
            raise
        finally:
            # A refused batch (rolled back, maybe only to a savepoint, or retried after a
            # serialization failure on the same cursor) must not leave orders marked checked.
            self._credit_forget_checked()

    def action_credit_request_approval(self):
        self.ensure_one()
        return {
            "name": self.env._("Request Credit Approval"),
            "type": "ir.actions.act_window",
            "res_model": "credit.approval.request",
            "view_mode": "form",
            "views": [(False, "form")],  # complete: the refusal dialog opens it as it is
            "target": "new",
            "context": {"default_order_id": self.id},
        }

    def action_view_credit_approvals(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("sale_credit_control.credit_approval_action")
        action["domain"] = [("order_id", "=", self.id)]
        action["context"] = {"create": False}
        return action

    # ------------------------------------------------------------
    # CONFIRMATION HOOKS
    # ------------------------------------------------------------

    def _confirmation_error_message(self):
        error = super()._confirmation_error_message()
        if error or not self._credit_orders_to_check() or self._credit_already_checked():
            return error
        return self._credit_check_confirmation()

    def _validate_order(self):
        # Online confirmation (portal signature): a blocked order stays a quotation
        # and the salesperson and credit managers are told, instead of an error page.
        with self._credit_online_confirmation():
            return super()._validate_order()

    @api.model
    @contextmanager
    def _credit_online_confirmation(self):
        """Confirmations made inside are the customer's, online: held, never refused."""
        self.env.cr.cache[ONLINE_KEY] = True
        try:
            yield
        finally:
            self.env.cr.cache.pop(ONLINE_KEY, None)
