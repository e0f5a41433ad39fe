"""Held quotations: the outcome of an override decision, and the queue re-evaluated when the
customer's credit changes."""

import logging
from contextlib import contextmanager
from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models

from ..credit_policy.decision import BLOCKED
from .cron_batch import commit_cron_batch
from .sale_order import HELD_STATES

_logger = logging.getLogger(__name__)
# Customers whose held quotations the nightly job re-evaluates in one committed batch.
HELD_BATCH = 500
# A quotation re-evaluated less than this long ago is not re-evaluated again by the nightly job.
HELD_REEVALUATED_WITHIN = timedelta(hours=20)


class HeldBatchFigures:
    """The exposure figures of the customers of a batch of held quotations, computed together
    (``credit.profile._exposure_figures``) and served to each quotation's check through the
    context key ``credit_held_figures`` (compared by identity, so the context stays cheap)."""

    __slots__ = ("check_date", "company_id", "excluded", "figures")

    def __init__(self, company, check_date, excluded, figures):
        self.company_id = company.id
        self.check_date = check_date
        self.excluded = frozenset(excluded)
        self.figures = figures

    def get(self, partners, company, check_date, exclude_order_ids):
        """The figures of ``partners`` if this batch holds them as asked, else ``None``.

        The batch's figures leave out every held quotation of the batch; the check of one
        leaves out fewer (itself and the ones of its customer that pass before it), which
        gives the same figures: quotations commit nothing until they are confirmed.
        """
        if (
            company.id != self.company_id
            or check_date != self.check_date
            or not self.excluded.issuperset(exclude_order_ids)
            or any(partner_id not in self.figures for partner_id in partners.ids)
        ):
            return None
        return {partner_id: self.figures[partner_id] for partner_id in partners.ids}


class SaleOrder(models.Model):
    _inherit = "sale.order"  # pylint: disable=consider-merging-classes-inherited  # split by topic

    def _credit_on_approval_decided(self, approval):
        self.ensure_one()
        if approval.state == "approved":
            state, body = (
                "approved",
                self.env._(
                    "Credit override %(approval)s approved by %(user)s up to %(amount)s: "
                    "the order can be confirmed.",
                    approval=approval.name,
                    user=self.env.user.name,
                    amount=self._credit_format(approval.approved_amount),
                ),
            )
        else:
            state, body = (
                "rejected",
                self.env._(
                    "Credit override %(approval)s rejected by %(user)s: %(reason)s",
                    approval=approval.name,
                    user=self.env.user.name,
                    reason=approval.decision_reason,
                ),
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
    def _credit_held_domain(self, states=HELD_STATES):
        """The held quotations: by default those of the queue the re-evaluation works on; with
        ``SHOWN_HELD_STATES`` those shown as held (awaiting a credit manager's decision too)."""
        return [
            ("state", "in", ("draft", "sent")),
            ("credit_check_state", "in", states),
            ("company_id.credit_control_enabled", "=", True),
        ]

    def _credit_held_since_map(self):
        """``{order id: date of its last blocked check}``, one grouped query."""
        ids = [order_id for order_id in self.ids if isinstance(order_id, int)]
        if not ids:
            return {}
        groups = (
            self.env["credit.check"]
            .sudo()
            ._read_group(
                [("order_id", "in", ids), ("result", "in", ("blocked", "held_online"))],
                ["order_id"],
                ["date:max"],
            )
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

        Returns the quotations that became ready to confirm. Within
        :meth:`_credit_reevaluation_deferred`, the customers are only queued (returns none).
        """
        commercial = partners.sudo().commercial_partner_id
        if not commercial:
            return self.browse()
        queue = self.env.context.get("credit_reevaluation_queue")
        if queue is not None:
            queue.setdefault(tuple(company.ids) if company else None, set()).update(commercial.ids)
            return self.browse()
        domain = self._credit_held_domain() + [
            ("partner_invoice_id.commercial_partner_id", "in", commercial.ids)
        ]
        if company:
            domain.append(("company_id", "in", company.ids))
        return self.sudo().search(domain)._credit_reevaluate_held()

    @contextmanager
    def _credit_reevaluation_deferred(self):
        """Gather the re-evaluations asked while in this block and run them once at its end,
        set-based: a batch job that changes many customers' credit one by one (e.g. ending
        temporary limits) re-evaluates their held quotations together. Yields the context
        to run the block's work with."""
        queue = {}  # company ids (None: every company) -> commercial partner ids
        yield {"credit_reevaluation_queue": queue}
        for company_ids, partner_ids in queue.items():
            self.with_context(credit_reevaluation_queue=None)._credit_reevaluate_partners(
                self.env["res.partner"].browse(partner_ids),
                self.env["res.company"].browse(company_ids) if company_ids else None,
            )

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
        batch_figures = orders._credit_held_figures(by_customer)
        for (_customer, company), customer_orders in by_customer.items():
            customer_orders = customer_orders.with_context(credit_held_figures=batch_figures[company])
            passing = self.browse()
            for order in customer_orders.sorted(lambda o: (held_since.get(o.id) or o.create_date, o.id)):
                try:
                    with self.env.cr.savepoint():
                        message_vals = order.with_context(
                            credit_confirm_batch=(passing | order).ids
                        )._credit_reevaluate_one()
                except Exception:
                    _logger.exception("Re-evaluating the credit of held quotation %s failed.", order.name)
                    continue
                if message_vals is not None:
                    if order.credit_check_state != "ready":
                        order._credit_mark_ready(message_vals)
                        became_ready |= order
                    passing |= order
        orders.write({"credit_reevaluated_date": fields.Datetime.now()})
        return became_ready

    def _credit_held_figures(self, by_customer):
        """``{company: HeldBatchFigures}``: the exposure figures of every customer of these held
        quotations, per company, in one set of grouped queries each (instead of one set per
        quotation); their credit profiles and limits are read together too."""
        check_date = fields.Date.context_today(self)
        profiles = self.env["credit.profile"].sudo()
        result = {}
        for company, orders in self.grouped("company_id").items():
            customers = self.env["res.partner"].browse(
                {customer.id for customer, customer_company in by_customer if customer_company == company}
            )
            figures = profiles._exposure_figures(customers, company, check_date, exclude_order_ids=orders.ids)
            result[company] = HeldBatchFigures(company, check_date, orders.ids, figures)
            # The profiles and their limits in one go: each quotation's check finds them in the cache.
            profiles.search([("partner_id", "in", customers.ids), ("company_id", "=", company.id)]).mapped(
                "credit_limit"
            )
        return result

    def _credit_reevaluate_one(self):
        """Check this held quotation as a confirmation would (no lock, no confirmation).

        Returns the order values of the message explaining why it passes (its warnings as
        reason data, the approval covering it, or none), or ``None`` after recording why it is
        still blocked.
        """
        self.ensure_one()
        profile, decision, facts = self._credit_evaluate(lock=False)
        if decision.state != BLOCKED:
            if not decision.warning_reasons:
                return {"credit_check_message": False}
            return self._credit_message_vals(
                profile._credit_reason_data(decision, facts, decision.warning_reasons)
            )
        approval = self._credit_covering_approval(decision, facts)
        if approval:
            return {
                "credit_check_message": self.env._(
                    "Covered by the approved override %(approval)s.", approval=approval.name
                )
            }
        reason_data = profile._credit_reason_data(decision, facts, decision.blocking_reasons)
        if self.credit_check_state == "ready":
            self.write({"credit_check_state": "blocked", **self._credit_message_vals(reason_data)})
            self.activity_unlink(["sale_credit_control.mail_activity_type_credit_ready"])
            self._credit_post_lines(
                self.env._("The credit check blocks this quotation again:"),
                profile._credit_render_reason_text(reason_data).split("\n"),
            )
        elif self.credit_check_reason_data != reason_data:
            self.write(self._credit_message_vals(reason_data))
        return None

    def _credit_mark_ready(self, message_vals):
        """Mark this quotation ready to confirm, with the message of ``message_vals``, and tell its
        salesperson."""
        self.ensure_one()
        self.write({"credit_check_state": "ready", **message_vals})
        note = self.env._("The credit check passes now: the quotation can be confirmed.")
        message = self.credit_check_message
        self._credit_post_lines(note, message.split("\n") if message else [])
        user = (
            self.user_id
            or self.env["credit.profile"]
            ._get_or_create(self._credit_customer(), self.company_id)
            ._credit_responsible_user()
        )
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
    def _cron_credit_reevaluate_held(self, batch_size=HELD_BATCH):
        """Nightly: re-evaluate the held quotations not re-evaluated today.

        By batches of ``batch_size`` customers (by commercial partner id), every held
        quotation of a customer in the same batch (so the customer's quotations are weighed
        together), each batch committed when the cron runs it. The re-evaluation date each
        quotation gets is the saved position: a run that stops halfway (crash, time-out) is
        taken up by the next one, which skips the quotations of the committed batches, so
        no batch is re-evaluated twice. Memory stays flat: only customer ids are kept from
        one batch to the next. Returns the quotations re-evaluated.
        """
        customer_ids = self._credit_held_customer_ids_due()
        done, order_ids = 0, []
        for index in range(0, len(customer_ids), batch_size):
            batch_ids = customer_ids[index : index + batch_size]
            orders = self.sudo().search(
                self._credit_held_domain() + [("partner_invoice_id.commercial_partner_id", "in", batch_ids)]
            )
            orders._credit_reevaluate_held()
            order_ids += orders.ids
            done += len(batch_ids)
            commit_cron_batch(self.env, done, len(customer_ids) - done)
        return self.browse(order_ids)

    @api.model
    def _credit_held_customer_ids_due(self):
        """Commercial partner ids (ascending) of the customers with a held quotation not
        re-evaluated in the last 20 hours; one grouped query."""
        since = fields.Datetime.now() - HELD_REEVALUATED_WITHIN
        domain = self._credit_held_domain() + [
            "|",
            ("credit_reevaluated_date", "=", False),
            ("credit_reevaluated_date", "<", since),
        ]
        invoice_partners = self.sudo()._read_group(domain, ["partner_invoice_id"])
        return sorted({partner.commercial_partner_id.id for (partner,) in invoice_partners})


class CreditProfile(models.Model):
    _inherit = "credit.profile"  # pylint: disable=consider-merging-classes-inherited  # split by topic

    @api.model
    def _exposure_figures(self, partners, company, check_date, exclude_order_ids=()):
        """Within a re-evaluation of held quotations, the figures its batch computed together
        (see ``SaleOrder._credit_held_figures``) when they answer the question."""
        batch = self.env.context.get("credit_held_figures")
        figures = batch.get(partners, company, check_date, exclude_order_ids) if batch else None
        if figures is None:
            figures = super()._exposure_figures(partners, company, check_date, exclude_order_ids)
        return figures
