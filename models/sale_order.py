import logging
from contextlib import contextmanager
from datetime import timedelta

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import formatLang

from ..credit_policy.decision import BLOCKED, WARNING
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
APPROVAL_BINDING_FIELDS = frozenset(("partner_id", "partner_invoice_id", "company_id", "currency_id", "pricelist_id"))


class SaleOrder(models.Model):
    _inherit = "sale.order"

    credit_check_state = fields.Selection(
        CREDIT_CHECK_STATES,
        string="Credit Status",
        default="none",
        copy=False,
        readonly=True,
        tracking=True,
        index=True,
    )
    credit_check_message = fields.Text(string="Credit Check", copy=False, readonly=True)
    credit_check_ids = fields.One2many("credit.check", "order_id", string="Credit Checks")
    credit_approval_ids = fields.One2many("credit.approval", "order_id", string="Credit Approvals")
    credit_approval_count = fields.Integer(compute="_compute_credit_approval_count")
    credit_can_request_approval = fields.Boolean(compute="_compute_credit_can_request_approval")
    credit_held_since = fields.Datetime(
        compute="_compute_credit_held", string="Held Since", help="Date of the last blocked credit check."
    )
    credit_held_days = fields.Integer(compute="_compute_credit_held", string="Held (Days)")
    credit_reevaluated_date = fields.Datetime(
        string="Credit Re-evaluated On", copy=False, readonly=True, help="Last re-evaluation of this held quotation."
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
            since = held_since.get(order.id) if order.credit_check_state in HELD_STATES else False
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
        super()._compute_require_payment()
        deposits = self._credit_grade_deposit_percents()
        for order in self:
            if deposits.get(order):
                order.require_payment = True

    @api.depends("require_payment", "partner_id", "partner_invoice_id")
    def _compute_prepayment_percent(self):
        super()._compute_prepayment_percent()
        deposits = self._credit_grade_deposit_percents()
        for order in self:
            if deposits.get(order):
                order.prepayment_percent = deposits[order] / 100.0

    def _credit_grade_deposit_percents(self):
        """``{order: deposit share (0-100)}`` the customers' grades and countries require where credit
        control is on (the larger of the two; all of it for cash-only customers): proposed as the
        quotations' online prepayment."""
        orders = self.filtered(lambda order: order.partner_id and order.company_id.credit_control_enabled)
        if not orders:
            return {}
        customers = {order: order._credit_customer() for order in orders}
        profiles = self.env["credit.profile"].sudo().search(
            [("partner_id", "in", [c.id for c in customers.values()]), ("company_id", "in", orders.company_id.ids)]
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
            orders.sudo().activity_unlink(CONFIRMED_ACTIVITY_TYPES)

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
                _(
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
                    error.args[0], refused.action_credit_request_approval(), _("Request Credit Approval")
                ) from error
            raise
        finally:
            # A refused batch (rolled back, maybe only to a savepoint, or retried after a
            # serialization failure on the same cursor) must not leave orders marked checked.
            self._credit_forget_checked()

    def action_credit_request_approval(self):
        self.ensure_one()
        return {
            "name": _("Request Credit Approval"),
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

    # ------------------------------------------------------------
    # CREDIT CHECK
    # ------------------------------------------------------------

    def _credit_orders_to_check(self):
        return self.filtered(
            lambda order: order.state in ("draft", "sent") and order.company_id.credit_control_enabled
        )

    def _credit_customer(self):
        """The customer whose credit the order uses: the invoice address's commercial partner,
        where its receivables will land (as OCA's ``sale_financial_risk`` does)."""
        self.ensure_one()
        return (self.partner_invoice_id or self.partner_id).commercial_partner_id

    def _credit_already_checked(self):
        self.ensure_one()
        checked = self.env.cr.cache.get(CHECKED_KEY, {})
        return self.id in checked and checked[self.id] == self._credit_recomputed_total()

    def _credit_mark_checked(self, total):
        self.ensure_one()
        self.env.cr.cache.setdefault(CHECKED_KEY, {})[self.id] = total

    def _credit_forget_checked(self):
        checked = self.env.cr.cache.get(CHECKED_KEY, {})
        for order_id in self.ids:
            checked.pop(order_id, None)

    def _credit_recomputed_total(self):
        """The order total (taxes included, order currency) recomputed from its lines'
        quantities, prices, discounts and taxes, as ``_compute_amounts`` does: never the
        stored ``amount_total`` a caller could have written."""
        self.ensure_one()
        AccountTax = self.env["account.tax"]
        lines = self.order_line.filtered(lambda line: not line.display_type)
        base_lines = [line._prepare_base_line_for_taxes_computation() for line in lines]
        AccountTax._add_tax_details_in_base_lines(base_lines, self.company_id)
        AccountTax._round_base_lines_tax_details(base_lines, self.company_id)
        totals = AccountTax._get_tax_totals_summary(
            base_lines=base_lines,
            currency=self.currency_id or self.company_id.currency_id,
            company=self.company_id,
        )
        return totals["total_amount_currency"]

    def _credit_online_transactions(self):
        """This order's online payments that count: authorized or confirmed by the provider,
        for this order alone, of its own customer and company (as superuser)."""
        self.ensure_one()
        customer = self._credit_customer()
        return self.sudo().transaction_ids.filtered(
            lambda tx: tx.state in ("authorized", "done")
            and tx.sale_order_ids == self
            and tx.partner_id.commercial_partner_id == customer
            and tx.company_id == self.company_id
        )

    def _credit_paid_online_amount(self, unbooked_only=False):
        """What the customer paid online for this order (order currency); ``unbooked_only``:
        only what accounting does not hold yet. A transaction whose payment is posted is in
        the open receivables already: deducting it from the order as well would count it twice."""
        transactions = self._credit_online_transactions()
        if unbooked_only:
            transactions = transactions.filtered(lambda tx: tx.payment_id.move_id.state != "posted")
        date = fields.Date.context_today(self)
        return sum(
            tx.currency_id._convert(tx.amount, self.currency_id, self.company_id, date, round=False)
            for tx in transactions
        )

    def _credit_prepaid_amount(self):
        """What the customer paid online for this order and accounting does not hold yet."""
        return self._credit_paid_online_amount(unbooked_only=True)

    def _credit_commitment(self, check_date):
        """``(total, unpaid)``: the order's recomputed total and the part of it not prepaid
        online, both in company currency at ``check_date``."""
        self.ensure_one()
        total = self._credit_recomputed_total()
        unpaid = max(total - self._credit_prepaid_amount(), 0.0)
        return (
            self._credit_to_company_currency(total, check_date),
            self._credit_to_company_currency(unpaid, check_date),
        )

    def _credit_evaluate(self, lock=True):
        """Lock the customer's credit row and decide on this quotation.

        Returns ``(profile, decision, facts)``; amounts in company currency at today's rate.
        """
        self.ensure_one()
        check_date = fields.Date.context_today(self)
        profiles = self.env["credit.profile"]
        customer = self._credit_customer()
        if lock:
            profile = profiles._get_locked_for_check(customer, self.company_id)
        else:
            profile = profiles._get_or_create(customer, self.company_id)
        order_amount, unpaid = self._credit_commitment(check_date)
        decision, facts = profile._evaluate(
            check_date,
            order_amount,
            unpaid,
            exclude_order_ids=self._credit_batch_ids(),
            pending_orders=self._credit_batch_exposure(check_date),
            order=self,
        )
        return profile, decision, facts

    def _credit_check_confirmation(self):
        """Check this quotation before confirmation; return an error message if it is blocked."""
        self.ensure_one()
        if self.credit_check_state not in QUIET_CHECK_STATES:
            self.env.cr.cache.setdefault(TODO_KEY, set()).add(self.id)
        profile, decision, facts = self._credit_evaluate()
        if decision.state == BLOCKED:
            message = self._credit_blocked_outcome(profile, decision, facts)
            if message:
                return message
        elif decision.state == WARNING:
            self._credit_log_outcome("warning", profile, decision, facts, decision.warning_reasons)
        elif self.credit_check_state != "ok" or self.credit_check_message:
            self.sudo().write({"credit_check_state": "ok", "credit_check_message": False})
        self._credit_mark_checked(self._credit_recomputed_total())
        return False

    def _credit_covering_approval(self, decision, facts):
        return self.credit_approval_ids.filtered(lambda a: a._covers(self, facts.check_date, decision))[:1]

    def _credit_blocked_outcome(self, profile, decision, facts):
        """Let the order pass under an approval or a bypass right, else record the block
        and return the error message."""
        approval = self._credit_covering_approval(decision, facts)
        if approval:
            self._credit_log_outcome(
                "approved", profile, decision, facts, decision.blocking_reasons,
                note=_("Confirmed under approval %(approval)s.", approval=approval.name),
            )
            return False
        if self.env.user.has_group("sale_credit_control.group_credit_bypass"):
            self._credit_log_outcome(
                "bypassed", profile, decision, facts, decision.blocking_reasons,
                note=_("Confirmed by %(user)s, who may bypass the credit check.", user=self.env.user.name),
            )
            return False
        reasons_text = "\n".join(profile._explain(decision, facts, decision.blocking_reasons))
        pending = self.credit_approval_ids.filtered(lambda a: a.state == "pending")[:1]
        # Written in a transaction of its own: the refusal rolls this one back.
        self.env["credit.check"]._record_outlasting_rollback(
            self, facts, reasons_text, order_state="pending" if pending else "blocked"
        )
        if pending:
            return _(
                "%(order)s cannot be confirmed yet: the credit check of %(partner)s blocks it and the "
                "override request %(approval)s is waiting for a credit manager's decision.\n%(reasons)s",
                order=self.name,
                partner=profile.partner_id.display_name,
                approval=pending.name,
                reasons=reasons_text,
            )
        self.env.cr.cache[REFUSED_KEY] = self.id
        return _(
            "%(order)s cannot be confirmed: the credit check of %(partner)s blocks it.\n%(reasons)s\n"
            "Ask a credit manager for an override approval (Request Credit Approval on the order).",
            order=self.name,
            partner=profile.partner_id.display_name,
            reasons=reasons_text,
        )

    def _credit_log_outcome(self, result, profile, decision, facts, reasons, note=None):
        """Record a non-blocking outcome on the order: status, check record and chatter note."""
        text = "\n".join(profile._explain(decision, facts, reasons))
        state = result
        if result == "held_online":
            pending = "pending" in self.credit_approval_ids.mapped("state")
            state = "pending" if pending else "blocked"
        self.sudo().write({"credit_check_state": state, "credit_check_message": text})
        self.env["credit.check"].sudo().create(
            self.env["credit.check"]._prepare_vals(self, result, facts, text)
        )
        body = Markup("<p>%s</p><ul>%s</ul>") % (
            note or _("Credit check warning:"),
            Markup("").join(Markup("<li>%s</li>") % line for line in text.split("\n")),
        )
        self.sudo().message_post(body=body, subtype_xmlid="mail.mt_note")

    def _credit_hold_online_confirmation(self):
        """Keep blocked quotations confirmed online as quotations, and tell people.

        Returns the orders held back. Never raises: a customer signing or paying
        online must not get an error page, and the transaction must commit the
        notifications.
        """
        held = self.browse()
        for order in self._credit_orders_to_check():
            profile, decision, facts = order._credit_evaluate()
            if decision.state == BLOCKED and not order._credit_covering_approval(decision, facts):
                order._credit_log_outcome(
                    "held_online", profile, decision, facts, decision.blocking_reasons,
                    note=_("The customer confirmed this quotation online, but the credit check blocks it:"),
                )
                order._credit_notify_held()
                held |= order
            # The others are confirmed through the regular check, which records their
            # outcome (ok, warning, approved) exactly as for a back-office confirmation.
        return held

    def _credit_notify_held(self):
        self.ensure_one()
        users = self.user_id | self.env["res.company"]._credit_manager_users(self.company_id)
        for user in users:
            self.sudo().activity_schedule(
                "sale_credit_control.mail_activity_type_credit_hold",
                user_id=user.id,
                summary=_("Online confirmation held by the credit check"),
                note=self.credit_check_message,
            )

    def _credit_batch_ids(self):
        return self.env.context.get("credit_confirm_batch") or self.ids

    def _credit_batch_exposure(self, check_date):
        """Unpaid amount of the orders confirmed in the same batch before this one, for
        the same customer: they are not confirmed yet, so no query sees them."""
        batch = self.browse(self._credit_batch_ids())
        customer = self._credit_customer()
        earlier = batch[: list(batch.ids).index(self.id)] if self.id in batch.ids else batch.browse()
        same_customer = earlier.filtered(
            lambda o: o._credit_customer() == customer
            and o.company_id == self.company_id
            and o.state != "sale"
        )
        return sum(order._credit_commitment(check_date)[1] for order in same_customer)

    def _credit_to_company_currency(self, amount, check_date):
        self.ensure_one()
        company_currency = self.company_id.currency_id
        if self.currency_id == company_currency:
            return amount
        return self.currency_id._convert(amount, company_currency, self.company_id, check_date, round=False)

    def _credit_amendment_facts(self):
        """``(profile, decision, facts)`` for this confirmed order as it stands now: its own
        uninvoiced part is what it adds to the customer's exposure."""
        self.ensure_one()
        check_date = fields.Date.context_today(self)
        profile = self.env["credit.profile"]._get_locked_for_check(self._credit_customer(), self.company_id)
        own = profile._query_uninvoiced_orders(
            (profile.partner_id.id,), self.company_id, check_date, (0,), only_order_ids=self.ids
        ).get(profile.partner_id.id, {})
        own_exposure = profile._converter(self.company_id, check_date)(own)
        order_amount = self._credit_to_company_currency(self._credit_recomputed_total(), check_date)
        decision, facts = profile._evaluate(check_date, order_amount, own_exposure, exclude_order_ids=self.ids)
        return profile, decision, facts

    def _credit_check_amendment(self, previous_total):
        """Re-check a confirmed order whose total grew; raise if the growth is blocked."""
        self.ensure_one()
        profile, decision, facts = self._credit_amendment_facts()
        if decision.state != BLOCKED or self._credit_covering_approval(decision, facts):
            return
        if self.env.user.has_group("sale_credit_control.group_credit_bypass"):
            return
        reasons_text = "\n".join(profile._explain(decision, facts, decision.blocking_reasons))
        raise UserError(
            _(
                "%(order)s cannot grow from %(old)s to %(new)s: the credit check of %(partner)s blocks it.\n"
                "%(reasons)s",
                order=self.name,
                old=self._credit_format(previous_total),
                new=self._credit_format(self.amount_total),
                partner=profile.partner_id.display_name,
                reasons=reasons_text,
            )
        )

    def _credit_record_system_amendment(self, previous_total):
        """Odoo itself added to this confirmed order (re-invoiced costs, delivery charges):
        its flow must not fail, so a blocked amendment is recorded and alerted instead."""
        self.ensure_one()
        profile, decision, facts = self._credit_amendment_facts()
        if decision.state != BLOCKED or self._credit_covering_approval(decision, facts):
            return
        text = "\n".join(profile._explain(decision, facts, decision.blocking_reasons))
        self.env["credit.check"].sudo().create(
            self.env["credit.check"]._prepare_vals(self, "system_amended", facts, text)
        )
        note = _(
            "Odoo added lines to %(order)s (from %(old)s to %(new)s) although the credit check blocks it:",
            order=self.name,
            old=self._credit_format(previous_total),
            new=self._credit_format(self.amount_total),
        )
        self.sudo()._credit_post_lines(note, text.split("\n"))
        self.env["credit.alert"].sudo()._raise_order_amended_alert(profile, self, note + "\n" + text)

    def _credit_format(self, amount):
        return formatLang(self.env, amount, currency_obj=self.currency_id)

    def _credit_on_approval_decided(self, approval):
        self.ensure_one()
        if approval.state == "approved":
            state, body = "approved", _(
                "Credit override %(approval)s approved by %(user)s up to %(amount)s: the order can be confirmed.",
                approval=approval.name,
                user=self.env.user.name,
                amount=self._credit_format(approval.approved_amount),
            )
        else:
            state, body = "rejected", _(
                "Credit override %(approval)s rejected by %(user)s: %(reason)s",
                approval=approval.name,
                user=self.env.user.name,
                reason=approval.decision_reason,
            )
        self.sudo().write({"credit_check_state": state})
        self.sudo().message_post(body=body, subtype_xmlid="mail.mt_note")
        self.sudo().activity_schedule(
            "sale_credit_control.mail_activity_type_credit_decision",
            user_id=approval.requested_by_id.id,
            summary=body[:120],
        )

    # ------------------------------------------------------------
    # HELD ORDERS QUEUE
    # ------------------------------------------------------------

    @api.model
    def _credit_held_domain(self):
        return [
            ("state", "in", ("draft", "sent")),
            ("credit_check_state", "in", HELD_STATES),
            ("company_id.credit_control_enabled", "=", True),
        ]

    def _credit_held_since_map(self):
        """``{order id: date of its last blocked check}``, one grouped query."""
        ids = [order_id for order_id in self.ids if isinstance(order_id, int)]
        if not ids:
            return {}
        groups = self.env["credit.check"].sudo()._read_group(
            [("order_id", "in", ids), ("result", "in", ("blocked", "held_online"))], ["order_id"], ["date:max"]
        )
        return {order.id: date for order, date in groups}

    @api.model
    def _credit_reevaluate_partners(self, partners, company=None):
        """Re-evaluate the held quotations of ``partners`` (in ``company``, default: every company).

        The entry point for every event that may let a held quotation pass: a payment
        reconciled, a limit raised, a hold released, a profile setting changed. A later
        add-on (e.g. guarantees, 担保) calls it when it adds or changes what the credit
        check reads::

            self.env["sale.order"]._credit_reevaluate_partners(guarantee.partner_id, guarantee.company_id)

        Returns the quotations that became ready to confirm.
        """
        commercial = partners.sudo().commercial_partner_id
        if not commercial:
            return self.browse()
        domain = self._credit_held_domain() + [("partner_invoice_id.commercial_partner_id", "in", commercial.ids)]
        if company:
            domain.append(("company_id", "in", company.ids))
        return self.sudo().search(domain)._credit_reevaluate_held()

    def _credit_reevaluate_held(self):
        """Re-run the credit check on held quotations, without confirming them.

        A quotation that passes now (the decision does not block, or an approval covers
        it) becomes ``ready``, with a chatter note and an activity for its salesperson;
        a ``ready`` one that no longer passes goes back to ``blocked``. The quotations of
        one customer are taken oldest first and each one that passes counts in the
        exposure of the next ones, so the ready quotations fit the limit together.
        Returns the quotations that became ready.
        """
        orders = self.sudo().filtered_domain(self._credit_held_domain())
        if not orders:
            return self.browse()
        held_since = orders._credit_held_since_map()
        became_ready = self.browse()
        by_customer = orders.grouped(lambda order: (order._credit_customer(), order.company_id))
        for customer_orders in by_customer.values():
            passing = self.browse()
            for order in customer_orders.sorted(lambda o: (held_since.get(o.id) or o.create_date, o.id)):
                try:
                    with self.env.cr.savepoint():
                        lines = order.with_context(
                            credit_confirm_batch=(passing | order).ids
                        )._credit_reevaluate_one()
                except Exception:
                    _logger.exception("Re-evaluating the credit of held quotation %s failed.", order.name)
                    continue
                if lines is not None:
                    if order.credit_check_state != "ready":
                        order._credit_mark_ready(lines)
                        became_ready |= order
                    passing |= order
        orders.write({"credit_reevaluated_date": fields.Datetime.now()})
        return became_ready

    def _credit_reevaluate_one(self):
        """Check this held quotation as a confirmation would (no lock, no confirmation).

        Returns the lines explaining why it passes (a list, possibly empty), or ``None``
        after recording why it is still blocked.
        """
        self.ensure_one()
        profile, decision, facts = self._credit_evaluate(lock=False)
        if decision.state != BLOCKED:
            return profile._explain(decision, facts, decision.warning_reasons) if decision.warning_reasons else []
        approval = self._credit_covering_approval(decision, facts)
        if approval:
            return [_("Covered by the approved override %(approval)s.", approval=approval.name)]
        text = "\n".join(profile._explain(decision, facts, decision.blocking_reasons))
        if self.credit_check_state == "ready":
            self.write({"credit_check_state": "blocked", "credit_check_message": text})
            self.activity_unlink(["sale_credit_control.mail_activity_type_credit_ready"])
            self._credit_post_lines(_("The credit check blocks this quotation again:"), text.split("\n"))
        elif self.credit_check_message != text:
            self.write({"credit_check_message": text})
        return None

    def _credit_mark_ready(self, lines):
        """Mark this quotation ready to confirm and tell its salesperson."""
        self.ensure_one()
        self.write({"credit_check_state": "ready", "credit_check_message": "\n".join(lines) or False})
        note = _("The credit check passes now: the quotation can be confirmed.")
        self._credit_post_lines(note, lines)
        user = self.user_id or self.env["credit.profile"]._get_or_create(
            self._credit_customer(), self.company_id
        )._credit_responsible_user()
        activity_type = "sale_credit_control.mail_activity_type_credit_ready"
        if user and not self.activity_ids.filtered(
            lambda a: a.activity_type_id == self.env.ref(activity_type) and a.user_id == user
        ):
            self.activity_schedule(activity_type, user_id=user.id, summary=note)

    def _credit_post_lines(self, head, lines):
        body = Markup("<p>%s</p>") % head
        if lines:
            body += Markup("<ul>%s</ul>") % Markup("").join(Markup("<li>%s</li>") % line for line in lines)
        self.message_post(body=body, subtype_xmlid="mail.mt_note")

    @api.model
    def _cron_credit_reevaluate_held(self, batch_size=500):
        """Nightly: re-evaluate held quotations not re-evaluated today, ``batch_size`` at a time.

        Every held quotation of the customers in the batch is taken (so the customer's
        quotations are weighed together); the cron runs again at once while some remain.
        """
        start = fields.Datetime.now() - timedelta(hours=20)
        domain = self._credit_held_domain() + [
            "|",
            ("credit_reevaluated_date", "=", False),
            ("credit_reevaluated_date", "<", start),
        ]
        batch = self.sudo().search(domain, order="id", limit=batch_size)
        customers = batch.partner_invoice_id.commercial_partner_id
        orders = self.sudo().search(
            self._credit_held_domain() + [("partner_invoice_id.commercial_partner_id", "in", customers.ids)]
        )
        orders._credit_reevaluate_held()
        remaining = self.sudo().search_count(domain)
        self.env["ir.cron"]._notify_progress(done=len(orders), remaining=remaining)
        return orders
