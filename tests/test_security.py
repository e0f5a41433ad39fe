import contextlib
from datetime import date

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged, users

from .common import CreditControlCommon


@tagged("post_install", "-at_install")
class TestCreditSecurity(CreditControlCommon):
    """What each credit group may read and change, and the audit trail of every change."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.profile = cls.profile_of(cls.customer)
        cls.other_customer = cls.env["res.partner"].create({"name": "Other Customer", "is_company": True})
        # A blocked attempt (kept in the check log) and its pending approval request.
        cls.order = cls.create_order(cls.customer, 1500.0, user=cls.salesman)
        # Refused, as asserted below (not assertRaises: its savepoint would undo the recorded refusal).
        with contextlib.suppress(UserError):
            cls.order.with_user(cls.salesman).action_confirm()
        cls.check = cls.order.credit_check_ids
        cls.env["credit.approval.request"].with_user(cls.salesman).create(
            {"order_id": cls.order.id, "reason": "Trusted customer"}
        ).action_request()
        cls.approval = cls.env["credit.approval"].search([("order_id", "=", cls.order.id)])
        # The limit of 1,000 set in the common fixture.
        cls.history = cls.profile.history_ids
        cls.plain_user = new_test_user(
            cls.env,
            login="scc_plain_user",
            groups="base.group_user",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.system_user = new_test_user(
            cls.env,
            login="scc_system",
            groups="base.group_system,sale_credit_control.group_credit_user",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )

    def test_fixture(self):
        self.assertEqual(len(self.check), 1)
        self.assertEqual(self.check.result, "blocked")
        self.assertEqual(len(self.approval), 1)
        self.assertEqual(len(self.history), 1)
        self.assertEqual(self.history.field_name, "credit_limit")

    def _history(self, field_name):
        return self.env["credit.limit.history"].search(
            [("profile_id", "=", self.profile.id), ("field_name", "=", field_name)], order="id desc"
        )

    # ------------------------------------------------------------
    # Salesman (sales user, hence credit user)
    # ------------------------------------------------------------

    @users("scc_salesman")
    def test_salesman_reads_credit_records(self):
        self.assertTrue(self.env.user.has_group("sale_credit_control.group_credit_user"))
        self.assertFalse(self.env.user.has_group("sale_credit_control.group_credit_manager"))
        check = self.env["credit.check"].browse(self.check.id)
        self.assertEqual(check.result, "blocked")
        self.assertAlmostEqual(check.exposure_after, 1500.0)
        self.assertIn("Credit limit exceeded", check.reasons)
        self.assertEqual(self.env["credit.approval"].browse(self.approval.id).state, "pending")
        # The customer's form shows the credit status and the available credit...
        customer = self.env["res.partner"].browse(self.customer.id)
        self.assertEqual(customer.credit_profile_id, self.profile)
        self.assertEqual(customer.credit_state, "ok")
        self.assertAlmostEqual(customer.credit_available, 1000.0)
        # ... the credit file (profile, settings history) is for credit managers and auditors
        # (see test_data_access).
        with self.assertRaises(AccessError):
            self.env["credit.profile"].browse(self.profile.id).read(["exposure_amount"])
        with self.assertRaises(AccessError):
            self.env["credit.limit.history"].search([("profile_id", "=", self.profile.id)])

    @users("scc_salesman")
    def test_salesman_cannot_change_credit_settings(self):
        profile = self.env["credit.profile"].browse(self.profile.id)
        with self.assertRaises(AccessError):
            profile.write({"tolerance_percent": 10.0})
        with self.assertRaises(AccessError):
            profile.write({"credit_limit": 5000.0})
        with self.assertRaises(AccessError):
            profile.write({"mode": "cash"})
        with self.assertRaises(AccessError):
            self.env["credit.profile"].create({"partner_id": self.other_customer.id})
        with self.assertRaises(AccessError):
            self.env["res.partner"].browse(self.customer.id).write({"credit_limit": 5000.0})
        # No hold: neither through the wizard nor by calling the business method.
        with self.assertRaises(AccessError):
            self.env["credit.hold"].create(
                {"profile_ids": [Command.set(profile.ids)], "reason": "Bounced cheque"}
            )
        with self.assertRaises(AccessError):
            profile._put_on_hold("Bounced cheque")
        with self.assertRaises(AccessError):
            profile.write({"on_hold": True})
        # Nor forge the log.
        with self.assertRaises(AccessError):
            self.env["credit.check"].create(
                {
                    "partner_id": self.customer.id,
                    "company_id": self.company.id,
                    "user_id": self.env.uid,
                    "result": "approved",
                }
            )
        with self.assertRaises(AccessError):
            self.env["credit.limit.history"].create(
                {"partner_id": self.customer.id, "company_id": self.company.id, "field_name": "credit_limit"}
            )
        self.env.invalidate_all()
        self.assertAlmostEqual(self.profile.credit_limit, 1000.0)
        self.assertAlmostEqual(self.profile.tolerance_percent, 0.0)
        self.assertFalse(self.profile.on_hold)
        self.assertEqual(self.profile.mode, "limit")
        self.assertEqual(self.profile.history_ids, self.history)

    def test_salesman_cannot_release_hold(self):
        self.profile.with_user(self.credit_manager)._put_on_hold("Bounced cheque")
        with self.assertRaises(AccessError):
            self.profile.with_user(self.salesman).action_release_hold()
        self.assertTrue(self.profile.on_hold)

    def test_salesman_confirming_creates_missing_profile(self):
        """A salesman cannot create profiles, but selling to a new customer must not fail for that."""
        self.assertFalse(self.other_customer.credit_profile_ids)
        order = self.create_order(self.other_customer, 5000.0, user=self.salesman)
        self.confirm_as(order, self.salesman)
        self.assertEqual(order.state, "sale")
        profile = self.other_customer.credit_profile_ids
        self.assertEqual(len(profile), 1)
        self.assertEqual(profile.credit_state, "no_limit")
        self.assertAlmostEqual(profile.exposure_amount, 5000.0)

    # ------------------------------------------------------------
    # Credit manager
    # ------------------------------------------------------------

    def test_manager_reads_but_does_not_edit_other_salesmen_orders(self):
        """Deciding on an override means reading the order; it does not mean editing it."""
        order = self.order.with_user(self.credit_manager)
        self.assertEqual(order.user_id, self.salesman)
        self.assertAlmostEqual(order.amount_total, 1500.0)
        self.assertAlmostEqual(order.order_line.price_unit, 1500.0)
        self.assertIn(order, self.env["sale.order"].with_user(self.credit_manager).search([]))
        with self.assertRaises(AccessError):
            order.write({"note": "Changed by the credit manager"})
        with self.assertRaises(AccessError):
            order.order_line.write({"product_uom_qty": 2.0})
        # A colleague salesman still does not see it.
        with self.assertRaises(AccessError):
            self.order.with_user(self.salesman_2).read(["amount_total"])

    def test_manager_sets_limit_with_history_and_chatter(self):
        profile = self.profile.with_user(self.credit_manager)
        profile.with_context(credit_change_reason="Annual review: turnover doubled").write(
            {"credit_limit": 2500.0}
        )

        self.profile.invalidate_recordset()
        self.assertAlmostEqual(self.profile.credit_limit, 2500.0)
        self.assertAlmostEqual(self.customer.with_company(self.company).credit_limit, 2500.0)
        change = self._history("credit_limit")[0]
        self.assertEqual(change.old_value, "1000.0")
        self.assertEqual(change.new_value, "2500.0")
        self.assertEqual(change.user_id, self.credit_manager)
        self.assertEqual(change.reason, "Annual review: turnover doubled")
        self.assertEqual(change.partner_id, self.customer)
        self.assertEqual(change.company_id, self.company)
        self.assertTrue(change.date)
        message = self.profile.message_ids.filtered(
            lambda m: "Credit limit changed" in (m.body or "") and "2,500.00" in m.body
        )
        self.assertEqual(len(message), 1)
        for text in ("1,000.00", "2,500.00", self.credit_manager.name, "Annual review: turnover doubled"):
            self.assertIn(text, message.body)
        # The new limit applies at once: 1,500 now fits.
        self.confirm_as(self.create_order(self.customer, 1500.0, user=self.salesman), self.salesman)

    def test_manager_sets_limit_on_customer(self):
        customer = self.customer.with_user(self.credit_manager)
        customer.with_context(credit_change_reason="Bank guarantee received").write({"credit_limit": 4000.0})
        change = self._history("credit_limit")[0]
        self.assertEqual((change.old_value, change.new_value), ("1000.0", "4000.0"))
        self.assertEqual(change.user_id, self.credit_manager)
        self.assertEqual(change.reason, "Bank guarantee received")
        self.assertEqual(len(self._history("credit_limit")), 2)
        # Without a reason the history still says where the change was made.
        customer.write({"credit_limit": 3000.0})
        change = self._history("credit_limit")[0]
        self.assertEqual((change.old_value, change.new_value), ("4000.0", "3000.0"))
        self.assertEqual(change.reason, "Edited on the customer")

    def test_manager_without_contact_or_accounting_rights_sets_limit(self):
        """The credit manager of a risk department needs no right on contacts or accounting."""
        risk_manager = new_test_user(
            self.env,
            login="scc_risk_manager",
            groups="base.group_user,sale_credit_control.group_credit_manager",
            company_id=self.company.id,
            company_ids=[Command.set(self.company.ids)],
        )
        self.assertFalse(risk_manager.has_group("base.group_partner_manager"))
        self.assertFalse(risk_manager.has_group("account.group_account_invoice"))
        profile = self.profile.with_user(risk_manager)
        self.assertAlmostEqual(profile.credit_limit, 1000.0)
        profile.with_context(credit_change_reason="Bureau score improved").write({"credit_limit": 1800.0})
        self.assertAlmostEqual(self.customer.with_company(self.company).credit_limit, 1800.0)
        change = self._history("credit_limit")[0]
        self.assertEqual((change.old_value, change.new_value), ("1000.0", "1800.0"))
        self.assertEqual(change.user_id, risk_manager)
        # Only the limit: the rest of the contact stays out of reach.
        with self.assertRaises(AccessError):
            self.customer.with_user(risk_manager).write({"credit_limit": 2000.0, "name": "Renamed"})
        self.assertEqual(self.customer.name, "Credit Customer")
        self.assertAlmostEqual(self.customer.with_company(self.company).credit_limit, 1800.0)

    def test_manager_changes_mode_tolerance_and_validity(self):
        profile = self.profile.with_user(self.credit_manager).with_context(
            credit_change_reason="Risk committee"
        )
        profile.write({"tolerance_percent": 10.0, "limit_valid_until": date(2031, 12, 31)})
        profile.write({"mode": "cash"})

        tolerance = self._history("tolerance_percent")
        self.assertEqual(len(tolerance), 1)
        self.assertEqual((tolerance.old_value, tolerance.new_value), ("0.0", "10.0"))
        validity = self._history("limit_valid_until")
        self.assertEqual(len(validity), 1)
        self.assertEqual((validity.old_value, validity.new_value), ("", "2031-12-31"))
        mode = self._history("mode")
        self.assertEqual(len(mode), 1)
        self.assertEqual((mode.old_value, mode.new_value), ("limit", "cash"))
        for change in tolerance | validity | mode:
            self.assertEqual(change.user_id, self.credit_manager)
            self.assertEqual(change.reason, "Risk committee")
            self.assertEqual(change.profile_id, self.profile)
        # Writing the same value again records nothing.
        profile.write({"tolerance_percent": 10.0})
        self.assertEqual(len(self._history("tolerance_percent")), 1)
        self.assertEqual(self.profile.credit_state, "cash")

    def test_manager_holds_and_releases(self):
        self.env["credit.hold"].with_user(self.credit_manager).create(
            {"profile_ids": [Command.set(self.profile.ids)], "reason": "Cheque bounced twice"}
        ).action_hold()

        self.assertTrue(self.profile.on_hold)
        self.assertEqual(self.profile.hold_reason, "Cheque bounced twice")
        self.assertEqual(self.profile.hold_user_id, self.credit_manager)
        self.assertTrue(self.profile.hold_date)
        self.assertEqual(self.profile.credit_state, "on_hold")
        hold = self._history("on_hold")
        self.assertEqual(len(hold), 1)
        self.assertEqual((hold.old_value, hold.new_value), ("False", "True"))
        self.assertEqual(hold.user_id, self.credit_manager)
        self.assertEqual(hold.reason, "Cheque bounced twice")
        self.assertTrue(self.profile.message_ids.filtered(lambda m: "Cheque bounced twice" in (m.body or "")))
        # A hold stops even a small order.
        order = self.create_order(self.customer, 100.0, user=self.salesman)
        with self.assertRaises(UserError) as error:
            self.confirm_as(order, self.salesman)
        self.assertIn("Cheque bounced twice", str(error.exception))
        # The wizard asks for a reason.
        wizard = (
            self.env["credit.hold"]
            .with_user(self.credit_manager)
            .create({"profile_ids": [Command.set(self.profile.ids)], "reason": "  "})
        )
        with self.assertRaises(UserError):
            wizard.action_hold()

        self.profile.with_user(self.credit_manager_2).action_release_hold()

        self.assertFalse(self.profile.on_hold)
        self.assertFalse(self.profile.hold_reason)
        self.assertFalse(self.profile.hold_user_id)
        self.assertFalse(self.profile.hold_date)
        release = self._history("on_hold")[0]
        self.assertEqual((release.old_value, release.new_value), ("True", "False"))
        self.assertEqual(release.user_id, self.credit_manager_2)
        self.assertEqual(release.reason, "Hold released")
        self.assertTrue(self.profile.message_ids.filtered(lambda m: "Credit hold released" in (m.body or "")))
        self.confirm_as(order, self.salesman)
        self.assertEqual(order.state, "sale")

    # ------------------------------------------------------------
    # Auditor
    # ------------------------------------------------------------

    @users("scc_auditor")
    def test_auditor_reads_everything(self):
        profile = self.env["credit.profile"].browse(self.profile.id)
        self.assertAlmostEqual(profile.credit_limit, 1000.0)
        self.assertEqual(profile.credit_state, "ok")
        self.assertEqual(profile.history_ids, self.history)
        self.assertEqual(profile.approval_ids, self.approval)
        self.assertEqual(profile.check_ids, self.check)
        approval = self.env["credit.approval"].browse(self.approval.id)
        self.assertEqual(approval.state, "pending")
        self.assertAlmostEqual(approval.snapshot_exposure_after, 1500.0)
        self.assertFalse(approval.is_covering)
        self.assertEqual(self.env["credit.check"].browse(self.check.id).result, "blocked")
        self.assertEqual(self.env["credit.limit.history"].browse(self.history.id).new_value, "1000.0")
        self.assertEqual(
            self.env["credit.approval"].search([("partner_id", "=", self.customer.id)]), self.approval
        )

    @users("scc_auditor")
    def test_auditor_changes_nothing(self):
        profile = self.env["credit.profile"].browse(self.profile.id)
        approval = self.env["credit.approval"].browse(self.approval.id)
        with self.assertRaises(AccessError):
            profile.write({"tolerance_percent": 10.0})
        with self.assertRaises(AccessError):
            profile.write({"credit_limit": 5000.0})
        with self.assertRaises(AccessError):
            self.env["res.partner"].browse(self.customer.id).write({"credit_limit": 5000.0})
        with self.assertRaises(AccessError):
            self.env["credit.profile"].create({"partner_id": self.other_customer.id})
        with self.assertRaises(AccessError):
            profile._put_on_hold("Auditor's finding")
        with self.assertRaises(AccessError):
            self.env["credit.hold"].create({"profile_ids": [Command.set(profile.ids)], "reason": "Finding"})
        with self.assertRaises(AccessError):
            approval.action_approve()
        with self.assertRaises(AccessError):
            approval.write({"decision_reason": "Looks fine"})
        with self.assertRaises(AccessError):
            self.env["credit.approval"].create(
                {
                    "order_id": self.order.id,
                    "partner_id": self.customer.id,
                    "company_id": self.company.id,
                    "request_reason": "Auditor asks",
                }
            )
        with self.assertRaises(AccessError):
            self.env["credit.approval.request"].create({"order_id": self.order.id, "reason": "Auditor asks"})
        with self.assertRaises(AccessError):
            self.env["credit.check"].browse(self.check.id).write({"result": "approved"})
        with self.assertRaises(AccessError):
            self.env["credit.limit.history"].browse(self.history.id).write({"new_value": "9999.0"})
        self.env.invalidate_all()
        self.assertAlmostEqual(self.profile.sudo().credit_limit, 1000.0)
        self.assertEqual(self.approval.sudo().state, "pending")
        self.assertEqual(self.check.sudo().result, "blocked")

    # ------------------------------------------------------------
    # Deleting the record, no credit group
    # ------------------------------------------------------------

    def test_only_system_deletes_history_and_approvals(self):
        for user in (self.salesman, self.credit_manager, self.auditor):
            with self.assertRaises(AccessError):
                self.history.with_user(user).unlink()
            with self.assertRaises(AccessError):
                self.approval.with_user(user).unlink()
            with self.assertRaises(AccessError):
                self.profile.with_user(user).unlink()
        self.assertTrue(self.history.exists())
        self.assertTrue(self.approval.exists())

        self.history.with_user(self.system_user).unlink()
        self.approval.with_user(self.system_user).unlink()
        self.assertFalse(self.history.exists())
        self.assertFalse(self.approval.exists())

    @users("scc_plain_user")
    def test_user_without_credit_group_sees_nothing(self):
        for model, record in (
            ("credit.profile", self.profile),
            ("credit.approval", self.approval),
            ("credit.check", self.check),
            ("credit.limit.history", self.history),
        ):
            with self.assertRaises(AccessError):
                self.env[model].search([])
            with self.assertRaises(AccessError):
                self.env[model].browse(record.id).read(["company_id"])
