import contextlib
import io
import re

from lxml import html

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import format_amount, formatLang
from odoo.tools.pdf import PdfReader

from .common import CreditControlCommon

PROFILE_REPORT = "sale_credit_control.credit_profile_report"
DECISION_REPORT = "sale_credit_control.credit_approval_report"


@tagged("post_install", "-at_install")
class TestCreditReport(CreditControlCommon):
    """The customer credit report (PDF) and the credit decision PDF: figures, aging, rights."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.eur = cls.setup_other_currency("EUR", rates=[("2016-01-01", 3.0), (cls.today, 2.0)])
        cls.report_customer = cls.env["res.partner"].create(
            {
                "name": "Report Customer Ltd",
                "is_company": True,
                "vat": "CN91310000MA1FL8XQ30",
                "user_id": cls.salesman.id,
            }
        )
        cls.set_limit(cls.report_customer, 50000.0)
        cls.profile = cls.profile_of(cls.report_customer)
        # A confirmed order (300 uninvoiced) while the customer owes nothing yet.
        cls.confirmed_order = cls.create_order(cls.report_customer, 300.0, user=cls.salesman)
        cls.confirmed_order.with_user(cls.salesman).action_confirm()
        # Open items of every age (immediate terms: due on the invoice date).
        cls.create_invoice(cls.report_customer, 1000.0, days_ago=0)  # due today: not due
        not_due = cls.init_invoice(
            "out_invoice", partner=cls.report_customer, invoice_date=cls.today, amounts=[800.0], taxes=[]
        )
        not_due.invoice_payment_term_id = cls.env.ref("account.account_payment_term_30days")
        not_due.action_post()  # due in 30 days: not due
        cls.create_invoice(cls.report_customer, 200.0, days_ago=10)  # 1-30
        cls.create_invoice(cls.report_customer, 300.0, days_ago=30)  # 1-30, on the edge
        cls.create_invoice(cls.report_customer, 400.0, days_ago=31)  # 31-60
        cls.create_invoice(cls.report_customer, 150.0, days_ago=45, move_type="out_refund")  # 31-60, -150
        partly_paid = cls.create_invoice(cls.report_customer, 500.0, days_ago=75)  # 61-90
        cls.pay(partly_paid, amount=100.0)  # 400 left
        cls.create_invoice(cls.report_customer, 100.0, days_ago=80, currency=cls.eur)  # 61-90: 50 at 2.0
        cls.create_invoice(cls.report_customer, 600.0, days_ago=120)  # 91-120, on the edge
        cls.create_invoice(cls.report_customer, 700.0, days_ago=200)  # over 120
        cls.expected_aging = {
            "not_due": 1800.0,
            "1_30": 500.0,
            "31_60": 250.0,
            "61_90": 450.0,
            "91_120": 600.0,
            "over_120": 700.0,
        }
        # Two quotations held by the overdue rule; one gets an approved override.
        cls.approved_order = cls._blocked_order(cls.report_customer, 700.0)
        cls.held_order = cls._blocked_order(cls.report_customer, 900.0)
        wizard = Form(
            cls.env["credit.approval.request"]
            .with_user(cls.salesman)
            .with_context(default_order_id=cls.approved_order.id)
        )
        wizard.reason = "Key account, pays after the audit"
        wizard.save().action_request()
        cls.approval = cls.approved_order.credit_approval_ids
        cls.approval.with_user(cls.credit_manager).action_approve()
        # Two ratings: the latest is the current one.
        engine = cls.env["credit.rating.engine"].with_user(cls.credit_manager)
        engine._rate_partners(cls.report_customer, cls.company)
        cls.rating = engine._rate_partners(cls.report_customer, cls.company).with_user(cls.env.user)
        cls.alert = cls.env["credit.alert"].create(
            {
                "alert_type": "utilization",
                "severity": "high",
                "partner_id": cls.report_customer.id,
                "company_id": cls.company.id,
                "profile_id": cls.profile.id,
                "recorded_message": "Utilization above 80 %",
            }
        )
        cls.accountant = new_test_user(
            cls.env,
            login="scc_accountant",
            groups="account.group_account_invoice,sale_credit_control.group_credit_auditor",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )

    @classmethod
    def _blocked_order(cls, partner, amount):
        order = cls.create_order(partner, amount, user=cls.salesman)
        # Refused, as asserted below (not assertRaises: its savepoint would undo the recorded refusal).
        with contextlib.suppress(UserError):
            order.with_user(cls.salesman).action_confirm()
        assert order.credit_check_state == "blocked", order.credit_check_state
        return order

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    def _render(self, records, report=PROFILE_REPORT, user=None):
        env = self.env(user=user) if user else self.env
        content, _type = env["ir.actions.report"]._render_qweb_html(report, records.ids)
        return html.fromstring(content)

    @staticmethod
    def _amount(element):
        """The number shown in ``element`` (currency symbol and separators removed)."""
        return float(re.sub(r"[^\d.\-]", "", element.text_content()))

    def _aging_shown(self, doc):
        return {cell.get("data-bucket"): self._amount(cell) for cell in doc.xpath("//td[@data-bucket]")}

    # ------------------------------------------------------------
    # Aging
    # ------------------------------------------------------------

    def test_aging_buckets_add_up_to_the_receivables(self):
        aging = self.profile._credit_aging()[self.profile.id]
        self.assertEqual(
            {key: round(amount, 2) for key, amount in aging.amounts().items()}, self.expected_aging
        )
        self.assertAlmostEqual(aging.total, self.profile.receivable_amount, places=2)
        self.assertAlmostEqual(self.profile.receivable_amount, 4300.0, places=2)

    def test_aging_follows_the_company_edges(self):
        self.company.credit_aging_edges = "45, 100"
        aging = self.profile._credit_aging()[self.profile.id]
        self.assertEqual(
            {key: round(amount, 2) for key, amount in aging.amounts().items()},
            {"not_due": 1800.0, "1_45": 750.0, "46_100": 450.0, "over_100": 1300.0},
        )
        doc = self._render(self.profile)
        self.assertEqual(self._aging_shown(doc)["46_100"], 450.0)
        self.assertIn("Over 100 Days", doc.text_content())

    def test_aging_edges_are_validated(self):
        for bad in ("60,30", "30,30", "0,30", "30;60", "thirty"):
            with self.assertRaises(ValidationError) as caught:
                self.company.credit_aging_edges = bad
            self.assertIn("Aging Buckets (days)", str(caught.exception))
            self.assertIn(bad, str(caught.exception))
        self.company.credit_aging_edges = False  # empty: the default buckets
        self.assertEqual(self.company._credit_aging_edges(), (30, 60, 90, 120))
        settings = (
            self.env["res.config.settings"].with_company(self.company).create({"credit_aging_edges": "15,30"})
        )
        settings.execute()
        self.assertEqual(self.company._credit_aging_edges(), (15, 30))

    # ------------------------------------------------------------
    # Customer credit report
    # ------------------------------------------------------------

    def test_report_figures(self):
        doc = self._render(self.profile)
        text = " ".join(doc.text_content().split())
        # Header.
        for expected in (
            "Report Customer Ltd",
            "CN91310000MA1FL8XQ30",
            self.salesman.name,
            self.credit_manager.name,
            self.company.name,
            self.company.currency_id.name,
        ):
            self.assertIn(expected, text)
        # Aging: every bucket and a total equal to the receivables figure.
        shown = self._aging_shown(doc)
        total = shown.pop("total")
        self.assertEqual(shown, self.expected_aging)
        self.assertAlmostEqual(total, 4300.0, places=2)
        receivables = doc.xpath("//tr[hasclass('o_credit_report_receivables')]/td")[1]
        self.assertAlmostEqual(self._amount(receivables), total, places=2)
        self.assertAlmostEqual(self.profile.receivable_amount, total, places=2)
        # Exposure: receivables + the confirmed order; available and utilization.
        exposure = doc.xpath("//tr[hasclass('o_credit_report_exposure_total')]/td")[1]
        self.assertAlmostEqual(self._amount(exposure), 4600.0, places=2)
        available = doc.xpath("//td[hasclass('o_credit_report_available')]")[0]
        self.assertAlmostEqual(self._amount(available), 50000.0 - 4600.0, places=2)
        self.assertIn("9.2 %", text)
        # The rating: one row per factor, with the breakdown's points and contribution.
        breakdown = self.profile.rating_id.breakdown
        self.assertEqual(self.profile.rating_id, self.rating)
        self.assertTrue(breakdown)
        rows = doc.xpath("//tr[@data-factor]")
        self.assertEqual([row.get("data-factor") for row in rows], [line["code"] for line in breakdown])
        for row, line in zip(rows, breakdown, strict=True):
            cells = [cell.text_content().strip() for cell in row.xpath("./td")]
            self.assertEqual(float(cells[2]), round(line["points"], 1), line["code"])
            self.assertEqual(cells[3], f"{line['weight']:.0%}", line["code"])
            self.assertEqual(float(cells[4]), round(line["contribution"], 1), line["code"])
            if line["value"] is None:
                self.assertEqual(cells[1], "missing")
        self.assertIn(f"grade {self.rating.grade_code}", text)
        self.assertEqual(len(doc.xpath("//table[hasclass('o_credit_report_rating_history')]/tbody/tr")), 2)
        # Payment behaviour.
        self.assertIn("Average Days Beyond Terms", text)
        self.assertIn("DSO (days)", text)
        # Limit history (the limit set above), the approval, the alert, the held quotation.
        change = self.env["credit.limit.history"].search(
            [("profile_id", "=", self.profile.id), ("field_name", "=", "credit_limit")], limit=1
        )
        self.assertEqual(change.new_limit_amount, 50000.0)
        history = doc.xpath("//table[hasclass('o_credit_report_history')]")[0].text_content()
        self.assertIn("Credit Limit", history)
        self.assertIn(format_amount(self.env, 50000.0, self.company.currency_id), history)
        approvals = doc.xpath("//table[hasclass('o_credit_report_approvals')]")[0].text_content()
        self.assertIn(self.approval.name, approvals)
        self.assertIn(self.approved_order.name, approvals)
        self.assertIn("Approved", approvals)
        self.assertIn("Utilization above 80 %", text)
        held = doc.xpath("//table[hasclass('o_credit_report_held_orders')]")[0].text_content()
        self.assertIn(self.held_order.name, held)
        self.assertNotIn(self.approved_order.name, held)

    def test_report_several_profiles_constant_queries(self):
        """Printing several profiles at once reads each section once, whatever the number of
        open items: more invoices do not add queries."""
        other = self.env["res.partner"].create({"name": "Second Report Customer", "is_company": True})
        self.set_limit(other, 1000.0)
        self.create_invoice(other, 100.0, days_ago=50)
        profiles = self.profile | self.profile_of(other)
        doc = self._render(profiles)
        self.assertEqual(len(doc.xpath("//div[hasclass('o_credit_profile_report')]")), 2)
        self.assertIn("Second Report Customer", doc.text_content())

        def count_queries():
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            self._render(profiles)
            return self.env.cr.sql_log_count - before

        queries = count_queries()
        for days in (5, 65, 95, 150):
            self.create_invoice(other, 10.0, days_ago=days)
            self.create_invoice(self.report_customer, 10.0, days_ago=days)
        self.assertEqual(count_queries(), queries)

    def test_report_pdf(self):
        if self.env["ir.actions.report"].get_wkhtmltopdf_state() != "ok":
            self.skipTest("wkhtmltopdf is not installed: the PDF step needs it (Debian package wkhtmltopdf)")
        # (The text is not checked in the PDF: wkhtmltopdf draws the layout's web fonts as outlines,
        # so it cannot be extracted; the HTML tests check the figures.)
        pdf, report_type = self._render_pdf(PROFILE_REPORT, self.profile)
        self.assertEqual(report_type, "pdf")
        self.assertTrue(pdf.startswith(b"%PDF"))
        pages = len(PdfReader(io.BytesIO(pdf)).pages)
        self.assertGreaterEqual(pages, 1)
        decision, _type = self._render_pdf(DECISION_REPORT, self.approval)
        self.assertTrue(decision.startswith(b"%PDF"))
        self.assertGreaterEqual(len(PdfReader(io.BytesIO(decision)).pages), 1)

    def test_report_pdf_of_several_profiles(self):
        """Printing several customers at once gives one PDF holding each customer's pages,
        also with Debian's wkhtmltopdf, which cannot render several pages in one run."""
        if self.env["ir.actions.report"].get_wkhtmltopdf_state() != "ok":
            self.skipTest("wkhtmltopdf is not installed: the PDF step needs it (Debian package wkhtmltopdf)")
        other = self.env["res.partner"].create({"name": "Second Report Customer"})
        other_profile = self.env["credit.profile"]._get_or_create(other, self.company)
        single_pages = len(PdfReader(io.BytesIO(self._render_pdf(PROFILE_REPORT, self.profile)[0])).pages)
        other_pages = len(PdfReader(io.BytesIO(self._render_pdf(PROFILE_REPORT, other_profile)[0])).pages)
        pdf, report_type = self._render_pdf(PROFILE_REPORT, self.profile | other_profile)
        self.assertEqual(report_type, "pdf")
        self.assertEqual(len(PdfReader(io.BytesIO(pdf)).pages), single_pages + other_pages)

    def _render_pdf(self, report, records):
        return (
            self.env["ir.actions.report"]
            .with_context(force_report_rendering=True)
            ._render_qweb_pdf(report, records.ids)
        )

    # ------------------------------------------------------------
    # Access
    # ------------------------------------------------------------

    def test_accountant_with_auditor_rights_prints(self):
        doc = self._render(self.profile, user=self.accountant)
        shown = self._aging_shown(doc)
        self.assertAlmostEqual(shown.pop("total"), 4300.0, places=2)
        self.assertEqual(shown, self.expected_aging)
        self.assertIn(self.held_order.name, doc.text_content())
        # From the customer's form too: the report action of its profile in the current company.
        partner = self.report_customer.with_user(self.accountant)
        action = partner.action_print_credit_report()
        self.assertEqual(action["type"], "ir.actions.report")
        self.assertEqual(action["report_name"], "sale_credit_control.report_credit_profile")
        self.assertEqual(action["context"]["active_ids"], self.profile.ids)
        # The report action is bound to the profile's Print menu.
        report = self.env.ref(PROFILE_REPORT)
        self.assertEqual(report.binding_model_id.model, "credit.profile")
        # Printing is reading: the accountant changes nothing.
        with self.assertRaises(AccessError):
            self.profile.with_user(self.accountant).write({"tolerance_percent": 5.0})

    def test_salesperson_cannot_print(self):
        with self.assertRaises(AccessError):
            self._render(self.profile, user=self.salesman)
        with self.assertRaises(AccessError):
            self.report_customer.with_user(self.salesman).action_print_credit_report()
        with self.assertRaises(AccessError):
            self.profile.with_user(self.salesman).action_print_credit_report()

    def test_other_company_profile_not_printable(self):
        company_b = self.setup_other_company(name="Report Company B")["company"]
        profile_b = self.profile_of(self.report_customer, company=company_b)
        with self.assertRaises(AccessError):
            self._render(profile_b, user=self.accountant)
        with self.assertRaises(AccessError):
            self._render(self.profile | profile_b, user=self.accountant)
        # A customer without a profile in the current company has nothing to print.
        newcomer = self.env["res.partner"].create({"name": "No Profile Yet", "is_company": True})
        with self.assertRaises(UserError):
            newcomer.with_user(self.accountant).action_print_credit_report()

    # ------------------------------------------------------------
    # Credit decision
    # ------------------------------------------------------------

    def test_decision_report(self):
        approval = self.approval
        self.assertEqual(approval.state, "approved")
        doc = self._render(approval, report=DECISION_REPORT, user=self.accountant)
        figures = {cell.get("data-figure"): self._amount(cell) for cell in doc.xpath("//td[@data-figure]")}
        self.assertEqual(
            figures,
            {
                "order_amount": approval.snapshot_order_amount,
                "limit": approval.snapshot_limit,
                "exposure_before": approval.snapshot_exposure_before,
                "exposure_after": approval.snapshot_exposure_after,
                "approved_amount": approval.approved_amount,
            },
        )
        self.assertEqual(figures["order_amount"], 700.0)
        self.assertEqual(figures["limit"], 50000.0)
        text = " ".join(doc.text_content().split())
        for expected in (
            approval.name,
            self.approved_order.name,
            "Report Customer Ltd",
            self.salesman.name,
            self.credit_manager.name,
            "Key account, pays after the audit",
            "Approved",
        ):
            self.assertIn(expected, text)
        self.assertIn(" ".join(approval.snapshot_reasons.split()), text)
        self.assertIn(formatLang(self.env, 700.0), text)
        self.assertEqual(self.env.ref(DECISION_REPORT).binding_model_id.model, "credit.approval")

    def test_decision_report_of_a_pending_request(self):
        order = self._blocked_order(self.report_customer, 1200.0)
        wizard = Form(
            self.env["credit.approval.request"]
            .with_user(self.salesman)
            .with_context(default_order_id=order.id)
        )
        wizard.reason = "Seasonal peak"
        wizard.save().action_request()
        approval = order.credit_approval_ids
        doc = self._render(approval, report=DECISION_REPORT)
        text = " ".join(doc.text_content().split())
        self.assertIn("Not decided yet.", text)
        self.assertIn("Seasonal peak", text)
        self.assertEqual(self._amount(doc.xpath("//td[@data-figure='order_amount']")[0]), 1200.0)
