"""The credit check of a quotation at confirmation, of an online confirmation and of a confirmed
order that grows."""

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..credit_policy.decision import BLOCKED, WARNING
from .recorded_text_columns import keep_recorded_text
from .sale_order import CHECKED_KEY, QUIET_CHECK_STATES, REFUSED_KEY, TODO_KEY


class SaleOrder(models.Model):
    _inherit = "sale.order"  # pylint: disable=consider-merging-classes-inherited  # split by topic

    def _auto_init(self):
        # The message was stored as text in the column "credit_check_message" (the checker's
        # language); that text is kept, as recorded, for the orders without reason data.
        keep_recorded_text(self.env.cr, self._table, "credit_check_message", "credit_check_recorded_message")
        return super()._auto_init()

    @api.depends("credit_check_reason_data", "credit_check_recorded_message")
    @api.depends_context("lang")
    def _compute_credit_check_message(self):
        """The reasons of the last check rendered in the reader's language; a message recorded as
        text (before reason data was kept, or written as text) as it is."""
        profiles = self.env["credit.profile"]
        for order in self:
            data = order.credit_check_reason_data
            order.credit_check_message = (
                profiles._credit_render_reason_text(data) if data else order.credit_check_recorded_message
            )

    def _inverse_credit_check_message(self):
        """A message written as text is shown as written, to every reader."""
        for order in self:
            order.credit_check_reason_data = False
            order.credit_check_recorded_message = order.credit_check_message

    def _credit_message_vals(self, reason_data):
        """The values showing ``reason_data`` (see ``credit.profile._credit_reason_data``) as the
        order's credit message."""
        return {"credit_check_reason_data": reason_data, "credit_check_recorded_message": False}

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
        """The order total (taxes included, order currency) from its lines, never the stored
        ``amount_total`` a caller could have written: the sum of the lines' totals where taxes
        are rounded per line (Odoo's default: the order's total is exactly that sum, and the
        exposure of confirmed orders counts the same line totals); recomputed from the lines'
        quantities, prices, discounts and taxes, as ``_compute_amounts`` does, where they are
        rounded globally."""
        self.ensure_one()
        lines = self.order_line.filtered(lambda line: not line.display_type)
        currency = self.currency_id or self.company_id.currency_id
        if self.company_id.tax_calculation_rounding_method != "round_globally":
            return currency.round(sum(lines.mapped("price_total")))
        AccountTax = self.env["account.tax"]
        base_lines = [line._prepare_base_line_for_taxes_computation() for line in lines]
        AccountTax._add_tax_details_in_base_lines(base_lines, self.company_id)
        AccountTax._round_base_lines_tax_details(base_lines, self.company_id)
        totals = AccountTax._get_tax_totals_summary(
            base_lines=base_lines,
            currency=currency,
            company=self.company_id,
        )
        return currency.round(totals["total_amount_currency"])

    def _credit_online_transactions(self):
        """This order's online payments that count: authorized or confirmed by the provider,
        for this order alone, of its own customer and company (as superuser)."""
        self.ensure_one()
        customer = self._credit_customer()
        return self.sudo().transaction_ids.filtered(
            lambda tx: (
                tx.state in ("authorized", "done")
                and tx.sale_order_ids == self
                and tx.partner_id.commercial_partner_id == customer
                and tx.company_id == self.company_id
            )
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
            profile = profiles._get_locked_for_check(customer, self.company_id, order=self)
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
                "approved",
                profile,
                decision,
                facts,
                decision.blocking_reasons,
                note=self.env._("Confirmed under approval %(approval)s.", approval=approval.name),
            )
            return False
        if self.env.user.has_group("sale_credit_control.group_credit_bypass"):
            self._credit_log_outcome(
                "bypassed",
                profile,
                decision,
                facts,
                decision.blocking_reasons,
                note=self.env._(
                    "Confirmed by %(user)s, who may bypass the credit check.", user=self.env.user.name
                ),
            )
            return False
        reason_data = profile._credit_reason_data(decision, facts, decision.blocking_reasons)
        # The refusal is read by whoever confirms: in their language.
        reasons_text = profile._credit_render_reason_text(reason_data)
        pending = self.credit_approval_ids.filtered(lambda a: a.state == "pending")[:1]
        # Written in a transaction of its own: the refusal rolls this one back.
        self.env["credit.check"]._record_outlasting_rollback(
            self, facts, reason_data, order_state="pending" if pending else "blocked"
        )
        if pending:
            return self.env._(
                "%(order)s cannot be confirmed yet: the credit check of %(partner)s blocks it and the "
                "override request %(approval)s is waiting for a credit manager's decision.\n%(reasons)s",
                order=self.name,
                partner=profile.partner_id.display_name,
                approval=pending.name,
                reasons=reasons_text,
            )
        self.env.cr.cache[REFUSED_KEY] = self.id
        return self.env._(
            "%(order)s cannot be confirmed: the credit check of %(partner)s blocks it.\n%(reasons)s\n"
            "Ask a credit manager for an override approval (Request Credit Approval on the order).",
            order=self.name,
            partner=profile.partner_id.display_name,
            reasons=reasons_text,
        )

    def _credit_log_outcome(self, result, profile, decision, facts, reasons, note=None):
        """Record a non-blocking outcome on the order: status, check record and chatter note."""
        reason_data = profile._credit_reason_data(decision, facts, reasons)
        state = result
        if result == "held_online":
            pending = "pending" in self.credit_approval_ids.mapped("state")
            state = "pending" if pending else "blocked"
        self.sudo().write({"credit_check_state": state, **self._credit_message_vals(reason_data)})
        self.env["credit.check"].sudo().create(
            self.env["credit.check"]._prepare_vals(self, result, facts, reason_data)
        )
        lines, notes = profile._credit_render_reasons(reason_data)
        body = Markup("<p>%s</p><ul>%s</ul>%s") % (
            note or self.env._("Credit check warning:"),
            Markup("").join(Markup("<li>%s</li>") % line for line in lines),
            Markup("").join(Markup("<p>%s</p>") % line for line in notes),
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
                    "held_online",
                    profile,
                    decision,
                    facts,
                    decision.blocking_reasons,
                    note=self.env._(
                        "The customer confirmed this quotation online, but the credit check blocks it:"
                    ),
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
            # Each one reads the note in their own language.
            order = self.with_context(lang=user.lang or self.env.lang)
            order.sudo().activity_schedule(
                "sale_credit_control.mail_activity_type_credit_hold",
                user_id=user.id,
                summary=order.env._("Online confirmation held by the credit check"),
                note=order.credit_check_message,
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
            lambda o: (
                o._credit_customer() == customer and o.company_id == self.company_id and o.state != "sale"
            )
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
        decision, facts = profile._evaluate(
            check_date, order_amount, own_exposure, exclude_order_ids=self.ids
        )
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
            self.env._(
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
        reason_data = profile._credit_reason_data(decision, facts, decision.blocking_reasons)
        text = profile._credit_render_reason_text(reason_data)
        self.env["credit.check"].sudo().create(
            self.env["credit.check"]._prepare_vals(self, "system_amended", facts, reason_data)
        )
        note = self.env._(
            "Odoo added lines to %(order)s (from %(old)s to %(new)s) although the credit check blocks it:",
            order=self.name,
            old=self._credit_format(previous_total),
            new=self._credit_format(self.amount_total),
        )
        self.sudo()._credit_post_lines(note, text.split("\n"))
        self.env["credit.alert"].sudo()._raise_order_amended_alert(profile, self, note + "\n" + text)

    def _credit_format(self, amount):
        return self.env["res.company"]._credit_format_money(amount, self.currency_id)
