import base64
import contextlib
import io

from lxml import html
from openpyxl import load_workbook

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .test_payment_behaviour import PaymentBehaviourCommon

REPORT = "sale_credit_control.credit_effectiveness_review_report"


@tagged("post_install", "-at_install")
class TestEffectivenessReview(PaymentBehaviourCommon):
    """The policy-effectiveness review on seeded history (T = today, every invoice 1,000):

    ============  =====  =====  ===========================================================
    customer      grade  score  invoices after the rating (T-200)
    ============  =====  =====  ===========================================================
    Best          AA     85     due T-120 paid T-125; due T-70 paid T-70         (0 late)
    Good          A      70     due T-120 paid T-80 (40 days late); due T-70 paid T-75 (1)
    Fair          BB     50     due T-120 paid T-120; due T-70 paid T-80         (0 late)
    Poor          B      20     due T-120 still open; due T-70 credit note T-60  (1 late)
    ============  =====  =====  ===========================================================

    Best was also rated B (score 10) at T-300, with an invoice due T-220 paid T-100: only the
    latest rating of the period counts, so that invoice is in no grade (but in "the rest" of
    the override table). A grade A customer paying worse than the BB one breaks monotonicity.

    Override: the common customer (limit 1,000) gets a 1,500 order blocked, approved by
    ``credit_manager`` and confirmed, invoiced T-60 due T-30 and paid T-10 (20 days late); a
    second order of 2,000 is rejected by ``credit_manager_2``.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.scorecard = (
            cls.env["credit.scorecard"]
            .sudo()
            .create(
                {
                    "name": "Effectiveness Scorecard",
                    "company_id": cls.company.id,
                    "factor_ids": [
                        Command.create(
                            {
                                "code": "late_share",
                                "weight": 1.0,
                                "band_ids": [
                                    Command.create({"has_lower": False, "has_upper": False, "points": 50.0})
                                ],
                            }
                        )
                    ],
                    "grade_ids": [
                        Command.create({"code": "AA", "min_score": 80.0}),
                        Command.create({"code": "A", "min_score": 60.0}),
                        Command.create({"code": "BB", "min_score": 40.0}),
                        Command.create({"code": "B", "min_score": 0.0}),
                    ],
                }
            )
        )
        grades = {grade.code: grade for grade in cls.scorecard.grade_ids}
        cls.best = cls.new_customer("Best Payer")
        cls.good = cls.new_customer("Good Grade Late Payer")
        cls.fair = cls.new_customer("Fair Grade On Time")
        cls.poor = cls.new_customer("Poor Payer")
        cls.rate(cls.best, grades["B"], 10.0, -300)
        for partner, code, score in (
            (cls.best, "AA", 85.0),
            (cls.good, "A", 70.0),
            (cls.fair, "BB", 50.0),
            (cls.poor, "B", 20.0),
        ):
            cls.rate(partner, grades[code], score, -200)

        cls.pay_on(cls.post_invoice(cls.best, 1000.0, -250, -220), -100)  # before the latest rating
        cls.pay_on(cls.post_invoice(cls.best, 1000.0, -150, -120), -125)
        cls.pay_on(cls.post_invoice(cls.best, 1000.0, -100, -70), -70)
        cls.pay_on(cls.post_invoice(cls.good, 1000.0, -150, -120), -80)
        cls.pay_on(cls.post_invoice(cls.good, 1000.0, -100, -70), -75)
        cls.pay_on(cls.post_invoice(cls.fair, 1000.0, -150, -120), -120)
        cls.pay_on(cls.post_invoice(cls.fair, 1000.0, -100, -70), -80)
        cls.post_invoice(cls.poor, 1000.0, -150, -120)  # never paid
        credited = cls.post_invoice(cls.poor, 1000.0, -100, -70)
        refund = cls.post_invoice(cls.poor, 1000.0, -60, -60, move_type="out_refund")
        (credited.line_ids + refund.line_ids).filtered(
            lambda line: line.display_type == "payment_term"
        ).reconcile()
        assert credited.payment_state in ("paid", "reversed"), credited.payment_state

        # The override: blocked, approved, confirmed, invoiced and paid 20 days late.
        cls.override_order = cls.blocked_order(1500.0)
        approval = cls.request_approval(cls.override_order)
        approval.with_user(cls.credit_manager).action_approve()
        cls.override_order.with_user(cls.salesman).action_confirm()
        assert cls.override_order.state == "sale"
        invoice = cls.override_order._create_invoices()
        invoice.write({"invoice_payment_term_id": False, "invoice_date": cls.days(-60)})
        invoice.write({"invoice_date_due": cls.days(-30)})
        invoice.action_post()
        assert invoice.invoice_date_due == cls.days(-30)
        cls.pay_on(invoice, -10)
        cls.override_invoice = invoice
        # A second request, rejected by the other manager.
        rejected = cls.request_approval(cls.blocked_order(2000.0))
        rejected_as_manager = rejected.with_user(cls.credit_manager_2)
        rejected_as_manager.decision_reason = "Too much already"
        rejected_as_manager.action_reject()

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    @classmethod
    def rate(cls, partner, grade, score, day):
        """A rating of ``partner`` with ``grade`` and ``score``, dated ``day`` days from today."""
        return (
            cls.env["credit.rating"]
            .sudo()
            .create(
                {
                    "partner_id": partner.id,
                    "company_id": cls.company.id,
                    "date": cls.days(day),
                    "scorecard_id": cls.scorecard.id,
                    "score": score,
                    "grade_id": grade.id,
                    "grade_code": grade.code,
                    "trigger": "manual",
                }
            )
        )

    @classmethod
    def blocked_order(cls, amount):
        order = cls.create_order(cls.customer, amount, user=cls.salesman)
        # Refused, as asserted below (not assertRaises: its savepoint would undo the recorded refusal).
        with contextlib.suppress(UserError):
            order.with_user(cls.salesman).action_confirm()
        assert order.state == "draft" and order.credit_check_state == "blocked", order.credit_check_state
        return order

    @classmethod
    def request_approval(cls, order):
        approval = (
            cls.env["credit.approval"]
            .with_user(cls.salesman)
            .create({"order_id": order.id, "request_reason": "Strategic customer"})
        )
        return cls.env["credit.approval"].browse(approval.id)

    def review(self, user=None, **vals):
        """A review of the last 365 days computed as ``user`` (a credit manager by default)."""
        env = self.env(user=user or self.credit_manager)
        review = env["credit.effectiveness.review"].create(
            {
                "company_id": self.company.id,
                "date_from": self.days(-365),
                "date_to": self.today,
                **vals,
            }
        )
        review.action_compute()
        return review

    @staticmethod
    def grades(review):
        return {line["grade"]: line for line in review.result["grades"]}

    # ------------------------------------------------------------
    # Tests
    # ------------------------------------------------------------

    def test_defaults(self):
        review = self.env["credit.effectiveness.review"].with_user(self.credit_manager).create({})
        self.assertEqual(review.late_days, 0)
        self.assertEqual(review.horizon_days, 365)
        self.assertEqual(review.date_to, self.today)
        self.assertEqual(review.company_id, self.company)
        self.assertFalse(review.has_result)
        with self.assertRaises(UserError):
            review.action_print_pdf()

    def test_grades_late_and_written_off_shares(self):
        review = self.review(user=self.credit_manager)
        grades = self.grades(review)
        self.assertEqual([line["grade"] for line in review.result["grades"]], ["AA", "A", "BB", "B"])
        # Only the latest rating per customer: Best counts once, as AA (not as its older B).
        self.assertEqual(
            {code: line["ratings"] for code, line in grades.items()}, {"AA": 1, "A": 1, "BB": 1, "B": 1}
        )
        self.assertEqual(
            {code: line["invoices"] for code, line in grades.items()}, {"AA": 2, "A": 2, "BB": 2, "B": 2}
        )
        self.assertEqual(
            {code: line["late_share"] for code, line in grades.items()},
            {"AA": 0.0, "A": 0.5, "BB": 0.0, "B": 0.5},
        )
        # Poor: the open invoice is unpaid 90 days after due (180 not reached yet); the credited
        # one had its credit note within 90 days.
        self.assertEqual((grades["B"]["written_off_90"], grades["B"]["written_off_180"]), (2, 1))
        self.assertEqual(
            (grades["B"]["written_off_90_share"], grades["B"]["written_off_180_share"]), (1.0, 0.5)
        )
        for code in ("AA", "A", "BB"):
            self.assertEqual((grades[code]["written_off_90"], grades[code]["written_off_180"]), (0, 0), code)
        # A pays worse than BB: BB is flagged.
        self.assertEqual(review.result["breaks"], [["A", "BB"]])
        self.assertEqual([code for code, line in grades.items() if line["breaks"]], ["BB"])

    def test_score_discrimination(self):
        review = self.review(user=self.credit_manager)
        disc = review.result["discrimination"]
        # Late customers scored 70 and 20, on-time ones 85 and 50: of the 4 (late, on-time) pairs,
        # 70<85, 20<85, 20<50 are ranked right, 70>50 is not: AUC 3/4, Gini 0.5.
        self.assertEqual((disc["ratings"], disc["with_invoices"], disc["late"]), (4, 4, 2))
        self.assertAlmostEqual(disc["auc"], 0.75)
        self.assertAlmostEqual(disc["gini"], 0.5)

    def test_late_threshold_and_horizon(self):
        # Beyond 30 days: Good's 40 days still count, the override's 20 days do not.
        review = self.review(late_days=30)
        self.assertEqual(self.grades(review)["A"]["late"], 1)
        self.assertEqual(review.result["overrides"]["overridden"]["late"], 0)
        # Beyond 45 days: Good paid in time, the grades rise again; only Poor (lowest score) is late.
        review = self.review(late_days=45)
        grades = self.grades(review)
        self.assertEqual(
            {code: line["late"] for code, line in grades.items()}, {"AA": 0, "A": 0, "BB": 0, "B": 1}
        )
        self.assertEqual(review.result["breaks"], [])
        self.assertAlmostEqual(review.result["discrimination"]["auc"], 1.0)
        self.assertAlmostEqual(review.result["discrimination"]["gini"], 1.0)
        # Beyond 150 days nobody is late: AUC and Gini are undefined, not 0.5.
        review = self.review(late_days=150)
        self.assertIsNone(review.result["discrimination"]["auc"])
        self.assertIsNone(review.result["discrimination"]["gini"])
        # A 60-day horizon keeps only the invoices dated T-150.
        review = self.review(horizon_days=60)
        self.assertEqual(
            {code: line["invoices"] for code, line in self.grades(review).items()},
            {"AA": 1, "A": 1, "BB": 1, "B": 1},
        )

    def test_overrides_and_managers(self):
        review = self.review(user=self.credit_manager)
        overrides = review.result["overrides"]
        self.assertEqual(overrides["overridden"]["invoices"], 1)
        self.assertEqual(overrides["overridden"]["late_share"], 1.0)
        # The rest: 9 invoices (Best's older one included), 3 late (that one, Good's, Poor's open one).
        self.assertEqual((overrides["rest"]["invoices"], overrides["rest"]["late"]), (9, 3))
        self.assertAlmostEqual(overrides["rest"]["late_share"], 1 / 3)
        self.assertAlmostEqual(overrides["difference"], 2 / 3)
        # Written off in 90: Best's older (unpaid 90 days after due, paid at 120), Poor's two;
        # in 180: the credit note.
        self.assertEqual((overrides["rest"]["written_off_90"], overrides["rest"]["written_off_180"]), (3, 1))
        managers = {line["user_id"]: line for line in review.result["managers"]}
        self.assertEqual(set(managers), {self.credit_manager.id, self.credit_manager_2.id})
        approver = managers[self.credit_manager.id]
        self.assertEqual(
            (approver["approved"], approver["rejected"], approver["invoices"], approver["late"]), (1, 0, 1, 1)
        )
        self.assertEqual(approver["late_share"], 1.0)
        rejecter = managers[self.credit_manager_2.id]
        self.assertEqual((rejecter["approved"], rejecter["rejected"], rejecter["invoices"]), (0, 1, 0))
        self.assertIsNone(rejecter["late_share"])

    def test_form_and_report_show_the_figures(self):
        review = self.review(user=self.credit_manager)
        form_html = html.fromstring(str(review.result_html))
        self.assertEqual(
            form_html.xpath("//tr[@data-grade='A']/td[contains(@class, 'o_late_share')]")[0].text, "50.0%"
        )

        content, _type = self.env(user=self.credit_manager)["ir.actions.report"]._render_qweb_html(
            REPORT, review.ids
        )
        doc = html.fromstring(content)

        def cell(xpath):
            return doc.xpath(xpath)[0].text_content().strip()

        self.assertEqual(cell("//td[hasclass('o_auc')]"), "0.750")
        self.assertEqual(cell("//td[hasclass('o_gini')]"), "0.500")
        shares = {
            code: cell(f"//tr[@data-grade='{code}']/td[hasclass('o_late_share')]")
            for code in ("AA", "A", "BB", "B")
        }
        self.assertEqual(shares, {"AA": "0.0%", "A": "50.0%", "BB": "0.0%", "B": "50.0%"})
        self.assertEqual(cell("//tr[@data-grade='B']/td[hasclass('o_wo90_share')]"), "100.0%")
        self.assertIn("table-warning", doc.xpath("//tr[@data-grade='BB']")[0].get("class"))
        self.assertTrue(doc.xpath("//div[hasclass('o_credit_effectiveness_breaks')]"))
        self.assertEqual(cell("//tr[@data-row='overridden']/td[hasclass('o_late_share')]"), "100.0%")
        self.assertEqual(cell("//tr[@data-row='rest']/td[hasclass('o_late_share')]"), "33.3%")
        manager_row = doc.xpath(f"//tr[@data-user='{self.credit_manager.id}']/td")
        self.assertEqual(
            [td.text_content().strip() for td in manager_row],
            [self.credit_manager.name, "1", "0", "1", "1", "100.0%"],
        )
        action = review.action_print_pdf()
        self.assertEqual(action["report_name"], "sale_credit_control.report_credit_effectiveness_review")

    def test_pdf_renders(self):
        """The PDF itself, with wkhtmltopdf as all Odoo reports need it."""
        if self.env["ir.actions.report"].get_wkhtmltopdf_state() != "ok":
            self.skipTest("wkhtmltopdf is not installed: the PDF step needs it (Debian package wkhtmltopdf)")
        review = self.review(user=self.credit_manager)
        pdf, report_type = (
            self.env(user=self.credit_manager)["ir.actions.report"]
            .with_context(force_report_rendering=True)
            ._render_qweb_pdf(REPORT, review.ids)
        )
        self.assertEqual(report_type, "pdf")
        self.assertTrue(pdf.startswith(b"%PDF"))

    def test_xlsx_export(self):
        # An auditor (read-only credit rights) computes and exports.
        review = self.review(user=self.auditor)
        action = review.action_export_xlsx()
        self.assertEqual(action["type"], "ir.actions.act_url")
        attachment_id = int(action["url"].split("/web/content/")[1].split("?")[0])
        attachment = self.env["ir.attachment"].browse(attachment_id)
        workbook = load_workbook(io.BytesIO(base64.b64decode(attachment.datas)))
        self.assertEqual(
            workbook.sheetnames, ["Discrimination", "Grades", "Overrides", "Managers", "Model vs Scorecard"]
        )

        def rows(sheet):
            return [list(row) for row in workbook[sheet].iter_rows(values_only=True)]

        discrimination = rows("Discrimination")
        header, values = discrimination[0], discrimination[1]
        self.assertAlmostEqual(values[header.index("AUC")], 0.75)
        self.assertAlmostEqual(values[header.index("Gini")], 0.5)
        grades = rows("Grades")
        self.assertEqual(grades[0][:5], ["Grade", "Ratings", "Invoices", "Late", "Late Share"])
        self.assertEqual(
            [row[:5] for row in grades[1:]],
            [
                ["AA", 1, 2, 0, 0.0],
                ["A", 1, 2, 1, 0.5],
                ["BB", 1, 2, 0, 0.0],
                ["B", 1, 2, 1, 0.5],
            ],
        )
        self.assertEqual([row[-1] for row in grades[1:]], ["No", "No", "Yes", "No"])
        self.assertEqual(workbook["Grades"]["E2"].number_format, "0.0%")
        self.assertEqual(workbook["Grades"].auto_filter.ref, "A1:J5")
        overrides = rows("Overrides")
        self.assertEqual(overrides[1][1:4], [1, 1, 1.0])
        self.assertEqual(overrides[2][1:3], [9, 3])
        managers = {row[0]: row[1:6] for row in rows("Managers")[1:]}
        self.assertEqual(managers[self.credit_manager.name], [1, 0, 1, 1, 1.0])
        self.assertEqual(managers[self.credit_manager_2.name][:3], [0, 1, 0])

    def test_access(self):
        with self.assertRaises(AccessError):
            self.env["credit.effectiveness.review"].with_user(self.salesman).create({})
        review = self.review()
        with self.assertRaises(AccessError):
            review.with_user(self.salesman).action_compute()
        # The figures come from Compute only; changing a parameter clears them.
        with self.assertRaises(UserError):
            review.write({"result": {"grades": []}})
        forged = (
            self.env["credit.effectiveness.review"]
            .with_user(self.credit_manager)
            .create({"result": {"x": 1}})
        )
        self.assertFalse(forged.result)
        review.late_days = 10
        self.assertFalse(review.result)
        self.assertFalse(review.has_result)
        # Only the user's own companies.
        other = self.env["res.company"].sudo().create({"name": "Other Credit Company"})
        foreign = (
            self.env["credit.effectiveness.review"]
            .with_user(self.credit_manager)
            .create({"company_id": other.id})
        )
        with self.assertRaises(AccessError):
            foreign.action_compute()
