from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import CreditControlCommon


@tagged("post_install", "-at_install")
class TestCreditMultiCompany(CreditControlCommon):
    """Limits, exposure, holds and credit records are per company."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.company
        cls.company_b = cls.setup_other_company(name="Credit Company B")["company"]
        cls.company_b.write(cls._credit_policy_vals())
        groups = "sales_team.group_sale_salesman"
        company_vals = {"company_id": cls.company_b.id, "company_ids": [Command.set(cls.company_b.ids)]}
        cls.salesman_b = new_test_user(cls.env, login="scc_salesman_b", groups=groups, **company_vals)
        cls.credit_manager_b = new_test_user(
            cls.env,
            login="scc_manager_b",
            groups=f"{groups},sale_credit_control.group_credit_manager,account.group_account_invoice",
            **company_vals,
        )
        cls.company_b.credit_manager_id = cls.credit_manager_b
        # The same customer: 1,000 of credit in company A (common fixture), 5,000 in company B.
        cls.set_limit(cls.customer, 5000.0, company=cls.company_b)
        cls.profile_a = cls.profile_of(cls.customer, cls.company_a)
        cls.profile_b = cls.profile_of(cls.customer, cls.company_b)

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    @classmethod
    def create_invoice_b(cls, partner, amount):
        """A posted invoice of company B, due today."""
        invoice = cls.init_invoice(
            "out_invoice",
            partner=partner,
            invoice_date=cls.today,
            amounts=[amount],
            taxes=[],
            company=cls.company_b,
        )
        invoice.invoice_payment_term_id = cls.env.ref("account.account_payment_term_immediate")
        invoice.action_post()
        return invoice

    def order_b(self, amount, user=None):
        return self.create_order(self.customer, amount, user=user or self.salesman_b, company=self.company_b)

    def exposure(self, profile):
        profile.invalidate_recordset()
        return profile

    def block(self, order, user):
        try:
            self.confirm_as(order, user)
        except UserError as error:
            return str(error)
        self.fail("the credit check should have blocked the order")

    # ------------------------------------------------------------
    # Tests
    # ------------------------------------------------------------

    def test_same_customer_has_a_limit_per_company(self):
        self.assertEqual(self.company_b.currency_id, self.company_a.currency_id)
        self.assertNotEqual(self.profile_a, self.profile_b)
        self.assertEqual(self.profile_a.company_id, self.company_a)
        self.assertEqual(self.profile_b.company_id, self.company_b)
        self.assertAlmostEqual(self.profile_a.credit_limit, 1000.0)
        self.assertAlmostEqual(self.profile_b.credit_limit, 5000.0)
        self.assertEqual(self.customer.with_company(self.company_a).credit_profile_id, self.profile_a)
        self.assertEqual(self.customer.with_company(self.company_b).credit_profile_id, self.profile_b)
        self.assertEqual(self.contact.with_company(self.company_b).credit_profile_id, self.profile_b)
        self.assertEqual(self.profile_a.history_ids.new_value, "1000.0")
        self.assertEqual(self.profile_b.history_ids.new_value, "5000.0")

        # 3,000 fits in company B only.
        order_b = self.order_b(3000.0)
        self.confirm_as(order_b, self.salesman_b)
        self.assertEqual(order_b.state, "sale")
        order_a = self.create_order(self.customer, 3000.0, user=self.salesman)
        message = self.block(order_a, self.salesman)
        self.assertIn("1,000.00", message)
        self.assertNotIn("5,000.00", message)

        # A limit change in one company leaves the other alone.
        self.profile_b.with_user(self.credit_manager_b).write({"credit_limit": 8000.0})
        self.profile_a.invalidate_recordset()
        self.assertAlmostEqual(self.profile_a.credit_limit, 1000.0)
        self.assertAlmostEqual(self.customer.with_company(self.company_a).credit_limit, 1000.0)
        self.assertAlmostEqual(self.customer.with_company(self.company_b).credit_limit, 8000.0)
        self.assertEqual(len(self.profile_a.history_ids), 1)
        self.assertEqual(len(self.profile_b.history_ids), 2)

    def test_exposure_of_one_company_is_not_counted_in_the_other(self):
        self.create_invoice_b(self.customer, 2000.0)
        self.confirm_as(self.order_b(1500.0), self.salesman_b)
        self.create_invoice(self.customer, 700.0)

        profile_a = self.exposure(self.profile_a)
        self.assertAlmostEqual(profile_a.receivable_amount, 700.0)
        self.assertAlmostEqual(profile_a.uninvoiced_order_amount, 0.0)
        self.assertAlmostEqual(profile_a.exposure_amount, 700.0)
        self.assertAlmostEqual(profile_a.available_amount, 300.0)
        profile_b = self.exposure(self.profile_b)
        self.assertAlmostEqual(profile_b.receivable_amount, 2000.0)
        self.assertAlmostEqual(profile_b.uninvoiced_order_amount, 1500.0)
        self.assertAlmostEqual(profile_b.exposure_amount, 3500.0)
        self.assertAlmostEqual(profile_b.available_amount, 1500.0)

        # Company A: 700 + 300 = 1,000 fits; company B's 3,500 does not count.
        order_a = self.create_order(self.customer, 300.0, user=self.salesman)
        self.confirm_as(order_a, self.salesman)
        self.assertEqual(order_a.state, "sale")
        # Company B: 3,500 + 1,600 = 5,100 > 5,000; company A's 1,000 does not count either.
        message = self.block(self.order_b(1600.0), self.salesman_b)
        self.assertIn("3,500.00", message)
        self.assertIn("5,100.00", message)
        self.confirm_as(self.order_b(1500.0), self.salesman_b)

    def test_user_of_company_a_cannot_read_company_b_records(self):
        blocked_b = self.order_b(6000.0)
        self.block(blocked_b, self.salesman_b)
        check_b = blocked_b.credit_check_ids
        self.assertEqual(len(check_b), 1)
        self.assertEqual(check_b.company_id, self.company_b)
        self.env["credit.approval.request"].with_user(self.salesman_b).create(
            {"order_id": blocked_b.id, "reason": "Framework contract"}
        ).action_request()
        approval_b = self.env["credit.approval"].search([("order_id", "=", blocked_b.id)])
        self.assertEqual(approval_b.company_id, self.company_b)
        # The request goes to company B's credit manager.
        self.assertEqual(approval_b.activity_ids.user_id, self.credit_manager_b)
        history_b = self.profile_b.history_ids
        records_b = {
            "credit.profile": self.profile_b,
            "credit.approval": approval_b,
            "credit.check": check_b,
            "credit.limit.history": history_b,
        }

        for user in (self.salesman, self.credit_manager, self.auditor):
            for model, record in records_b.items():
                Model = self.env[model].with_user(user)
                if user == self.salesman and model in ("credit.profile", "credit.limit.history"):
                    # The credit file is not the salespeople's in any company (test_data_access).
                    with self.assertRaises(AccessError, msg=f"{model} as {user.login}"):
                        Model.search([("company_id", "=", self.company_b.id)])
                else:
                    self.assertFalse(
                        Model.search([("company_id", "=", self.company_b.id)]), f"{model} as {user.login}"
                    )
                with self.assertRaises(AccessError, msg=f"{model} as {user.login}"):
                    Model.browse(record.id).read(["partner_id"])
            # Their own company's profile stays visible (to salespeople through the customer).
            if user != self.salesman:
                profiles = (
                    self.env["credit.profile"].with_user(user).search([("partner_id", "=", self.customer.id)])
                )
                self.assertEqual(profiles, self.profile_a)
            partner = self.customer.with_user(user)
            self.assertEqual(partner.credit_profile_id, self.profile_a)
        # Company B's manager cannot decide on company A's affairs either.
        with self.assertRaises(AccessError):
            self.profile_a.with_user(self.credit_manager_b).write({"credit_limit": 9000.0})
        # And company B's people see company B's records.
        self.assertEqual(
            self.env["credit.approval"]
            .with_user(self.credit_manager_b)
            .search([("partner_id", "=", self.customer.id)]),
            approval_b,
        )
        self.assertEqual(
            self.env["credit.check"]
            .with_user(self.salesman_b)
            .search([("partner_id", "=", self.customer.id)]),
            check_b,
        )

    def test_hold_in_company_b_does_not_block_company_a(self):
        self.profile_b.with_user(self.credit_manager_b)._put_on_hold("Disputed delivery in company B")
        self.assertTrue(self.profile_b.on_hold)
        self.assertFalse(self.profile_a.on_hold)
        self.assertEqual(self.customer.with_company(self.company_a).credit_state, "ok")
        self.assertEqual(self.customer.with_company(self.company_b).credit_state, "on_hold")

        order_a = self.create_order(self.customer, 500.0, user=self.salesman)
        self.confirm_as(order_a, self.salesman)
        self.assertEqual(order_a.state, "sale")
        message = self.block(self.order_b(100.0), self.salesman_b)
        self.assertIn("Disputed delivery in company B", message)
        # Nor can company A's credit manager hold or release company B's customer.
        with self.assertRaises(AccessError):
            self.profile_b.with_user(self.credit_manager).action_release_hold()
        self.assertTrue(self.profile_b.on_hold)

    def test_each_company_applies_its_own_policy(self):
        self.company_b.credit_limit_action = "warn"
        # 6,000 is over the limit in both companies: blocked in A, a warning in B.
        order_b = self.order_b(6000.0)
        self.confirm_as(order_b, self.salesman_b)
        self.assertEqual(order_b.state, "sale")
        self.assertEqual(order_b.credit_check_state, "warning")
        self.assertEqual(order_b.credit_check_ids.result, "warning")
        self.assertEqual(order_b.credit_check_ids.company_id, self.company_b)
        self.block(self.create_order(self.customer, 6000.0, user=self.salesman), self.salesman)
