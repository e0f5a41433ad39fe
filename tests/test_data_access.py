from lxml import etree

from odoo import Command
from odoo.exceptions import AccessError, RedirectWarning, UserError
from odoo.tests import Form, new_test_user, tagged

from .common import CreditControlCommon

# What a salesperson sells under: the customer's credit status, mode, hold flag and available credit.
STATUS_FIELDS = (
    "credit_profile_id",
    "credit_mode",
    "credit_on_hold",
    "credit_state",
    "credit_available",
    "credit_approval_count",
)
# The credit file: why a customer is held, the exposure breakdown and the rating.
ANALYSIS_FIELDS = (
    "credit_profile_ids",
    "credit_hold_reason",
    "credit_exposure",
    "credit_utilization",
    "credit_overdue_amount",
    "credit_overdue_days",
    "credit_receivable_amount",
    "credit_uninvoiced_order_amount",
    "credit_draft_invoice_amount",
    "credit_grade_code",
    "credit_score",
    "credit_rating_trend",
    "credit_rating_date",
    "credit_recommended_limit",
    "credit_review_date",
)
# Partner buttons that open the credit file.
ANALYSIS_BUTTONS = (
    "action_open_credit_profile",
    "action_view_credit_ratings",
    "action_view_credit_financial_statements",
    "action_view_credit_bureau_reports",
    "action_view_credit_bank_references",
)
HOLD_REASON = "Insolvency proceedings reported by the bureau"


@tagged("post_install", "-at_install")
class TestDataAccess(CreditControlCommon):
    """Who reads which credit data, over the ORM calls RPC makes (``read``, ``search``, forms).

    Salespeople see the status they sell under; the credit file (hold reason, exposure
    breakdown, rating, statements, bureau reports, bank references, settings history) is for
    credit managers and auditors; portal users and internal users without credit rights see none.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company_vals = {"company_id": cls.company.id, "company_ids": [Command.set(cls.company.ids)]}
        cls.plain_user = new_test_user(
            cls.env, login="scc_da_plain", groups="base.group_user", **company_vals
        )
        cls.portal_user = new_test_user(
            cls.env, login="scc_da_portal", groups="base.group_portal", **company_vals
        )
        # The portal user is a contact of the customer: the customer is their commercial partner.
        cls.portal_user.partner_id.sudo().parent_id = cls.customer
        cls.profile = cls.profile_of(cls.customer)
        cls.rating = (
            cls.env["credit.rating"]
            .sudo()
            .create(
                {
                    "partner_id": cls.customer.id,
                    "company_id": cls.company.id,
                    "date": cls.today,
                    "score": 72.0,
                    "grade_code": "B",
                    "trend": "new",
                    "trigger": "manual",
                }
            )
        )
        cls.profile.sudo().rating_id = cls.rating
        info_vals = {"partner_id": cls.customer.id, "company_id": cls.company.id}
        cls.statement = (
            cls.env["credit.financial.statement"]
            .sudo()
            .create(dict(info_vals, period_end=cls.today, total_assets=500.0, total_liabilities=400.0))
        )
        cls.bureau_report = (
            cls.env["credit.bureau.report"]
            .sudo()
            .create(dict(info_vals, agency="Dun & Bradstreet", score=41.0))
        )
        cls.bank_reference = (
            cls.env["credit.bank.reference"]
            .sudo()
            .create(dict(info_vals, bank_name="First Bank", opinion="poor"))
        )
        cls.profile.with_user(cls.credit_manager)._put_on_hold(HOLD_REASON)
        cls.history = cls.profile.sudo().history_ids
        cls.credit_records = {
            "credit.profile": cls.profile,
            "credit.rating": cls.rating,
            "credit.financial.statement": cls.statement,
            "credit.bureau.report": cls.bureau_report,
            "credit.bank.reference": cls.bank_reference,
            "credit.limit.history": cls.history,
        }

    def _partner_fields_of_this_addon(self):
        partner_fields = self.env["res.partner"]._fields
        names = {name for name, field in partner_fields.items() if field._module == "sale_credit_control"}
        # Not vacuous: every field this test knows of is among them.
        self.assertLessEqual(set(STATUS_FIELDS + ANALYSIS_FIELDS), names)
        return sorted(names)

    def _form_arch(self, record):
        views = record.get_views([(False, "form")])
        return etree.fromstring(views["views"]["form"]["arch"])

    # ------------------------------------------------------------
    # Outside the credit groups
    # ------------------------------------------------------------

    def test_portal_user_reads_no_credit_data_of_their_company(self):
        customer = self.customer.with_user(self.portal_user)
        self.assertEqual(self.portal_user.partner_id.commercial_partner_id, self.customer)
        # The portal user does read their commercial partner...
        self.assertEqual(customer.read(["name"])[0]["name"], "Credit Customer")
        # ... but none of its credit fields, asked by name or not.
        names = self._partner_fields_of_this_addon()
        for name in names:
            with self.subTest(field=name), self.assertRaises(AccessError):
                customer.read([name])
        self.assertFalse(set(names) & set(customer.fields_get()))
        with self.assertRaises(AccessError):
            self.env["res.partner"].with_user(self.portal_user).search([("credit_state", "=", "on_hold")])
        # Nor the credit records themselves.
        for model, record in self.credit_records.items():
            with self.subTest(model=model), self.assertRaises(AccessError):
                record.with_user(self.portal_user).read(["partner_id"])

    def test_internal_user_without_credit_rights_reads_no_credit_data(self):
        customer = self.customer.with_user(self.plain_user)
        names = self._partner_fields_of_this_addon()
        for name in names:
            with self.subTest(field=name), self.assertRaises(AccessError):
                customer.read([name])
        self.assertFalse(set(names) & set(customer.fields_get()))
        for model, record in self.credit_records.items():
            with self.subTest(model=model), self.assertRaises(AccessError):
                record.with_user(self.plain_user).read(["partner_id"])

    # ------------------------------------------------------------
    # Salespeople: the status, not the credit file
    # ------------------------------------------------------------

    def test_salesman_reads_the_status_but_not_the_credit_file_on_the_customer(self):
        customer = self.customer.with_user(self.salesman)
        values = customer.read(list(STATUS_FIELDS))[0]
        self.assertEqual(values["credit_state"], "on_hold")
        self.assertTrue(values["credit_on_hold"])
        self.assertEqual(values["credit_mode"], "limit")
        self.assertAlmostEqual(values["credit_available"], 1000.0)
        self.assertEqual(values["credit_profile_id"][0], self.profile.id)
        # A contact shows its company's status.
        contact = self.contact.with_user(self.salesman)
        self.assertEqual(contact.read(["credit_state"])[0]["credit_state"], "on_hold")
        for name in ANALYSIS_FIELDS:
            with self.subTest(field=name), self.assertRaises(AccessError):
                customer.read([name])
        self.assertFalse(set(ANALYSIS_FIELDS) & set(customer.fields_get()))
        # Nor can they be guessed through a search domain.
        Partner = self.env["res.partner"].with_user(self.salesman)
        for domain in (
            [("credit_score", ">", 50.0)],
            [("credit_hold_reason", "ilike", "insolvency")],
            [("credit_profile_id.score", ">", 50.0)],
        ):
            with self.subTest(domain=domain), self.assertRaises(AccessError):
                Partner.search(domain)
        # Credit managers and auditors read the whole credit file on the customer.
        for user in (self.credit_manager, self.auditor):
            with self.subTest(user=user.login):
                values = self.customer.with_user(user).read(list(STATUS_FIELDS + ANALYSIS_FIELDS))[0]
                self.assertEqual(values["credit_state"], "on_hold")
                self.assertEqual(values["credit_hold_reason"], HOLD_REASON)
                self.assertEqual(values["credit_grade_code"], "B")
                self.assertAlmostEqual(values["credit_score"], 72.0)
                self.assertAlmostEqual(values["credit_exposure"], 0.0)
                self.assertEqual(values["credit_profile_ids"], self.profile.ids)
                found = self.env["res.partner"].with_user(user).search([("credit_score", ">", 50.0)])
                self.assertIn(self.customer, found)

    def test_salesman_reads_no_credit_information_records(self):
        for model, record in self.credit_records.items():
            with self.subTest(model=model, user="salesman"):
                with self.assertRaises(AccessError):
                    self.env[model].with_user(self.salesman).search([("partner_id", "=", self.customer.id)])
                with self.assertRaises(AccessError):
                    record.with_user(self.salesman).read(["partner_id"])
        for user in (self.credit_manager, self.auditor):
            for model, record in self.credit_records.items():
                with self.subTest(model=model, user=user.login):
                    found = self.env[model].with_user(user).search([("partner_id", "=", self.customer.id)])
                    self.assertEqual(found, record)
                    found.read(["partner_id"])
            as_user = self.profile.with_user(user)
            self.assertEqual(as_user.hold_reason, HOLD_REASON)
            self.assertEqual(as_user.grade_code, "B")
            self.assertEqual(as_user.financial_statement_ids, self.statement)
            self.assertEqual(as_user.bureau_report_ids, self.bureau_report)
            self.assertEqual(as_user.bank_reference_ids, self.bank_reference)
            self.assertIn(HOLD_REASON, self.history.with_user(user).mapped("reason"))

    # ------------------------------------------------------------
    # Forms: what each group opens does not fail on a field it may not read
    # ------------------------------------------------------------

    def test_each_group_opens_the_customer_form_with_what_it_may_read(self):
        customer = self.customer.with_user(self.salesman)
        arch = self._form_arch(customer)
        shown = set(arch.xpath("//field/@name"))
        self.assertLessEqual({"credit_state", "credit_mode", "credit_on_hold", "credit_available"}, shown)
        self.assertFalse(shown & set(ANALYSIS_FIELDS))
        self.assertFalse(set(arch.xpath("//button/@name")) & set(ANALYSIS_BUTTONS))
        # The form reads every field of its view as the salesman: no AccessError.
        form = Form(customer)
        self.assertEqual(form.credit_state, "on_hold")
        self.assertTrue(form.credit_on_hold)
        for user in (self.credit_manager, self.auditor):
            with self.subTest(user=user.login):
                customer = self.customer.with_user(user)
                arch = self._form_arch(customer)
                shown = set(arch.xpath("//field/@name"))
                self.assertLessEqual(set(ANALYSIS_FIELDS) - {"credit_profile_ids"}, shown)
                self.assertLessEqual(set(ANALYSIS_BUTTONS), set(arch.xpath("//button/@name")))
                form = Form(customer)
                self.assertEqual(form.credit_hold_reason, HOLD_REASON)
                self.assertEqual(form.credit_grade_code, "B")

    def test_salesman_learns_the_reason_from_the_blocked_order(self):
        """The hold reason reaches the salesperson through their blocked order, not the customer."""
        order = self.create_order(self.customer, 100.0, user=self.salesman)
        try:
            self.confirm_as(order, self.salesman)
        except (UserError, RedirectWarning) as error:
            message = error.args[0]
        else:
            self.fail("the credit hold should have blocked the order")
        self.assertIn(HOLD_REASON, message)
        # The salesperson opens the order form (its credit status included) without an AccessError.
        form = Form(order.with_user(self.salesman))
        self.assertEqual(form.partner_id, self.customer)
        self.assertIn("credit_check_state", form._view["fields"])
        with self.assertRaises(AccessError):
            self.customer.with_user(self.salesman).read(["credit_hold_reason"])
