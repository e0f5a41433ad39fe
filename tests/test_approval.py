import contextlib
from datetime import timedelta

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, freeze_time, new_test_user, tagged

from .common import CreditControlCommon


@tagged("post_install", "-at_install")
class TestCreditApproval(CreditControlCommon):
    """Override approvals: request, decide, and what an approval does (and no longer does)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # 400 already owed (due today, so not overdue): an order of 800 needs 1,200 of a 1,000 limit.
        cls.create_invoice(cls.customer, 400.0)
        cls.activity_type = cls.env.ref("sale_credit_control.mail_activity_type_credit_approval")

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    def _blocked_order(self, amount=800.0, user=None):
        """A quotation whose confirmation by ``user`` was refused by the credit check."""
        user = user or self.salesman
        order = self.create_order(self.customer, amount, user=user)
        # Refused, as asserted below (not assertRaises: its savepoint would undo the recorded refusal).
        with contextlib.suppress(UserError):
            self.confirm_as(order, user)
        self.assertEqual(order.state, "draft")
        self.assertEqual(order.credit_check_state, "blocked")
        return order

    def _request(self, order, user, reason="Strategic customer, paying by the end of the month"):
        """Request an approval as ``user`` through the wizard's form; return the new approval."""
        before = order.credit_approval_ids
        wizard_form = Form(
            self.env["credit.approval.request"].with_user(user).with_context(default_order_id=order.id)
        )
        wizard_form.reason = reason
        wizard_form.save().action_request()
        order.invalidate_recordset(["credit_approval_ids", "credit_check_state"])
        approval = order.credit_approval_ids - before
        self.assertEqual(len(approval), 1)
        # Seen by the test's superuser: activities on approvals are for those who may decide.
        return self.env["credit.approval"].browse(approval.id)

    def _exposure(self):
        profile = self.profile_of(self.customer)
        profile.invalidate_recordset(["exposure_amount"])
        return profile.exposure_amount

    def _add_line(self, order, amount, user=None):
        env_order = order.with_user(user) if user else order
        env_order.write(
            {
                "order_line": [
                    Command.create(
                        {
                            "product_id": self.product.id,
                            "product_uom_qty": 1.0,
                            "price_unit": amount,
                            "tax_id": [Command.clear()],
                        }
                    )
                ]
            }
        )

    # ------------------------------------------------------------
    # Request
    # ------------------------------------------------------------

    def test_request_creates_pending_approval_with_snapshot(self):
        order = self._blocked_order()
        self.assertTrue(order.with_user(self.salesman).credit_can_request_approval)

        approval = self._request(order, self.salesman, reason="Large project order, CFO confirmed payment")

        self.assertEqual(approval.state, "pending")
        self.assertEqual(approval.requested_by_id, self.salesman)
        self.assertEqual(approval.partner_id, self.customer)
        self.assertEqual(approval.company_id, self.company)
        self.assertEqual(approval.request_reason, "Large project order, CFO confirmed payment")
        self.assertFalse(approval.approver_id)
        self.assertFalse(approval.decision_date)
        self.assertNotEqual(approval.name, "New")
        # Snapshot of the figures the request was made on.
        self.assertAlmostEqual(approval.snapshot_order_amount, 800.0)
        self.assertAlmostEqual(approval.snapshot_limit, 1000.0)
        self.assertAlmostEqual(approval.snapshot_exposure_before, 400.0)
        self.assertAlmostEqual(approval.snapshot_exposure_after, 1200.0)
        self.assertAlmostEqual(
            approval.approved_amount, 800.0
        )  # proposed by the system, the approver may change it
        self.assertIn("Credit limit exceeded", approval.snapshot_reasons)
        for figure in ("1,000.00", "400.00", "800.00", "1,200.00"):
            self.assertIn(figure, approval.snapshot_reasons)
        # The company's responsible credit manager has something to do.
        activity = approval.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.credit_manager)
        self.assertEqual(activity.activity_type_id, self.activity_type)
        self.assertIn(order.name, activity.summary)
        # The order says it waits, and its chatter tells who asked and why.
        self.assertEqual(order.credit_check_state, "pending")
        self.assertFalse(order.credit_can_request_approval)
        note = order.message_ids.filtered(lambda m: approval.name in (m.body or "") and "requested" in m.body)
        self.assertEqual(len(note), 1)
        self.assertIn("Large project order, CFO confirmed payment", note.body)
        self.assertEqual(note.subtype_id, self.env.ref("mail.mt_note"))
        # Still a quotation: a pending request does not let the order through.
        with self.assertRaises(UserError):
            self.confirm_as(order, self.salesman)

    def test_request_needs_a_reason(self):
        order = self._blocked_order()
        Wizard = self.env["credit.approval.request"].with_user(self.salesman)
        for blank in ("", "   \n "):
            wizard = Wizard.create({"order_id": order.id, "reason": blank})
            with self.assertRaises(UserError):
                wizard.action_request()
        self.assertFalse(order.credit_approval_ids)
        self.assertEqual(order.credit_check_state, "blocked")
        # The form does not even let the wizard be saved without a reason.
        wizard_form = Form(Wizard.with_context(default_order_id=order.id))
        with self.assertRaises(AssertionError):
            wizard_form.save()

    def test_second_request_while_pending_is_refused(self):
        order = self._blocked_order()
        self._request(order, self.salesman)
        with self.assertRaises(UserError):
            self._request(order, self.salesman_2, reason="Asking again")
        self.assertEqual(len(order.credit_approval_ids), 1)

    def test_request_on_confirmed_order_is_refused(self):
        order = self.create_order(self.customer, 500.0, user=self.salesman)
        self.confirm_as(order, self.salesman)
        wizard = (
            self.env["credit.approval.request"]
            .with_user(self.salesman)
            .create({"order_id": order.id, "reason": "No reason to ask"})
        )
        with self.assertRaises(UserError):
            wizard.action_request()
        self.assertFalse(order.credit_approval_ids)

    # ------------------------------------------------------------
    # Decision
    # ------------------------------------------------------------

    def test_own_documents_salesperson_sees_only_their_orders_checks_and_approvals(self):
        """As Odoo's sale: a salesperson limited to their own documents reads neither the credit
        checks nor the approvals of a colleague's order; an all-documents one and managers do."""
        order = self._blocked_order()
        approval = self._request(order, self.salesman)
        check = order.credit_check_ids[:1]
        self.assertTrue(check)
        for records in (check, approval):
            records.with_user(self.salesman).read(["order_id"])
            with self.assertRaises(AccessError):
                records.with_user(self.salesman_2).read(["order_id"])
            self.assertFalse(records.with_user(self.salesman_2).search([("id", "=", records.id)]))
            records.with_user(self.credit_manager).read(["order_id"])
            records.with_user(self.auditor).read(["order_id"])
        all_documents = new_test_user(
            self.env,
            login="scc_salesman_all_docs",
            groups="sales_team.group_sale_salesman_all_leads",
            company_id=self.company.id,
            company_ids=[Command.set(self.company.ids)],
        )
        check.with_user(all_documents).read(["order_id"])
        approval.with_user(all_documents).read(["order_id"])

    def test_manager_approves_and_order_can_be_confirmed(self):
        order = self._blocked_order()
        approval = self._request(order, self.salesman)

        approval.with_user(self.credit_manager).action_approve()

        self.assertEqual(approval.state, "approved")
        self.assertEqual(approval.approver_id, self.credit_manager)
        self.assertTrue(approval.decision_date)
        # Without an amount given, the approval covers the order total requested on.
        self.assertAlmostEqual(approval.approved_amount, 800.0)
        self.assertTrue(approval.is_covering)
        self.assertFalse(approval.activity_ids, "the manager's activity is done")
        self.assertEqual(order.credit_check_state, "approved")
        decided = order.message_ids.filtered(
            lambda m: approval.name in (m.body or "") and "approved" in m.body
        )
        self.assertEqual(len(decided), 1)
        # The requester is told.
        todo = order.activity_ids.filtered(lambda a: a.user_id == self.salesman)
        self.assertEqual(len(todo), 1)
        self.assertEqual(
            todo.activity_type_id, self.env.ref("sale_credit_control.mail_activity_type_credit_decision")
        )

        self.confirm_as(order, self.salesman)

        self.assertEqual(order.state, "sale")
        self.assertFalse(todo.exists(), "confirming the order completes the salesperson's to-do")
        self.assertEqual(order.credit_check_state, "approved")
        passed = order.credit_check_ids.filtered(lambda c: c.result == "approved")
        self.assertEqual(len(passed), 1)
        self.assertEqual(passed.user_id, self.salesman)
        self.assertAlmostEqual(passed.credit_limit, 1000.0)
        self.assertAlmostEqual(passed.exposure_before, 400.0)
        self.assertAlmostEqual(passed.exposure_after, 1200.0)
        self.assertAlmostEqual(passed.order_amount, 800.0)
        self.assertEqual(
            order.credit_check_ids.filtered(lambda c: c.result == "blocked").user_id, self.salesman
        )
        # The confirmed order now counts in the exposure: 400 receivable + 800 order.
        self.assertAlmostEqual(self._exposure(), 1200.0)

    def test_manager_approves_with_amount_and_validity(self):
        order = self._blocked_order()
        approval = self._request(order, self.salesman)
        valid_until = self.today + timedelta(days=7)

        manager_approval = approval.with_user(self.credit_manager)
        manager_approval.write(
            {
                "approved_amount": 900.0,
                "valid_until": valid_until,
                "decision_reason": "Covered by next week's payment",
            }
        )
        manager_approval.action_approve()

        self.assertEqual(approval.state, "approved")
        self.assertAlmostEqual(approval.approved_amount, 900.0)
        self.assertEqual(approval.valid_until, valid_until)
        # Decided approvals are frozen.
        with self.assertRaises(UserError):
            manager_approval.write({"approved_amount": 5000.0})
        # Growing within the approved amount is still covered: 850 <= 900.
        self._add_line(order, 50.0, user=self.salesman)
        self.assertAlmostEqual(order.amount_total, 850.0)
        self.confirm_as(order, self.salesman)
        self.assertEqual(order.state, "sale")

    def test_requester_cannot_approve_own_request(self):
        order = self._blocked_order(user=self.credit_manager)
        approval = self._request(order, self.credit_manager)
        with self.assertRaises(UserError):
            approval.with_user(self.credit_manager).action_approve()
        with self.assertRaises(UserError):
            approval.with_user(self.credit_manager).write({"approved_amount": 5000.0})
        self.assertEqual(approval.state, "pending")
        # Another credit manager may decide.
        approval.with_user(self.credit_manager_2).action_approve()
        self.assertEqual(approval.state, "approved")
        self.assertEqual(approval.approver_id, self.credit_manager_2)

    def test_request_of_responsible_manager_goes_to_other_managers(self):
        order = self._blocked_order(user=self.credit_manager)
        approval = self._request(order, self.credit_manager)
        # Someone else than the requester must be asked to decide.
        self.assertTrue(approval.activity_ids)
        self.assertNotIn(self.credit_manager, approval.activity_ids.user_id)
        self.assertIn(self.credit_manager_2, approval.activity_ids.user_id)

    def test_salesman_cannot_approve(self):
        order = self._blocked_order()
        approval = self._request(order, self.salesman)
        with self.assertRaises(AccessError):
            approval.with_user(self.salesman_2).action_approve()
        with self.assertRaises(AccessError):
            approval.with_user(self.salesman).action_approve()
        with self.assertRaises(AccessError):
            approval.with_user(self.salesman_2).write({"approved_amount": 5000.0})
        with self.assertRaises(AccessError):
            approval.with_user(self.auditor).action_approve()
        self.assertEqual(approval.state, "pending")
        with self.assertRaises(UserError):
            self.confirm_as(order, self.salesman)

    def test_reject_needs_a_reason_and_keeps_order_blocked(self):
        order = self._blocked_order()
        approval = self._request(order, self.salesman)
        manager_approval = approval.with_user(self.credit_manager)
        with self.assertRaises(UserError):
            manager_approval.action_reject()
        manager_approval.decision_reason = "   "
        with self.assertRaises(UserError):
            manager_approval.action_reject()
        self.assertEqual(approval.state, "pending")

        manager_approval.decision_reason = "Two invoices already 20 days late"
        manager_approval.action_reject()

        self.assertEqual(approval.state, "rejected")
        self.assertEqual(approval.approver_id, self.credit_manager)
        self.assertFalse(approval.is_covering)
        self.assertFalse(approval.activity_ids)
        self.assertEqual(order.credit_check_state, "rejected")
        rejected = order.message_ids.filtered(
            lambda m: approval.name in (m.body or "") and "rejected" in m.body
        )
        self.assertEqual(len(rejected), 1)
        self.assertIn("Two invoices already 20 days late", rejected.body)
        with self.assertRaises(UserError):
            self.confirm_as(order, self.salesman)
        self.assertEqual(order.state, "draft")
        # A rejected (not pending) request may be followed by a new one.
        self.assertTrue(order.with_user(self.salesman).credit_can_request_approval)
        second = self._request(order, self.salesman, reason="Customer paid the two late invoices")
        self.assertEqual(second.state, "pending")

    def test_decided_approval_cannot_be_decided_again(self):
        order = self._blocked_order()
        approval = self._request(order, self.salesman)
        approval.with_user(self.credit_manager).action_approve()
        with self.assertRaises(UserError):
            approval.with_user(self.credit_manager_2).action_approve()
        approval_as_manager = approval.with_user(self.credit_manager_2)
        with self.assertRaises(UserError):
            approval_as_manager.action_reject()
        self.assertEqual(approval.state, "approved")
        self.assertEqual(approval.approver_id, self.credit_manager)

    # ------------------------------------------------------------
    # What an approval covers
    # ------------------------------------------------------------

    def test_order_grown_after_approval_is_blocked_again(self):
        order = self._blocked_order()
        approval = self._request(order, self.salesman)
        approval.with_user(self.credit_manager).action_approve()
        self.assertAlmostEqual(approval.approved_amount, 800.0)

        self._add_line(order, 100.0, user=self.salesman)

        self.assertAlmostEqual(order.amount_total, 900.0)
        self.assertFalse(approval.is_covering)
        with self.assertRaises(UserError) as error:
            self.confirm_as(order, self.salesman)
        self.assertIn("Credit limit exceeded", str(error.exception))
        self.assertIn("1,300.00", str(error.exception))
        self.assertEqual(order.state, "draft")

    def test_expired_approval_no_longer_covers(self):
        order = self._blocked_order()
        approval = self._request(order, self.salesman)
        manager_approval = approval.with_user(self.credit_manager)
        manager_approval.valid_until = self.today
        manager_approval.action_approve()

        with freeze_time(self.today + timedelta(days=1)):
            approval.invalidate_recordset(["is_covering"])
            self.assertFalse(approval.is_covering)
            with self.assertRaises(UserError):
                self.confirm_as(order, self.salesman)
            self.assertEqual(order.state, "draft")

        # On its last valid day it still covers.
        approval.invalidate_recordset(["is_covering"])
        self.assertTrue(approval.is_covering)
        self.confirm_as(order, self.salesman)
        self.assertEqual(order.state, "sale")

    def test_approval_covers_only_its_own_order(self):
        order = self._blocked_order()
        approval = self._request(order, self.salesman)
        approval.with_user(self.credit_manager).action_approve()
        other = self.create_order(self.customer, 700.0, user=self.salesman)
        with self.assertRaises(UserError):
            self.confirm_as(other, self.salesman)
        self.assertEqual(other.state, "draft")

    # ------------------------------------------------------------
    # Amending confirmed orders
    # ------------------------------------------------------------

    def test_amending_confirmed_order_beyond_limit_is_refused(self):
        # 5 units at the product's price of 100.
        order = self.create_order(self.customer, 500.0, user=self.salesman, quantity=5.0)
        self.confirm_as(order, self.salesman)
        self.assertEqual(order.state, "sale")
        line = order.order_line
        self.assertAlmostEqual(line.price_unit, 100.0)

        # New line: 400 owed + 500 + 200 = 1,100 > 1,000.
        with self.assertRaises(UserError) as error:
            self._add_line(order, 200.0, user=self.salesman)
        message = str(error.exception)
        self.assertIn("cannot grow", message)
        for figure in ("500.00", "700.00", "1,000.00", "1,100.00"):
            self.assertIn(figure, message)
        order.invalidate_recordset()
        self.assertEqual(order.order_line, line)
        self.assertAlmostEqual(order.amount_total, 500.0)

        # More of the existing line: 400 owed + 7 x 100 = 1,100 > 1,000.
        with self.assertRaises(UserError):
            line.with_user(self.salesman).write({"product_uom_qty": 7.0})
        order.invalidate_recordset()
        line.invalidate_recordset()
        self.assertAlmostEqual(line.product_uom_qty, 5.0)
        self.assertAlmostEqual(order.amount_total, 500.0)
        self.assertAlmostEqual(self._exposure(), 900.0)

        # Up to the limit it is accepted: 400 owed + 6 x 100 = 1,000.
        line.with_user(self.salesman).write({"product_uom_qty": 6.0})
        self.assertAlmostEqual(order.amount_total, 600.0)
        self.assertAlmostEqual(self._exposure(), 1000.0)

    def test_amending_confirmed_order_within_limit_works(self):
        order = self.create_order(self.customer, 500.0, user=self.salesman)
        self.confirm_as(order, self.salesman)

        # 400 + 500 + 100 = 1,000: exactly the limit.
        self._add_line(order, 100.0, user=self.salesman)

        self.assertEqual(len(order.order_line), 2)
        self.assertAlmostEqual(order.amount_total, 600.0)
        self.assertAlmostEqual(self._exposure(), 1000.0)
        # Amending downward is never checked.
        order.order_line[1].with_user(self.salesman).write({"price_unit": 50.0})
        self.assertAlmostEqual(order.amount_total, 550.0)

    # ------------------------------------------------------------
    # Keeping the record
    # ------------------------------------------------------------

    def test_only_system_administrators_delete_approvals(self):
        order = self._blocked_order()
        approval = self._request(order, self.salesman)
        approval.with_user(self.credit_manager).action_approve()
        for user in (self.credit_manager, self.credit_manager_2, self.salesman, self.auditor):
            with self.assertRaises(AccessError):
                approval.with_user(user).unlink()
        self.assertTrue(approval.exists())

        admin = new_test_user(
            self.env,
            login="scc_approval_admin",
            groups="base.group_system,sale_credit_control.group_credit_user",
            company_id=self.company.id,
            company_ids=[Command.set(self.company.ids)],
        )
        approval.with_user(admin).unlink()
        self.assertFalse(approval.exists())
