import contextlib
import logging
import shutil
import unittest
from datetime import date

from odoo.exceptions import UserError
from odoo.tests import HttpCase, tagged

from .common import CreditControlCommon

_logger = logging.getLogger(__name__)

# The browsers Odoo's test browser looks for (odoo.tests.common._find_executable, on Linux).
CHROME_NAMES = ("google-chrome", "chromium", "chromium-browser", "google-chrome-stable")
SKIP_REASON = (
    "Chromium is not installed: the browser tours of sale_credit_control are skipped "
    "(install chromium, chromium-browser or google-chrome to run them)."
)
ORDER_URL = "/odoo/action-sale.action_quotations_with_onboarding/%s"


@tagged("post_install", "-at_install")
class TestCreditTour(CreditControlCommon, HttpCase):
    """The override story in the browser, as a salesperson and a credit manager, and the
    credit screens (partner's Credit tab, held orders, a rating's breakdown)."""

    @classmethod
    def setUpClass(cls):
        if not any(shutil.which(name) for name in CHROME_NAMES):
            _logger.warning(SKIP_REASON)
            raise unittest.SkipTest(SKIP_REASON)
        super().setUpClass()
        # 400 owed on a 1,000 limit: a quotation of 1,500 needs 1,900.
        cls.tour_customer = cls.env["res.partner"].create({"name": "Tour Customer", "is_company": True})
        cls.set_limit(cls.tour_customer, 1000.0)
        cls.create_invoice(cls.tour_customer, 400.0)
        cls.order = cls.create_order(cls.tour_customer, 1500.0, user=cls.salesman, quantity=15.0)

    @classmethod
    def _held_order(cls):
        """A quotation of another customer that the credit check blocked."""
        customer = cls.env["res.partner"].create({"name": "Held Customer", "is_company": True})
        cls.set_limit(customer, 500.0)
        order = cls.create_order(customer, 900.0, user=cls.salesman)
        # Refused, as the callers assert (not assertRaises: its savepoint would undo the recorded refusal).
        with contextlib.suppress(UserError):
            order.with_user(cls.salesman).action_confirm()
        return order

    def test_override_story(self):
        order = self.order
        salesman = self.salesman.login
        self.start_tour(ORDER_URL % order.id, "sale_credit_control_request_override", login=salesman)
        self.env.invalidate_all()  # the browser's requests changed the records through their own cache
        approval = order.credit_approval_ids
        self.assertEqual(approval.state, "pending")
        self.assertEqual(approval.requested_by_id, self.salesman)
        self.assertIn("paid next week", approval.request_reason)
        self.assertEqual(approval.sudo().activity_ids.user_id, self.credit_manager)

        self.start_tour("/odoo", "sale_credit_control_approve_override", login=self.credit_manager.login)
        self.env.invalidate_all()
        self.assertEqual(approval.state, "approved")
        self.assertEqual(approval.approver_id, self.credit_manager)
        self.assertAlmostEqual(approval.approved_amount, 1600.0)
        self.assertEqual(approval.valid_until, date(2099, 12, 31))
        self.assertEqual(approval.decision_reason, "Paid by the end of the month")
        self.assertFalse(approval.sudo().activity_ids)

        self.start_tour(ORDER_URL % order.id, "sale_credit_control_confirm_approved", login=salesman)
        self.env.invalidate_all()
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.credit_check_state, "approved")
        self.assertFalse(order.sudo().activity_ids, "the salesperson's decision to-do is done")

    def test_credit_screens(self):
        self.profile_of(self.tour_customer).action_rate()
        self.assertTrue(self.profile_of(self.tour_customer).rating_id)
        held = self._held_order()
        self.assertEqual(held.credit_check_state, "blocked")
        login = self.credit_manager.login
        self.start_tour(
            f"/odoo/action-account.res_partner_action_customer/{self.tour_customer.id}",
            "sale_credit_control_partner_credit_tab",
            login=login,
        )
        self.start_tour(
            "/odoo/action-sale_credit_control.sale_order_credit_blocked_action",
            "sale_credit_control_held_orders",
            login=login,
        )
        self.start_tour(
            "/odoo/action-sale_credit_control.credit_rating_action",
            "sale_credit_control_rating_breakdown",
            login=login,
        )
