from datetime import timedelta

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import format_date

from .common import CreditControlCommon


@tagged("post_install", "-at_install")
class TestForeignCurrencyLimit(CreditControlCommon):
    """A limit set in another currency than the company's: converted at the check date.

    The limit currency here is a currency of the test's own ("XLC", with rates created
    here, for this company): 2 XLC per company-currency unit a month ago, 2.5 from
    today on, so XLC 2,000.00 is worth 1,000.00 before and 800.00 today.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.default_rules = cls.env["credit.warning.rule"].sudo().search([])
        cls.default_rules.active = False
        cls.xlc = cls.env["res.currency"].create(
            {"name": "XLC", "symbol": "L", "rounding": 0.01, "active": True}
        )
        cls.env["res.currency.rate"].create(
            {
                "name": cls.today - timedelta(days=30),
                "rate": 2.0,
                "currency_id": cls.xlc.id,
                "company_id": cls.company.id,
            }
        )
        cls.buyer = cls.env["res.partner"].create({"name": "Overseas Buyer", "is_company": True})
        cls.profile = cls.profile_of(cls.buyer)
        cls.money = cls.company.currency_id

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    def set_foreign_limit(self, amount, currency=None, profile=None):
        profile = profile or self.profile
        profile.with_user(self.credit_manager).write(
            {"limit_currency_id": (currency or self.xlc).id, "limit_amount_currency": amount}
        )
        profile.invalidate_recordset()

    def rate_today(self, rate):
        return self.env["res.currency.rate"].create(
            {"name": self.today, "rate": rate, "currency_id": self.xlc.id, "company_id": self.company.id}
        )

    def code(self, amount, currency):
        return self.profile._format_amount_code(amount, currency)

    # ------------------------------------------------------------
    # Tests
    # ------------------------------------------------------------

    def test_same_order_passes_then_a_rate_change_blocks_it(self):
        self.set_foreign_limit(2000.0)
        self.assertEqual(self.profile.limit_currency_id, self.xlc)
        self.assertAlmostEqual(self.profile.credit_limit, 1000.0)
        # Odoo's own limit follows at today's rate.
        self.assertAlmostEqual(self.buyer.with_company(self.company).credit_limit, 1000.0)
        self.create_invoice(self.buyer, 700.0)
        order = self.create_order(self.buyer, 250.0)

        _profile, decision, facts = order._credit_evaluate(lock=False)
        self.assertEqual(decision.state, "ok")
        self.assertAlmostEqual(facts.limit, 1000.0)
        self.assertEqual((facts.limit_currency, facts.limit_amount_currency), ("XLC", 2000.0))

        # The rate moves: XLC 2,000.00 is now worth 800.00; the same order is blocked.
        self.rate_today(2.5)
        # Not assertRaises: its savepoint would roll back the recorded attempt.
        try:
            order.with_user(self.salesman).action_confirm()
            message = ""
        except UserError as error:
            message = str(error)
        expected = (
            f"{self.code(2000.0, self.xlc)} (= {self.code(800.0, self.money)} "
            f"at the rate of {format_date(self.env, self.today)})"
        )
        self.assertIn(expected, message)
        self.assertIn("Credit limit exceeded", message)
        self.assertEqual(order.state, "draft")
        check = order.credit_check_ids
        self.assertEqual(check.result, "blocked")
        self.assertAlmostEqual(check.credit_limit, 800.0)
        self.profile.invalidate_recordset()
        self.assertAlmostEqual(self.profile.credit_limit, 800.0)
        self.assertAlmostEqual(self.profile.available_amount, 100.0)
        self.assertAlmostEqual(self.profile.utilization, 700.0 / 800.0 * 100)

    def test_conversion_is_not_rounded(self):
        self.env["res.currency.rate"].create(
            {"name": self.today, "rate": 3.0, "currency_id": self.xlc.id, "company_id": self.company.id}
        )
        self.set_foreign_limit(1000.0)
        order = self.create_order(self.buyer, 10.0)
        _profile, _decision, facts = order._credit_evaluate(lock=False)
        self.assertAlmostEqual(facts.limit, 1000.0 / 3.0, places=9)

    def test_currency_without_rate_gives_a_clear_error_and_writes_nothing(self):
        no_rate = self.env["res.currency"].create({"name": "XNR", "symbol": "N", "active": True})
        history_before = self.profile.history_ids
        with self.assertRaises(UserError) as caught:
            self.set_foreign_limit(5000.0, currency=no_rate)
        message = str(caught.exception)
        self.assertIn("Limit Currency", message)
        self.assertIn("XNR", message)
        self.assertIn(format_date(self.env, self.today), message)
        self.profile.invalidate_recordset()
        self.assertFalse(self.profile.limit_currency_id)
        self.assertEqual(self.profile.limit_amount_currency, 0.0)
        self.assertEqual(self.buyer.with_company(self.company).credit_limit, 0.0)
        self.assertEqual(self.profile.history_ids, history_before)

    def test_check_without_rate_on_the_check_date_refuses_clearly(self):
        """A foreign limit whose rates were all removed is never converted at 1.0."""
        self.set_foreign_limit(2000.0)
        self.env["res.currency.rate"].sudo().search([("currency_id", "=", self.xlc.id)]).unlink()
        order = self.create_order(self.buyer, 100.0)
        # Not assertRaises: its savepoint would also roll back a (wrongly) recorded attempt.
        try:
            order.with_user(self.salesman).action_confirm()
            message = ""
        except UserError as error:
            message = str(error)
        self.assertIn("Limit Currency: XLC has no exchange rate", message)
        self.assertEqual(order.state, "draft")
        self.assertFalse(self.env["credit.check"].sudo().search([("order_id", "=", order.id)]))

    def test_only_credit_managers_set_a_foreign_limit(self):
        with self.assertRaises(AccessError):
            self.profile.with_user(self.salesman).write(
                {"limit_currency_id": self.xlc.id, "limit_amount_currency": 1.0}
            )
        self.company.credit_allow_direct_limit_edit = False
        with self.assertRaisesRegex(UserError, "limit request"):
            self.set_foreign_limit(2000.0)
        self.assertFalse(self.profile.limit_currency_id)

    def test_limit_history_records_the_currency(self):
        self.set_limit(self.buyer, 600.0)
        self.set_foreign_limit(2000.0)
        change = self.profile.history_ids.filtered(lambda row: row.field_name == "credit_limit")[:1]
        self.assertEqual(change.user_id, self.credit_manager)
        self.assertEqual(change.old_limit_currency_id, self.money)
        self.assertAlmostEqual(change.old_limit_amount, 600.0)
        self.assertEqual(change.new_limit_currency_id, self.xlc)
        self.assertAlmostEqual(change.new_limit_amount, 2000.0)
        self.assertEqual((change.old_value, change.new_value), ("600.0", "1000.0"))
        self.assertTrue(change.reason)

        # Only the currency changes: the same limit, at today's value in the new one.
        self.profile.with_user(self.credit_manager).write({"limit_currency_id": False})
        self.profile.invalidate_recordset()
        self.assertFalse(self.profile.limit_currency_id)
        self.assertAlmostEqual(self.profile.credit_limit, 1000.0)
        back = self.profile.history_ids.filtered(lambda row: row.field_name == "credit_limit")[:1]
        self.assertEqual((back.old_limit_currency_id, back.new_limit_currency_id), (self.xlc, self.money))
        self.assertAlmostEqual(back.old_limit_amount, 2000.0)
        self.assertAlmostEqual(back.new_limit_amount, 1000.0)

    def test_company_currency_limit_on_the_customer_replaces_the_foreign_one(self):
        self.set_foreign_limit(2000.0)
        self.buyer.with_user(self.credit_manager).with_company(self.company).credit_limit = 1500.0
        self.profile.invalidate_recordset()
        self.assertFalse(self.profile.limit_currency_id)
        self.assertAlmostEqual(self.profile.credit_limit, 1500.0)
        change = self.profile.history_ids.filtered(lambda row: row.field_name == "credit_limit")[:1]
        self.assertEqual(change.old_limit_currency_id, self.xlc)
        self.assertAlmostEqual(change.old_limit_amount, 2000.0)
        self.assertEqual(change.new_limit_currency_id, self.money)
        self.assertAlmostEqual(change.new_limit_amount, 1500.0)

    def test_daily_refresh_keeps_odoo_limit_in_step(self):
        self.set_foreign_limit(2000.0)
        rows = len(self.profile.history_ids)
        self.rate_today(2.5)
        self.env["credit.profile"]._cron_refresh_limit_currency()
        self.assertAlmostEqual(self.buyer.with_company(self.company).credit_limit, 800.0)
        # Not a limit change: the limit set is still XLC 2,000.00, nothing recorded.
        self.profile.invalidate_recordset()
        self.assertEqual(len(self.profile.history_ids), rows)
        self.assertEqual(self.profile.limit_amount_currency, 2000.0)

    def test_rate_move_alert(self):
        """Over at today's rate, within at the rate of a week ago, same exposure: the alert says so."""
        rule = (
            self.env["credit.warning.rule"]
            .sudo()
            .create(
                {
                    "name": "Rate move",
                    "rule_type": "rate_move",
                    "company_id": self.company.id,
                    "threshold_days": 7,
                    "severity": "high",
                }
            )
        )
        other = self.env["res.partner"].create({"name": "Always Over", "is_company": True})
        other_profile = self.profile_of(other)
        self.set_foreign_limit(2000.0)
        self.set_foreign_limit(2000.0, profile=other_profile)
        self.create_invoice(self.buyer, 900.0)
        self.create_invoice(other, 1100.0)  # over at both rates: not the rate's doing
        self.assertFalse(rule._evaluate_company(self.company), "no rate move yet")

        self.rate_today(2.5)
        alerts = rule._evaluate_company(self.company)
        self.assertEqual(alerts.partner_id, self.buyer)
        self.assertEqual(alerts.alert_type, "rate_move")
        message = alerts.message
        self.assertIn(
            "Only the exchange rate put Overseas Buyer over its credit limit of XLC 2,000.00", message
        )
        self.assertIn(f"1 XLC = 0.400000 {self.money.name}", message)
        self.assertIn(f"1 XLC = 0.500000 {self.money.name}", message)
        self.assertIn(self.code(800.0, self.money), message)
        self.assertIn(self.code(1000.0, self.money), message)
        self.assertIn("no new documents", message)
        self.assertAlmostEqual(alerts.figures["excess"], 100.0)
        # The condition persists: no second alert while this one is open.
        self.assertFalse(rule._evaluate_company(self.company))

    def test_foreign_limit_request(self):
        request = (
            self.env["credit.limit.request"]
            .with_user(self.credit_manager)
            .create(
                {
                    "partner_id": self.buyer.id,
                    "currency_id": self.xlc.id,
                    "amount": 3000.0,
                    "reason": "Export volume",
                }
            )
        )
        request.action_submit()
        request.with_user(self.credit_manager_2).action_approve()
        self.assertEqual(request.state, "approved")
        self.profile.invalidate_recordset()
        self.assertEqual(self.profile.limit_currency_id, self.xlc)
        self.assertEqual(self.profile.limit_amount_currency, 3000.0)
        self.assertAlmostEqual(self.buyer.with_company(self.company).credit_limit, 1500.0)

    def test_check_query_count_with_a_foreign_limit(self):
        """A foreign limit costs the check one query (the rate), whatever else."""
        domestic = self.env["res.partner"].create({"name": "Domestic Buyer", "is_company": True})
        self.set_limit(domestic, 1000.0)
        domestic_profile = self.profile_of(domestic)
        self.set_foreign_limit(2000.0)

        def count(profile):
            evaluate = lambda: profile._evaluate(self.today, 100.0, 100.0)  # noqa: E731
            evaluate()  # warm-up
            self.env.invalidate_all()
            self.env.flush_all()
            before = self.cr.sql_log_count
            evaluate()
            return self.cr.sql_log_count - before

        self.assertLessEqual(count(self.profile), count(domestic_profile) + 1)
