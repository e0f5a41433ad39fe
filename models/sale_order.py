from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import formatLang

from ..credit_policy.decision import BLOCKED, WARNING

CREDIT_CHECK_STATES = [
    ("none", "Not Checked"),
    ("ok", "Within Credit"),
    ("warning", "Warning"),
    ("blocked", "Blocked"),
    ("pending", "Approval Pending"),
    ("approved", "Approved"),
    ("rejected", "Approval Rejected"),
    ("bypassed", "Bypassed"),
]
# Key of the per-transaction record of orders that passed the check (cursor cache:
# unlike the context, no RPC caller can set it).
CHECKED_KEY = "sale_credit_control.checked_orders"


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

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends("credit_approval_ids")
    def _compute_credit_approval_count(self):
        for order in self:
            order.credit_approval_count = len(order.credit_approval_ids)

    @api.depends("state", "credit_check_state", "credit_approval_ids.state")
    def _compute_credit_can_request_approval(self):
        for order in self:
            order.credit_can_request_approval = (
                order.state in ("draft", "sent")
                and order.credit_check_state in ("blocked", "rejected")
                and "pending" not in order.credit_approval_ids.mapped("state")
            )

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    def write(self, vals):
        if vals.get("state") == "sale":
            # Whoever writes the state directly goes through the same check as action_confirm.
            for order in self._credit_orders_to_check().filtered(lambda o: not o._credit_already_checked()):
                message = order._credit_check_confirmation()
                if message:
                    raise UserError(message)
            result = super().write(vals)
            checked = self.env.cr.cache.get(CHECKED_KEY, {})
            for order_id in self.ids:
                checked.pop(order_id, None)
            return result
        return super().write(vals)

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_confirm(self):
        orders = self.with_context(credit_confirm_batch=self.ids)
        if self.env.context.get("credit_online_confirmation"):
            orders -= orders._credit_hold_online_confirmation()
            if not orders:
                return True
        return super(SaleOrder, orders).action_confirm()

    def action_credit_request_approval(self):
        self.ensure_one()
        return {
            "name": _("Request Credit Approval"),
            "type": "ir.actions.act_window",
            "res_model": "credit.approval.request",
            "view_mode": "form",
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
        return super(SaleOrder, self.with_context(credit_online_confirmation=True))._validate_order()

    # ------------------------------------------------------------
    # CREDIT CHECK
    # ------------------------------------------------------------

    def _credit_orders_to_check(self):
        return self.filtered(
            lambda order: order.state in ("draft", "sent") and order.company_id.credit_control_enabled
        )

    def _credit_already_checked(self):
        self.ensure_one()
        checked = self.env.cr.cache.get(CHECKED_KEY, {})
        return checked.get(self.id) == self.amount_total

    def _credit_mark_checked(self):
        self.ensure_one()
        self.env.cr.cache.setdefault(CHECKED_KEY, {})[self.id] = self.amount_total

    def _credit_evaluate(self, lock=True):
        """Lock the customer's credit row and decide on this quotation.

        Returns ``(profile, decision, facts)``; amounts in company currency at today's rate.
        """
        self.ensure_one()
        check_date = fields.Date.context_today(self)
        profile = self.env["credit.profile"]._get_or_create(self.partner_id, self.company_id)
        if lock:
            profile._lock_for_check()
        order_amount = self._credit_to_company_currency(self.amount_total, check_date)
        unpaid = self._credit_to_company_currency(max(self.amount_total - self.amount_paid, 0.0), check_date)
        unpaid += self._credit_batch_exposure(check_date)
        decision, facts = profile._evaluate(
            check_date, order_amount, unpaid, exclude_order_ids=self._credit_batch_ids()
        )
        return profile, decision, facts

    def _credit_check_confirmation(self):
        """Check this quotation before confirmation; return an error message if it is blocked."""
        self.ensure_one()
        profile, decision, facts = self._credit_evaluate()
        if decision.state == BLOCKED:
            message = self._credit_blocked_outcome(profile, decision, facts)
            if message:
                return message
        elif decision.state == WARNING:
            self._credit_log_outcome("warning", profile, decision, facts, decision.warning_reasons)
        else:
            self.sudo().write({"credit_check_state": "ok", "credit_check_message": False})
        self._credit_mark_checked()
        return False

    def _credit_blocked_outcome(self, profile, decision, facts):
        """Let the order pass under an approval or a bypass right, else record the block
        and return the error message."""
        approval = self.credit_approval_ids.filtered(lambda a: a._covers(self, facts.check_date))[:1]
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
        # Written in a transaction of its own: the refusal rolls this one back.
        self.env["credit.check"]._record_outlasting_rollback(self, facts, reasons_text)
        return _(
            "%(order)s cannot be confirmed: the credit check of %(partner)s blocks it.\n%(reasons)s\n"
            "Ask a credit manager for an override approval (Request Approval on the order).",
            order=self.name,
            partner=profile.partner_id.display_name,
            reasons=reasons_text,
        )

    def _credit_log_outcome(self, result, profile, decision, facts, reasons, note=None):
        """Record a non-blocking outcome on the order: status, check record and chatter note."""
        text = "\n".join(profile._explain(decision, facts, reasons))
        state = {"held_online": "blocked"}.get(result, result)
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
            if decision.state == BLOCKED and not order._credit_can_pass_blocked(facts):
                order._credit_log_outcome(
                    "held_online", profile, decision, facts, decision.blocking_reasons,
                    note=_("The customer confirmed this quotation online, but the credit check blocks it:"),
                )
                order._credit_notify_held()
                held |= order
            elif decision.state != BLOCKED:
                order._credit_mark_checked()
        return held

    def _credit_can_pass_blocked(self, facts):
        return bool(self.credit_approval_ids.filtered(lambda a: a._covers(self, facts.check_date)))

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
        commercial = self.partner_id.commercial_partner_id
        earlier = batch[: list(batch.ids).index(self.id)] if self.id in batch.ids else batch.browse()
        same_customer = earlier.filtered(
            lambda o: o.partner_id.commercial_partner_id == commercial
            and o.company_id == self.company_id
            and o.state in ("draft", "sent")
        )
        return sum(
            o._credit_to_company_currency(max(o.amount_total - o.amount_paid, 0.0), check_date)
            for o in same_customer
        )

    def _credit_to_company_currency(self, amount, check_date):
        self.ensure_one()
        company_currency = self.company_id.currency_id
        if self.currency_id == company_currency:
            return amount
        return self.currency_id._convert(amount, company_currency, self.company_id, check_date, round=False)

    def _credit_check_amendment(self, previous_total):
        """Re-check a confirmed order whose total grew; raise if the growth is blocked."""
        self.ensure_one()
        check_date = fields.Date.context_today(self)
        profile = self.env["credit.profile"]._get_or_create(self.partner_id, self.company_id)
        profile._lock_for_check()
        own = profile._query_uninvoiced_orders(
            (profile.partner_id.id,), self.company_id, (0,), only_order_ids=self.ids
        ).get(profile.partner_id.id, {})
        own_exposure = profile._converter(self.company_id, check_date)(own)
        order_amount = self._credit_to_company_currency(self.amount_total, check_date)
        decision, facts = profile._evaluate(check_date, order_amount, own_exposure, exclude_order_ids=self.ids)
        if decision.state != BLOCKED or self._credit_can_pass_blocked(facts):
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
            "mail.mail_activity_data_todo",
            user_id=approval.requested_by_id.id,
            summary=body[:120],
        )
