import base64
import io

from lxml import html
from openpyxl import load_workbook

from odoo import Command
from odoo.tests import tagged

from ..credit_policy.evaluation import auc
from ..credit_policy.payment_model import fit_payment_model
from .common import band
from .test_payment_behaviour import PaymentBehaviourCommon


@tagged("post_install", "-at_install")
class TestPaymentPredictionUse(PaymentBehaviourCommon):
    """The late-payment model's predictions in use: a scorecard factor, an early-warning rule and
    the effectiveness review's side-by-side AUCs (T = today, every invoice 1,000):

    ======  =========================================================  =====================
    who     paid history (before the ratings of T-200)                 late share as of T
    ======  =========================================================  =====================
    Steady  due T-270 paid T-270; due T-220 paid T-225                  0 (on time)
    Slow    due T-270 paid T-240; due T-220 paid T-190                  late
    ======  =========================================================  =====================

    The active model is fitted on hand-made rows of one feature, the customer's late share
    (0 or 1, five of six rows of each paid as the share says): it predicts a low probability
    for a customer who paid on time and a high one for a customer who paid late.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.steady = cls.new_customer("Steady Payer")
        cls.slow = cls.new_customer("Slow Payer")
        cls.pay_on(cls.post_invoice(cls.steady, 1000.0, -300, -270), -270)
        cls.pay_on(cls.post_invoice(cls.steady, 1000.0, -250, -220), -225)
        cls.pay_on(cls.post_invoice(cls.slow, 1000.0, -300, -270), -240)
        cls.pay_on(cls.post_invoice(cls.slow, 1000.0, -250, -220), -190)
        cls.model = cls._active_model()
        cls.card = (
            cls.env["credit.scorecard"]
            .sudo()
            .create(
                {
                    "name": "Prediction Card",
                    "company_id": cls.company.id,
                    "factor_ids": [
                        Command.create(
                            {"code": "late_share", "weight": 1.0, "band_ids": [band(points=50.0)]}
                        ),
                        Command.create(
                            {
                                "code": "predicted_late_share",
                                "weight": 1.0,
                                "band_ids": [band(None, 0.5, 100.0), band(0.5, None, 0.0)],
                            }
                        ),
                    ],
                    "grade_ids": [
                        Command.create({"code": "A", "min_score": 60.0}),
                        Command.create({"code": "B", "min_score": 40.0}),
                        Command.create({"code": "D", "min_score": 0.0}),
                    ],
                }
            )
        )

    @classmethod
    def _active_model(cls):
        """An active late-payment model of the company, fitted on hand-made rows of one feature."""
        rows = [{"late_share": 0.0}] * 6 + [{"late_share": 1.0}] * 6
        labels = [False] * 5 + [True] + [True] * 5 + [False]
        fitted = fit_payment_model(rows, labels, features=["late_share"], penalty=1.0)
        features = cls.env["credit.payment.feature"].search([("code", "=", "late_share")])
        model = (
            cls.env["credit.payment.model"]
            .sudo()
            .create(
                {
                    "name": "Hand-Fitted Model",
                    "company_id": cls.company.id,
                    "date_from": cls.days(-700),
                    "date_to": cls.days(-1),
                    "split_date": cls.days(-200),
                    "feature_ids": [Command.set(features.ids)],
                    "model_data": fitted.to_dict(),
                    "training_size": fitted.training_size,
                    "late_count": fitted.late_count,
                    "base_late_rate": fitted.base_late_rate,
                }
            )
        )
        model.action_activate()
        assert model.state == "active", model.state
        return model

    def rate(self, partners):
        engine = self.env["credit.rating.engine"].with_user(self.credit_manager)
        return engine._rate_partners(partners, self.company)

    @staticmethod
    def line_of(rating, code):
        return next(line for line in rating.breakdown if line["code"] == code)

    # ------------------------------------------------------------
    # The scorecard factor
    # ------------------------------------------------------------

    def test_factor_comes_from_the_active_model_only_when_the_scorecard_uses_it(self):
        engine = self.env["credit.rating.engine"]
        partners = (self.steady + self.slow).ids
        predicted = self.model._predict_customers(partners, self.today)
        self.assertLess(predicted[self.steady.id], 0.5)
        self.assertGreater(predicted[self.slow.id], 0.5)
        facts = engine._customer_facts(partners, self.company, self.today, predict_late=True)
        self.assertAlmostEqual(facts[self.slow.id]["values"]["predicted_late_share"], predicted[self.slow.id])
        # Not asked for (a scorecard without the factor): missing, the model is not consulted.
        facts = engine._customer_facts(partners, self.company, self.today)
        self.assertIsNone(facts[self.slow.id]["values"]["predicted_late_share"])

    def test_factor_changes_the_rating_and_shows_in_the_breakdown(self):
        predicted = self.model._predict_customers((self.steady + self.slow).ids, self.today)
        ratings = self.rate(self.steady + self.slow)
        steady = ratings.filtered(lambda rating: rating.partner_id == self.steady)
        slow = ratings.filtered(lambda rating: rating.partner_id == self.slow)
        self.assertEqual(steady.scorecard_id, self.card)
        # (50 + 100) / 2 and (50 + 0) / 2: the same late-share points, the prediction decides
        self.assertAlmostEqual(steady.score, 75.0)
        self.assertAlmostEqual(slow.score, 25.0)
        self.assertEqual((steady.grade_code, slow.grade_code), ("A", "D"))
        line = self.line_of(slow, "predicted_late_share")
        self.assertAlmostEqual(line["value"], predicted[self.slow.id])
        self.assertEqual((line["points"], line["status"]), (0.0, "band"))
        self.assertAlmostEqual(line["weight"], 0.5)
        table = html.fromstring(str(slow.breakdown_html))
        cells = [
            [cell.text_content().strip() for cell in row.xpath("td")]
            for row in table.xpath("//tr")
            if row.xpath("td")
        ]
        row = next(cells for cells in cells if cells[0] == "Predicted Late Share (late-payment model)")
        self.assertEqual(row[1], f"{predicted[self.slow.id] * 100:.1f}%")

    def test_without_an_active_model_the_factor_is_missing(self):
        self.model.sudo().state = "superseded"
        ratings = self.rate(self.steady + self.slow)
        # the missing prediction scores the neutral 50 points for both
        self.assertEqual(ratings.mapped("score"), [50.0, 50.0])
        line = self.line_of(ratings[0], "predicted_late_share")
        self.assertEqual((line["value"], line["status"], line["points"]), (None, "missing", 50.0))
        self.assertIn("Missing", ratings[0].breakdown_html)

    # ------------------------------------------------------------
    # The early-warning rule
    # ------------------------------------------------------------

    def _jump_rule(self, points, **vals):
        return (
            self.env["credit.warning.rule"]
            .sudo()
            .create(
                {
                    "name": f"Predicted late share up {points} points",
                    "rule_type": "predicted_late_jump",
                    "threshold_points": points,
                    "threshold_days": 30,
                    "company_id": self.company.id,
                    **vals,
                }
            )
        )

    def _predict(self, partner, previous, share, day=0):
        self.profile_of(partner).sudo().write(
            {
                "predicted_late_share_previous": previous,
                "predicted_late_share": share,
                "predicted_late_share_date": self.days(day),
            }
        )

    def test_warning_rule_fires_on_a_jump_not_below_the_threshold(self):
        self.env["credit.warning.rule"].sudo().search([]).active = False  # the shipped rules
        rule_25, rule_30 = self._jump_rule(25.0), self._jump_rule(30.0)
        self._predict(self.slow, 0.20, 0.45)  # up 25 points
        self._predict(self.steady, 0.30, 0.10)  # down
        alerts = (rule_25 | rule_30)._evaluate_company(self.company, self.today)
        self.assertEqual(alerts.rule_id, rule_25, "25 points is not 30")
        self.assertEqual(alerts.partner_id, self.slow)
        self.assertEqual(alerts.alert_type, "predicted_late_jump")
        self.assertAlmostEqual(alerts.figures["rise_points"], 25.0)
        self.assertEqual(alerts.figures["prediction_date"], self.today.isoformat())
        self.assertIn("from 20.0% to 45.0%", alerts.message)
        self.assertIn("Slow Payer", alerts.message)
        self.assertEqual(
            rule_25.description,
            "Predicted late share up 25 percentage points or more since the previous prediction",
        )

        # One alert per prediction: not again, even once resolved; a new prediction that jumps is new.
        alerts.with_user(self.credit_manager).action_resolve()
        self.assertFalse(rule_25._evaluate_company(self.company, self.today))
        self._predict(self.slow, 0.45, 0.80, day=1)
        again = rule_25._evaluate_company(self.company, self.today)
        self.assertEqual(again.partner_id, self.slow)
        self.assertAlmostEqual(again.figures["rise_points"], 35.0)

    def test_warning_rule_ignores_old_predictions(self):
        rule = self._jump_rule(10.0)
        self._predict(self.slow, 0.10, 0.60, day=-31)
        self.assertFalse(rule._evaluate_company(self.company, self.today))
        rule.threshold_days = 0  # any date
        self.assertEqual(rule._evaluate_company(self.company, self.today).partner_id, self.slow)

    # ------------------------------------------------------------
    # The effectiveness review
    # ------------------------------------------------------------

    def _rated_with_later_invoices(self):
        """Ratings at T-200 (Steady 80, Slow 20) and later invoices: Steady's two on time, Slow's
        first 20 days late and its second on time. Returns the later invoices."""
        grades = {grade.code: grade for grade in self.card.grade_ids}
        Rating = self.env["credit.rating"].sudo()
        for partner, code, score in ((self.steady, "A", 80.0), (self.slow, "D", 20.0)):
            Rating.create(
                {
                    "partner_id": partner.id,
                    "company_id": self.company.id,
                    "date": self.days(-200),
                    "scorecard_id": self.card.id,
                    "score": score,
                    "grade_id": grades[code].id,
                    "grade_code": code,
                    "trigger": "manual",
                }
            )
        invoices = self.env["account.move"]
        for partner, paid in ((self.steady, (-120, -72)), (self.slow, (-100, -70))):
            for (invoice_day, due_day), paid_day in zip(((-150, -120), (-100, -70)), paid, strict=True):
                invoice = self.post_invoice(partner, 1000.0, invoice_day, due_day)
                self.pay_on(invoice, paid_day)
                invoices |= invoice
        return invoices

    def review(self):
        review = (
            self.env["credit.effectiveness.review"]
            .with_user(self.credit_manager)
            .create({"company_id": self.company.id, "date_from": self.days(-365), "date_to": self.today})
        )
        review.action_compute()
        return review

    def test_review_shows_scorecard_and_model_auc_on_the_same_invoices(self):
        invoices = self._rated_with_later_invoices()
        review = self.review()
        compared = review.result["model"]
        self.assertEqual(compared["model_id"], self.model.id)
        self.assertEqual(compared["model_name"], self.model.display_name)
        self.assertIn("Hand-Fitted Model", compared["model_name"])
        self.assertEqual((compared["later_invoices"], compared["invoices"], compared["late"]), (4, 4, 1))
        # The late invoice (Slow, score 20) against the three on time (80, 80, 20; a tie counts half).
        self.assertAlmostEqual(compared["scorecard_auc"], 2.5 / 3)
        # The model on the same four invoices, as of their invoice dates.
        probabilities = self.model._predict_invoices_at_invoice_date(invoices)
        late = {
            invoice.id: invoice.partner_id == self.slow and invoice.invoice_date_due == self.days(-120)
            for invoice in invoices
        }
        self.assertAlmostEqual(
            compared["model_auc"],
            auc([probabilities[i] for i in invoices.ids], [late[i] for i in invoices.ids]),
        )
        self.assertAlmostEqual(compared["model_auc"], 2.5 / 3)  # Slow's two invoices alike, above Steady's
        self.assertAlmostEqual(compared["model_gini"], 2 * 2.5 / 3 - 1)

        doc = html.fromstring(str(review.result_html))
        cells = {
            row.get("data-row"): [td.text_content().strip() for td in row.xpath("td")]
            for row in doc.xpath("//table[hasclass('o_credit_effectiveness_model')]//tr[@data-row]")
        }
        self.assertEqual(cells["scorecard"][1:5], ["4", "4", "1", "0.833"])
        self.assertEqual(cells["model"][0], self.model.display_name)
        self.assertEqual(cells["model"][1:5], ["4", "4", "1", "0.833"])

        action = review.action_export_xlsx()
        attachment = self.env["ir.attachment"].browse(
            int(action["url"].split("/web/content/")[1].split("?")[0])
        )
        sheet = load_workbook(io.BytesIO(base64.b64decode(attachment.datas)))["Model vs Scorecard"]
        header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
        self.assertEqual(header[:4], ["Ranked By", "Later Invoices", "Invoices Compared", "Late"])
        self.assertEqual([row[2:4] for row in rows], [[4, 1], [4, 1]])
        self.assertAlmostEqual(rows[1][header.index("AUC")], 2.5 / 3)

    def test_review_compares_only_invoices_the_model_did_not_learn_from(self):
        self._rated_with_later_invoices()
        self.model.sudo().split_date = self.days(-120)  # it learnt from the invoices of day -150
        compared = self.review().result["model"]
        # Left: the two invoices of day -100, both paid on time (the late one was of day -150).
        self.assertEqual((compared["later_invoices"], compared["invoices"], compared["late"]), (4, 2, 0))
        self.assertIsNone(compared["model_auc"], "no late invoice left: nothing to rank")
        self.assertIsNone(compared["scorecard_auc"])

    def test_review_without_an_active_model_says_so(self):
        self._rated_with_later_invoices()
        self.model.sudo().state = "superseded"
        review = self.review()
        self.assertFalse(review.result["model"]["model_id"])
        self.assertIsNotNone(review.result["discrimination"]["auc"], "the scorecard is still reviewed")
        doc = html.fromstring(str(review.result_html))
        self.assertIn(
            "No active late-payment model in this company",
            doc.xpath("//p[hasclass('o_credit_effectiveness_no_model')]")[0].text_content(),
        )
        self.assertFalse(doc.xpath("//table[hasclass('o_credit_effectiveness_model')]"))
