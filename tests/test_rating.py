from unittest.mock import patch

from dateutil.relativedelta import relativedelta

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import band
from .test_payment_behaviour import PaymentBehaviourCommon


@tagged("post_install", "-at_install")
class TestRating(PaymentBehaviourCommon):
    """Rating runs with a small company scorecard whose figures can be checked by hand:

    score = (3 x late-share points + 1 x bureau points) / 4; grades A >= 60, B >= 40, D >= 0.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.eur = cls.setup_other_currency("EUR")  # 1 company currency = 2 EUR from 2017 on
        cls.scorecard = (
            cls.env["credit.scorecard"]
            .sudo()
            .create(
                {
                    "name": "Hand-Checked Card",
                    "company_id": cls.company.id,
                    "factor_ids": [
                        Command.create(
                            {
                                "code": "late_share",
                                "weight": 3.0,
                                "band_ids": [
                                    band(None, 0.1, 100.0),
                                    band(0.1, 0.5, 60.0),
                                    band(0.5, None, 0.0),
                                ],
                            }
                        ),
                        Command.create(
                            {
                                "code": "bureau_score",
                                "weight": 1.0,
                                "missing_mode": "points",
                                "missing_points": 10.0,
                                "band_ids": [band(None, 50.0, 20.0), band(50.0, None, 80.0)],
                            }
                        ),
                    ],
                    "grade_ids": [
                        Command.create(
                            {"code": "A", "min_score": 60.0, "revenue_share": 10.0, "review_months": 12}
                        ),
                        Command.create(
                            {
                                "code": "B",
                                "min_score": 40.0,
                                "revenue_share": 5.0,
                                "deposit_percent": 10.0,
                                "review_months": 6,
                            }
                        ),
                        Command.create(
                            {
                                "code": "D",
                                "min_score": 0.0,
                                "use_fixed_cap": True,
                                "max_limit_fixed": 0.0,
                                "deposit_percent": 100.0,
                                "review_months": 3,
                            }
                        ),
                    ],
                }
            )
        )
        # Good: a quarter of the amount paid 10 days late (60 points), bureau score 72 (80 points).
        cls.good = cls.new_customer("Good Payer")
        late = cls.post_invoice(cls.good, 1000.0, -100, -70)
        early = cls.post_invoice(cls.good, 3000.0, -100, -70)
        cls.pay_on(late, -60)
        cls.pay_on(early, -75)
        cls.bureau(cls.good, 72.0, -30)
        cls.statement(cls.good, revenue=500000.0, equity=200000.0, total_assets=400000.0)
        # Bad: everything paid 30 days late (0 points), bureau score 30 (20 points).
        cls.bad = cls.new_customer("Bad Payer")
        invoice = cls.post_invoice(cls.bad, 2000.0, -90, -60)
        cls.pay_on(invoice, -30)
        cls.bureau(cls.bad, 30.0, -30)
        # Unknown: no invoice, no report, no statement.
        cls.unknown = cls.new_customer("Unknown Prospect")

    @classmethod
    def bureau(cls, partner, score, day):
        return (
            cls.env["credit.bureau.report"]
            .sudo()
            .create(
                {
                    "partner_id": partner.id,
                    "company_id": cls.company.id,
                    "agency": "Dun & Bradstreet",
                    "score": score,
                    "report_date": cls.days(day),
                }
            )
        )

    @classmethod
    def statement(cls, partner, currency=None, **figures):
        return (
            cls.env["credit.financial.statement"]
            .sudo()
            .create(
                {
                    "partner_id": partner.id,
                    "company_id": cls.company.id,
                    "currency_id": (currency or cls.company.currency_id).id,
                    "period_end": cls.days(-60),
                    **figures,
                }
            )
        )

    def rate(self, partners, user=None, **kwargs):
        engine = self.env["credit.rating.engine"].with_user(user or self.credit_manager)
        return engine._rate_partners(partners, self.company, **kwargs)

    def rating_of(self, ratings, partner):
        return ratings.filtered(lambda rating: rating.partner_id == partner)

    # ------------------------------------------------------------------ rating runs

    def test_rating_run_stores_score_grade_and_breakdown(self):
        ratings = self.rate(self.good + self.bad + self.unknown)
        self.assertEqual(len(ratings), 3)

        good = self.rating_of(ratings, self.good)
        self.assertAlmostEqual(good.score, 65.0)  # (3 x 60 + 80) / 4
        self.assertEqual(good.grade_code, "A")
        self.assertEqual(good.grade_id.code, "A")
        self.assertEqual(good.grade_id.scorecard_id, self.scorecard)
        self.assertEqual(good.scorecard_id, self.scorecard)
        self.assertEqual(good.date, self.today)
        self.assertEqual(good.trend, "new")
        self.assertFalse(good.previous_grade_code)
        self.assertEqual(good.trigger, "manual")
        self.assertEqual(good.user_id, self.credit_manager)
        self.assertTrue(good.has_recommendation)
        self.assertAlmostEqual(good.recommended_limit, 50000.0)  # 10 % of revenue 500 000
        late_line, bureau_line = good.breakdown
        self.assertEqual(late_line["code"], "late_share")
        self.assertAlmostEqual(late_line["value"], 0.25)
        self.assertEqual(late_line["points"], 60.0)
        self.assertAlmostEqual(late_line["weight"], 0.75)
        self.assertAlmostEqual(late_line["contribution"], 45.0)
        self.assertEqual(late_line["status"], "band")
        self.assertEqual(bureau_line["code"], "bureau_score")
        self.assertEqual(bureau_line["value"], 72.0)
        self.assertEqual(bureau_line["points"], 80.0)
        self.assertAlmostEqual(bureau_line["contribution"], 20.0)
        self.assertIn("Credit Bureau Score", good.breakdown_html)

        bad = self.rating_of(ratings, self.bad)
        self.assertAlmostEqual(bad.score, 5.0)  # (3 x 0 + 20) / 4
        self.assertEqual(bad.grade_code, "D")
        self.assertTrue(bad.has_recommendation)  # D: fixed cap 0, cash only
        self.assertEqual(bad.recommended_limit, 0.0)

    def test_missing_data_is_scored_not_a_crash(self):
        rating = self.rate(self.unknown)
        # late share missing: neutral 50 points; bureau score missing: the configured 10 points
        self.assertAlmostEqual(rating.score, 40.0)  # (3 x 50 + 10) / 4
        self.assertEqual(rating.grade_code, "B")
        self.assertEqual([line["status"] for line in rating.breakdown], ["missing", "missing"])
        self.assertEqual([line["value"] for line in rating.breakdown], [None, None])
        self.assertEqual([line["points"] for line in rating.breakdown], [50.0, 10.0])
        # B caps the limit by revenue only, and there is no statement: no recommendation
        self.assertFalse(rating.has_recommendation)
        self.assertIn("Missing", rating.breakdown_html)

    def test_profiles_get_rating_and_review_date_from_the_grade(self):
        self.assertFalse(self.env["credit.profile"].search([("partner_id", "=", self.unknown.id)]))
        ratings = self.rate(self.good + self.bad + self.unknown)
        for partner, months in ((self.good, 12), (self.unknown, 6), (self.bad, 3)):
            profile = self.profile_of(partner)
            self.assertEqual(profile.rating_id, self.rating_of(ratings, partner))
            self.assertEqual(profile.review_date, self.today + relativedelta(months=months))
        profile = self.profile_of(self.good)
        self.assertEqual(profile.grade_code, "A")
        self.assertAlmostEqual(profile.score, 65.0)
        self.assertEqual(profile.rating_trend, "new")
        self.assertEqual(profile.rating_ids, self.rating_of(ratings, self.good))
        self.assertEqual(self.good.credit_grade_code, "A")
        self.assertEqual(self.good.credit_review_date, self.today + relativedelta(months=12))

    def test_rating_as_of_a_past_date(self):
        as_of = self.days(-65)  # before the late payment (day -60), after the early one (day -75)
        rating = self.rate(self.good, as_of=as_of)
        self.assertEqual(rating.date, as_of)
        self.assertEqual(rating.breakdown[0]["value"], 0.0)  # only the early payment counted
        # the bureau report (day -30) did not exist yet: the configured 10 points
        self.assertEqual(rating.breakdown[1]["status"], "missing")
        self.assertAlmostEqual(rating.score, (3 * 100 + 10) / 4)
        self.assertEqual(self.profile_of(self.good).review_date, as_of + relativedelta(months=12))

    def test_trend_against_the_previous_rating(self):
        first = self.rate(self.good)
        self.bureau(self.good, 30.0, -1)  # a newer report: bureau points 80 -> 20
        second = self.rate(self.good)
        self.assertAlmostEqual(second.score, 50.0)  # (3 x 60 + 20) / 4
        self.assertEqual(second.grade_code, "B")
        self.assertEqual(second.previous_grade_code, "A")
        self.assertEqual(second.trend, "down")
        self.assertAlmostEqual(second.recommended_limit, 25000.0)  # 5 % of revenue
        profile = self.profile_of(self.good)
        self.assertEqual(profile.rating_id, second)
        self.assertEqual(profile.rating_trend, "down")
        self.assertEqual(profile.rating_ids, second + first)
        self.assertEqual(profile.review_date, self.today + relativedelta(months=6))
        self.bureau(self.good, 90.0, 0)
        third = self.rate(self.good)
        self.assertEqual((third.grade_code, third.previous_grade_code, third.trend), ("A", "B", "up"))
        again = self.rate(self.good)
        self.assertEqual(again.trend, "same")

    def test_statement_in_another_currency_is_converted(self):
        foreign = self.new_customer("Euro Customer")
        self.statement(foreign, currency=self.eur, revenue=600000.0)
        self.bureau(foreign, 90.0, -5)
        rating = self.rate(foreign)
        self.assertAlmostEqual(rating.score, 57.5)  # (3 x 50 + 80) / 4
        self.assertEqual(rating.grade_code, "B")
        self.assertAlmostEqual(rating.recommended_limit, 15000.0)  # 5 % of 600 000 EUR = 300 000

    def test_contacts_are_rated_as_their_company(self):
        contact = self.env["res.partner"].create({"name": "Good Payer Buyer", "parent_id": self.good.id})
        ratings = self.rate(contact + self.good)
        self.assertEqual(ratings.partner_id, self.good)
        self.assertEqual(len(ratings), 1)

    def test_rating_writes_in_bulk(self):
        customers = self.env["res.partner"].create(
            [{"name": f"Bulk {index}", "is_company": True} for index in range(12)]
        )

        def queries(partners):
            self.env.flush_all()
            before = self.cr.sql_log_count
            ratings = self.rate(partners)
            self.env.flush_all()
            self.assertEqual(len(ratings), len(partners))
            return self.cr.sql_log_count - before

        queries(customers[:2])  # warm up caches (scorecard, grades, currencies)
        # first ratings: profiles created (one by the ORM, the others copied in one INSERT)
        self.assertEqual(queries(customers[2:4]), queries(customers[4:9]))
        # re-ratings: the profiles exist
        self.assertEqual(queries(customers[2:4]), queries(customers[2:9]))

    def test_run_in_several_batches(self):
        customers = (
            self.good
            + self.bad
            + self.unknown
            + self.env["res.partner"].create(
                [{"name": f"Batch {index}", "is_company": True} for index in range(4)]
            )
        )
        engine = self.env["credit.rating.engine"]
        with patch.object(type(engine), "_batch_size", 2):
            ratings = self.rate(customers, trigger="batch")
        self.assertEqual(len(ratings), 7)
        self.assertEqual(ratings.partner_id, customers)
        for partner in customers:
            self.assertEqual(self.profile_of(partner).rating_id, self.rating_of(ratings, partner))
        self.assertEqual(self.rating_of(ratings, self.good).grade_code, "A")
        self.assertEqual(self.rating_of(ratings, self.bad).grade_code, "D")

    # ------------------------------------------------------------------ entry points

    def test_on_demand_from_profile_and_partner(self):
        profile = self.profile_of(self.good)
        profile.with_user(self.credit_manager).action_rate()
        self.assertEqual(profile.rating_id.trigger, "manual")
        self.assertEqual(profile.rating_id.grade_code, "A")
        self.bad.with_user(self.credit_manager).action_credit_rate()
        rating = self.profile_of(self.bad).rating_id
        self.assertEqual(
            (rating.grade_code, rating.trigger, rating.user_id), ("D", "manual", self.credit_manager)
        )

    def test_batch_wizard_on_a_selection(self):
        wizard = (
            self.env["credit.rating.run"]
            .with_user(self.credit_manager)
            .with_context(active_model="res.partner", active_ids=(self.good + self.bad).ids)
            .create({})
        )
        self.assertEqual(wizard.target, "selection")
        self.assertEqual(wizard.partner_count, 2)
        action = wizard.action_run()
        ratings = self.env["credit.rating"].search(action["domain"])
        self.assertEqual(ratings.partner_id, self.good + self.bad)
        self.assertEqual(set(ratings.mapped("trigger")), {"batch"})
        self.assertEqual(sorted(ratings.mapped("grade_code")), ["A", "D"])

    def test_batch_wizard_on_a_domain(self):
        wizard = (
            self.env["credit.rating.run"]
            .with_user(self.credit_manager)
            .create(
                {
                    "target": "domain",
                    "partner_domain": repr([("name", "in", ["Good Payer", "Unknown Prospect"])]),
                }
            )
        )
        self.assertEqual(wizard.partner_count, 2)
        ratings = self.env["credit.rating"].search(wizard.action_run()["domain"])
        self.assertEqual(ratings.partner_id, self.good + self.unknown)
        self.assertEqual(self.profile_of(self.unknown).rating_id.trigger, "batch")

    def test_batch_wizard_refuses_an_empty_batch_and_future_dates(self):
        Run = self.env["credit.rating.run"].with_user(self.credit_manager)
        with self.assertRaises(UserError):
            Run.create({"target": "domain", "partner_domain": "[('id', '=', 0)]"}).action_run()
        broken = Run.create({"target": "domain", "partner_domain": "[('id', '=',"})
        self.assertEqual(broken.partner_count, 0)
        with self.assertRaises(UserError):
            broken.action_run()
        with self.assertRaises(UserError):
            Run.create(
                {"target": "selection", "partner_ids": [Command.set(self.good.ids)], "date": self.days(1)}
            ).action_run()

    def test_cron_rates_due_and_never_rated_customers(self):
        fresh = self.rate(self.good)  # rated today, review in 12 months
        overdue = self.rate(self.bad)
        self.profile_of(self.bad).sudo().review_date = self.days(-1)  # review past due
        newcomer = self.new_customer("Invoiced, Never Rated")
        self.post_invoice(newcomer, 300.0, -20, 10)
        self.env["credit.rating.engine"]._cron_rate_due()
        self.assertEqual(self.profile_of(self.good).rating_id, fresh)
        bad_rating = self.profile_of(self.bad).rating_id
        self.assertNotEqual(bad_rating, overdue)
        self.assertEqual(bad_rating.trigger, "cron")
        self.assertEqual(self.profile_of(self.bad).review_date, self.today + relativedelta(months=3))
        new_rating = self.profile_of(newcomer).rating_id
        self.assertEqual(new_rating.trigger, "cron")
        self.assertEqual(new_rating.trend, "new")
        # a second run finds nothing left to do for them
        self.env["credit.rating.engine"]._cron_rate_due()
        self.assertEqual(self.profile_of(newcomer).rating_id, new_rating)

    def test_cron_batch_is_bounded(self):
        for index in range(3):
            self.post_invoice(self.new_customer(f"Queue {index}"), 100.0, -10, 20)
        engine = self.env["credit.rating.engine"]
        ratings = self.env["credit.rating"]
        with patch.object(type(engine), "_cron_batch_limit", 2):
            engine._cron_rate_due()
            self.assertEqual(ratings.search_count([("company_id", "=", self.company.id)]), 2)
            engine._cron_rate_due()
            self.assertEqual(ratings.search_count([("company_id", "=", self.company.id)]), 4)

    def test_cron_commits_by_batches_and_is_taken_up_after_a_crash(self):
        """Batches of ``_batch_size`` customers, each committed by the cron; a run that stops
        after its first batch (as a crash after that batch's commit) leaves the others to the
        next run, which does not rate the first batch again."""
        queue = self.env["res.partner"]
        for index in range(3):
            queue |= self.new_customer(f"Crash Queue {index}")
            self.post_invoice(queue[-1], 100.0, -10, 20)
        engine = self.env["credit.rating.engine"]
        ratings = self.env["credit.rating"].sudo()
        with patch.object(type(engine), "_batch_size", 2):
            due, _more = engine.sudo()._due_partner_ids(self.company, self.today, 1000)
            first_batch = self.env["res.partner"].browse(due[:2])
            # The batch that was committed before the crash.
            engine.sudo()._rate_partners(first_batch, self.company, trigger="cron")
            engine._cron_rate_due()
        for partner in queue | first_batch:
            self.assertEqual(ratings.search_count([("partner_id", "=", partner.id)]), 1, partner.name)
        self.assertFalse(engine.sudo()._due_partner_ids(self.company, self.today, 1000)[0])

    def test_default_scorecard_rates_a_customer_without_data_neutral(self):
        self.scorecard.sudo().active = False
        rating = self.rate(self.unknown)
        default = self.env.ref("sale_credit_control.credit_scorecard_default")
        self.assertEqual(rating.scorecard_id, default)
        self.assertEqual({line["status"] for line in rating.breakdown}, {"missing"})
        # every factor earns the mid-point of its bands
        self.assertAlmostEqual(rating.score, 51.8)
        self.assertEqual(rating.grade_code, "BB")

    def test_default_grades(self):
        default = self.env.ref("sale_credit_control.credit_scorecard_default")
        self.assertFalse(default.company_id)
        table = default._grade_table()
        self.assertEqual(table.codes, ("AAA", "AA", "A", "BBB", "BB", "B", "C", "D"))
        self.assertEqual([grade.code for grade in table if grade.cash_only], ["D"])
        self.assertEqual(table.get("AAA").review_months, 12)
        self.assertEqual(table.get("BB").approval_level, "director")
        self.assertEqual(table.get("BBB").approval_level, "manager")
        card = default._to_policy()
        behaviour = sum(
            factor.weight
            for factor in card.factors
            if factor.code
            in (
                "late_share",
                "weighted_days_late",
                "max_days_late",
                "max_days_overdue",
                "overdue_ratio",
                "late_share_trend",
                "dso",
            )
        )
        self.assertGreater(behaviour / card.total_weight, 0.5)

    # ------------------------------------------------------------------ immutability and rights

    def test_ratings_cannot_be_changed(self):
        rating = self.rate(self.good)
        admin = self.env.ref("base.user_admin")
        for user in (self.credit_manager, admin):
            with self.assertRaises(UserError):
                rating.with_user(user).write({"score": 99.0})
        with self.assertRaises(AccessError):
            rating.with_user(self.credit_manager).unlink()
        with self.assertRaises(AccessError):
            self.env["credit.rating"].with_user(self.credit_manager).create(
                {
                    "partner_id": self.good.id,
                    "company_id": self.company.id,
                    "date": self.today,
                    "grade_code": "AAA",
                    "trigger": "manual",
                }
            )
        self.assertAlmostEqual(rating.score, 65.0)

    def test_salesman_neither_reads_ratings_nor_rates_or_configures(self):
        rating = self.rate(self.good)
        # Ratings are the credit file: credit managers and auditors only (see test_data_access).
        as_salesman = self.env["credit.rating"].with_user(self.salesman)
        with self.assertRaises(AccessError):
            as_salesman.search([("partner_id", "=", self.good.id)])
        with self.assertRaises(AccessError):
            as_salesman.browse(rating.id).read(["grade_code"])
        with self.assertRaises(AccessError):
            self.good.with_user(self.salesman).read(["credit_grade_code"])
        with self.assertRaises(AccessError):
            self.profile_of(self.good).with_user(self.salesman).action_rate()
        with self.assertRaises(AccessError):
            self.good.with_user(self.salesman).action_credit_rate()
        with self.assertRaises(AccessError):
            self.env["credit.rating.run"].with_user(self.salesman).create({})
        with self.assertRaises(AccessError):
            self.env["credit.scorecard"].with_user(self.salesman).create({"name": "Mine"})
        with self.assertRaises(AccessError):
            self.scorecard.with_user(self.salesman).write({"name": "Renamed"})
        with self.assertRaises(AccessError):
            self.scorecard.factor_ids[0].with_user(self.salesman).write({"weight": 5.0})
        with self.assertRaises(AccessError):
            self.env["credit.financial.statement"].with_user(self.salesman).create(
                {"partner_id": self.good.id, "period_end": self.today}
            )

    def test_manager_configures_scorecards_and_credit_information(self):
        scorecard = self.scorecard.with_user(self.credit_manager)
        scorecard.factor_ids.filtered(lambda factor: factor.code == "late_share").weight = 1.0
        scorecard.grade_ids.filtered(lambda grade: grade.code == "A").review_months = 24
        copy = scorecard.copy({"name": "Copy", "active": False})
        self.assertEqual(len(copy.factor_ids), 2)
        statement = (
            self.env["credit.financial.statement"]
            .with_user(self.credit_manager)
            .create(
                {
                    "partner_id": self.unknown.id,
                    "period_end": self.today,
                    "total_assets": 100.0,
                    "total_liabilities": 40.0,
                }
            )
        )
        self.assertAlmostEqual(statement.debt_to_asset, 0.4)
        rating = self.rate(self.good)
        self.assertAlmostEqual(rating.score, (60 + 80) / 2)  # weights now 1 and 1
        self.assertEqual(self.profile_of(self.good).review_date, self.today + relativedelta(months=24))

    def test_auditor_reads_only(self):
        rating = self.rate(self.good)
        auditor_env = self.env(user=self.auditor)
        self.assertEqual(auditor_env["credit.rating"].search([("partner_id", "=", self.good.id)]), rating)
        self.assertTrue(auditor_env["credit.scorecard"].search([("id", "=", self.scorecard.id)]))
        self.assertTrue(auditor_env["credit.bureau.report"].search([("partner_id", "=", self.good.id)]))
        with self.assertRaises(AccessError):
            self.scorecard.with_user(self.auditor).write({"name": "Audited"})
        with self.assertRaises(AccessError):
            auditor_env["credit.bureau.report"].create(
                {"partner_id": self.good.id, "agency": "X", "score": 10.0}
            )
        with self.assertRaises(AccessError):
            self.profile_of(self.good).with_user(self.auditor).action_rate()

    def test_information_actions_filter_on_customer_and_company(self):
        profile = self.profile_of(self.good)
        action = profile.with_user(self.credit_manager).action_view_financial_statements()
        self.assertEqual(
            self.env["credit.financial.statement"].search(action["domain"]).partner_id, self.good
        )
        self.assertEqual(action["context"]["default_company_id"], self.company.id)
        action = self.good.with_user(self.auditor).action_view_credit_bureau_reports()
        self.assertEqual(len(self.env["credit.bureau.report"].search(action["domain"])), 1)
        profile.invalidate_recordset()  # a new request: the profile was created in this transaction
        self.assertEqual(len(profile.financial_statement_ids), 1)
        self.assertEqual(len(profile.bureau_report_ids), 1)
