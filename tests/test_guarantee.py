from datetime import datetime, time, timedelta

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import freeze_time, tagged

from .common import CreditControlCommon


@tagged("post_install", "-at_install")
class TestGuarantee(CreditControlCommon):
    """Guarantees add secured capacity to the limit while active and valid on the check date."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bank = cls.env["res.partner"].create({"name": "Guarantee Bank", "is_company": True})
        cls.eur = cls.setup_other_currency("EUR")  # 1 company currency = 2 EUR today

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    def create_guarantee(self, amount=500.0, coverage=50.0, partner=None, company=None, **vals):
        company = company or self.company
        return (
            self.env["credit.guarantee"]
            .with_user(self.credit_manager)
            .with_company(company)
            .create(
                {
                    "partner_id": (partner or self.customer).id,
                    "company_id": company.id,
                    "guarantee_type": "bank_guarantee",
                    "issuer_id": self.bank.id,
                    "reference": "BG-1",
                    "amount": amount,
                    "currency_id": company.currency_id.id,
                    "coverage_percent": coverage,
                    "valid_from": self.today,
                    "valid_to": self.today + timedelta(days=30),
                    **vals,
                }
            )
        )

    def active_guarantee(self, *args, **kwargs):
        guarantee = self.create_guarantee(*args, **kwargs)
        guarantee.action_activate()
        return guarantee

    def at(self, day):
        return freeze_time(datetime.combine(day, time(12, 0)))

    def history(self, partner=None):
        return self.env["credit.limit.history"].search(
            [("partner_id", "=", (partner or self.customer).id), ("field_name", "=", "guarantee")], order="id"
        )

    def evaluate(self, amount):
        profile = self.profile_of(self.customer)
        return profile._evaluate(self.today, amount, amount)

    # ------------------------------------------------------------
    # Secured capacity in the check
    # ------------------------------------------------------------

    def test_blocked_order_passes_once_a_guarantee_is_activated(self):
        order = self.create_order(self.customer, 1200.0, user=self.salesman)
        guarantee = self.create_guarantee(amount=500.0, coverage=50.0)  # secures 250
        self.assertEqual(guarantee.secured_amount, 250.0)
        self.assertTrue(self.try_confirm(order), "a draft guarantee secures nothing")
        self.assertEqual(order.credit_check_state, "blocked")

        guarantee.action_activate()
        self.assertEqual(order.credit_check_state, "ready", "activating re-evaluates the held order")
        self.assertIsNone(self.try_confirm(order))
        self.assertEqual(order.state, "sale")
        profile = self.profile_of(self.customer)
        self.assertAlmostEqual(profile.capacity_amount, 1250.0)
        self.assertAlmostEqual(profile.exposure_amount, 1200.0)
        self.assertAlmostEqual(profile.available_amount, 50.0)
        self.assertEqual(profile.credit_state, "ok")
        self.assertIn("secured by guarantees", profile.other_parts_html)
        # Exactly at capacity passes, one more does not.
        self.assertEqual(self.evaluate(50.0)[0].state, "ok")
        self.assertEqual(self.evaluate(50.01)[0].state, "blocked")

    def test_blocked_message_shows_limit_secured_and_total_capacity(self):
        self.active_guarantee(amount=500.0, coverage=50.0)
        order = self.create_order(self.customer, 1400.0, user=self.salesman)
        message = self.try_confirm(order)
        self.assertTrue(message)
        self.assertIn("Credit limit exceeded", message)
        self.assertRegex(
            message, r"Limit: [^.]*1,000\.00[^.]*, plus secured by guarantees [^:]*250\.00[^:]*: capacity"
        )
        self.assertRegex(message, r"capacity [^.]*1,250\.00")
        self.assertRegex(message, r"Exposure after this order: [^.]*1,400\.00")
        decision, facts = self.evaluate(1400.0)
        reason = decision.blocking_reasons[0]
        self.assertEqual(reason.figures["capacity_parts"], (("secured", 250.0),))
        self.assertAlmostEqual(reason.figures["capacity"], 1250.0)
        self.assertAlmostEqual(reason.figures["excess"], 150.0)

    def test_foreign_currency_guarantee_converted_at_check_date(self):
        self.active_guarantee(amount=1000.0, coverage=100.0, currency_id=self.eur.id)  # 1,000 EUR = 500
        decision, facts = self.evaluate(1500.0)
        self.assertEqual(facts.capacity_parts, (("secured", 500.0),))
        self.assertEqual(decision.state, "ok")
        self.assertEqual(self.evaluate(1500.01)[0].state, "blocked")

    def test_expiry_blocks_the_next_order_by_date_alone(self):
        guarantee = self.active_guarantee(
            amount=500.0, coverage=50.0, valid_to=self.today + timedelta(days=5)
        )
        self.assertIsNone(self.try_confirm(self.create_order(self.customer, 1200.0, user=self.salesman)))
        last_day = guarantee.valid_to
        with self.at(last_day):
            # Still counts on its end date: 1,200 + 40 = 1,240, within the capacity of 1,250.
            self.assertIsNone(self.try_confirm(self.create_order(self.customer, 40.0, user=self.salesman)))
        with self.at(last_day + timedelta(days=1)):
            self.assertEqual(guarantee.state, "active", "no cron needed: the date alone stops it")
            order = self.create_order(self.customer, 10.0, user=self.salesman)
            message = self.try_confirm(order)
            self.assertTrue(message)
            self.assertNotIn("secured by guarantees", message)
            self.assertEqual(order.state, "draft")
            self.assertEqual(order.credit_check_state, "blocked")
            # Extending it re-evaluates the held order: 1,240 + 10 = 1,250 = capacity.
            guarantee.with_user(self.credit_manager).valid_to = last_day + timedelta(days=30)
            self.assertEqual(order.credit_check_state, "ready")
            self.assertEqual(self.history()[-1].new_value, str(last_day + timedelta(days=30)))
            # The cron only shows the state.
            guarantee.with_user(self.credit_manager).valid_to = last_day
            self.env["credit.guarantee"]._cron_expire()
            self.assertEqual(guarantee.state, "expired")
            self.assertEqual(order.credit_check_state, "blocked")
        self.assertEqual(self.history()[-1].mapped("new_value"), ["expired"])

    def test_release_and_call_stop_counting_and_reevaluate(self):
        guarantee = self.create_guarantee(amount=1000.0, coverage=100.0)
        order = self.create_order(self.customer, 1500.0, user=self.salesman)
        self.assertTrue(self.try_confirm(order))
        guarantee.action_activate()
        self.assertEqual(order.credit_check_state, "ready")
        guarantee.action_release()
        self.assertEqual(order.credit_check_state, "blocked")
        self.assertEqual(guarantee.released_by_id, self.credit_manager)
        self.assertTrue(guarantee.released_date)
        self.assertEqual(self.evaluate(1500.0)[0].state, "blocked")
        called = self.active_guarantee(amount=1000.0, coverage=100.0, reference="BG-2")
        self.assertEqual(self.evaluate(1500.0)[0].state, "ok")
        called.action_call()
        self.assertEqual((called.state, called.called_by_id), ("called", self.credit_manager))
        self.assertEqual(self.evaluate(1500.0)[0].state, "blocked")
        with self.assertRaises(UserError):
            called.action_activate()

    def test_other_company_guarantee_does_not_count(self):
        company_b = self.env["res.company"].create(
            {"name": "Guarantee Company B", "currency_id": self.company.currency_id.id}
        )
        guarantee_b = (
            self.env["credit.guarantee"]
            .with_company(company_b)
            .create(
                {
                    "partner_id": self.customer.id,
                    "company_id": company_b.id,
                    "amount": 5000.0,
                    "currency_id": company_b.currency_id.id,
                }
            )
        )
        guarantee_b.sudo().action_activate()
        self.assertEqual(guarantee_b.state, "active")
        decision, facts = self.evaluate(1200.0)
        self.assertEqual(facts.capacity_parts, ())
        self.assertEqual(decision.state, "blocked")
        # A guarantee of another customer does not count either.
        other = self.env["res.partner"].create({"name": "Other Customer", "is_company": True})
        self.active_guarantee(amount=5000.0, coverage=100.0, partner=other)
        self.assertEqual(self.evaluate(1200.0)[0].state, "blocked")

    # ------------------------------------------------------------
    # Audit trail
    # ------------------------------------------------------------

    def test_state_changes_recorded_in_chatter_and_history(self):
        # The test environment disables tracking (DISABLED_MAIL_CONTEXT): turn it back on, once
        # the creation (untracked) is flushed.
        guarantee = self.create_guarantee()
        self.env.flush_all()
        self.env.cr.flush()
        guarantee = guarantee.with_context(tracking_disable=False, mail_notrack=False)
        guarantee.action_activate()
        self.assertEqual(guarantee.activated_by_id, self.credit_manager)
        self.assertTrue(guarantee.activated_date)
        self.env.flush_all()
        self.env.cr.flush()  # tracking is written at commit: one message per transaction
        guarantee.action_release()
        rows = self.history()
        self.assertEqual(rows.mapped("old_value"), ["draft", "active"])
        self.assertEqual(rows.mapped("new_value"), ["active", "released"])
        self.assertEqual(rows.user_id, self.credit_manager)
        self.assertIn("Guarantee activated", rows[0].reason)
        self.assertIn("BG-1", rows[0].reason)
        self.assertEqual(rows.profile_id, self.profile_of(self.customer))
        self.env.flush_all()
        self.env.cr.flush()
        tracked = (
            self.env["mail.tracking.value"]
            .sudo()
            .search(
                [
                    ("mail_message_id.model", "=", "credit.guarantee"),
                    ("mail_message_id.res_id", "=", guarantee.id),
                    ("field_id.name", "=", "state"),
                ]
            )
        )
        self.assertEqual(sorted(tracked.mapped("new_value_char")), ["Active", "Released"])

    # ------------------------------------------------------------
    # Bad input: a clear error naming the field, nothing written
    # ------------------------------------------------------------

    def test_bad_input_is_refused_and_changes_nothing(self):
        Guarantee = self.env["credit.guarantee"]
        before = Guarantee.search_count([])
        cases = [
            ({"amount": 0.0}, "Amount"),
            ({"amount": -10.0}, "Amount"),
            ({"coverage": 0.0}, "Coverage"),
            ({"coverage": 100.5}, "Coverage"),
            ({"valid_to": self.today - timedelta(days=1)}, "Valid To"),
        ]
        for vals, field_label in cases:
            with self.subTest(vals=vals), self.assertRaises(ValidationError) as error:
                self.create_guarantee(**vals)
            self.assertIn(field_label, str(error.exception))
        self.assertEqual(Guarantee.search_count([]), before)

        guarantee = self.create_guarantee(amount=500.0, coverage=50.0)
        with self.assertRaises(ValidationError):
            guarantee.write({"amount": -1.0, "reference": "changed"})
        guarantee.invalidate_recordset()
        self.assertEqual((guarantee.amount, guarantee.reference), (500.0, "BG-1"))
        with self.assertRaises(ValidationError):
            self.create_guarantee(partner=self.contact)

    def test_currency_without_rate_cannot_be_activated(self):
        currency = self.env["res.currency"].create({"name": "XGT", "symbol": "G", "active": True})
        guarantee = self.create_guarantee(amount=500.0, coverage=100.0, currency_id=currency.id)
        with self.assertRaises(UserError) as error:
            guarantee.action_activate()
        self.assertIn("XGT", str(error.exception))
        self.assertIn("Currency", str(error.exception))
        self.assertEqual(guarantee.state, "draft")
        self.assertFalse(self.history())

    def test_state_and_terms_only_through_the_buttons(self):
        with self.assertRaises(UserError):
            self.create_guarantee(state="active")
        guarantee = self.create_guarantee()
        with self.assertRaises(UserError):
            guarantee.write({"state": "active"})
        self.assertEqual(guarantee.state, "draft")
        guarantee.action_activate()
        with self.assertRaises(UserError):
            guarantee.write({"amount": 100000.0})
        with self.assertRaises(UserError):
            guarantee.sudo().unlink()
        self.assertEqual(guarantee.amount, 500.0)
        guarantee.action_reset_draft()
        self.assertEqual(guarantee.state, "draft")
        guarantee.amount = 600.0
        self.assertEqual(guarantee.secured_amount, 300.0)

    # ------------------------------------------------------------
    # Access
    # ------------------------------------------------------------

    def test_access_per_group(self):
        guarantee = self.create_guarantee()
        Guarantee = self.env["credit.guarantee"]
        # Salespeople: part of the credit file, neither read nor activate.
        with self.assertRaises(AccessError):
            Guarantee.with_user(self.salesman).search([])
        with self.assertRaises(AccessError):
            guarantee.with_user(self.salesman).action_activate()
        with self.assertRaises(AccessError):
            Guarantee.with_user(self.salesman).create({"partner_id": self.customer.id, "amount": 1.0})
        # Auditors read, change nothing.
        self.assertEqual(Guarantee.with_user(self.auditor).search([("id", "=", guarantee.id)]), guarantee)
        self.assertEqual(guarantee.with_user(self.auditor).amount, 500.0)
        with self.assertRaises(AccessError):
            guarantee.with_user(self.auditor).action_activate()
        with self.assertRaises(AccessError):
            guarantee.with_user(self.auditor).write({"reference": "X"})
        self.assertEqual(guarantee.state, "draft")
        # Managers activate (done as the manager in the helper).
        guarantee.with_user(self.credit_manager).action_activate()
        self.assertEqual(guarantee.state, "active")
        with self.assertRaises(AccessError):
            guarantee.with_user(self.credit_manager).unlink()

    def test_other_company_guarantee_invisible(self):
        company_b = self.env["res.company"].create(
            {"name": "Guarantee Company C", "currency_id": self.company.currency_id.id}
        )
        self.env["credit.guarantee"].with_company(company_b).create(
            {
                "partner_id": self.customer.id,
                "company_id": company_b.id,
                "amount": 100.0,
                "currency_id": company_b.currency_id.id,
            }
        )
        own = self.create_guarantee()
        self.assertEqual(self.env["credit.guarantee"].with_user(self.credit_manager).search([]), own)

    # ------------------------------------------------------------
    # Query count
    # ------------------------------------------------------------

    def _count_queries(self, func):
        self.env.flush_all()
        self.env.cr.flush()
        count0 = self.cr.sql_log_count
        func()
        self.env.flush_all()
        self.env.cr.flush()
        return self.cr.sql_log_count - count0

    def test_check_query_count_constant_in_number_of_guarantees(self):
        self.set_limit(self.customer, 100000.0)
        orders = [self.create_order(self.customer, 100.0, user=self.salesman) for _ in range(4)]
        warm_up, small, warm_up_2, large = orders
        self.active_guarantee(amount=100.0, coverage=100.0)

        def evaluate():
            return self.evaluate(100.0)

        # Warm-ups read from the database like the measured calls do (ACL and rule caches).
        self.env.invalidate_all()
        warm_up.action_confirm()
        self.env.invalidate_all()
        evaluate()
        self.env.invalidate_all()
        small_evaluate = self._count_queries(evaluate)
        self.env.invalidate_all()
        small_confirm = self._count_queries(small.action_confirm)
        self.assertEqual(evaluate()[1].capacity_parts, (("secured", 100.0),))

        for index in range(9):
            self.active_guarantee(amount=100.0, coverage=100.0, reference=f"BG-{index + 2}")
        self.env.invalidate_all()
        warm_up_2.action_confirm()
        self.env.invalidate_all()
        evaluate()
        self.env.invalidate_all()
        with self.assertQueryCount(small_evaluate):
            large_evaluate = self._count_queries(evaluate)
        self.env.invalidate_all()
        with self.assertQueryCount(small_confirm):
            large_confirm = self._count_queries(large.action_confirm)
        self.assertEqual((large_confirm, large_evaluate), (small_confirm, small_evaluate))
        self.assertEqual(evaluate()[1].capacity_parts, (("secured", 1000.0),))
        self.assertEqual((small | large).mapped("state"), ["sale", "sale"])
