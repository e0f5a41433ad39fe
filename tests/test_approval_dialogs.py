from datetime import timedelta

from lxml import etree

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged

from . import test_approval
from .common import CreditControlCommon

DECISION_ACTIVITY = "sale_credit_control.mail_activity_type_credit_decision"
APPROVAL_ACTIVITY = "sale_credit_control.mail_activity_type_credit_approval"


@tagged("post_install", "-at_install")
class TestApprovalDialogs(CreditControlCommon):
    """The credit manager decides through dialogs (amount, expiry date, note; or the reason),
    confirming the order closes the to-dos, and companies without credit control see no badge."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # 400 owed: an order of 800 needs 1,200 of a 1,000 limit.
        cls.invoice = cls.create_invoice(cls.customer, 400.0)

    # Reuse the request helpers of the approval tests.
    _blocked_order = test_approval.TestCreditApproval._blocked_order
    _request = test_approval.TestCreditApproval._request

    def _pending_approval(self):
        order = self._blocked_order()
        return order, self._request(order, self.salesman)

    def _dialog(self, approval, decision, user=None):
        """The dialog the approval's button opens, as ``user`` (the credit manager by default)."""
        approval = approval.with_user(user or self.credit_manager)
        action = (
            approval.action_open_approve_dialog()
            if decision == "approve"
            else approval.action_open_reject_dialog()
        )
        self.assertEqual(action["res_model"], "credit.approval.decide")
        self.assertEqual(action["target"], "new")
        view_id = action["views"][0][0]
        wizard_model = self.env["credit.approval.decide"].with_user(user or self.credit_manager)
        return Form(wizard_model.with_context(**action["context"]), view=view_id)

    def _done_activity_messages(self, record, xmlid):
        activity_type = self.env.ref(xmlid)
        return record.message_ids.filtered(lambda m: m.mail_activity_type_id == activity_type)

    # ------------------------------------------------------------
    # Approve dialog
    # ------------------------------------------------------------

    def test_approve_dialog_proposes_order_total_and_company_validity(self):
        self.company.credit_approval_validity_days = 10
        _order, approval = self._pending_approval()

        dialog = self._dialog(approval, "approve")

        self.assertAlmostEqual(dialog.approved_amount, 800.0)
        self.assertEqual(dialog.valid_until, self.today + timedelta(days=10))
        self.assertAlmostEqual(dialog.order_amount, 800.0)
        self.assertFalse(dialog.below_order_amount)
        # A validity of 0 days proposes no expiry date.
        self.company.credit_approval_validity_days = 0
        self.assertFalse(self._dialog(approval, "approve").valid_until)

    def test_default_validity_is_thirty_days_and_set_in_settings(self):
        company = self.env["res.company"].create({"name": "Fresh Credit Company"})
        self.assertEqual(company.credit_approval_validity_days, 30)
        settings = self.env["res.config.settings"].create({"credit_approval_validity_days": 45})
        settings.execute()
        self.assertEqual(self.env.company.credit_approval_validity_days, 45)
        with self.assertRaises(ValidationError):
            self.company.credit_approval_validity_days = -1

    def test_approve_through_dialog_records_the_decision_and_lets_the_order_through(self):
        order, approval = self._pending_approval()
        valid_until = self.today + timedelta(days=5)

        dialog = self._dialog(approval, "approve")
        dialog.approved_amount = 850.0
        dialog.valid_until = valid_until
        dialog.note = "Paying the overdue part on Friday"
        dialog.save().action_confirm()

        self.assertEqual(approval.state, "approved")
        self.assertEqual(approval.approver_id, self.credit_manager)
        self.assertAlmostEqual(approval.approved_amount, 850.0)
        self.assertEqual(approval.valid_until, valid_until)
        self.assertEqual(approval.decision_reason, "Paying the overdue part on Friday")
        self.assertEqual(order.credit_check_state, "approved")
        # The manager's activity is marked done (a "done" message), not deleted silently.
        self.assertFalse(approval.activity_ids)
        self.assertEqual(len(self._done_activity_messages(approval, APPROVAL_ACTIVITY)), 1)

        self.confirm_as(order, self.salesman)
        self.assertEqual(order.state, "sale")

    def test_approve_below_order_total_warns_and_does_not_cover(self):
        order, approval = self._pending_approval()
        dialog = self._dialog(approval, "approve")
        dialog.approved_amount = 700.0
        self.assertTrue(dialog.below_order_amount)
        dialog.save().action_confirm()

        self.assertEqual(approval.state, "approved")
        self.assertFalse(approval.is_covering)
        self.assertIsNotNone(self.try_confirm(order))
        self.assertEqual(order.state, "draft")

    def test_approve_refuses_meaningless_figures(self):
        _order, approval = self._pending_approval()
        manager_approval = approval.with_user(self.credit_manager)
        yesterday = self.today - timedelta(days=1)
        for amount, until, expected in (
            (0.0, None, "must be more than zero"),
            (-100.0, None, "must be more than zero"),
            (float("nan"), None, "not a number"),
            (float("inf"), None, "infinity"),
            (1e16, None, "at most"),
            ("a lot", None, "must be more than zero"),
            (800.0, yesterday, "the date is past"),
            (800.0, "someday", "is not a date"),
        ):
            with self.subTest(amount=amount, until=until):
                with self.assertRaises(UserError) as error:
                    manager_approval.action_approve(approved_amount=amount, valid_until=until)
                self.assertIn(expected, str(error.exception))
                self.assertIn(approval.name, str(error.exception))
        self.assertEqual(approval.state, "pending")
        # The same check holds for the dialog.
        dialog = self._dialog(approval, "approve")
        dialog.approved_amount = -1.0
        with self.assertRaises(UserError):
            dialog.save().action_confirm()
        self.assertEqual(approval.state, "pending")
        # Today is a valid last day.
        manager_approval.action_approve(approved_amount=800.0, valid_until=self.today)
        self.assertEqual(approval.valid_until, self.today)

    def test_only_another_credit_manager_opens_or_confirms_the_dialogs(self):
        order, approval = self._pending_approval()
        for decision in ("approve", "reject"):
            with self.subTest(decision=decision):
                with self.assertRaises(AccessError):
                    self._dialog(approval, decision, user=self.salesman)
                with self.assertRaises(AccessError):
                    self.env["credit.approval.decide"].with_user(self.salesman).create(
                        {"approval_id": approval.id, "decision": decision}
                    )
        # Direct calls with the dialog's arguments are checked the same way.
        with self.assertRaises(AccessError):
            approval.with_user(self.salesman).action_approve(approved_amount=1e9)
        with self.assertRaises(AccessError):
            approval.with_user(self.salesman_2).action_reject(reason="no")
        # A credit manager who requested it cannot decide on it, through a dialog either.
        own_order = self._blocked_order(user=self.credit_manager)
        own = self._request(own_order, self.credit_manager)
        with self.assertRaises(UserError):
            self._dialog(own, "approve", user=self.credit_manager)
        wizard = (
            self.env["credit.approval.decide"]
            .with_user(self.credit_manager)
            .create({"approval_id": own.id, "decision": "approve"})
        )
        with self.assertRaises(UserError):
            wizard.action_confirm()
        self.assertEqual(own.state, "pending")
        self.assertEqual(approval.state, "pending")
        # Decided: no dialog any more.
        approval.with_user(self.credit_manager).action_approve()
        with self.assertRaises(UserError):
            self._dialog(approval, "reject", user=self.credit_manager_2)
        self.assertEqual(order.credit_check_state, "approved")

    # ------------------------------------------------------------
    # Reject dialog
    # ------------------------------------------------------------

    def test_reject_dialog_needs_the_reason(self):
        order, approval = self._pending_approval()
        dialog = self._dialog(approval, "reject")
        wizard = (
            self.env["credit.approval.decide"]
            .with_user(self.credit_manager)
            .create({"approval_id": approval.id, "decision": "reject", "note": "  "})
        )
        with self.assertRaises(UserError):
            wizard.action_confirm()
        self.assertEqual(approval.state, "pending")

        dialog.note = "Two invoices already 20 days late"
        dialog.save().action_confirm()

        self.assertEqual(approval.state, "rejected")
        self.assertEqual(approval.decision_reason, "Two invoices already 20 days late")
        self.assertEqual(order.credit_check_state, "rejected")
        self.assertEqual(len(self._done_activity_messages(approval, APPROVAL_ACTIVITY)), 1)
        self.assertIsNotNone(self.try_confirm(order))

    # ------------------------------------------------------------
    # Confirmation closes the to-dos
    # ------------------------------------------------------------

    def test_confirming_marks_the_salesperson_decision_activity_done(self):
        order, approval = self._pending_approval()
        approval.with_user(self.credit_manager).action_approve()
        todo = order.activity_ids.filtered(lambda a: a.activity_type_id == self.env.ref(DECISION_ACTIVITY))
        self.assertEqual(todo.user_id, self.salesman)

        self.confirm_as(order, self.salesman)

        self.assertFalse(todo.exists())
        done = self._done_activity_messages(order, DECISION_ACTIVITY)
        self.assertEqual(len(done), 1)
        self.assertIn("The order is confirmed.", done.body)

    def test_confirming_without_the_override_closes_the_pending_request(self):
        order, approval = self._pending_approval()
        manager_activity = approval.activity_ids
        self.assertEqual(manager_activity.user_id, self.credit_manager)
        # The customer pays: the order passes the check on its own.
        self.pay(self.invoice)

        self.confirm_as(order, self.salesman)

        self.assertEqual(order.state, "sale")
        self.assertEqual(approval.state, "cancelled")
        self.assertFalse(manager_activity.exists())
        self.assertEqual(len(self._done_activity_messages(approval, APPROVAL_ACTIVITY)), 1)
        self.assertTrue(approval.message_ids.filtered(lambda m: "was confirmed without it" in (m.body or "")))

    # ------------------------------------------------------------
    # No credit badge without credit control
    # ------------------------------------------------------------

    def test_credit_status_hidden_where_credit_control_is_off(self):
        order = self.create_order(self.customer, 100.0)
        self.assertTrue(order.credit_control_enabled)
        self.company.credit_control_enabled = False
        self.assertFalse(order.credit_control_enabled)
        for view_ref in ("sale.view_quotation_tree", "sale.sale_order_tree", "sale.view_order_form"):
            with self.subTest(view=view_ref):
                view_id = self.env.ref(view_ref).id
                arch = self.env["sale.order"].with_user(self.salesman).get_view(view_id)["arch"]
                shown = [
                    node
                    for node in etree.fromstring(arch).iter("field")
                    if node.get("name") == "credit_check_state" and node.get("invisible") not in ("1", "True")
                ]
                # The status carries the condition the client evaluates for each order.
                self.assertTrue(shown)
                for node in shown:
                    self.assertEqual(node.get("invisible"), "not credit_control_enabled")
