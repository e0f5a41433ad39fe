import contextlib

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import CreditControlCommon


@tagged("post_install", "-at_install")
class TestCreditCheck(CreditControlCommon):
    def test_order_within_limit_is_confirmed(self):
        order = self.create_order(self.customer, 600.0, user=self.salesman)
        self.confirm_as(order, self.salesman)
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.credit_check_state, "ok")

    def test_order_over_limit_is_blocked_with_figures(self):
        self.create_invoice(self.customer, 700.0)
        order = self.create_order(self.customer, 400.0, user=self.salesman)
        with self.assertRaises(UserError) as error:
            self.confirm_as(order, self.salesman)
        message = str(error.exception)
        self.assertIn("Credit limit exceeded", message)
        for figure in ("1,000.00", "700.00", "400.00", "1,100.00", "300.00"):
            self.assertIn(figure, message)
        self.assertEqual(order.state, "draft")

    def test_blocked_attempt_is_recorded(self):
        order = self.create_order(self.customer, 1500.0, user=self.salesman)
        # Refused, as asserted below (not assertRaises: its savepoint would undo the recorded refusal).
        with contextlib.suppress(UserError):
            self.confirm_as(order, self.salesman)
        self.assertEqual(order.credit_check_state, "blocked")
        check = order.credit_check_ids
        self.assertEqual(len(check), 1)
        self.assertEqual(check.result, "blocked")
        self.assertEqual(check.user_id, self.salesman)
        self.assertAlmostEqual(check.exposure_after, 1500.0)
        self.assertIn("Credit limit exceeded", check.reasons)

    def test_contacts_roll_up_to_commercial_partner(self):
        first = self.create_order(self.contact, 600.0)
        first.action_confirm()
        second = self.create_order(self.delivery_address, 500.0)
        with self.assertRaises(UserError):
            second.action_confirm()
        profile = self.profile_of(self.customer)
        self.assertAlmostEqual(profile.uninvoiced_order_amount, 600.0)
        self.assertEqual(self.contact.credit_profile_id, profile)
