"""Bad figures everywhere they can enter: forms, RPC, settings and CSV imports.

Negative, NaN, infinite or absurdly large (1e20) limits, caps, amounts and tolerances,
periods that end before they start, a limit in a currency without a rate: each is refused
with a ``ValidationError`` / ``UserError`` that names the field and the figure, and leaves
nothing half-written. An import (``load()``, what Odoo's CSV import calls) reports every bad
row and writes no row at all.
"""

import re
from contextlib import contextmanager
from datetime import timedelta

from odoo import Command
from odoo.exceptions import UserError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import format_amount, format_date, mute_logger

from .common import CreditControlCommon

NAN = float("nan")
INF = float("inf")
HUGE = 1e20
# 1e20 as shown (a monetary field rounds it to cents, which a float of that size no longer has).
HUGE_TEXT = re.compile(r"100(,\d{3}){6}\.\d\d")


def contains(message, figure):
    """Whether ``message`` contains ``figure`` (a text, or a compiled pattern it matches)."""
    if isinstance(figure, re.Pattern):
        return bool(figure.search(message))
    return figure in message


@tagged("post_install", "-at_install")
class TestBadInput(CreditControlCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bank = cls.env["res.partner"].create({"name": "Bad Input Bank", "is_company": True})
        cls.insurer = cls.env["res.partner"].create({"name": "Bad Input Insurer", "is_company": True})
        cls.history = cls.env["credit.limit.history"].sudo()
        # Imports customers: a credit manager who may also create contacts.
        cls.importer = new_test_user(
            cls.env,
            login="scc_importer",
            groups="sales_team.group_sale_salesman,sale_credit_control.group_credit_manager,"
            "account.group_account_invoice,base.group_partner_manager",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    @contextmanager
    def refused(self, *texts, error=ValidationError):
        """The block raises ``error`` whose message contains each of ``texts`` (a compiled
        pattern: matches it); what the block wrote is rolled back, as an RPC call would be."""
        with self.assertRaises(error) as caught, self.env.cr.savepoint():
            yield caught
            self.env.flush_all()  # SQL constraints fire here: they must not be what refuses
        message = str(caught.exception)
        for text in texts:
            self.assertTrue(contains(message, text), f"{text!r} not in the message: {message}")

    def money(self, amount, currency=None):
        """``amount`` as the messages show money (Odoo's ``format_amount``, default: in the
        company currency), not a hard-coded text: the currency's symbol and position and the
        language's separators and minus sign are Odoo's."""
        return format_amount(self.env, amount, currency or self.company.currency_id)

    def history_count(self, partner=None):
        return self.history.search_count([("partner_id", "=", (partner or self.customer).id)])

    def limit_of(self, partner=None):
        return (partner or self.customer).with_company(self.company).sudo().credit_limit

    def _guarantee(self, **vals):
        return (
            self.env["credit.guarantee"]
            .with_user(self.credit_manager)
            .create(
                {
                    "partner_id": self.customer.id,
                    "company_id": self.company.id,
                    "issuer_id": self.bank.id,
                    "reference": "BAD-1",
                    "amount": 500.0,
                    "currency_id": self.company.currency_id.id,
                    "coverage_percent": 100.0,
                    **vals,
                }
            )
        )

    def _policy(self, cover_vals=None, **vals):
        return (
            self.env["credit.insurance.policy"]
            .with_user(self.credit_manager)
            .create(
                {
                    "name": "BAD-POLICY",
                    "insurer_id": self.insurer.id,
                    "company_id": self.company.id,
                    "currency_id": self.company.currency_id.id,
                    "coverage_percent": 90.0,
                    "cover_ids": [Command.create({"partner_id": self.customer.id, "insured_limit": 600.0})],
                    **vals,
                }
            )
        )

    def _currency_without_rate(self):
        currency = (
            self.env["res.currency"]
            .with_context(active_test=False)
            .search([("rate_ids", "=", False), ("id", "!=", self.company.currency_id.id)], limit=1)
        )
        self.assertTrue(currency, "a currency without any rate")
        currency.active = True
        return currency

    # ------------------------------------------------------------
    # The customer's credit limit (res.partner.credit_limit)
    # ------------------------------------------------------------

    def test_partner_limit_negative_nan_infinite_huge_refused(self):
        """Written by a credit manager (form or RPC): refused, naming the field, the customer
        and the figure; the limit and its history are untouched."""
        partner = self.customer.with_user(self.credit_manager)
        cases = [
            (-500.0, self.money(-500.0)),
            (NAN, "NaN"),
            (INF, "infinity"),
            (-INF, "minus infinity"),
            (HUGE, HUGE_TEXT),
        ]
        history = self.history_count()
        for value, figure in cases:
            with self.subTest(value=value), self.refused("Credit Limit", self.customer.name, figure):
                partner.write({"credit_limit": value})
        self.assertEqual(self.limit_of(), 1000.0)
        self.assertEqual(self.history_count(), history)

    def test_partner_limit_bounds_accepted(self):
        """0 (no limit checked) and a large but real limit are limits like any other."""
        partner = self.customer.with_user(self.credit_manager)
        for value in (0.0, 1e12):
            partner.write({"credit_limit": value})
            self.assertEqual(self.limit_of(), value)

    def test_partner_created_with_a_bad_limit_is_not_created(self):
        partners = self.env["res.partner"].with_user(self.credit_manager)
        for value, figure in ((-1.0, self.money(-1.0)), (NAN, "NaN"), (HUGE, HUGE_TEXT)):
            with self.subTest(value=value), self.refused("Credit Limit", "New Bad Customer", figure):
                partners.create({"name": "New Bad Customer", "is_company": True, "credit_limit": value})
        self.assertFalse(self.env["res.partner"].search([("name", "=", "New Bad Customer")]))

    def test_partner_limit_through_the_profile(self):
        """The profile's Credit Limit writes the customer's: refused the same way."""
        profile = self.profile_of(self.customer).with_user(self.credit_manager)
        with self.refused("Credit Limit", self.money(-250.0)):
            profile.credit_limit = -250.0
        self.assertEqual(self.limit_of(), 1000.0)

    def test_default_credit_limit_setting_refused(self):
        """Odoo's Default Credit Limit is the limit of every customer without one."""
        settings = self.env["res.config.settings"].with_company(self.company)
        for value, figure in ((-100.0, self.money(-100.0)), (HUGE, HUGE_TEXT), (NAN, "NaN")):
            with self.subTest(value=value), self.refused("Default Credit Limit", figure):
                settings.create({"account_default_credit_limit": value}).execute()
        self.assertFalse(self.env["res.partner"].with_company(self.company)._credit_default_limit())

    def test_largest_limit_shown_as_typed(self):
        """The largest limit allowed reads 1,000,000,000,000,000.00 in the refusal, not with the
        cent Odoo's rounding adds to a float that large."""
        with self.refused(re.compile(r"(?<![\d,])1,000,000,000,000,000\.00(?!\d)")):
            self.customer.with_user(self.credit_manager).write({"credit_limit": HUGE})

    # ------------------------------------------------------------
    # Company policy (settings)
    # ------------------------------------------------------------

    def test_policy_amounts_and_days_refused(self):
        cases = [
            ("credit_overdue_amount", "Overdue Amount Allowed", -10.0, self.money(-10.0)),
            ("credit_overdue_amount", "Overdue Amount Allowed", NAN, "NaN"),
            ("credit_max_order_amount", "Maximum Single Order", HUGE, HUGE_TEXT),
            ("credit_max_order_amount", "Maximum Single Order", INF, "infinity"),
            ("credit_limit_second_approval_threshold", "Second Approval Above", -1.0, self.money(-1.0)),
            ("credit_overdue_days", "Overdue Days Allowed", -3, "-3"),
            ("credit_review_lead_days", "Review Reminder (days)", 10**9, "1,000,000,000"),
        ]
        for name, label, value, figure in cases:
            with self.subTest(field=name, value=value), self.refused(label, self.company.name, figure):
                self.company.write({name: value})
        self.assertEqual(self.company.credit_overdue_amount, 0.0)
        self.assertEqual(self.company.credit_overdue_days, 30)

    def test_policy_through_the_settings_form(self):
        settings = self.env["res.config.settings"].with_company(self.company)
        with self.refused("Maximum Single Order", self.money(-5.0)):
            settings.create({"credit_max_order_amount": -5.0}).execute()
        with self.refused("Overdue Amount Allowed", "NaN"):
            settings.create({"credit_overdue_amount": NAN}).execute()
        self.assertEqual(self.company.credit_max_order_amount, 0.0)

    def test_company_tolerances_refused(self):
        cases = [
            ({"credit_default_tolerance": -5.0}, "Default Tolerance (%)", "-5.00%"),
            ({"credit_default_tolerance": NAN}, "Default Tolerance (%)", "NaN"),
            ({"credit_max_tolerance": HUGE}, "Maximum Tolerance (%)", HUGE_TEXT),
            ({"credit_max_tolerance": NAN}, "Maximum Tolerance (%)", "NaN"),
            ({"credit_max_tolerance": -1.0}, "Maximum Tolerance (%)", "-1.00%"),
        ]
        for vals, label, figure in cases:
            with self.subTest(vals=vals), self.refused(label, figure):
                self.company.write(vals)
        self.assertEqual(self.company.credit_max_tolerance, 10.0)

    # ------------------------------------------------------------
    # Credit profile: tolerance, limit in another currency
    # ------------------------------------------------------------

    def test_profile_tolerance_refused(self):
        profile = self.profile_of(self.customer).with_user(self.credit_manager)
        cases = [(-5.0, "-5.00"), (NAN, re.compile("nan", re.I)), (HUGE, HUGE_TEXT)]
        for value, figure in cases:
            with self.subTest(value=value), self.refused(re.compile("tolerance", re.I), figure):
                profile.tolerance_percent = value
        self.assertEqual(profile.tolerance_percent, 0.0)

    def test_profile_limit_in_its_currency_refused(self):
        currency = self.setup_other_currency("EUR")
        profile = self.profile_of(self.customer).with_user(self.credit_manager)
        cases = [(-100.0, self.money(-100.0, currency)), (NAN, re.compile("nan", re.I)), (HUGE, HUGE_TEXT)]
        for value, figure in cases:
            with self.subTest(value=value), self.refused("Limit in Its Currency", figure):
                profile.write({"limit_currency_id": currency.id, "limit_amount_currency": value})
        self.assertFalse(profile.limit_currency_id)
        self.assertEqual(self.limit_of(), 1000.0)

    def test_limit_in_a_currency_without_rate_refused(self):
        """Never taken at 1.0: refused by name, and the limit stays what it was."""
        currency = self._currency_without_rate()
        profile = self.profile_of(self.customer).with_user(self.credit_manager)
        history = self.history_count()
        with self.refused("Limit Currency", currency.name, error=UserError):
            profile.write({"limit_currency_id": currency.id, "limit_amount_currency": 800.0})
        self.assertFalse(profile.limit_currency_id)
        self.assertEqual(self.limit_of(), 1000.0)
        self.assertEqual(self.history_count(), history)

    # ------------------------------------------------------------
    # Temporary limits (limit requests)
    # ------------------------------------------------------------

    def test_temporary_limit_inverted_dates_refused(self):
        start, end = self.today + timedelta(days=10), self.today + timedelta(days=2)
        requests = self.env["credit.limit.request"].with_user(self.salesman)
        with self.refused(format_date(self.env, start), format_date(self.env, end)):
            requests.create(
                {
                    "partner_id": self.customer.id,
                    "amount": 2000.0,
                    "reason": "Fair season",
                    "request_type": "temporary",
                    "date_from": start,
                    "date_to": end,
                }
            )

    def test_limit_request_amount_refused(self):
        requests = self.env["credit.limit.request"].with_user(self.salesman)
        cases = [(-2000.0, self.money(-2000.0)), (NAN, re.compile("nan", re.I)), (HUGE, HUGE_TEXT)]
        for value, figure in cases:
            with self.subTest(value=value), self.refused("Requested Limit", figure):
                requests.create({"partner_id": self.customer.id, "amount": value, "reason": "More volume"})

    # ------------------------------------------------------------
    # Guarantees, insurance, country risk
    # ------------------------------------------------------------

    def test_guarantee_bad_figures_refused(self):
        cases = [
            ({"amount": -500.0}, "Amount", self.money(-500.0)),
            ({"amount": NAN}, "Amount", "NaN"),
            ({"amount": HUGE}, "Amount", HUGE_TEXT),
            ({"coverage_percent": -10.0}, "Coverage (%)", "-10.00"),
            ({"coverage_percent": NAN}, "Coverage (%)", "NaN"),
            ({"coverage_percent": HUGE}, "Coverage (%)", HUGE_TEXT),
        ]
        for vals, label, figure in cases:
            with self.subTest(vals=vals), self.refused(label, figure):
                self._guarantee(**vals)
        guarantee = self._guarantee()
        with self.refused("Amount", "NaN"):
            guarantee.with_user(self.credit_manager).amount = NAN
        self.assertEqual(guarantee.amount, 500.0)

    def test_guarantee_inverted_dates_refused(self):
        start, end = self.today, self.today - timedelta(days=1)
        with self.refused("Valid To"):
            self._guarantee(valid_from=start, valid_to=end)
        guarantee = self._guarantee(valid_from=start)
        with self.refused("Valid To"):
            guarantee.with_user(self.credit_manager).valid_to = end
        self.assertFalse(guarantee.valid_to)

    def test_guarantee_in_a_currency_without_rate_not_activated(self):
        currency = self._currency_without_rate()
        guarantee = self._guarantee(currency_id=currency.id)
        with self.refused(currency.name, error=UserError):
            guarantee.with_user(self.credit_manager).action_activate()
        self.assertEqual(guarantee.state, "draft")

    def test_insurance_bad_figures_and_dates_refused(self):
        with self.refused("Coverage (%)", "NaN"):
            self._policy(coverage_percent=NAN)
        with self.refused("Coverage (%)", HUGE_TEXT):
            self._policy(coverage_percent=HUGE)
        with self.refused("Valid To"):
            self._policy(date_from=self.today, date_to=self.today - timedelta(days=1))
        for value, figure in ((-600.0, self.money(-600.0)), (NAN, "NaN"), (HUGE, HUGE_TEXT)):
            with self.subTest(value=value), self.refused("Insured Limit", figure):
                self._policy(
                    cover_ids=[Command.create({"partner_id": self.customer.id, "insured_limit": value})]
                )
        policy = self._policy()
        with self.refused("Valid To"):
            policy.cover_ids.with_user(self.credit_manager).write(
                {"date_from": self.today, "date_to": self.today - timedelta(days=5)}
            )
        with self.refused("Insured Limit", "NaN"):
            policy.cover_ids.with_user(self.credit_manager).insured_limit = NAN
        self.assertEqual(policy.cover_ids.insured_limit, 600.0)

    def test_country_risk_bad_figures_refused(self):
        country = self.env.ref("base.ar")
        rows = self.env["credit.country.risk"].with_user(self.credit_manager)
        cases = [
            ({"limit_cap": -1.0}, "Limit Cap", self.money(-1.0)),
            ({"limit_cap": NAN}, "Limit Cap", "NaN"),
            ({"limit_cap": HUGE}, "Limit Cap", HUGE_TEXT),
            ({"deposit_percent": NAN}, "Required Deposit (%)", "NaN"),
        ]
        for vals, label, figure in cases:
            with self.subTest(vals=vals), self.refused(label, figure):
                rows.create(
                    {"company_id": self.company.id, "country_id": country.id, "risk_class": 5, **vals}
                )
        self.assertFalse(rows.search([("country_id", "=", country.id)]))

    # ------------------------------------------------------------
    # CSV import (load)
    # ------------------------------------------------------------

    def _load_errors(self, result):
        """``{row index: [messages]}`` of the errors ``load()`` reported."""
        errors = {}
        for message in result["messages"]:
            if message["type"] == "error":
                errors.setdefault(message.get("record"), []).append(message["message"])
        return errors

    def test_import_customers_with_bad_limits_writes_nothing(self):
        """One good row and four bad ones: every bad row is reported with the field and its
        figure, and no row is written (Odoo's import is all or nothing)."""
        rows = [
            ["Import Good Ltd", "1", "2500"],
            ["Import Negative Ltd", "1", "-500"],
            ["Import NaN Ltd", "1", "nan"],
            ["Import Huge Ltd", "1", "1e20"],
            ["Import Text Ltd", "1", "plenty"],
        ]
        partners = self.env["res.partner"].with_user(self.importer).with_company(self.company)
        with mute_logger("odoo.models"):
            result = partners.load(["name", "is_company", "credit_limit"], rows)
        self.assertFalse(result["ids"])
        errors = self._load_errors(result)
        for index, figure in ((1, self.money(-500.0)), (2, "NaN"), (3, HUGE_TEXT), (4, "plenty")):
            with self.subTest(row=rows[index]):
                self.assertTrue(
                    any("Credit Limit" in text and contains(text, figure) for text in errors.get(index, ())),
                    f"row {index} not reported with its figure {figure}: {errors}",
                )
        self.assertFalse(self.env["res.partner"].search([("name", "=like", "Import %")]))

        result = partners.load(["name", "is_company", "credit_limit"], [rows[0]])
        self.assertEqual(len(result["ids"]), 1, result["messages"])
        imported = self.env["res.partner"].browse(result["ids"])
        self.assertEqual(self.limit_of(imported), 2500.0)

    def test_import_profiles_with_bad_limits_writes_nothing(self):
        names = ["Profile Import A", "Profile Import B", "Profile Import C"]
        customers = self.env["res.partner"].create([{"name": name, "is_company": True} for name in names])
        rows = [[names[0], "3000"], [names[1], "-100"], [names[2], "1e20"]]
        profiles = self.env["credit.profile"].with_user(self.importer).with_company(self.company)
        with mute_logger("odoo.models"):
            result = profiles.load(["partner_id", "credit_limit"], rows)
        self.assertFalse(result["ids"])
        errors = self._load_errors(result)
        for index, figure in ((1, self.money(-100.0)), (2, HUGE_TEXT)):
            with self.subTest(row=rows[index]):
                self.assertTrue(
                    any("Credit Limit" in text and contains(text, figure) for text in errors.get(index, ())),
                    f"row {index} not reported with its figure {figure}: {errors}",
                )
        self.assertFalse(self.env["credit.profile"].search([("partner_id", "in", customers.ids)]))
        self.assertEqual([self.limit_of(customer) for customer in customers], [0.0, 0.0, 0.0])

    def test_import_profiles_with_bad_tolerance_writes_nothing(self):
        names = ["Tolerance Import A", "Tolerance Import B"]
        customers = self.env["res.partner"].create([{"name": name, "is_company": True} for name in names])
        rows = [[names[0], "nan"], [names[1], "-5"]]
        profiles = self.env["credit.profile"].with_user(self.importer).with_company(self.company)
        with mute_logger("odoo.models", "odoo.sql_db"):
            result = profiles.load(["partner_id", "tolerance_percent"], rows)
        self.assertFalse(result["ids"])
        errors = self._load_errors(result)
        for index, figure in ((0, re.compile("nan", re.I)), (1, re.compile("-5"))):
            with self.subTest(row=rows[index]):
                self.assertTrue(
                    any(
                        contains(text, re.compile("tolerance", re.I)) and contains(text, figure)
                        for text in errors.get(index, ())
                    ),
                    f"row {index} not reported with its figure: {errors}",
                )
        self.assertFalse(self.env["credit.profile"].search([("partner_id", "in", customers.ids)]))

    # ------------------------------------------------------------
    # A negative limit already stored (set where credit control was off)
    # ------------------------------------------------------------

    def _customer_with_negative_limit(self):
        """A customer whose limit was set to -500 while credit control was off (Odoo's own
        rules allow it), in a company that then turned credit control on."""
        customer = self.env["res.partner"].create({"name": "Negative Limit Co", "is_company": True})
        self.company.credit_control_enabled = False
        self.set_limit(customer, -500.0)
        self.company.credit_control_enabled = True
        self.assertEqual(self.limit_of(customer), -500.0)
        self.profile_of(customer)  # known to the warning rules, which read the credit profiles
        return customer

    def test_confirmation_with_a_stored_negative_limit_is_refused_clearly(self):
        """Not a raw ValueError from the policy core: a UserError naming the limit."""
        customer = self._customer_with_negative_limit()
        order = self.create_order(customer, 100.0, user=self.salesman)
        message = self.try_confirm(order)
        self.assertTrue(message, "the order must not pass on a negative limit")
        self.assertIn(self.money(-500.0), message)
        self.assertEqual(order.state, "draft")

    def test_warning_cron_survives_a_stored_negative_limit(self):
        """One customer's bad limit does not stop the alerts of the others."""
        self._customer_with_negative_limit()
        self.env["credit.warning.rule"].sudo().search([]).active = False
        rule = (
            self.env["credit.warning.rule"]
            .sudo()
            .create(
                {
                    "name": "Bad input utilization",
                    "rule_type": "utilization",
                    "company_id": self.company.id,
                    "threshold_percent": 80.0,
                }
            )
        )
        self.create_invoice(self.customer, 900.0)  # 90 % of its 1,000
        rule._cron_evaluate()
        alerts = self.env["credit.alert"].sudo().search([("rule_id", "=", rule.id)])
        self.assertEqual(alerts.partner_id, self.customer)
