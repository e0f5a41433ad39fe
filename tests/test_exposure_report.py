from datetime import timedelta

from lxml import etree

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import Form, tagged
from odoo.tools.safe_eval import safe_eval

from ..models.sale_order import SHOWN_HELD_STATES
from .common import CreditControlCommon

# Figures the analysis shows and the credit profile computes: they must be equal.
PROFILE_FIGURES = (
    "credit_limit",
    "receivable_amount",
    "uninvoiced_order_amount",
    "draft_invoice_amount",
    "exposure_amount",
    "available_amount",
    "utilization",
    "overdue_amount",
    "overdue_days",
)


@tagged("post_install", "-at_install")
class TestExposureReport(CreditControlCommon):
    """The credit analysis (``credit.exposure.report``, an SQL view) against the credit profile.

    ``cls.customer`` (limit 1000, company currency USD, 1 USD = 2 EUR today):
    invoices of 300 (40 days overdue) and 200 (due today); an order of 4 x 100 of which one unit
    is invoiced (100 receivable, 300 uninvoiced); an invoice of 400 EUR 10 days overdue (200 USD,
    at today's rate, not the invoice date's); an order of 300 EUR (150 USD); a draft invoice of 50
    (the company counts drafts). Receivables 800, orders 450, drafts 50: exposure 1300, over limit.
    ``cls.customer_2`` (limit 5000): one invoice of 100 due today.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.credit_count_draft_invoices = True
        cls.eur = cls.setup_other_currency(
            "EUR",
            rates=[("2016-01-01", 3.0), (cls.today - timedelta(days=10), 4.0), (cls.today, 2.0)],
        )
        cls.team = cls.env["crm.team"].create(
            {
                "name": "Credit Analysis Team",
                "company_id": cls.company.id,
                "member_ids": [Command.link(cls.salesman.id)],
            }
        )
        cls.customer.user_id = cls.salesman
        cls.customer_2 = cls.env["res.partner"].create({"name": "Second Credit Customer", "is_company": True})
        cls.profile = cls.profile_of(cls.customer)
        cls.profile_2 = cls.profile_of(cls.customer_2)
        # Room to confirm the orders; the limits the test is about are set at the end.
        # (The orders are confirmed before the overdue invoices exist.)
        cls.set_limit(cls.customer, 100000.0)
        order = cls.create_order(cls.customer, 400.0, quantity=4.0)
        order.action_confirm()
        cls.create_order(cls.customer, 300.0, currency=cls.eur).action_confirm()
        invoice = order._create_invoices()
        with Form(invoice) as form:
            with form.invoice_line_ids.edit(0) as line:
                line.quantity = 1.0
        invoice.action_post()
        cls.create_invoice(cls.customer, 300.0, days_ago=40)
        cls.create_invoice(cls.customer, 200.0)
        cls.create_invoice(cls.customer, 400.0, days_ago=10, currency=cls.eur)
        cls.create_invoice(cls.customer, 50.0, post=False)
        cls.create_invoice(cls.customer_2, 100.0)
        cls.set_limit(cls.customer, 1000.0)
        cls.set_limit(cls.customer_2, 5000.0)
        cls._rate_customers()

    @classmethod
    def _rate_customers(cls):
        """Grade A for ``customer`` (bureau score 80), D for ``customer_2`` (score 20)."""
        cls.env["credit.scorecard"].sudo().create(
            {
                "name": "Bureau Card",
                "company_id": cls.company.id,
                "factor_ids": [
                    Command.create(
                        {
                            "code": "bureau_score",
                            "weight": 1.0,
                            "missing_mode": "points",
                            "missing_points": 0.0,
                            "band_ids": [
                                Command.create({"has_lower": False, "upper": 50.0, "points": 0.0}),
                                Command.create({"lower": 50.0, "has_upper": False, "points": 100.0}),
                            ],
                        }
                    )
                ],
                "grade_ids": [
                    Command.create({"code": "A", "min_score": 50.0, "review_months": 12}),
                    Command.create({"code": "D", "min_score": 0.0, "review_months": 3}),
                ],
            }
        )
        for partner, score in ((cls.customer, 80.0), (cls.customer_2, 20.0)):
            cls.env["credit.bureau.report"].sudo().create(
                {
                    "partner_id": partner.id,
                    "company_id": cls.company.id,
                    "agency": "Test Bureau",
                    "score": score,
                    "report_date": cls.today - timedelta(days=5),
                }
            )
        cls.env["credit.rating.engine"].with_user(cls.credit_manager)._rate_partners(
            cls.customer | cls.customer_2, cls.company
        )

    def report(self, user=None):
        """The analysis as ``user`` (default: a credit manager; it is read by managers and auditors)."""
        return self.env["credit.exposure.report"].with_user(user or self.credit_manager)

    def row_of(self, partner, user=None):
        return self.report(user).search(
            [("partner_id", "=", partner.id), ("company_id", "=", self.company.id)]
        )

    def assert_row_equals_profile(self, row, profile):
        profile.invalidate_recordset()
        for field_name in PROFILE_FIGURES:
            self.assertAlmostEqual(row[field_name], profile[field_name], places=2, msg=field_name)

    # ------------------------------------------------------------
    # Figures
    # ------------------------------------------------------------

    def test_rows_equal_profile_figures(self):
        self.assertEqual(self.profile.grade_code, "A")
        row = self.row_of(self.customer)
        self.assertEqual(len(row), 1)
        self.assert_row_equals_profile(row, self.profile)
        expected = {
            "credit_limit": 1000.0,
            "receivable_amount": 800.0,
            "uninvoiced_order_amount": 450.0,
            "draft_invoice_amount": 50.0,
            "exposure_amount": 1300.0,
            "available_amount": -300.0,
            "utilization": 130.0,
            "overdue_amount": 500.0,
            "overdue_days": 40,
        }
        for field_name, amount in expected.items():
            self.assertAlmostEqual(row[field_name], amount, places=2, msg=field_name)
        self.assertEqual(row.profile_id, self.profile)
        self.assertEqual(row.currency_id, self.company.currency_id)
        self.assertEqual(row.user_id, self.salesman)
        self.assertEqual(row.team_id, self.team)
        self.assertEqual(row.grade_code, "A")
        self.assertEqual(row.mode, "limit")
        self.assertFalse(row.on_hold)
        self.assertTrue(row.is_over_limit)
        self.assert_row_equals_profile(self.row_of(self.customer_2), self.profile_2)

    def test_rows_follow_documents(self):
        # Drafts stop counting when the company does not count them; a payment lowers the receivables.
        self.company.credit_count_draft_invoices = False
        invoice = self.create_invoice(self.customer_2, 40.0)
        self.pay(invoice)
        row = self.row_of(self.customer)
        self.assertAlmostEqual(row.draft_invoice_amount, 0.0)
        self.assertAlmostEqual(row.exposure_amount, 1250.0)
        self.assert_row_equals_profile(row, self.profile)
        self.assert_row_equals_profile(self.row_of(self.customer_2), self.profile_2)

    def test_read_group_by_grade(self):
        groups = self.report()._read_group(
            [("company_id", "=", self.company.id)],
            ["grade_code"],
            ["exposure_amount:sum", "credit_limit:sum", "overdue_amount:sum", "__count"],
        )
        by_grade = {
            grade: (exposure, limit, overdue, count) for grade, exposure, limit, overdue, count in groups
        }
        profiles = self.env["credit.profile"].search([("company_id", "=", self.company.id)])
        for grade in ("A", "D"):
            graded = profiles.filtered(lambda profile, grade=grade: profile.grade_code == grade)
            exposure, limit, overdue, count = by_grade[grade]
            self.assertEqual(count, len(graded))
            self.assertAlmostEqual(exposure, sum(graded.mapped("exposure_amount")), places=2)
            self.assertAlmostEqual(limit, sum(graded.mapped("credit_limit")), places=2)
            self.assertAlmostEqual(overdue, sum(graded.mapped("overdue_amount")), places=2)
        self.assertAlmostEqual(by_grade["A"][0], 1300.0, places=2)
        self.assertAlmostEqual(by_grade["D"][0], 100.0, places=2)

    def test_saved_filters(self):
        search_view = self.env.ref("sale_credit_control.credit_exposure_report_view_search")
        arch = etree.fromstring(search_view.arch)

        def filtered(name):
            domain = safe_eval(arch.xpath(f"//filter[@name='{name}']")[0].get("domain"))
            return self.report().search(domain + [("company_id", "=", self.company.id)])

        self.assertEqual(filtered("over_limit").partner_id, self.customer)
        self.assertEqual(filtered("overdue_30").partner_id, self.customer)
        self.assertFalse(filtered("on_hold"))
        self.profile.with_user(self.credit_manager)._put_on_hold("Disputed invoices")
        self.assertEqual(filtered("on_hold").partner_id, self.customer)

    # ------------------------------------------------------------
    # Access
    # ------------------------------------------------------------

    def test_auditor_reads_salesperson_does_not(self):
        row = self.row_of(self.customer, user=self.auditor)
        self.assertEqual(len(row), 1)
        self.assertAlmostEqual(row.exposure_amount, 1300.0, places=2)
        with self.assertRaises(AccessError):
            row.write({"on_hold": True})
        with self.assertRaises(AccessError):
            self.row_of(self.customer, user=self.salesman)
        with self.assertRaises(AccessError):
            self.report(self.salesman)._read_group([], [], ["exposure_amount:sum"])

    def test_other_company_rows_invisible(self):
        other_company = self.setup_other_company(name="Credit Analysis Company 2")["company"]
        self.env.user.company_ids |= other_company
        self.set_limit(self.customer, 9000.0, company=other_company)
        other_profile = self.profile_of(self.customer, other_company)
        self.create_order(self.customer, 700.0, company=other_company).action_confirm()
        # A credit manager of both companies sees the other company's row...
        self.credit_manager_2.company_ids |= other_company
        other_row = (
            self.report(self.credit_manager_2)
            .with_context(allowed_company_ids=other_company.ids)
            .search([("company_id", "=", other_company.id)])
        )
        self.assertEqual(other_row.partner_id, self.customer)
        self.assertAlmostEqual(other_row.credit_limit, 9000.0, places=2)
        self.assertAlmostEqual(other_row.uninvoiced_order_amount, 700.0, places=2)
        self.assertAlmostEqual(other_row.receivable_amount, 0.0, places=2)
        self.assert_row_equals_profile(other_row, other_profile.with_company(other_company))
        # Each company's row has its own figures: the first company's row is unchanged.
        self.assertAlmostEqual(self.row_of(self.customer).exposure_amount, 1300.0, places=2)
        # ...those of the first company only see its rows.
        for user in (self.credit_manager, self.auditor):
            rows = self.report(user).search([("partner_id", "=", self.customer.id)])
            self.assertEqual(rows.company_id, self.company, user.login)

    # ------------------------------------------------------------
    # Dashboard
    # ------------------------------------------------------------

    def test_dashboard_actions(self):
        top = self.env.ref("sale_credit_control.credit_exposure_report_top_action")
        self.assertEqual(top.limit, 10)
        rows = self.report().search([("company_id", "=", self.company.id)], limit=top.limit)
        self.assertEqual(rows[0].partner_id, self.customer)
        self.assertEqual(rows.mapped("exposure_amount"), sorted(rows.mapped("exposure_amount"), reverse=True))
        held = self.env.ref("sale_credit_control.sale_order_credit_held_analysis_action")
        self.assertEqual(
            safe_eval(held.domain), self.env["sale.order"]._credit_held_domain(states=SHOWN_HELD_STATES)
        )
        blocked = self.create_order(self.customer, 10.0, user=self.salesman)
        self.assertTrue(self.try_confirm(blocked))
        held_orders = self.env["sale.order"].with_user(self.credit_manager).search(safe_eval(held.domain))
        self.assertIn(blocked, held_orders)
        for xml_id in (
            "credit_dashboard_action",
            "credit_approval_analysis_action",
            "credit_exposure_report_action",
        ):
            action = self.env.ref(f"sale_credit_control.{xml_id}")
            self.assertTrue(action.view_mode.startswith(("graph", "pivot")), xml_id)
