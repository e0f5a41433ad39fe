import ast
import contextlib
from datetime import timedelta

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import freeze_time, tagged

from .common import CreditControlCommon


@tagged("post_install", "-at_install")
class TestHeldQueue(CreditControlCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ready_type = cls.env.ref("sale_credit_control.mail_activity_type_credit_ready")
        cls.cron = cls.env.ref("sale_credit_control.ir_cron_credit_reevaluate_held")

    def _block(self, order, user=None):
        # Not assertRaises: its savepoint would roll back the blocked status, which the
        # refusal records in a transaction of its own. The refusal is asserted below.
        with contextlib.suppress(UserError):
            self.confirm_as(order, user or self.salesman)
        self.assertEqual(order.credit_check_state, "blocked")

    def _ready_activities(self, order):
        return order.activity_ids.filtered(lambda a: a.activity_type_id == self.ready_type)

    def assertReady(self, order):
        self.assertEqual(order.credit_check_state, "ready")
        self.assertEqual(order.state, "draft", "re-evaluation never confirms")
        activity = self._ready_activities(order)
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.salesman)
        self.assertIn("The credit check passes now", "".join(order.message_ids.mapped("body")))

    def test_held_order_released_by_a_reconciled_payment(self):
        invoice = self.create_invoice(self.customer, 800.0)
        order = self.create_order(self.customer, 400.0, user=self.salesman)
        self._block(order)
        self.assertIn("1,200.00", order.credit_check_message)
        # A partial payment that is not enough: still held, with the figures of today.
        self.pay(invoice, amount=100.0)
        self.assertEqual(order.credit_check_state, "blocked")
        self.assertIn("700.00", order.credit_check_message)
        self.assertIn("1,100.00", order.credit_check_message)
        self.assertFalse(self._ready_activities(order))
        # The rest is paid and reconciled: the order passes now.
        self.pay(invoice, amount=700.0)
        self.assertEqual(invoice.payment_state, "paid")
        self.assertReady(order)
        self.assertFalse(order.credit_check_message)
        # The salesperson confirms it; the check runs again and passes.
        self.confirm_as(order, self.salesman)
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.credit_check_state, "ok")
        self.assertFalse(self._ready_activities(order))

    def test_held_order_released_by_a_limit_increase(self):
        order = self.create_order(self.customer, 1500.0, user=self.salesman)
        self._block(order)
        self.set_limit(self.customer, 1200.0)
        self.assertEqual(order.credit_check_state, "blocked")
        self.assertIn("1,200.00", order.credit_check_message)
        self.set_limit(self.customer, 2000.0)
        self.assertReady(order)
        self.confirm_as(order, self.salesman)
        self.assertEqual(order.state, "sale")

    def test_held_order_released_by_a_hold_release(self):
        profile = self.profile_of(self.customer)
        profile.with_user(self.credit_manager)._put_on_hold("Dispute on delivery 42")
        order = self.create_order(self.customer, 100.0, user=self.salesman)
        self._block(order)
        self.assertIn("Dispute on delivery 42", order.credit_check_message)
        profile.with_user(self.credit_manager).action_release_hold()
        self.assertReady(order)

    def test_ready_order_held_again_when_the_customer_is_put_on_hold(self):
        order = self.create_order(self.customer, 1500.0, user=self.salesman)
        self._block(order)
        self.set_limit(self.customer, 2000.0)
        self.assertReady(order)
        self.profile_of(self.customer).with_user(self.credit_manager)._put_on_hold("Bounced cheque")
        self.assertEqual(order.credit_check_state, "blocked")
        self.assertIn("Bounced cheque", order.credit_check_message)
        self.assertFalse(self._ready_activities(order))

    def test_profile_setting_change_releases(self):
        profile = self.profile_of(self.customer)
        profile.limit_valid_until = self.today - timedelta(days=1)
        order = self.create_order(self.customer, 100.0, user=self.salesman)
        self._block(order)
        self.assertIn("expired", order.credit_check_message)
        profile.with_user(self.credit_manager).limit_valid_until = self.today + timedelta(days=90)
        self.assertReady(order)

    def test_ready_orders_of_a_customer_fit_the_limit_together(self):
        """Oldest first: the quotations marked ready do not pass the limit together."""
        invoice = self.create_invoice(self.customer, 900.0)
        first = self.create_order(self.customer, 600.0, user=self.salesman)
        second = self.create_order(self.customer, 300.0, user=self.salesman)
        third = self.create_order(self.customer, 500.0, user=self.salesman)
        for order in (first, second, third):
            self._block(order)
        self.pay(invoice)
        self.assertEqual(first.credit_check_state, "ready")
        self.assertEqual(second.credit_check_state, "ready")  # 600 + 300 = 900 <= 1,000
        self.assertEqual(third.credit_check_state, "blocked")  # 900 + 500 > 1,000
        self.assertIn("1,400.00", third.credit_check_message)

    def test_rejected_override_becomes_ready(self):
        invoice = self.create_invoice(self.customer, 800.0)
        order = self.create_order(self.customer, 400.0, user=self.salesman)
        self._block(order)
        order.sudo().credit_check_state = "rejected"
        self.pay(invoice)
        self.assertReady(order)

    def test_order_covered_by_an_approval_is_not_in_the_queue_twice(self):
        """Approved orders are not held: they stay 'approved', the queue leaves them alone."""
        order = self.create_order(self.customer, 1500.0, user=self.salesman)
        self._block(order)
        order.sudo().credit_check_state = "approved"
        self.set_limit(self.customer, 2000.0)
        self.assertEqual(order.credit_check_state, "approved")

    def test_nightly_cron_reevaluates_all_held_orders(self):
        big = self.create_order(self.customer, 800.0, user=self.salesman)
        big.action_confirm()
        order = self.create_order(self.customer, 400.0, user=self.salesman)
        self._block(order)
        # Cancelling the other order lowers the exposure but triggers nothing by itself.
        big._action_cancel()
        self.assertEqual(order.credit_check_state, "blocked")
        self.cron.method_direct_trigger()
        self.assertReady(order)
        self.assertTrue(order.credit_reevaluated_date)
        # A second run the same day leaves it alone (bounded: once a day per order).
        evaluated = order.credit_reevaluated_date
        with freeze_time(fields.Datetime.now() + timedelta(hours=1)):
            self.cron.method_direct_trigger()
        self.assertEqual(order.credit_reevaluated_date, evaluated)

    def test_cron_batches_taken_up_after_a_crash(self):
        """Batches of customers by id, each committed by the cron; a run that stops after its
        first batch (as a crash after that batch's commit) leaves the others to the next run,
        which does not re-evaluate the first batch again."""
        orders = self.env["sale.order"]
        for index in range(3):
            partner = self.env["res.partner"].create({"name": f"Held {index}", "is_company": True})
            self.set_limit(partner, 100.0)
            order = self.create_order(partner, 500.0, user=self.salesman)
            self._block(order)
            orders |= order
        first_batch = orders.sorted(lambda order: order.partner_id.id)[:2]
        first_batch._credit_reevaluate_held()  # the batch that was committed before the crash
        stamped = {order: order.credit_reevaluated_date for order in first_batch}
        with freeze_time(fields.Datetime.now() + timedelta(hours=1)):
            done = self.env["sale.order"]._cron_credit_reevaluate_held(batch_size=2)
        self.assertEqual(done & orders, orders - first_batch)
        self.assertTrue(all(orders.mapped("credit_reevaluated_date")))
        for order, date in stamped.items():
            self.assertEqual(order.credit_reevaluated_date, date, "not re-evaluated twice")
        self.assertEqual(orders.mapped("credit_check_state"), ["blocked"] * 3)
        self.assertFalse(self.env["sale.order"]._cron_credit_reevaluate_held(batch_size=2) & orders)

    def test_cron_decides_as_one_by_one(self):
        """The batch's exposure figures, computed for all its customers together, give each
        quotation the decision and the figures its own check gives."""
        invoice = self.create_invoice(self.customer, 900.0)
        other = self.env["res.partner"].create({"name": "Held Other", "is_company": True})
        self.set_limit(other, 300.0)
        self.create_invoice(other, 200.0)
        first = self.create_order(self.customer, 600.0, user=self.salesman)
        second = self.create_order(self.customer, 300.0, user=self.salesman)
        third = self.create_order(self.customer, 500.0, user=self.salesman)
        other_order = self.create_order(other, 150.0, user=self.salesman)
        for order in (first, second, third, other_order):
            self._block(order)
        self.pay(invoice)
        # As if the payment had re-evaluated nothing: all three held, not re-evaluated today.
        (first | second | third).sudo().write(
            {"credit_check_state": "blocked", "credit_reevaluated_date": False}
        )
        self.env["sale.order"]._cron_credit_reevaluate_held(batch_size=1)
        self.assertEqual(first.credit_check_state, "ready")
        self.assertEqual(second.credit_check_state, "ready")
        self.assertEqual(third.credit_check_state, "blocked")
        self.assertIn("1,400.00", third.credit_check_message)
        self.assertEqual(other_order.credit_check_state, "blocked")
        self.assertIn("350.00", other_order.credit_check_message)  # 200 + 150 over 300

    def test_queue_fields_and_action(self):
        order = self.create_order(self.customer, 1500.0, user=self.salesman)
        with freeze_time(fields.Datetime.now() - timedelta(days=3)):
            self._block(order)
        check = order.credit_check_ids.filtered(lambda c: c.result == "blocked")
        self.assertEqual(order.credit_held_since, check.date)
        self.assertEqual(order.credit_held_days, 3)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sale_credit_control.sale_order_credit_blocked_action"
        )
        self.assertEqual(action["name"], "Held Orders")
        domain = ast.literal_eval(action["domain"])
        held = self.env["sale.order"].with_user(self.credit_manager).search(domain)
        self.assertIn(order, held)
        within = self.create_order(self.customer, 10.0, user=self.salesman)
        self.assertNotIn(within, held)
        self.assertEqual(
            self.env.ref("sale_credit_control.sale_order_credit_blocked_menu").name, "Held Orders"
        )
        # Ready orders stay listed (with their status) until someone confirms them.
        self.set_limit(self.customer, 2000.0)
        self.assertIn(order, self.env["sale.order"].search(domain))

    def test_guarantee_hook_reevaluates_a_customer(self):
        """The documented entry point a guarantee (or any new exposure source) calls."""
        big = self.create_order(self.customer, 800.0, user=self.salesman)
        big.action_confirm()
        order = self.create_order(self.customer, 400.0, user=self.salesman)
        self._block(order)
        big._action_cancel()  # the exposure drops, no trigger fires
        self.assertEqual(order.credit_check_state, "blocked")
        ready = self.env["sale.order"]._credit_reevaluate_partners(self.contact, self.company)
        self.assertEqual(ready, order)
        self.assertReady(order)
        self.assertFalse(self.env["sale.order"]._credit_reevaluate_partners(self.customer, self.company))
