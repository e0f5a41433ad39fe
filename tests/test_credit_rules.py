from datetime import timedelta

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import CreditControlCommon


@tagged("post_install", "-at_install")
class TestCreditRules(CreditControlCommon):
    """Every rule of the confirmation check with each action (block / warn / ignore),
    the credit modes, and the ways around the check that must not exist.

    Limit 1000 on ``cls.customer``; amounts are tax-free.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bypass_user = new_test_user(
            cls.env,
            login="scc_bypass",
            groups="sales_team.group_sale_salesman,sale_credit_control.group_credit_bypass",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.profile = cls.profile_of(cls.customer)
        cls.payment_method = cls.env.ref("payment.payment_method_unknown")
        cls.provider = cls.env["payment.provider"].create(
            {
                "name": "Credit Test Provider",
                "code": "none",
                "state": "test",
                "company_id": cls.company.id,
                "payment_method_ids": [Command.set(cls.payment_method.ids)],
            }
        )
        cls.payment_method.active = True

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    def _set_policy(self, **vals):
        self.company.write({f"credit_{name}": value for name, value in vals.items()})

    def _chatter_notes(self, order):
        return order.message_ids.filtered(lambda m: m.subtype_id == self.env.ref("mail.mt_note"))

    def assert_blocked(self, order, *fragments, user=None):
        user = user or self.salesman
        message = self.try_confirm(order, user)
        self.assertTrue(message, "the order should have been refused")
        for fragment in fragments:
            self.assertIn(fragment, message)
        order.invalidate_recordset()
        self.assertEqual(order.state, "draft")
        self.assertEqual(order.credit_check_state, "blocked")
        check = order.credit_check_ids
        self.assertEqual(len(check), 1)
        self.assertEqual(check.result, "blocked")
        self.assertEqual(check.user_id, user)
        self.assertEqual(check.partner_id, self.customer)
        for fragment in fragments:
            self.assertIn(fragment, check.reasons)
            self.assertIn(fragment, order.credit_check_message)
        return message

    def assert_warned(self, order, *fragments, user=None):
        user = user or self.salesman
        self.assertIsNone(self.try_confirm(order, user))
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.credit_check_state, "warning")
        check = order.credit_check_ids
        self.assertEqual(len(check), 1)
        self.assertEqual(check.result, "warning")
        self.assertEqual(check.user_id, user)
        notes = self._chatter_notes(order).filtered(lambda m: "Credit check warning" in m.body)
        self.assertEqual(len(notes), 1, "one chatter note explains the warning")
        for fragment in fragments:
            self.assertIn(fragment, check.reasons)
            self.assertIn(fragment, order.credit_check_message)
            self.assertIn(fragment, notes.body)
        return check

    def assert_passed(self, order, user=None):
        self.assertIsNone(self.try_confirm(order, user))
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.credit_check_state, "ok")
        self.assertFalse(order.credit_check_message)
        self.assertFalse(order.credit_check_ids)
        self.assertFalse(self._chatter_notes(order).filtered(lambda m: "Credit check warning" in m.body))

    def _pay_online(self, order, amount, reference):
        """A 'done' online payment transaction linked to ``order`` (what sets ``amount_paid``)."""
        return self.env["payment.transaction"].create(
            {
                "provider_id": self.provider.id,
                "payment_method_id": self.payment_method.id,
                "amount": amount,
                "currency_id": order.currency_id.id,
                "partner_id": order.partner_id.id,
                "reference": reference,
                "operation": "online_redirect",
                "state": "done",
                "sale_order_ids": [Command.set(order.ids)],
            }
        )

    def _hold(self, reason="Bounced cheque"):
        wizard = (
            self.env["credit.hold"]
            .with_user(self.credit_manager)
            .create({"profile_ids": [Command.set(self.profile.ids)], "reason": reason})
        )
        wizard.action_hold()
        self.assertTrue(self.profile.on_hold)
        self.assertEqual(self.profile.hold_user_id, self.credit_manager)

    # ------------------------------------------------------------
    # Limit exceeded
    # ------------------------------------------------------------

    def test_limit_exceeded_block(self):
        self.create_order(self.customer, 400.0).action_confirm()
        order = self.create_order(self.customer, 700.0, user=self.salesman)
        message = self.assert_blocked(order, "Credit limit exceeded (tolerance")
        # limit, exposure before, this order, exposure after, available credit
        for figure in ("1,000.00", "400.00", "700.00", "1,100.00", "600.00"):
            self.assertIn(figure, message)
        check = order.credit_check_ids
        self.assertAlmostEqual(check.credit_limit, 1000.0)
        self.assertAlmostEqual(check.exposure_before, 400.0)
        self.assertAlmostEqual(check.exposure_after, 1100.0)
        self.assertAlmostEqual(check.order_amount, 700.0)

    def test_limit_exactly_reached_passes(self):
        self.create_order(self.customer, 400.0).action_confirm()
        self.assert_passed(self.create_order(self.customer, 600.0, user=self.salesman))

    def test_limit_exceeded_warn(self):
        self._set_policy(limit_action="warn")
        order = self.create_order(self.customer, 1500.0, user=self.salesman)
        check = self.assert_warned(order, "Credit limit exceeded (tolerance", "1,500.00")
        self.assertAlmostEqual(check.exposure_after, 1500.0)

    def test_limit_exceeded_ignore(self):
        self._set_policy(limit_action="ignore")
        self.assert_passed(self.create_order(self.customer, 1500.0, user=self.salesman))

    # ------------------------------------------------------------
    # Tolerance
    # ------------------------------------------------------------

    def test_tolerance_warns_and_confirms(self):
        self.profile.tolerance_percent = 10.0
        order = self.create_order(self.customer, 1050.0, user=self.salesman)
        self.assert_warned(order, "within the tolerance of 10", "1,100.00", "1,050.00")

    def test_tolerance_exceeded_blocks(self):
        self.profile.tolerance_percent = 10.0
        order = self.create_order(self.customer, 1150.0, user=self.salesman)
        self.assert_blocked(order, "Credit limit exceeded (tolerance 10", "ceiling", "1,100.00", "1,150.00")

    def test_tolerance_with_warn_action_warns(self):
        self._set_policy(limit_action="warn")
        self.profile.tolerance_percent = 10.0
        order = self.create_order(self.customer, 1050.0, user=self.salesman)
        self.assert_warned(order, "within the tolerance of 10")

    def test_tolerance_with_ignore_action_passes(self):
        self._set_policy(limit_action="ignore")
        self.profile.tolerance_percent = 10.0
        self.assert_passed(self.create_order(self.customer, 1050.0, user=self.salesman))

    def test_company_default_tolerance_for_new_profiles(self):
        self._set_policy(default_tolerance=5.0)
        other = self.env["res.partner"].create({"name": "New Customer", "is_company": True})
        self.set_limit(other, 1000.0)
        self.assertEqual(self.profile_of(other).tolerance_percent, 5.0)
        order = self.create_order(other, 1040.0, user=self.salesman)
        self.assertIsNone(self.try_confirm(order))
        self.assertEqual(order.credit_check_state, "warning")

    # ------------------------------------------------------------
    # Limit 0 and cash only
    # ------------------------------------------------------------

    def test_limit_zero_means_no_limit_checked(self):
        self.set_limit(self.customer, 0.0)
        self.profile.invalidate_recordset()
        self.assertFalse(self.profile.limit_checked)
        self.assertEqual(self.profile.credit_state, "no_limit")
        self.create_invoice(self.customer, 50000.0)
        self.assert_passed(self.create_order(self.customer, 1000000.0, user=self.salesman))

    def test_cash_only_blocks_unpaid_order(self):
        self.profile.mode = "cash"
        order = self.create_order(self.customer, 300.0, user=self.salesman)
        self.assert_blocked(order, "cash-only customer", "300.00")

    def test_cash_only_blocks_even_without_limit(self):
        # "No limit checked" (limit 0) and "no credit at all" (cash) are distinct states.
        self.set_limit(self.customer, 0.0)
        self.profile.mode = "cash"
        self.profile.invalidate_recordset()
        self.assertEqual(self.profile.credit_state, "cash")
        self.assert_blocked(self.create_order(self.customer, 10.0, user=self.salesman), "cash-only customer")

    def test_cash_only_partly_prepaid_blocks_unpaid_part(self):
        self.profile.mode = "cash"
        order = self.create_order(self.customer, 300.0, user=self.salesman)
        self._pay_online(order, 100.0, "SCC-PARTIAL")
        self.assertEqual(order.amount_paid, 100.0)
        self.assert_blocked(order, "cash-only customer", "200.00")

    def test_cash_only_fully_prepaid_passes(self):
        self.profile.mode = "cash"
        order = self.create_order(self.customer, 300.0, user=self.salesman)
        self._pay_online(order, 300.0, "SCC-FULL")
        self.assertEqual(order.amount_paid, 300.0)
        self.assert_passed(order)

    def test_fully_prepaid_order_passes_over_limit(self):
        self.create_invoice(self.customer, 900.0)
        order = self.create_order(self.customer, 500.0, user=self.salesman)
        self._pay_online(order, 500.0, "SCC-PREPAID")
        self.assert_passed(order)

    # ------------------------------------------------------------
    # Credit hold
    # ------------------------------------------------------------

    def test_hold_wizard_is_for_credit_managers(self):
        with self.assertRaises(AccessError):
            self.env["credit.hold"].with_user(self.salesman).create(
                {"profile_ids": [Command.set(self.profile.ids)], "reason": "No"}
            ).action_hold()
        self.assertFalse(self.profile.on_hold)

    def test_hold_block(self):
        self._hold("Bounced cheque")
        order = self.create_order(self.customer, 10.0, user=self.salesman)
        self.assert_blocked(order, "is on credit hold: Bounced cheque")

    def test_hold_warn(self):
        self._set_policy(hold_action="warn")
        self._hold("Bounced cheque")
        order = self.create_order(self.customer, 10.0, user=self.salesman)
        self.assert_warned(order, "is on credit hold: Bounced cheque")

    def test_hold_ignore(self):
        self._set_policy(hold_action="ignore")
        self._hold()
        self.assert_passed(self.create_order(self.customer, 10.0, user=self.salesman))

    def test_hold_released_lets_orders_through(self):
        self._hold()
        self.profile.with_user(self.credit_manager).action_release_hold()
        self.assertFalse(self.profile.on_hold)
        self.assert_passed(self.create_order(self.customer, 10.0, user=self.salesman))

    # ------------------------------------------------------------
    # Overdue receivables
    # ------------------------------------------------------------

    def test_overdue_block(self):
        # 30 days allowed; the invoice is due 35 days ago.
        self.create_invoice(self.customer, 200.0, days_ago=35)
        order = self.create_order(self.customer, 100.0, user=self.salesman)
        self.assert_blocked(
            order, "Overdue receivables", "200.00", "the oldest 35 days past due", "allowed: 30 days"
        )

    def test_overdue_warn(self):
        self._set_policy(overdue_action="warn")
        self.create_invoice(self.customer, 200.0, days_ago=35)
        order = self.create_order(self.customer, 100.0, user=self.salesman)
        self.assert_warned(order, "Overdue receivables", "the oldest 35 days past due")

    def test_overdue_ignore(self):
        self._set_policy(overdue_action="ignore")
        self.create_invoice(self.customer, 200.0, days_ago=35)
        self.assert_passed(self.create_order(self.customer, 100.0, user=self.salesman))

    def test_overdue_within_allowed_days_passes(self):
        self.create_invoice(self.customer, 200.0, days_ago=30)
        self.assert_passed(self.create_order(self.customer, 100.0, user=self.salesman))

    def test_overdue_amount_threshold(self):
        self._set_policy(overdue_days=10, overdue_amount=250.0)
        self.create_invoice(self.customer, 200.0, days_ago=15)
        self.assert_passed(self.create_order(self.customer, 100.0, user=self.salesman))
        self.create_invoice(self.customer, 100.0, days_ago=12)
        order = self.create_order(self.customer, 100.0, user=self.salesman)
        self.assert_blocked(order, "Overdue receivables", "300.00", "the oldest 15 days past due", "250.00")

    def test_paid_overdue_invoice_no_longer_blocks(self):
        invoice = self.create_invoice(self.customer, 200.0, days_ago=35)
        self.pay(invoice)
        self.assert_passed(self.create_order(self.customer, 100.0, user=self.salesman))

    # ------------------------------------------------------------
    # Limit validity and review date
    # ------------------------------------------------------------

    def test_limit_expired_block(self):
        self.profile.limit_valid_until = self.today - timedelta(days=1)
        self.assert_blocked(
            self.create_order(self.customer, 100.0, user=self.salesman), "The credit limit expired on"
        )

    def test_limit_expired_warn(self):
        self._set_policy(expired_action="warn")
        self.profile.limit_valid_until = self.today - timedelta(days=1)
        self.assert_warned(
            self.create_order(self.customer, 100.0, user=self.salesman), "The credit limit expired on"
        )

    def test_limit_expired_ignore(self):
        self._set_policy(expired_action="ignore")
        self.profile.limit_valid_until = self.today - timedelta(days=1)
        self.assert_passed(self.create_order(self.customer, 100.0, user=self.salesman))

    def test_limit_valid_until_today_passes(self):
        self.profile.limit_valid_until = self.today
        self.assert_passed(self.create_order(self.customer, 100.0, user=self.salesman))

    def test_review_overdue_block(self):
        self.profile.review_date = self.today - timedelta(days=1)
        self.assert_blocked(
            self.create_order(self.customer, 100.0, user=self.salesman), "The credit review was due on"
        )

    def test_review_overdue_warn(self):
        self._set_policy(expired_action="warn")
        self.profile.review_date = self.today - timedelta(days=1)
        self.assert_warned(
            self.create_order(self.customer, 100.0, user=self.salesman), "The credit review was due on"
        )

    def test_review_overdue_ignore(self):
        self._set_policy(expired_action="ignore")
        self.profile.review_date = self.today - timedelta(days=1)
        self.assert_passed(self.create_order(self.customer, 100.0, user=self.salesman))

    def test_review_due_today_passes(self):
        self.profile.review_date = self.today
        self.assert_passed(self.create_order(self.customer, 100.0, user=self.salesman))

    # ------------------------------------------------------------
    # Maximum single order
    # ------------------------------------------------------------

    def test_max_order_block(self):
        self._set_policy(max_order_amount=500.0)
        order = self.create_order(self.customer, 600.0, user=self.salesman)
        self.assert_blocked(order, "The order amount", "600.00", "above the maximum of", "500.00")

    def test_max_order_warn(self):
        self._set_policy(max_order_amount=500.0, max_order_action="warn")
        self.assert_warned(
            self.create_order(self.customer, 600.0, user=self.salesman), "above the maximum of"
        )

    def test_max_order_ignore(self):
        self._set_policy(max_order_amount=500.0, max_order_action="ignore")
        self.assert_passed(self.create_order(self.customer, 600.0, user=self.salesman))

    def test_max_order_at_maximum_passes(self):
        self._set_policy(max_order_amount=500.0)
        self.assert_passed(self.create_order(self.customer, 500.0, user=self.salesman))

    def test_max_order_applies_without_limit(self):
        self.set_limit(self.customer, 0.0)
        self._set_policy(max_order_amount=500.0)
        self.assert_blocked(
            self.create_order(self.customer, 600.0, user=self.salesman), "above the maximum of"
        )

    # ------------------------------------------------------------
    # Several rules, company switch
    # ------------------------------------------------------------

    def test_blocking_and_warning_rules_together(self):
        self._set_policy(overdue_action="warn")
        self.create_invoice(self.customer, 200.0, days_ago=35)
        order = self.create_order(self.customer, 900.0, user=self.salesman)
        message = self.assert_blocked(order, "Credit limit exceeded")
        # The refusal lists the blocking reasons only.
        self.assertNotIn("Overdue receivables", message)

    def test_credit_control_disabled_no_check(self):
        self._set_policy(control_enabled=False)
        self._hold()
        self.profile.mode = "cash"
        order = self.create_order(self.customer, 5000.0, user=self.salesman)
        self.assertIsNone(self.try_confirm(order))
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.credit_check_state, "none")
        self.assertFalse(order.credit_check_ids)
        self.assertFalse(self.env["credit.check"].search([("partner_id", "=", self.customer.id)]))

    # ------------------------------------------------------------
    # No way around the check
    # ------------------------------------------------------------

    def test_direct_state_write_is_checked(self):
        order = self.create_order(self.customer, 1500.0, user=self.salesman)
        with self.assertRaises(UserError) as error:
            order.with_user(self.salesman).write({"state": "sale"})
        self.assertIn("Credit limit exceeded", str(error.exception))
        self.assertEqual(order.state, "draft")

    def test_direct_state_write_within_limit_is_recorded(self):
        order = self.create_order(self.customer, 500.0, user=self.salesman)
        order.with_user(self.salesman).write({"state": "sale"})
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.credit_check_state, "ok")

    def test_context_keys_cannot_skip_the_check(self):
        confirmed = self.create_order(self.customer, 600.0)
        confirmed.action_confirm()
        contexts = [
            {"skip_credit_check": True},
            {"credit_check_skip": True},
            {"credit_bypass": True},
            {"install_mode": True},
            {"tracking_disable": True},
            {"credit_confirm_batch": [confirmed.id]},
            {"credit_confirm_batch": []},
            {"sale_credit_control.checked_orders": {}},
        ]
        for context in contexts:
            with self.subTest(context=context):
                order = self.create_order(self.customer, 600.0, user=self.salesman)
                if "sale_credit_control.checked_orders" in context:
                    context = {"sale_credit_control.checked_orders": {order.id: order.amount_total}}
                salesman_order = order.with_user(self.salesman).with_context(**context)
                with self.assertRaises(UserError):
                    salesman_order.action_confirm()
                self.assertEqual(order.state, "draft")
                with self.assertRaises(UserError):
                    salesman_order.write({"state": "sale"})
                self.assertEqual(order.state, "draft")

    def test_online_confirmation_context_key_changes_nothing(self):
        # Only Odoo's own online flows (portal signature, payment) hold instead of refusing:
        # a client passing a context key gets the refusal, and nobody is notified.
        order = self.create_order(self.customer, 1500.0, user=self.salesman)
        refused = False
        try:  # not assertRaises: its savepoint would roll back what the attempt recorded
            order.with_user(self.salesman).with_context(credit_online_confirmation=True).action_confirm()
        except UserError:
            refused = True
        self.assertTrue(refused)
        self.assertEqual(order.state, "draft")
        self.assertEqual(order.credit_check_ids.mapped("result"), ["blocked"])
        self.assertFalse(order.activity_ids)

    def test_bypass_group_confirms_blocked_order(self):
        order = self.create_order(self.customer, 1500.0, user=self.bypass_user)
        self.assertIsNone(self.try_confirm(order, self.bypass_user))
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.credit_check_state, "bypassed")
        check = order.credit_check_ids
        self.assertEqual(len(check), 1)
        self.assertEqual(check.result, "bypassed")
        self.assertEqual(check.user_id, self.bypass_user)
        self.assertAlmostEqual(check.exposure_after, 1500.0)
        self.assertIn("Credit limit exceeded", check.reasons)
        notes = self._chatter_notes(order).filtered(lambda m: "may bypass the credit check" in m.body)
        self.assertEqual(len(notes), 1)

    def test_bypass_group_within_limit_is_plain_ok(self):
        order = self.create_order(self.customer, 100.0, user=self.bypass_user)
        self.assert_passed(order, self.bypass_user)

    def test_credit_manager_without_bypass_is_blocked(self):
        order = self.create_order(self.customer, 1500.0, user=self.credit_manager)
        self.assert_blocked(order, "Credit limit exceeded", user=self.credit_manager)

    # ------------------------------------------------------------
    # Batch confirmation
    # ------------------------------------------------------------

    def test_batch_of_same_customer_over_limit_blocks(self):
        first = self.create_order(self.customer, 600.0, user=self.salesman)
        second = self.create_order(self.contact, 600.0, user=self.salesman)
        with self.assertRaises(UserError) as error:
            (first | second).with_user(self.salesman).action_confirm()
        message = str(error.exception)
        self.assertIn(second.name, message)
        self.assertIn("Credit limit exceeded", message)
        self.assertIn("1,200.00", message)
        # The earlier order of the batch counts before this one, as a confirmed order would.
        self.assertIn("600.00 (open receivables", message)
        self.assertIn("confirmed uninvoiced orders $\xa0600.00", message.replace("$ ", "$\xa0"))
        self.assertEqual(first.state, "draft")
        self.assertEqual(second.state, "draft")

    def test_batch_of_same_customer_within_limit_confirms(self):
        first = self.create_order(self.customer, 400.0, user=self.salesman)
        second = self.create_order(self.customer, 600.0, user=self.salesman)
        (first | second).with_user(self.salesman).action_confirm()
        self.assertEqual((first | second).mapped("state"), ["sale", "sale"])
        self.assertEqual((first | second).mapped("credit_check_state"), ["ok", "ok"])

    def test_batch_of_different_customers_each_checked_alone(self):
        other = self.env["res.partner"].create({"name": "Other Customer", "is_company": True})
        self.set_limit(other, 1000.0)
        first = self.create_order(self.customer, 600.0, user=self.salesman)
        second = self.create_order(other, 600.0, user=self.salesman)
        (first | second).with_user(self.salesman).action_confirm()
        self.assertEqual((first | second).mapped("state"), ["sale", "sale"])

    def test_refused_batch_leaves_no_stale_check(self):
        # After a refused batch, the order that passed inside it must be checked again:
        # its customer's exposure may have changed since.
        first = self.create_order(self.customer, 600.0, user=self.salesman)
        second = self.create_order(self.customer, 600.0, user=self.salesman)
        with self.assertRaises(UserError):
            (first | second).with_user(self.salesman).action_confirm()
        self.create_invoice(self.customer, 900.0)
        with self.assertRaises(UserError):
            first.with_user(self.salesman).action_confirm()
        self.assertEqual(first.state, "draft")
