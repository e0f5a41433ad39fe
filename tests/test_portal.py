import contextlib
import xmlrpc.client

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import JsonRpcException

from .common import CreditControlCommon


@tagged("post_install", "-at_install")
class TestCreditPortal(CreditControlCommon, HttpCase):
    """The customer's credit page ``/my/credit``: each portal user sees the credit of its own
    commercial partner, in words for a customer, and nothing of another customer.

    Credit Customer (limit 1,000): overdue invoice 400 (45 days), open invoice 150, quotation of 700
    held (limit and overdue). Rival Trading (limit 5,000): overdue invoice 2,345.67 (40 days), open
    invoice 321, quotation of 1,111.11 held (overdue). Amounts tax free, company currency USD.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.rival = cls.env["res.partner"].create({"name": "Rival Trading", "is_company": True})
        cls.rival_buyer = cls.env["res.partner"].create(
            {"name": "Rival Trading Buyer", "parent_id": cls.rival.id, "type": "contact"}
        )
        cls.set_limit(cls.rival, 5000.0)
        company_vals = {"company_id": cls.company.id, "company_ids": [Command.set(cls.company.ids)]}
        # A contact of the customer: it sees its company's (the commercial partner's) credit.
        cls.portal_user = new_test_user(
            cls.env,
            login="scc_portal_one",
            groups="base.group_portal",
            partner_id=cls.contact.id,
            **company_vals,
        )
        cls.rival_user = new_test_user(
            cls.env,
            login="scc_portal_two",
            groups="base.group_portal",
            partner_id=cls.rival.id,
            **company_vals,
        )
        cls.overdue_invoice = cls.create_invoice(cls.customer, 400.0, days_ago=45)
        cls.open_invoice = cls.create_invoice(cls.customer, 150.0)
        cls.rival_overdue_invoice = cls.create_invoice(cls.rival, 2345.67, days_ago=40)
        cls.rival_open_invoice = cls.create_invoice(cls.rival, 321.0)
        cls.quotation = cls.create_order(cls.customer, 700.0, user=cls.salesman)
        cls.rival_quotation = cls.create_order(cls.rival, 1111.11, user=cls.salesman)
        for order in (cls.quotation, cls.rival_quotation):
            # The refusal's record is written through the test cursor (see try_confirm).
            with contextlib.suppress(UserError):
                order.with_user(cls.salesman).action_confirm()

    def test_quotations_are_held(self):
        self.assertEqual(self.quotation.credit_check_state, "blocked")
        self.assertEqual(self.rival_quotation.credit_check_state, "blocked")

    def credit_page(self, user):
        self.authenticate(user.login, user.login)
        response = self.url_open("/my/credit")
        self.assertEqual(response.status_code, 200)
        return response.text

    def assert_shows(self, page, *texts):
        for text in texts:
            self.assertIn(text, page)

    def assert_hides(self, page, *texts):
        for text in texts:
            self.assertNotIn(text, page)

    # ------------------------------------------------------------
    # Each customer its own credit
    # ------------------------------------------------------------

    def test_contact_sees_its_company_credit(self):
        page = self.credit_page(self.portal_user)
        # Limit 1,000; used: 550 of invoices, nothing confirmed; overdue 400 (45 days).
        self.assert_shows(page, "1,000.00", "550.00", "450.00", "400.00", "Days past due (oldest): 45")
        self.assert_shows(page, self.overdue_invoice.name, self.open_invoice.name, self.quotation.name)
        self.assert_shows(
            page, f"/my/invoices/{self.overdue_invoice.id}", f"/my/invoices/{self.open_invoice.id}"
        )
        self.assert_shows(page, "Invoices are overdue", "Your order exceeds your available credit.")
        self.assert_hides(
            page,
            self.rival.name,
            self.rival_overdue_invoice.name,
            self.rival_open_invoice.name,
            self.rival_quotation.name,
            "5,000.00",
            "2,345.67",
            "1,111.11",
        )

    def test_other_customer_sees_only_its_own(self):
        page = self.credit_page(self.rival_user)
        self.assert_shows(page, "5,000.00", "2,345.67", "1,111.11", self.rival_quotation.name)
        self.assert_shows(page, self.rival_overdue_invoice.name, self.rival_open_invoice.name)
        self.assert_shows(page, "Invoices are overdue: once they are paid, we can confirm your order.")
        self.assert_hides(page, "Your order exceeds your available credit.")
        self.assert_hides(
            page,
            self.customer.name,
            self.overdue_invoice.name,
            self.open_invoice.name,
            self.quotation.name,
            "1,000.00",
            "700.00",
        )

    def test_no_internal_wording(self):
        profile = self.profile_of(self.customer)
        profile._put_on_hold("Bankruptcy rumours from the bureau")
        page = self.credit_page(self.portal_user)
        self.assert_shows(page, "Your account is on hold, please contact us.")
        # Neither the hold reason nor the internal reason texts, the credit manager, the tolerance.
        self.assert_hides(
            page,
            "Bankruptcy",
            "Credit limit exceeded",
            "tolerance",
            "ceiling",
            self.credit_manager.name,
        )

    def test_anonymous_is_sent_to_login(self):
        response = self.url_open("/my/credit", allow_redirects=False)
        self.assertIn(response.status_code, (302, 303))
        self.assertIn("/web/login", response.headers["Location"])

    def test_home_shows_the_credit_entry(self):
        self.authenticate(self.portal_user.login, self.portal_user.login)
        self.assertIn('href="/my/credit"', self.url_open("/my").text)
        counters = self.make_jsonrpc_request("/my/counters", {"counters": ["credit_count"]})
        self.assertEqual(counters["credit_count"], 1)

    # ------------------------------------------------------------
    # Grade, payment
    # ------------------------------------------------------------

    def test_grade_only_when_the_company_shows_it(self):
        rating = (
            self.env["credit.rating"]
            .sudo()
            .create(
                {
                    "company_id": self.company.id,
                    "trigger": "manual",
                    "partner_id": self.customer.id,
                    "date": self.today,
                    "grade_code": "BQX",
                    "score": 47.5,
                }
            )
        )
        self.profile_of(self.customer).sudo().rating_id = rating
        self.assertFalse(self.company.credit_portal_show_rating)
        self.assert_hides(self.credit_page(self.portal_user), "BQX", "credit grade")
        settings = self.env["res.config.settings"].create({"credit_portal_show_rating": True})
        settings.execute()
        self.assertTrue(self.company.credit_portal_show_rating)
        page = self.credit_page(self.portal_user)
        self.assert_shows(page, "BQX")
        self.assert_hides(page, "47.5")
        self.assert_hides(self.credit_page(self.rival_user), "BQX")

    def test_ways_to_pay(self):
        self.create_payment_provider()
        self.env["ir.config_parameter"].sudo().set_param("account_payment.enable_portal_payment", True)
        self.env["res.partner.bank"].create(
            {"partner_id": self.company.partner_id.id, "acc_number": "BE71096123456769"}
        )
        page = self.credit_page(self.portal_user)
        self.assert_shows(page, "Pay Now", f"/my/invoices/{self.overdue_invoice.id}?access_token=")
        self.assert_shows(page, "payment=True", "BE71096123456769", self.overdue_invoice.payment_reference)

    # ------------------------------------------------------------
    # Over RPC, the credit models stay closed to portal users
    # ------------------------------------------------------------

    def test_portal_user_reads_no_credit_record_over_rpc(self):
        self.profile_of(self.rival)
        db = self.env.cr.dbname
        uid = self.portal_user.id
        for model in (
            "credit.profile",
            "credit.check",
            "credit.approval",
            "credit.rating",
            "credit.limit.history",
        ):
            with self.assertRaises(xmlrpc.client.Fault, msg=model) as error:
                self.xmlrpc_object.execute_kw(
                    db, uid, self.portal_user.login, model, "search_read", [[]], {"fields": ["partner_id"]}
                )
            self.assertIn("You are not allowed to access", error.exception.faultString)
        # Odoo's portal rule on orders: none of the other customer's quotations.
        orders = self.xmlrpc_object.execute_kw(
            db,
            uid,
            self.portal_user.login,
            "sale.order",
            "search_read",
            [[("partner_id", "=", self.rival.id)]],
        )
        self.assertEqual(orders, [])

    def test_portal_user_reads_no_internal_credit_wording_of_its_own_quotation(self):
        """The quotation itself is the customer's, but the check's internal wording (tolerance,
        exposure parts, hold reason) is not: /my/credit gives the customer's own words."""
        self.quotation.message_subscribe(partner_ids=self.contact.ids)
        db, uid, login = self.env.cr.dbname, self.portal_user.id, self.portal_user.login
        own_domain = [("id", "=", self.quotation.id)]
        own = self.xmlrpc_object.execute_kw(
            db, uid, login, "sale.order", "search_read", [own_domain], {"fields": ["name"]}
        )
        self.assertEqual([order["name"] for order in own], [self.quotation.name])
        for field in ("credit_check_message", "credit_check_reason_data", "credit_check_recorded_message"):
            with self.assertRaises(xmlrpc.client.Fault, msg=field):
                self.xmlrpc_object.execute_kw(
                    db, uid, login, "sale.order", "read", [self.quotation.ids], {"fields": [field]}
                )

    def test_portal_user_reads_no_credit_record_over_json_rpc(self):
        self.profile_of(self.rival)
        self.authenticate(self.portal_user.login, self.portal_user.login)
        for model in ("credit.profile", "credit.check", "credit.approval"):
            with self.assertRaises(JsonRpcException, msg=model) as error:
                self.make_jsonrpc_request(
                    f"/web/dataset/call_kw/{model}/search_read",
                    {
                        "model": model,
                        "method": "search_read",
                        "args": [[]],
                        "kwargs": {"fields": ["partner_id"]},
                    },
                )
            self.assertIn("AccessError", str(error.exception))

    def test_customer_without_credit_profile(self):
        newcomer = self.env["res.partner"].create({"name": "Newcomer Shop", "is_company": True})
        user = new_test_user(
            self.env,
            login="scc_portal_three",
            groups="base.group_portal",
            partner_id=newcomer.id,
            company_id=self.company.id,
            company_ids=[Command.set(self.company.ids)],
        )
        self.assertFalse(self.env["credit.profile"].search([("partner_id", "=", newcomer.id)]))
        page = self.credit_page(user)
        self.assert_shows(page, "No credit limit applies to your account.", "You have no open invoices.")
        # Viewing the page creates no profile.
        self.assertFalse(self.env["credit.profile"].search([("partner_id", "=", newcomer.id)]))
        self.company.credit_control_enabled = False
        page = self.credit_page(self.portal_user)
        self.assert_shows(page, "No credit terms are set up for your account", self.overdue_invoice.name)
        self.assert_hides(page, "1,000.00", "Your order exceeds your available credit.")
