from odoo import Command
from odoo.tests import new_test_user, tagged

from .common import CreditControlCommon

HELD_NOTE = "The customer confirmed this quotation online, but the credit check blocks it"


@tagged("post_install", "-at_install")
class TestOnlineConfirmation(CreditControlCommon):
    """Quotations confirmed by the customer (portal signature, online payment).

    A blocked one must not give the customer an error page: it stays a quotation,
    the attempt is recorded and the salesperson and the credit manager get an activity.
    Limit 1,000 on the customer, amounts tax free.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.portal_user = new_test_user(
            cls.env,
            login="scc_portal_customer",
            groups="base.group_portal",
            partner_id=cls.contact.id,
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.hold_activity_type = cls.env.ref("sale_credit_control.mail_activity_type_credit_hold")
        cls.create_payment_provider()

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    def sign_online(self, order):
        """What the portal does when the customer signs: ``_validate_order`` on the
        sudo-ed order, as the customer's portal user."""
        return order.with_user(self.portal_user).sudo()._validate_order()

    def pay_online(self, order, amount):
        """A done online payment of ``amount`` for ``order``, then the confirmation the
        payment post-processing runs. Returns the orders it confirmed."""
        tx = self.done_transaction(amount, order.partner_invoice_id, order)
        return tx._check_amount_and_confirm_order()

    def assert_held(self, order, exposure_before, order_exposure, exposure_after):
        """The order stayed a quotation, with a held_online check carrying the figures,
        a chatter note and one hold activity each for the salesperson and the credit manager."""
        self.assertEqual(order.state, "draft")
        self.assertEqual(order.credit_check_state, "blocked")
        self.assertIn("Credit limit exceeded", order.credit_check_message)
        check = order.credit_check_ids
        self.assertEqual(len(check), 1)
        self.assertEqual(check.result, "held_online")
        self.assertAlmostEqual(check.credit_limit, 1000.0)
        self.assertAlmostEqual(check.exposure_before, exposure_before)
        self.assertAlmostEqual(check.order_amount, order_exposure)
        self.assertAlmostEqual(check.exposure_after, exposure_after)
        self.assertIn("Credit limit exceeded", check.reasons)
        notes = order.message_ids.filtered(lambda m: HELD_NOTE in (m.body or ""))
        self.assertEqual(len(notes), 1)
        self.assertIn("Credit limit exceeded", notes.body)
        activities = order.activity_ids.filtered(lambda a: a.activity_type_id == self.hold_activity_type)
        self.assertEqual(activities.user_id, self.salesman | self.credit_manager)
        self.assertEqual(len(activities), 2)
        self.assertIn("Credit limit exceeded", str(activities[0].note))

    # ------------------------------------------------------------
    # Portal signature
    # ------------------------------------------------------------

    def test_signed_blocked_quotation_is_held(self):
        """Open invoice 700 + signed quotation 400 = 1,100 > 1,000: held, no error."""
        self.create_invoice(self.customer, 700.0)
        order = self.create_order(self.contact, 400.0, user=self.salesman)

        self.sign_online(order)  # no exception: the customer sees no error page

        self.assert_held(order, exposure_before=700.0, order_exposure=400.0, exposure_after=1100.0)

    def test_signed_quotation_within_limit_is_confirmed(self):
        self.create_invoice(self.customer, 300.0)
        order = self.create_order(self.contact, 600.0, user=self.salesman)

        self.sign_online(order)

        self.assertEqual(order.state, "sale")
        self.assertEqual(order.credit_check_state, "ok")
        self.assertFalse(order.credit_check_ids)
        self.assertFalse(order.activity_ids.filtered(lambda a: a.activity_type_id == self.hold_activity_type))

    def test_signed_quotation_within_tolerance_is_confirmed_with_warning(self):
        """Tolerance 20 %: 700 + 400 = 1,100 is over the limit but under the ceiling of 1,200,
        so the online confirmation passes and the warning is recorded as in the back office."""
        self.company.credit_max_tolerance = 20.0
        self.profile_of(self.customer).tolerance_percent = 20.0
        self.create_invoice(self.customer, 700.0)
        order = self.create_order(self.contact, 400.0, user=self.salesman)

        self.sign_online(order)

        self.assertEqual(order.state, "sale")
        self.assertEqual(order.credit_check_state, "warning")
        self.assertEqual(order.credit_check_ids.mapped("result"), ["warning"])
        self.assertAlmostEqual(order.credit_check_ids.exposure_after, 1100.0)

    def test_signed_blocked_quotation_with_approval_is_confirmed(self):
        """An approved override covers the online confirmation as it covers the back office one."""
        self.create_invoice(self.customer, 700.0)
        order = self.create_order(self.contact, 400.0, user=self.salesman)
        approval = (
            self.env["credit.approval"]
            .with_user(self.salesman)
            .sudo()
            .create(
                {
                    "order_id": order.id,
                    "partner_id": self.customer.id,
                    "company_id": self.company.id,
                    "request_reason": "Long-standing customer",
                }
            )
        )
        approval.with_user(self.credit_manager).action_approve()
        self.assertEqual(approval.state, "approved")

        self.sign_online(order)

        self.assertEqual(order.state, "sale")
        self.assertEqual(order.credit_check_ids.mapped("result"), ["approved"])
        self.assertFalse(order.activity_ids.filtered(lambda a: a.activity_type_id == self.hold_activity_type))

    # ------------------------------------------------------------
    # Online payment
    # ------------------------------------------------------------

    def test_partial_payment_of_blocked_quotation_keeps_it_a_quotation(self):
        """Prepayment of 50 % required: 500 of 1,000 paid online reaches the confirmation
        amount, but open invoice 700 + unpaid 500 = 1,200 > 1,000: held."""
        self.create_invoice(self.customer, 700.0)
        order = self.create_order(self.contact, 1000.0, user=self.salesman)
        order.write({"require_payment": True, "prepayment_percent": 0.5})

        confirmed = self.pay_online(order, 500.0)

        self.assertFalse(confirmed)
        self.assertAlmostEqual(order.amount_paid, 500.0)
        self.assert_held(order, exposure_before=700.0, order_exposure=500.0, exposure_after=1200.0)

    def test_partial_payment_within_limit_confirms(self):
        """300 paid of 1,000: unpaid 700 alone is within the limit of 1,000."""
        order = self.create_order(self.contact, 1000.0, user=self.salesman)
        order.write({"require_payment": True, "prepayment_percent": 0.3})

        confirmed = self.pay_online(order, 300.0)

        self.assertEqual(confirmed, order)
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.credit_check_state, "ok")
        self.assertFalse(order.credit_check_ids)

    def test_fully_prepaid_order_passes_over_the_limit(self):
        """The customer already owes 1,500 (limit 1,000), but an order paid in full lends
        nothing: it is confirmed."""
        self.create_invoice(self.customer, 1500.0)
        order = self.create_order(self.contact, 400.0, user=self.salesman)

        confirmed = self.pay_online(order, 400.0)

        self.assertEqual(confirmed, order)
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.credit_check_state, "ok")
        self.assertFalse(order.credit_check_ids)
        self.assertFalse(order.activity_ids.filtered(lambda a: a.activity_type_id == self.hold_activity_type))

    def test_fully_prepaid_order_of_customer_on_hold_passes(self):
        self.profile_of(self.customer)._put_on_hold("Disputed invoices")
        order = self.create_order(self.contact, 400.0, user=self.salesman)

        confirmed = self.pay_online(order, 400.0)

        self.assertEqual(confirmed, order)
        self.assertEqual(order.state, "sale")

    def test_unpaid_quotation_of_customer_on_hold_is_held_when_signed(self):
        self.profile_of(self.customer)._put_on_hold("Disputed invoices")
        order = self.create_order(self.contact, 100.0, user=self.salesman)

        self.sign_online(order)

        self.assertEqual(order.state, "draft")
        self.assertEqual(order.credit_check_ids.mapped("result"), ["held_online"])
        self.assertIn("on credit hold", order.credit_check_ids.reasons)
