from odoo.tests import tagged
from odoo.tools import format_amount

from .test_payment_behaviour import PaymentBehaviourCommon


@tagged("post_install", "-at_install")
class TestNumberFormatting(PaymentBehaviourCommon):
    """Figures are shown the way Odoo shows them: percentages, amounts with their currency,
    whole days, "missing" as a state; and no sums of figures that do not add up."""

    def money(self, amount, currency=None):
        return format_amount(self.env, amount, currency or self.company.currency_id)

    # ------------------------------------------------------------
    # Rating breakdown
    # ------------------------------------------------------------

    def test_factor_values_read_in_their_unit(self):
        factor = self.env["credit.scorecard.factor"]
        currency = self.company.currency_id
        self.assertEqual(factor._format_value("late_share", 0.7273), "72.7%")
        self.assertEqual(factor._format_value("debt_to_asset", 0.015), "1.5%")
        self.assertEqual(factor._format_value("dso", 29.6), "30 days")
        self.assertEqual(factor._format_value("max_days_overdue", 4), "4 days")
        self.assertEqual(factor._format_value("sales_volume", 4800.0, currency), self.money(4800.0))
        self.assertEqual(factor._format_value("current_ratio", 1.5), "1.50")
        self.assertEqual(factor._format_value("country_risk", 1.0), "1")
        self.assertEqual(factor._format_value("relationship_years", 2.34), "2.3 years")
        self.assertEqual(factor._format_value("late_share", None), "")

    def test_factor_unit_comes_from_the_policy_core(self):
        factors = self.env["credit.scorecard.factor"]
        for code in ("late_share", "sales_volume", "dso"):
            factors |= factors.new({"code": code})
        self.assertEqual(factors.mapped("kind"), ["share", "amount", "days"])

    def test_band_bounds_read_in_their_factors_unit(self):
        share = self.env["credit.scorecard.factor"].new({"code": "late_share"})
        band = self.env["credit.scorecard.band"].new(
            {"factor_id": share, "lower": 0.1, "upper": 0.5, "points": 60.0}
        )
        self.assertEqual(band.display_name, "10.0% to under 50.0%: 60.0 points")
        days = self.env["credit.scorecard.factor"].new({"code": "dso"})
        band = self.env["credit.scorecard.band"].new(
            {"factor_id": days, "has_lower": False, "upper": 30, "points": 100}
        )
        self.assertEqual(band.display_name, "Under 30 days: 100.0 points")

    def test_rating_breakdown_shows_typed_values_and_missing_as_a_badge(self):
        customer = self.new_customer("Typed Figures")
        invoice = self.post_invoice(customer, 4800.0, -200, -170)
        self.pay_on(invoice, -160)  # all of it 10 days late
        engine = self.env["credit.rating.engine"].with_user(self.credit_manager)
        rating = engine._rate_partners(customer, self.company)
        html = str(rating.breakdown_html).replace("&nbsp;", "\xa0")
        values = {line["code"]: line["value"] for line in rating.breakdown}
        self.assertEqual(values["late_share"], 1.0)
        self.assertIn("<td>100.0%</td>", html)
        self.assertIn(f"<td>{self.money(4800.0)}</td>", html)
        self.assertIn("<td>10 days</td>", html)
        # no bureau report: missing, shown as such, not as a value
        self.assertIsNone(values["bureau_score"])
        self.assertIn("o_credit_factor_missing", html)
        self.assertNotIn("4800.0", html)
        self.assertNotIn("<td>1</td>", html)

    # ------------------------------------------------------------
    # Settings history
    # ------------------------------------------------------------

    def test_settings_history_shows_amounts_with_currency(self):
        self.set_limit(self.customer, 12000.0)
        change = self.env["credit.limit.history"].search(
            [("partner_id", "=", self.customer.id), ("field_name", "=", "credit_limit")], limit=1
        )
        self.assertEqual((change.old_value, change.new_value), ("1000.0", "12000.0"))  # as hashed
        self.assertEqual(change.old_value_display, self.money(1000.0))
        self.assertEqual(change.new_value_display, self.money(12000.0))

    def test_settings_history_shows_each_setting_in_its_unit(self):
        profile = self.profile_of(self.customer)
        profile.write({"tolerance_percent": 5.0})
        profile._put_on_hold("Unpaid invoices")
        history = self.env["credit.limit.history"].search([("profile_id", "=", profile.id)])
        tolerance = history.filtered(lambda row: row.field_name == "tolerance_percent")
        self.assertEqual(tolerance.new_value_display, "5.00%")
        hold = history.filtered(lambda row: row.field_name == "on_hold")
        self.assertEqual((hold.old_value_display, hold.new_value_display), ("Not on Hold", "On Hold"))

    def test_company_default_limit_change_is_kept_as_typed_amounts(self):
        change = self.env["credit.limit.history"]._record_company(
            self.company, "default_credit_limit", 5000.0, 12000.0, "New policy"
        )
        self.assertEqual(change.new_limit_currency_id, self.company.currency_id)
        self.assertEqual((change.old_limit_amount, change.new_limit_amount), (5000.0, 12000.0))
        self.assertEqual(change.new_value_display, self.money(12000.0))
        # logged with its typed amounts, and the decision log's chain still holds
        log = (
            self.env["credit.decision.log"]
            .sudo()
            .search(
                [
                    ("event", "=", "limit_changed"),
                    ("res_model", "=", change._name),
                    ("res_id", "=", change.id),
                ],
                limit=1,
            )
        )
        self.assertIn(self.money(12000.0), log.display_name + (log.summary or ""))
        self.assertIsNone(self.env["credit.decision.log"].sudo()._verify_company(self.company)[0])

    # ------------------------------------------------------------
    # DSO
    # ------------------------------------------------------------

    def test_no_dso_for_a_short_history(self):
        """One invoice 10 days old is not "DSO 365": there is no DSO yet."""
        customer = self.new_customer("New Customer")
        self.post_invoice(customer, 500.0, -10, 20)
        profile = self.profile_of(customer)
        self.assertTrue(profile.behaviour_has_history)
        self.assertFalse(profile.behaviour_has_dso)
        self.assertFalse(profile.behaviour_dso)
        self.assertIsNone(self.facts(customer)["values"]["dso"])

    def test_dso_over_a_history_shorter_than_a_year(self):
        customer = self.new_customer("Young Customer")
        first = self.post_invoice(customer, 1200.0, -120, -90)
        self.post_invoice(customer, 2400.0, -10, 20)
        self.pay_on(first, -90)
        profile = self.profile_of(customer)
        # 2 400 open / 3 600 sold over the 120 days of history x 120
        self.assertTrue(profile.behaviour_has_dso)
        self.assertAlmostEqual(profile.behaviour_dso, 80.0)

    # ------------------------------------------------------------
    # No meaningless sums
    # ------------------------------------------------------------

    def test_non_additive_figures_are_not_summed(self):
        non_additive = {
            "credit.rating": ["score", "recommended_limit", "country_risk_class"],
            "credit.grade": [
                "min_score",
                "max_limit_fixed",
                "deposit_percent",
                "review_months",
                "payment_term_days",
            ],
            "credit.scorecard.factor": ["weight", "missing_points"],
            "credit.scorecard.band": ["lower", "upper", "points"],
            "credit.warning.rule": [
                "threshold_days",
                "threshold_percent",
                "threshold_amount",
                "history_days",
            ],
            "credit.financial.statement": ["revenue", "equity", "debt_to_asset", "net_margin"],
            "credit.limit.history": ["old_limit_amount", "new_limit_amount"],
            "credit.limit.request": ["recommended_limit", "previous_limit", "second_approval_threshold"],
            "credit.profile": ["tolerance_percent"],
            "credit.bureau.report": ["score"],
            "res.company": ["credit_overdue_days", "credit_default_tolerance", "credit_review_lead_days"],
        }
        for model, names in non_additive.items():
            for name in names:
                with self.subTest(field=f"{model}.{name}"):
                    self.assertFalse(self.env[model]._fields[name].aggregator)
        # additive amounts keep their sums
        self.assertEqual(self.env["credit.exposure.report"]._fields["exposure_amount"].aggregator, "sum")
        # a grouped list of grades shows no total of their thresholds
        groups = self.env["credit.grade"].read_group([], ["min_score"], ["scorecard_id"])
        self.assertTrue(groups)
        self.assertNotIn("min_score", groups[0])
