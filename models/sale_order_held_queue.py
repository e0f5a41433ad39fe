"""Held quotations: the outcome of an override decision, and the queue re-evaluated when the
customer's credit changes."""

import logging
from datetime import timedelta

from markupsafe import Markup

from odoo import _, api, fields, models

from ..credit_policy.decision import BLOCKED
from .sale_order import HELD_STATES

_logger = logging.getLogger(__name__)


class SaleOrder(models.Model):
    _inherit = "sale.order"

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
