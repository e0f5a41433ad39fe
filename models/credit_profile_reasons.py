"""The texts explaining a credit decision, one renderer per reason code.

A check stores what it decided as data (:meth:`CreditProfile._credit_reason_data`: reason codes,
actions and figures, amounts as numbers, dates as ISO strings) and every reader gets it rendered in
their own language (:meth:`CreditProfile._credit_render_reasons`)."""

from collections.abc import Mapping
from datetime import date

from odoo import api, fields, models
from odoo.tools import format_date, formatLang

from ..credit_policy.decision import Reason
from .writer_language import in_writer_language

# Version of the stored reason data (``reason_data``): a renderer reads the versions it knows.
REASON_DATA_VERSION = 1


def _jsonable(value):
    """``value`` as JSON holds it: dates as ISO strings, tuples as lists, numbers exact."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return value


class CreditProfile(models.Model):
    _inherit = "credit.profile"  # pylint: disable=consider-merging-classes-inherited  # split by topic

    def _explain(self, decision, facts, reasons=None):
        """Lines explaining ``reasons`` (default: all of the decision's) in the current language:
        one per reason, then the notes on the amounts."""
        data = self._credit_reason_data(decision, facts, reasons)
        lines, notes = self._credit_render_reasons(data)
        return lines + notes

    def _credit_reason_data(self, decision, facts, reasons=None):
        """What a check decided, as data to store and render later in each reader's language:
        the reasons' codes, actions and figures (amounts in the company currency ``currency_id``,
        dates as ISO strings) and what the notes on the amounts need. No sentence in it."""
        self.ensure_one()
        prepaid = facts.order_amount - facts.exposure.current_order
        return {
            "version": REASON_DATA_VERSION,
            "partner_id": self.partner_id.id,
            "company_id": self.company_id.id,
            "currency_id": self.company_id.currency_id.id,
            "check_date": facts.check_date.isoformat(),
            "prepaid": prepaid if prepaid > 0 else 0.0,
            "reasons": [
                {"code": reason.code, "action": reason.action, "figures": self._credit_reason_figures(reason)}
                for reason in (reasons or decision.reasons)
            ],
        }

    def _credit_reason_figures(self, reason):
        """A reason's figures as JSON, with the ids of the records named by their name in them."""
        figures = _jsonable(reason.figures)
        if figures.get("limit_currency") and figures["limit_currency"] == self.limit_currency_id.name:
            figures["limit_currency_id"] = self.limit_currency_id.id
        if reason.code == "deposit" and figures.get("source") == "country" and self.partner_id.country_id:
            figures["country_id"] = self.partner_id.country_id.id
        return figures

    @api.model
    def _credit_render_reasons(self, data):
        """``(lines, notes)``: the reasons of ``data`` (see :meth:`_credit_reason_data`) in the
        current language, one line each, and the notes on their amounts, once per message."""
        profile = in_writer_language(self)._credit_reader_profile(data)
        lines = [
            profile._explain_reason(Reason(item["code"], item.get("action", ""), item.get("figures") or {}))
            for item in data.get("reasons") or ()
        ]
        return lines, profile._credit_reason_notes(data)

    @api.model
    def _credit_render_reason_text(self, data):
        """The message of ``data`` as one text: the reasons, one a line, then the notes."""
        lines, notes = self._credit_render_reasons(data)
        return "\n".join(lines + notes)

    @api.model
    def _credit_reader_profile(self, data):
        """A profile (in memory, never written) of the customer and company of ``data``, in the
        current language: the texts read their names and currency from it."""
        return (
            self.env["credit.profile"]
            .sudo()
            .new({"partner_id": data.get("partner_id"), "company_id": data.get("company_id")})
        )

    def _credit_reason_notes(self, data):
        """The notes after the reasons: what was paid online and not booked, and the currency of
        the amounts with the date of their conversion."""
        notes = []
        if data.get("prepaid"):
            notes.append(
                self.env._(
                    "Paid online for this order and not yet booked: %(prepaid)s, deducted from the order. "
                    "Payments already booked are in the open receivables and count only there.",
                    prepaid=self._format_amount(data["prepaid"]),
                )
            )
        currency = self.env["res.currency"].browse(data.get("currency_id")) or self.company_id.currency_id
        notes.append(
            self.env._(
                "Amounts in %(currency)s; other currencies converted at the rate of %(date)s.",
                currency=currency.name,
                date=format_date(self.env, data.get("check_date")),
            )
        )
        return notes

    def _explain_reason(self, reason):
        render = self._credit_reason_texts().get(reason.code)
        return render(reason.figures) if render else reason.code

    def _credit_reason_texts(self):
        """``{reason code: function(figures) -> text}``: an add-on adds its rule's text here."""
        return {
            "cash_only": self._text_cash_only,
            "on_hold": self._text_on_hold,
            "limit_exceeded": self._text_limit,
            "limit_tolerance": self._text_limit_tolerance,
            "overdue": self._text_overdue,
            "limit_expired": self._text_limit_expired,
            "review_overdue": self._text_review_overdue,
            "max_order": self._text_max_order,
            "payment_term": self._text_payment_term,
            "deposit": self._text_deposit,
            "team_budget": self._text_team_budget,
            "insurance": self._text_insurance,
            "group_limit": self._text_group_limit,
        }

    def _text_payment_term(self, fig):
        return self.env._(
            "The payment term of %(days)s days is longer than grade %(grade)s allows (%(max_days)s days).",
            days=fig["term_days"],
            grade=fig["grade"],
            max_days=fig["max_term_days"],
        )

    def _text_deposit(self, fig):
        if fig.get("source") == "country":
            return self.env._(
                "Customers in %(country)s (country risk class %(risk_class)s) pay a deposit of %(percent)s%% "
                "before confirmation: %(required)s, paid %(paid)s, missing %(missing)s. The customer can pay "
                "it online (Online payment on the quotation).",
                country=self.env["res.country"].browse(fig.get("country_id")).name or fig["country"],
                risk_class=fig["country_risk_class"],
                percent=fig["deposit_percent"],
                required=self._format_amount(fig["required_amount"]),
                paid=self._format_amount(fig["paid_amount"]),
                missing=self._format_amount(fig["missing_amount"]),
            )
        return self.env._(
            "Grade %(grade)s requires a deposit of %(percent)s%% before confirmation: %(required)s, "
            "paid %(paid)s, missing %(missing)s. The customer can pay it online (Online payment on "
            "the quotation).",
            grade=fig["grade"],
            percent=fig["deposit_percent"],
            required=self._format_amount(fig["required_amount"]),
            paid=self._format_amount(fig["paid_amount"]),
            missing=self._format_amount(fig["missing_amount"]),
        )

    def _text_team_budget(self, fig):
        return self.env._(
            "The sales team %(team)s would exceed its credit budget of %(budget)s: its exposure is "
            "%(before)s before this order and %(after)s after (available %(available)s).",
            team=fig["team"],
            budget=self._format_amount(fig["budget"]),
            before=self._format_amount(fig["exposure_before"]),
            after=self._format_amount(fig["exposure_after"]),
            available=self._format_amount(fig["available"]),
        )

    def _text_group_limit(self, fig):
        return self.env._(
            "The credit group %(group)s would exceed its group limit of %(limit)s: the group's exposure is "
            "%(before)s before this order and %(after)s after (available %(available)s).",
            group=fig["group"],
            limit=self._format_amount(fig["limit"]),
            before=self._format_amount(fig["exposure_before"]),
            after=self._format_amount(fig["exposure_after"]),
            available=self._format_amount(fig["available"]),
        )

    def _text_insurance(self, fig):
        if not fig["insurers"]:
            return self.env._(
                "%(partner)s has no valid credit insurance cover, which %(company)s requires: the exposure "
                "after this order would be %(after)s with an insured limit of %(limit)s.",
                partner=self.partner_id.display_name,
                company=self.company_id.name,
                after=self._format_amount(fig["exposure_after"]),
                limit=self._format_amount(fig["insured_limit"]),
            )
        return self.env._(
            "The exposure after this order, %(after)s, exceeds the insured limit of %(limit)s "
            "(credit insurance: %(insurers)s) by %(excess)s.",
            after=self._format_amount(fig["exposure_after"]),
            limit=self._format_amount(fig["insured_limit"]),
            insurers=fig["insurers"],
            excess=self._format_amount(fig["excess"]),
        )

    def _text_cash_only(self, fig):
        return self.env._(
            "%(partner)s is a cash-only customer: the order must be paid in advance (unpaid: %(amount)s).",
            partner=self.partner_id.display_name,
            amount=self._format_amount(fig["order_amount"]),
        )

    def _text_on_hold(self, fig):
        return self.env._(
            "%(partner)s is on credit hold: %(reason)s",
            partner=self.partner_id.display_name,
            reason=fig["hold_reason"] or self.env._("no reason given"),
        )

    def _text_limit_tolerance(self, fig):
        head = self.env._(
            "Credit limit exceeded within the tolerance of %(tolerance)s%% (ceiling %(ceiling)s).",
            tolerance=fig["tolerance_percent"],
            ceiling=self._format_amount(fig["ceiling"]),
        )
        return head + " " + self._text_limit_figures(fig)

    def _text_limit(self, fig):
        head = self.env._(
            "Credit limit exceeded (tolerance %(tolerance)s%%, ceiling %(ceiling)s).",
            tolerance=fig["tolerance_percent"],
            ceiling=self._format_amount(fig["ceiling"]),
        )
        return head + " " + self._text_limit_figures(fig)

    def _text_limit_figures(self, fig):
        """Limit (and what adds to it), every exposure part, this order, after, available."""
        money = self._format_amount
        labels = self._credit_part_labels()
        parts = ", ".join(f"{labels.get(code, code)} {money(amount)}" for code, amount in fig["parts"])
        limit_text = money(fig["limit"])
        if fig.get("limit_currency"):
            limit_text = self._text_limit_currency(fig)
        limit = self.env._("Limit: %(limit)s.", limit=limit_text)
        if fig["capacity_parts"]:
            added = ", ".join(
                f"{labels.get(code, code)} {money(amount)}" for code, amount in fig["capacity_parts"]
            )
            limit = self.env._(
                "Limit: %(limit)s, plus %(added)s: capacity %(capacity)s.",
                limit=limit_text,
                added=added,
                capacity=money(fig["capacity"]),
            )
        return (
            limit
            + " "
            + self.env._(
                "Exposure before this order: %(before)s (%(parts)s). This order: %(order)s. "
                "Exposure after this order: %(after)s. Available credit: %(available)s.",
                before=money(fig["exposure_before"]),
                parts=parts,
                order=money(fig["order_amount"]),
                after=money(fig["exposure_after"]),
                available=money(fig["available"]),
            )
        )

    def _text_limit_currency(self, fig):
        """A limit set in another currency: ``USD 10,000.00 (= EUR 9,150.00 at the rate of 12/02/2026)``."""
        currency = self.env["res.currency"].browse(fig.get("limit_currency_id")) or self.limit_currency_id
        if currency.name != fig["limit_currency"]:
            currency = (
                self.env["res.currency"]
                .with_context(active_test=False)
                .search([("name", "=", fig["limit_currency"])], limit=1)
            )
        rate_date = fig.get("limit_rate_date") or fields.Date.context_today(self)
        return self._format_limit_in(fig["limit_amount_currency"], currency, fig["limit"], rate_date)

    def _text_rate_move(self, fig):
        """The early warning of a rule ``rate_move``: the rate alone put the customer over its limit."""
        currency = self.company_id.currency_id
        limit_currency = self.env["res.currency"].browse(fig["limit_currency_id"])
        rate_digits = 6
        return self.env._(
            "Only the exchange rate put %(partner)s over its credit limit of %(limit)s: at the rate of "
            "%(date)s (1 %(limit_currency)s = %(rate_now)s %(currency)s) it is %(limit_now)s, at the rate "
            "of %(reference_date)s (1 %(limit_currency)s = %(rate_before)s %(currency)s) it was "
            "%(limit_before)s. "
            "With the same exposure of %(exposure)s and no new documents, the customer is now %(excess)s "
            "over its capacity of %(capacity_now)s (%(capacity_before)s at the earlier rate).",
            partner=self.partner_id.display_name,
            limit=self._format_amount_code(fig["limit_amount_currency"], limit_currency),
            date=format_date(self.env, fig["rate_date"]),
            reference_date=format_date(self.env, fig["reference_date"]),
            limit_currency=limit_currency.name,
            currency=currency.name,
            rate_now=formatLang(self.env, fig["rate_now"], digits=rate_digits),
            rate_before=formatLang(self.env, fig["rate_before"], digits=rate_digits),
            limit_now=self._format_amount_code(fig["limit_now"], currency),
            limit_before=self._format_amount_code(fig["limit_before"], currency),
            exposure=self._format_amount_code(fig["exposure"], currency),
            excess=self._format_amount_code(fig["excess"], currency),
            capacity_now=self._format_amount_code(fig["capacity_now"], currency),
            capacity_before=self._format_amount_code(fig["capacity_before"], currency),
        )

    def _text_overdue(self, fig):
        return self.env._(
            "Overdue receivables: %(amount)s, the oldest %(days)s days past due "
            "(allowed: %(allowed_days)s days, %(allowed_amount)s).",
            amount=self._format_amount(fig["overdue_amount"]),
            days=fig["overdue_days"],
            allowed_days=fig["allowed_days"],
            allowed_amount=self._format_amount(fig["allowed_amount"]),
        )

    def _text_limit_expired(self, fig):
        return self.env._("The credit limit expired on %(date)s.", date=format_date(self.env, fig["date"]))

    def _text_review_overdue(self, fig):
        return self.env._("The credit review was due on %(date)s.", date=format_date(self.env, fig["date"]))

    def _text_max_order(self, fig):
        return self.env._(
            "The order amount %(amount)s is above the maximum of %(maximum)s for a single order.",
            amount=self._format_amount(fig["order_amount"]),
            maximum=self._format_amount(fig["max_order_amount"]),
        )

    def _format_amount(self, amount):
        """An amount in the company currency, as every credit message shows money."""
        return self.env["res.company"]._credit_format_money(amount, self.company_id.currency_id)

    def _format_amount_code(self, amount, currency):
        """``USD 10,000.00``: the currency's code, where two currencies are shown side by side."""
        return f"{currency.name} {formatLang(self.env, amount, digits=currency.decimal_places)}"
