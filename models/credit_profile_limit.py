"""Credit limits set in another currency than the company's, and their history."""

import logging

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, format_date

_logger = logging.getLogger(__name__)


class CreditProfile(models.Model):
    _inherit = "credit.profile"  # pylint: disable=consider-merging-classes-inherited  # split by topic

    # ------------------------------------------------------------
    # FOREIGN-CURRENCY LIMITS
    # ------------------------------------------------------------

    @api.model
    def _credit_limit_rates(self, currencies, company, rate_date):
        """``{currency id: rate}``: company-currency units per unit of each of ``currencies`` at
        ``rate_date``, as Odoo converts (the latest rate on or before the date, the company's own
        before the shared one; ``None`` for a currency without any such rate). One query."""
        company_currency = company.currency_id
        self.env["res.currency.rate"].flush_model(["rate", "currency_id", "company_id", "name"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT currency.id,
                       (SELECT rate.rate
                          FROM res_currency_rate rate
                         WHERE rate.currency_id = currency.id
                           AND rate.name <= %(date)s
                           AND (rate.company_id IS NULL OR rate.company_id = %(company)s)
                      ORDER BY rate.company_id, rate.name DESC
                         LIMIT 1)
                  FROM res_currency currency
                 WHERE currency.id IN %(currencies)s
                """,
                date=rate_date,
                company=company.root_id.id,
                currencies=tuple((currencies | company_currency).ids),
            )
        )
        rates = dict(rows)
        # The company currency without a rate of its own is the base (1.0), as for Odoo.
        company_rate = rates.get(company_currency.id) or 1.0
        return {
            currency.id: 1.0
            if currency == company_currency
            else (company_rate / rates[currency.id] if rates.get(currency.id) else None)
            for currency in currencies
        }

    def _credit_limit_on(self, check_date):
        """The limit in the company currency at ``check_date`` (0: no limit checked).

        A limit set in another currency is converted at the rate of ``check_date``,
        unrounded (as the exposure is); without a rate on or before that date, a
        ``UserError`` names the currency and the date: a limit is never converted at 1.0.
        """
        self.ensure_one()
        if not self.limit_currency_id or self.mode != "limit" or not self.limit_amount_currency:
            # Company currency; or no limit is checked (cash only, 0): nothing to convert.
            return self.credit_limit
        return self.limit_amount_currency * self._credit_limit_rate(self.limit_currency_id, check_date)

    def _credit_limit_rate(self, currency, rate_date):
        """The rate converting ``currency`` into the company currency at ``rate_date``; a clear
        error when there is none."""
        self.ensure_one()
        rate = self._credit_limit_rates(currency, self.company_id, rate_date)[currency.id]
        if not rate:
            raise UserError(
                self.env._(
                    "Limit Currency: %(currency)s has no exchange rate on or before %(date)s, so the credit "
                    "limit of %(partner)s cannot be converted into %(company_currency)s. Enter a rate for "
                    "%(currency)s first (Accounting > Configuration > Currencies).",
                    currency=currency.name,
                    date=format_date(self.env, rate_date),
                    partner=self.partner_id.display_name,
                    company_currency=self.company_id.currency_id.name,
                )
            )
        return rate

    def _write_limit_currency(self, limit_vals):
        """``write`` of the limit currency and/or the amount in it, as the user who may set limits."""
        for profile in self:
            profile.partner_id.with_company(profile.company_id)._credit_check_limit_rights()
            company_currency = profile.company_id.currency_id
            currency = profile.limit_currency_id
            if "limit_currency_id" in limit_vals:
                currency = self.env["res.currency"].browse(limit_vals["limit_currency_id"])
            currency = currency or company_currency
            if "limit_amount_currency" in limit_vals:
                amount = limit_vals["limit_amount_currency"] or 0.0
            elif currency == (profile.limit_currency_id or company_currency):
                amount = profile.limit_amount_currency if profile.limit_currency_id else profile.credit_limit
            else:
                # Only the currency changes: the same limit, at today's value in the new currency.
                today = fields.Date.context_today(self)
                amount = currency.round(profile.credit_limit / profile._credit_limit_rate(currency, today))
            profile._credit_set_limit(currency, amount)

    def _credit_set_limit(self, currency, amount, reason=None, from_request=False):
        """Set the customer's limit to ``amount`` in ``currency`` in this profile's company.

        In the company currency it is Odoo's own limit (``res.partner.credit_limit``). In
        another currency that amount is the limit; the customer's limit in the company
        currency follows at today's rate (for Odoo's own screens; ``_cron_refresh_limit_currency``
        keeps it in step) and every check converts at the rate of its date. Needs a rate
        today (checked before anything is written). Recorded in the history with both
        currencies; re-evaluates the customer's held quotations. Rights are the caller's
        business (``_write_limit_currency``, limit requests).
        """
        self.ensure_one()
        company = self.company_id
        company_currency = company.currency_id
        currency = currency or company_currency
        company._credit_check_figure(
            amount,
            self._fields["limit_amount_currency"]._description_string(self.env),
            self.partner_id.display_name,
            currency=currency,
        )
        today = fields.Date.context_today(self)
        rate = 1.0 if currency == company_currency else self._credit_limit_rate(currency, today)
        partner = self.partner_id.with_company(company).sudo()
        old_limit = partner.credit_limit
        old_currency = self.limit_currency_id or company_currency
        old_amount = self.limit_amount_currency if self.limit_currency_id else old_limit
        new_limit = company_currency.round(amount * rate)
        if old_currency == currency and not currency.compare_amounts(old_amount, amount):
            return False
        foreign = currency != company_currency
        self._write_past_limit_routing(
            {
                "limit_currency_id": currency.id if foreign else False,
                "limit_amount_currency": amount if foreign else 0.0,
            }
        )
        partner._credit_write_limit_mirror(new_limit)
        reason = (
            reason
            or self.env.context.get("credit_change_reason")
            or self.env._("Edited on the credit profile")
        )
        self.env["credit.limit.history"]._record(
            self,
            "credit_limit",
            old_limit,
            new_limit,
            reason,
            {
                "old_limit_currency_id": old_currency.id,
                "old_limit_amount": old_amount,
                "new_limit_currency_id": currency.id,
                "new_limit_amount": amount,
            },
        )
        self.message_post(
            body=self.env._(
                "Credit limit changed from %(old)s to %(new)s by %(user)s: %(reason)s",
                old=self._format_limit_in(old_amount, old_currency, old_limit, today),
                new=self._format_limit_in(amount, currency, new_limit, today),
                user=self.env.user.name,
                reason=reason,
            )
        )
        self.env["sale.order"]._credit_reevaluate_partners(self.partner_id, company)
        if not from_request:
            # As a direct edit on the customer: the new base of a temporary limit that applies.
            self.env["credit.limit.request"]._rebase_temporary_limits(self.partner_id, company)
        return True

    def _format_limit_in(self, amount, currency, converted, rate_date):
        """``USD 10,000.00 (= EUR 9,150.00 at the rate of 12/02/2026)``, or the amount alone in
        the company currency."""
        if currency == self.company_id.currency_id:
            return self._format_amount(amount)
        return self.env._(
            "%(amount)s (= %(converted)s at the rate of %(date)s)",
            amount=self._format_amount_code(amount, currency),
            converted=self._format_amount_code(converted, self.company_id.currency_id),
            date=format_date(self.env, rate_date),
        )

    def _credit_limit_is(self, currency, amount):
        """Whether the limit is set to ``amount`` in ``currency`` (the company's: Odoo's own limit)."""
        self.ensure_one()
        company_currency = self.company_id.currency_id
        if (self.limit_currency_id or company_currency) != (currency or company_currency):
            return False
        current = (
            self.limit_amount_currency
            if self.limit_currency_id
            else (self.partner_id.with_company(self.company_id).sudo().credit_limit)
        )
        return not (currency or company_currency).compare_amounts(current, amount)

    def _credit_limit_before_vals(self):
        """The limit as set now, for a limit request to restore (``previous_limit_*``): empty
        currency for a limit in the company currency (its ``previous_limit``)."""
        self.ensure_one()
        return {
            "previous_limit_currency_id": self.limit_currency_id.id,
            "previous_limit_amount_currency": self.limit_amount_currency if self.limit_currency_id else 0.0,
        }

    def _credit_on_company_limit_set(self, old_limit, new_limit):
        """Odoo's own limit (in the company currency) was set on the customer: a limit in
        another currency no longer applies. Returns the history's typed amounts of the change."""
        self.ensure_one()
        company_currency = self.company_id.currency_id
        limit_vals = {
            "old_limit_currency_id": (self.limit_currency_id or company_currency).id,
            "old_limit_amount": self.limit_amount_currency if self.limit_currency_id else old_limit,
            "new_limit_currency_id": company_currency.id,
            "new_limit_amount": new_limit,
        }
        if self.limit_currency_id:
            self.sudo()._write_past_limit_routing({"limit_currency_id": False, "limit_amount_currency": 0.0})
        return limit_vals

    @api.model
    def _cron_refresh_limit_currency(self):
        """Daily: the company-currency limit of each customer whose limit is in another currency
        follows today's rate (Odoo's own screens and reports read it; the check converts at its
        own date). Not a limit change: nothing is recorded. A currency without a rate is skipped."""
        today = fields.Date.context_today(self)
        profiles = self.sudo().search([("limit_currency_id", "!=", False)])
        for company, company_profiles in profiles.grouped("company_id").items():
            rates = self._credit_limit_rates(company_profiles.limit_currency_id, company, today)
            for profile in company_profiles:
                rate = rates.get(profile.limit_currency_id.id)
                if not rate:
                    _logger.warning(
                        "No rate of %s on %s: the limit of %s in %s is not refreshed.",
                        profile.limit_currency_id.name,
                        today,
                        profile.display_name,
                        company.currency_id.name,
                    )
                    continue
                limit = company.currency_id.round(profile.limit_amount_currency * rate)
                partner = profile.partner_id.with_company(company)
                if company.currency_id.compare_amounts(partner.credit_limit, limit):
                    partner._credit_write_limit_mirror(limit)
        return True
