import logging

from odoo import api, fields, models
from odoo.tools import float_compare, format_date, split_every

from ..credit_policy.limit_request import STEP_APPLY, STEP_EXPIRE, STEP_REVERT, temporary_limit_step
from .cron_batch import commit_cron_batch

_logger = logging.getLogger(__name__)
# Requests per committed batch of the daily temporary-limit job.
TEMPORARY_BATCH = 200


class CreditLimitRequest(models.Model):
    """Application of an approved limit request: the limit written on the customer, a
    temporary limit applied on its start date and reverted after its end date (daily cron),
    and rebased when a permanent limit is set while it applies."""

    _inherit = "credit.limit.request"  # pylint: disable=consider-merging-classes-inherited  # split by topic

    # ------------------------------------------------------------
    # BUSINESS: applying the limit
    # ------------------------------------------------------------

    def _apply_if_due(self, today):
        """Apply approved limits whose time has come (permanent: now; temporary: from the start date)."""
        for request in self:
            if request.request_type == "permanent":
                request._apply_limit()
                continue
            applied = request.application_state == "applied"
            step = temporary_limit_step(applied, request.date_from, request.date_to, today)
            if step == STEP_APPLY:
                request._apply_limit()
            elif step == STEP_REVERT:
                request._revert_limit()
            elif step == STEP_EXPIRE:
                request.write({"application_state": "ended", "ended_date": fields.Datetime.now()})
                request._post(
                    [
                        self.env._(
                            "The temporary limit ended on %(date)s before it could be applied.",
                            date=format_date(self.env, request.date_to),
                        )
                    ]
                )
            elif not request.application_state:
                request.write({"application_state": "waiting"})
                request._post(
                    [
                        self.env._(
                            "The temporary limit of %(amount)s applies from %(start)s to %(end)s.",
                            amount=request._format_company(request.amount_company),
                            start=format_date(self.env, request.date_from),
                            end=format_date(self.env, request.date_to),
                        )
                    ]
                )

    def _apply_limit(self):
        """Write the approved limit on the customer (recorded in the limit history)."""
        self.ensure_one()
        partner = self.partner_id.with_company(self.company_id).sudo()
        previous = partner.credit_limit
        profile = self._credit_profile()
        self.write(
            {
                "previous_limit": previous,
                **profile._credit_limit_before_vals(),
                "applied_limit": self.amount_company,
                "application_state": "applied",
                "applied_date": fields.Datetime.now(),
            }
        )
        if self.is_foreign_currency:
            # A limit in the requested currency: converted at each check date (see credit.profile).
            self._set_customer_limit(profile, self.amount, self._change_reason(), currency=self.currency_id)
            self.write({"applied_limit": partner.credit_limit})
        else:
            self._set_customer_limit(profile, self.amount_company, self._change_reason())
        if self.request_type == "permanent":
            self._rebase_temporary_limits(self.partner_id, self.company_id)
        lines = [
            self.env._(
                "Credit limit of %(partner)s set from %(old)s to %(new)s.",
                partner=self.partner_id.display_name,
                old=self._format_limit(previous),
                new=self._format_limit(self.amount, self.currency_id) + self._conversion_note(),
            )
        ]
        if self.request_type == "temporary":
            lines.append(
                self.env._(
                    "Temporary until %(date)s; then it reverts to %(old)s.",
                    date=format_date(self.env, self.date_to),
                    old=self._format_limit(previous),
                )
            )
        self._post(lines)

    def _revert_limit(self):
        """End an applied temporary limit: back to the limit before it, unless changed since."""
        self.ensure_one()
        partner = self.partner_id.with_company(self.company_id).sudo()
        current = partner.credit_limit
        rounding = self.company_id.currency_id.rounding
        profile = self._credit_profile()
        # A limit in another currency is compared in it: its company-currency value follows the rate.
        if profile.limit_currency_id or self.is_foreign_currency:
            still_applied = profile._credit_limit_is(self.currency_id, self.amount)
        else:
            still_applied = float_compare(current, self.applied_limit, precision_rounding=rounding) == 0
        previous_currency, previous_amount = self._limit_before()
        if previous_currency or profile.limit_currency_id:
            back_to_previous = profile._credit_limit_is(
                previous_currency or self.company_id.currency_id, previous_amount
            )
        else:
            back_to_previous = float_compare(current, self.previous_limit, precision_rounding=rounding) == 0
        if back_to_previous:
            # Nothing to revert: e.g. a permanent limit set while this one applied
            # (see _rebase_temporary_limits) is the limit to come back to.
            line = self.env._(
                "The temporary limit ended on %(date)s: the credit limit stays at %(current)s, "
                "the limit it reverts to.",
                date=format_date(self.env, self.date_to),
                current=self._format_limit(current),
            )
        elif still_applied:
            reason = self.env._("Temporary limit ended (%(request)s)", request=self.name)
            self._set_customer_limit(profile, previous_amount, reason, currency=previous_currency)
            line = self.env._(
                "The temporary limit ended on %(date)s: the credit limit is back from %(temporary)s "
                "to %(old)s.",
                date=format_date(self.env, self.date_to),
                temporary=self._format_limit(self.applied_limit),
                old=self._format_limit(self.previous_limit),
            )
        else:
            line = self.env._(
                "The temporary limit ended on %(date)s, but the credit limit was changed since "
                "to %(current)s: "
                "it is kept (not reverted to %(old)s).",
                date=format_date(self.env, self.date_to),
                current=self._format_limit(current),
                old=self._format_limit(self.previous_limit),
            )
        self.write({"application_state": "ended", "ended_date": fields.Datetime.now()})
        self._post([line])

    def _limit_before(self):
        """The limit before this request as it was set: ``(currency, amount)`` for a limit in
        another currency, ``(empty currency, amount in company currency)`` otherwise."""
        self.ensure_one()
        currency = self.previous_limit_currency_id
        return currency, self.previous_limit_amount_currency if currency else self.previous_limit

    def _set_customer_limit(self, profile, amount, reason, currency=None):
        """Set the customer's limit as a change made by this request (in the limit history):
        ``amount`` in ``currency`` for a limit in another currency (converted at each check
        date), else ``amount`` in company currency on Odoo's own ``credit_limit``."""
        self.ensure_one()
        if currency:
            profile.with_context(credit_limit_request_id=self.id)._credit_set_limit(
                currency, amount, reason, from_request=True
            )
        else:
            self.partner_id.with_company(self.company_id).sudo().with_context(
                credit_change_reason=reason, credit_limit_request_id=self.id
            ).write({"credit_limit": amount})

    @api.model
    def _rebase_temporary_limits(self, partners, company):
        """A permanent limit set while a temporary limit applies replaces it at once and is
        the limit the temporary one reverts to when it ends (not the limit before it)."""
        requests = self.sudo().search(
            [
                ("partner_id", "in", partners.commercial_partner_id.ids),
                ("company_id", "=", company.id),
                ("request_type", "=", "temporary"),
                ("state", "=", "approved"),
                ("application_state", "=", "applied"),
            ]
        )
        for request in requests:
            limit = request.partner_id.with_company(company).sudo().credit_limit
            if not company.currency_id.compare_amounts(limit, request.previous_limit):
                continue
            before = request.previous_limit
            profile = request._credit_profile()
            request.write({"previous_limit": limit, **profile._credit_limit_before_vals()})
            request._post(
                [
                    self.env._(
                        "The credit limit was set to %(new)s while this temporary limit applies: it is "
                        "in force now, and the limit kept when this temporary limit ends on %(date)s "
                        "(instead of %(old)s).",
                        new=request._format_limit(limit),
                        date=format_date(self.env, request.date_to),
                        old=request._format_limit(before),
                    )
                ]
            )

    @api.model
    def _cron_process_temporary_limits(self, batch_size=TEMPORARY_BATCH):
        """Daily: apply temporary limits whose period starts, revert those whose period is over.

        By batches of ``batch_size`` requests (start date, then id), each committed when the
        cron runs it. A processed request leaves the job's domain (it is applied or ended),
        so a run that stops halfway (crash, time-out) is taken up by the next one with the
        requests left, never a committed batch again. One request's failure does not stop
        the others: it is logged and retried tomorrow. Memory stays flat: only the ids of
        the requests due are kept for the whole run.
        """
        today = fields.Date.context_today(self)
        domain = self._temporary_due_domain(today)
        request_ids = self.sudo().search(domain, order="date_from, id").ids
        done = 0
        for batch_ids in split_every(batch_size, request_ids, list):
            # Due still: another transaction may have applied or ended one since the search.
            self.sudo().browse(batch_ids).filtered_domain(domain)._process_temporary_batch(today)
            done += len(batch_ids)
            commit_cron_batch(self.env, done, len(request_ids) - done)
        return True

    @api.model
    def _temporary_due_domain(self, today):
        """Approved temporary limits to apply (waiting, started) or to revert (applied, over) on ``today``."""
        return [
            ("state", "=", "approved"),
            ("request_type", "=", "temporary"),
            "|",
            "&",
            ("application_state", "=", "waiting"),
            ("date_from", "<=", today),
            "&",
            ("application_state", "=", "applied"),
            ("date_to", "<", today),
        ]

    def _process_temporary_batch(self, today):
        """Apply or revert these temporary limits, each in a savepoint of its own; the held
        quotations of their customers are re-evaluated once, together, at the end."""
        with self.env["sale.order"]._credit_reevaluation_deferred() as context:
            for request in self.with_context(**context):
                try:
                    with self.env.cr.savepoint():
                        request.with_company(request.company_id)._apply_if_due(today)
                except Exception:
                    # One customer's failure must not stop the others; it is retried tomorrow.
                    _logger.exception("Temporary credit limit of %s could not be processed.", request.name)

    def _credit_profile(self):
        """The customer's credit profile in the request's company (as superuser, created if missing)."""
        self.ensure_one()
        return (
            self.env["credit.profile"]
            ._get_or_create(self.partner_id, self.company_id)
            .with_company(self.company_id)
        )

    def _change_reason(self):
        self.ensure_one()
        return self.env._(
            "Limit request %(request)s (%(type)s) approved: %(reason)s",
            request=self.name,
            type=self._selection_label("request_type"),
            reason=self.reason,
        )
