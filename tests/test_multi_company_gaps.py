from datetime import timedelta

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged

from .common import CreditControlCommon, band


def ratio_factor():
    """A factor without money: the share of the amount paid late."""
    return Command.create({"code": "late_share", "band_ids": [band(None, None, 50.0)]})


@tagged("post_install", "-at_install")
class TestMultiCompanyGaps(CreditControlCommon):
    """Company A (the common fixture's currency) and company B in another currency,
    where one unit of company A's currency is worth two of company B's.

    Ratings are written by raw SQL, so the rating run must check the company itself;
    credit records only link records of their company; scorecard factors and bands
    follow their scorecard's company; the money amounts of shared scorecards and
    warning rules are converted into each company's currency.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.company
        cls.currency_a = cls.company_a.currency_id
        cls.currency_b = cls.setup_other_currency("EUR" if cls.currency_a.name != "EUR" else "USD")
        cls.company_b = cls.setup_other_company(name="Credit Company B", currency_id=cls.currency_b.id)[
            "company"
        ]
        cls.company_b.write(cls._credit_policy_vals())
        # In company B: 1 unit of company A's currency = 2 units of company B's.
        cls.env["res.currency.rate"].create(
            [
                {
                    "name": "2010-01-01",
                    "rate": 1.0,
                    "currency_id": cls.currency_a.id,
                    "company_id": cls.company_b.id,
                },
                {
                    "name": "2010-01-01",
                    "rate": 2.0,
                    "currency_id": cls.currency_b.id,
                    "company_id": cls.company_b.id,
                },
            ]
        )
        groups = (
            "sales_team.group_sale_salesman,sale_credit_control.group_credit_manager,"
            "account.group_account_invoice"
        )
        cls.manager_ab = new_test_user(
            cls.env,
            login="scc_gaps_manager_ab",
            groups=groups,
            company_id=cls.company_a.id,
            company_ids=[Command.set((cls.company_a + cls.company_b).ids)],
        )
        cls.partner_b = cls.env["res.partner"].create(
            {"name": "Company B Only Customer", "is_company": True, "company_id": cls.company_b.id}
        )
        cls.shared = cls.env["res.partner"].create({"name": "Shared Customer", "is_company": True})

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    @classmethod
    def invoice_b(cls, partner, amount, days_ago=0):
        """A posted invoice of company B (in its currency), dated and due ``days_ago`` days back."""
        invoice = cls.init_invoice(
            "out_invoice",
            partner=partner,
            invoice_date=cls.today - timedelta(days=days_ago),
            amounts=[amount],
            taxes=[],
            company=cls.company_b,
        )
        invoice.invoice_payment_term_id = cls.env.ref("account.account_payment_term_immediate")
        invoice.action_post()
        return invoice

    def ratings_in(self, company, partner):
        return (
            self.env["credit.rating"]
            .sudo()
            .search([("company_id", "=", company.id), ("partner_id", "=", partner.id)])
        )

    def wizard(self, user, company, partners, allowed=None):
        Run = self.env["credit.rating.run"].with_user(user)
        if allowed:
            Run = Run.with_context(allowed_company_ids=allowed.ids)
        return Run.create(
            {"company_id": company.id, "target": "selection", "partner_ids": [Command.set(partners.ids)]}
        )

    # ------------------------------------------------------------
    # Rating runs: company of the caller, company of the customers
    # ------------------------------------------------------------

    def test_engine_refuses_a_company_the_user_does_not_work_in(self):
        engine = self.env["credit.rating.engine"].with_user(self.credit_manager)  # company A only
        with self.assertRaises(AccessError):
            engine._rate_partners(self.shared, self.company_b)
        self.assertFalse(self.ratings_in(self.company_b, self.shared))
        self.assertFalse(
            self.env["credit.profile"]
            .sudo()
            .search([("partner_id", "=", self.shared.id), ("company_id", "=", self.company_b.id)])
        )
        # A manager of both companies may; so may the cron (superuser).
        self.env["credit.rating.engine"].with_user(self.manager_ab)._rate_partners(
            self.shared, self.company_b
        )
        self.assertEqual(len(self.ratings_in(self.company_b, self.shared)), 1)
        self.env["credit.rating.engine"].sudo()._rate_partners(self.shared, self.company_b)
        self.assertEqual(len(self.ratings_in(self.company_b, self.shared)), 2)

    def test_wizard_refuses_a_company_outside_the_active_ones(self):
        domain = self.env["credit.rating.run"].fields_get(["company_id"])["company_id"]["domain"]
        self.assertIn("allowed_company_ids", domain)
        # Not one of the user's companies at all.
        with self.assertRaises(AccessError):
            self.wizard(self.credit_manager, self.company_b, self.shared).action_run()
        # One of the user's companies, but not active in this session.
        with self.assertRaises(AccessError):
            self.wizard(self.manager_ab, self.company_b, self.shared, allowed=self.company_a).action_run()
        self.assertFalse(self.ratings_in(self.company_b, self.shared))
        # Active: rated.
        self.wizard(
            self.manager_ab, self.company_b, self.shared, allowed=self.company_a + self.company_b
        ).action_run()
        self.assertEqual(len(self.ratings_in(self.company_b, self.shared)), 1)

    def test_customer_of_another_company_is_not_rated_in_this_one(self):
        engine = self.env["credit.rating.engine"].sudo()
        with self.assertRaisesRegex(UserError, "Company B Only Customer"):
            engine._rate_partners(self.partner_b + self.shared, self.company_a)
        self.assertFalse(self.ratings_in(self.company_a, self.partner_b))
        self.assertFalse(self.ratings_in(self.company_a, self.shared))
        # ... nor through a contact of its own company.
        contact = self.env["res.partner"].create(
            {"name": "B Buyer", "parent_id": self.partner_b.id, "company_id": self.company_b.id}
        )
        with self.assertRaises(UserError):
            engine._rate_partners(contact, self.company_a)
        # In its own company it is rated.
        engine._rate_partners(self.partner_b, self.company_b)
        self.assertEqual(len(self.ratings_in(self.company_b, self.partner_b)), 1)
        # A selection in the wizard is refused, a filter leaves it out.
        with self.assertRaises(UserError):
            self.wizard(self.manager_ab, self.company_a, self.partner_b + self.shared).action_run()
        self.assertFalse(self.ratings_in(self.company_a, self.partner_b))
        wizard = (
            self.env["credit.rating.run"]
            .with_user(self.manager_ab)
            .with_context(allowed_company_ids=(self.company_a + self.company_b).ids)
            .create(
                {
                    "company_id": self.company_a.id,
                    "target": "domain",
                    "partner_domain": repr([("id", "in", (self.partner_b + self.shared).ids)]),
                }
            )
        )
        self.assertEqual(wizard.partner_count, 1)
        ratings = self.env["credit.rating"].sudo().search(wizard.action_run()["domain"])
        self.assertEqual(ratings.partner_id, self.shared)

    def test_cron_leaves_customers_of_other_companies_out(self):
        engine = self.env["credit.rating.engine"].sudo()
        # A profile of company A for company B's customer (made before the company was set).
        customer = self.env["res.partner"].create({"name": "Moved Customer", "is_company": True})
        self.profile_of(customer, self.company_a)
        ids, _more = engine._due_partner_ids(self.company_a, self.today, 1000)
        self.assertIn(customer.id, ids)
        self.env.cr.execute(
            "UPDATE res_partner SET company_id = %s WHERE id = %s", (self.company_b.id, customer.id)
        )
        customer.invalidate_recordset(["company_id"])
        ids, _more = engine._due_partner_ids(self.company_a, self.today, 1000)
        self.assertNotIn(customer.id, ids)

    # ------------------------------------------------------------
    # check_company on the relational fields
    # ------------------------------------------------------------

    def test_credit_information_links_records_of_its_company_only(self):
        common = {"partner_id": self.partner_b.id, "company_id": self.company_a.id}
        for model, vals in (
            ("credit.financial.statement", {"period_end": self.today}),
            ("credit.bureau.report", {"agency": "Dun & Bradstreet"}),
            ("credit.bank.reference", {"bank_name": "Bank of B"}),
            ("credit.limit.history", {"field_name": "credit_limit"}),
            (
                "credit.rating",
                {"date": self.today, "grade_code": "A", "trigger": "manual"},
            ),
        ):
            with self.subTest(model=model), self.assertRaises(UserError):
                self.env[model].sudo().create({**common, **vals})
        # The same records for a customer shared by every company are fine.
        self.env["credit.bureau.report"].sudo().create(
            {"partner_id": self.shared.id, "company_id": self.company_a.id, "agency": "Dun & Bradstreet"}
        )

    def test_ratings_and_alerts_link_records_of_their_company_only(self):
        scorecard_b = (
            self.env["credit.scorecard"]
            .sudo()
            .create(
                {
                    "name": "Card B",
                    "company_id": self.company_b.id,
                    "factor_ids": [ratio_factor()],
                    "grade_ids": [Command.create({"code": "A", "min_score": 0.0})],
                }
            )
        )
        rating = {
            "partner_id": self.shared.id,
            "company_id": self.company_a.id,
            "date": self.today,
            "grade_code": "A",
            "trigger": "manual",
        }
        Rating = self.env["credit.rating"].sudo()
        with self.assertRaises(UserError):
            Rating.create({**rating, "scorecard_id": scorecard_b.id})
        with self.assertRaises(UserError):
            Rating.create({**rating, "grade_id": scorecard_b.grade_ids.id})
        Rating.create(rating)

        rule_b = (
            self.env["credit.warning.rule"]
            .sudo()
            .create({"name": "B only", "rule_type": "utilization", "company_id": self.company_b.id})
        )
        alert = {
            "alert_type": "utilization",
            "severity": "low",
            "partner_id": self.shared.id,
            "company_id": self.company_a.id,
        }
        Alert = self.env["credit.alert"].sudo()
        for wrong in (
            {"rule_id": rule_b.id},
            {"partner_id": self.partner_b.id},
            {"user_id": self.credit_manager.id, "company_id": self.company_b.id},
        ):
            with self.subTest(wrong=wrong), self.assertRaises(UserError):
                Alert.create({**alert, **wrong})
        Alert.create({**alert, "user_id": self.credit_manager.id})

    def test_alert_of_company_b_goes_to_a_manager_of_company_b(self):
        # Company B's responsible manager moved to company A: they cannot open company B's alerts.
        leaving = new_test_user(
            self.env,
            login="scc_gaps_leaving",
            groups="sales_team.group_sale_salesman,sale_credit_control.group_credit_manager",
            company_id=self.company_b.id,
            company_ids=[Command.set(self.company_b.ids)],
        )
        self.company_b.credit_manager_id = leaving
        self.profile_of(self.shared, self.company_b)
        leaving.write({"company_ids": [Command.set(self.company_a.ids)], "company_id": self.company_a.id})
        rule = (
            self.env["credit.warning.rule"]
            .sudo()
            .create(
                {
                    "name": "Overdue B",
                    "rule_type": "overdue_new",
                    "threshold_days": 30,
                    "company_id": self.company_b.id,
                }
            )
        )
        self.invoice_b(self.shared, 300.0, days_ago=45)
        alert = rule._evaluate_company(self.company_b)
        self.assertEqual(len(alert), 1)
        self.assertIn(self.company_b, alert.user_id.company_ids)

    # ------------------------------------------------------------
    # Record rules of scorecard factors and bands
    # ------------------------------------------------------------

    def test_factors_and_bands_of_another_company_are_not_visible(self):
        scorecard_b = (
            self.env["credit.scorecard"]
            .sudo()
            .create(
                {
                    "name": "Card B",
                    "company_id": self.company_b.id,
                    "factor_ids": [
                        Command.create({"code": "late_share", "band_ids": [band(None, None, 50.0)]})
                    ],
                    "grade_ids": [Command.create({"code": "A", "min_score": 0.0})],
                }
            )
        )
        factor_b, band_b = scorecard_b.factor_ids, scorecard_b.factor_ids.band_ids
        default = self.env.ref("sale_credit_control.credit_scorecard_default")
        for model, record, shared in (
            ("credit.scorecard.factor", factor_b, default.factor_ids),
            ("credit.scorecard.band", band_b, default.factor_ids.band_ids),
        ):
            with self.subTest(model=model):
                Model = self.env[model].with_user(self.credit_manager)
                self.assertFalse(Model.search([("id", "=", record.id)]))
                self.assertEqual(
                    Model.search([("id", "in", shared.ids)]), shared.with_user(self.credit_manager)
                )
                with self.assertRaises(AccessError):
                    record.with_user(self.credit_manager).read(
                        ["scorecard_id" if model.endswith("factor") else "points"]
                    )
                with self.assertRaises(AccessError):
                    record.with_user(self.credit_manager).write(
                        {"sequence": 5} if model.endswith("factor") else {"points": 5.0}
                    )
                # Company B's manager sees them.
                self.assertEqual(
                    self.env[model].with_user(self.manager_ab).search([("id", "=", record.id)]), record
                )
        # By their scorecard's company, stored on them for the record rules.
        self.assertEqual((factor_b.company_id, band_b.company_id), (self.company_b, self.company_b))

    # ------------------------------------------------------------
    # Money amounts of shared scorecards and rules
    # ------------------------------------------------------------

    def test_shared_scorecard_amounts_are_converted_into_the_company_currency(self):
        """Sales volume bands and fixed caps of a shared scorecard in company A's currency:
        1,000 of them is 2,000 in company B."""
        scorecard = (
            self.env["credit.scorecard"]
            .sudo()
            .create(
                {
                    "name": "Shared Card",
                    "sequence": 1,
                    "company_id": False,  # currency: the current company's (A)
                    "factor_ids": [
                        Command.create(
                            {
                                "code": "sales_volume",
                                "weight": 1.0,
                                "band_ids": [band(None, 1000.0, 0.0), band(1000.0, None, 100.0)],
                            }
                        )
                    ],
                    "grade_ids": [
                        Command.create(
                            {"code": "A", "min_score": 50.0, "use_fixed_cap": True, "max_limit_fixed": 1000.0}
                        ),
                        Command.create(
                            {"code": "D", "min_score": 0.0, "use_fixed_cap": True, "max_limit_fixed": 0.0}
                        ),
                    ],
                }
            )
        )
        self.assertEqual(self.env["credit.scorecard"]._for_company(self.company_b), scorecard)
        small = self.env["res.partner"].create({"name": "Small Buyer", "is_company": True})
        big = self.env["res.partner"].create({"name": "Big Buyer", "is_company": True})
        self.invoice_b(small, 1500.0, days_ago=10)  # 750 in company A's currency
        self.invoice_b(big, 2500.0, days_ago=10)  # 1,250 in company A's currency
        ratings = self.env["credit.rating.engine"].sudo()._rate_partners(small + big, self.company_b)
        by_partner = {rating.partner_id: rating for rating in ratings}
        self.assertEqual(by_partner[small].grade_code, "D")
        self.assertEqual(by_partner[big].grade_code, "A")
        self.assertAlmostEqual(by_partner[big].recommended_limit, 2000.0)
        self.assertEqual(by_partner[big].currency_id, self.currency_b)
        self.assertEqual(scorecard.currency_id, self.currency_a)
        # In company A (same currency as the card) nothing is converted.
        self.assertEqual(scorecard._money_rate(self.company_a, self.today), 1.0)
        self.assertEqual(scorecard._grade_table(self.company_a, self.today).grades[0].max_limit_fixed, 1000.0)

    def test_shared_warning_rule_amount_is_converted_into_the_company_currency(self):
        rule = (
            self.env["credit.warning.rule"]
            .sudo()
            .create(
                {
                    "name": "Shared overdue above 1,000",
                    "rule_type": "overdue_new",
                    "threshold_days": 30,
                    "threshold_amount": 1000.0,
                    "company_id": False,  # currency: the current company's (A)
                }
            )
        )
        small = self.env["res.partner"].create({"name": "Small Debtor", "is_company": True})
        big = self.env["res.partner"].create({"name": "Big Debtor", "is_company": True})
        for partner, amount in ((small, 1500.0), (big, 2500.0)):
            self.profile_of(partner, self.company_b)
            self.invoice_b(partner, amount, days_ago=45)
        alerts = rule._evaluate_company(self.company_b)
        self.assertEqual(alerts.partner_id, big, "1,500 is below 1,000 of company A's currency (2,000)")
        self.assertEqual(alerts.figures["min_amount"], 2000.0)
        self.assertEqual(rule.currency_id, self.currency_a)
        # Order spike thresholds too.
        self.assertEqual(rule._threshold_amount_in(self.company_b, self.today), 2000.0)
        self.assertEqual(rule._threshold_amount_in(self.company_a, self.today), 1000.0)

    def test_money_amounts_without_currency_are_refused(self):
        Scorecard = self.env["credit.scorecard"].sudo()
        Rule = self.env["credit.warning.rule"].sudo()
        grade = Command.create({"code": "A", "min_score": 0.0})
        # Shared, no currency, a money factor with bands: refused.
        with self.assertRaisesRegex(ValidationError, "currency"):
            Scorecard.create(
                {
                    "name": "No Currency",
                    "currency_id": False,
                    "factor_ids": [
                        Command.create({"code": "sales_volume", "band_ids": [band(None, None, 50.0)]})
                    ],
                    "grade_ids": [grade],
                }
            )
        # ... or a fixed cap above 0.
        with self.assertRaisesRegex(ValidationError, "currency"):
            Scorecard.create(
                {
                    "name": "No Currency",
                    "currency_id": False,
                    "factor_ids": [ratio_factor()],
                    "grade_ids": [
                        Command.create(
                            {"code": "A", "min_score": 0.0, "use_fixed_cap": True, "max_limit_fixed": 10.0}
                        )
                    ],
                }
            )
        # Ratios, days and "cash only" (a cap of 0) need no currency.
        ratios = Scorecard.create(
            {
                "name": "Ratios Only",
                "currency_id": False,
                "factor_ids": [ratio_factor()],
                "grade_ids": [
                    Command.create(
                        {"code": "D", "min_score": 0.0, "use_fixed_cap": True, "max_limit_fixed": 0.0}
                    )
                ],
            }
        )
        # Adding a money band or a cap to it later is refused too.
        with self.assertRaises(ValidationError):
            self.env["credit.scorecard.factor"].sudo().create(
                {"scorecard_id": ratios.id, "code": "sales_volume", "band_ids": [band(None, None, 10.0)]}
            )
        with self.assertRaises(ValidationError):
            ratios.grade_ids.max_limit_fixed = 500.0
        # A company scorecard uses its company's currency.
        own = Scorecard.create(
            {
                "name": "Company B Card",
                "company_id": self.company_b.id,
                "factor_ids": [ratio_factor()],
                "grade_ids": [grade],
            }
        )
        self.assertEqual(own.currency_id, self.currency_b)

        with self.assertRaisesRegex(ValidationError, "currency"):
            Rule.create(
                {
                    "name": "No Currency",
                    "rule_type": "overdue_new",
                    "threshold_amount": 100.0,
                    "currency_id": False,
                }
            )
        rule = Rule.create({"name": "Days Only", "rule_type": "overdue_new", "currency_id": False})
        with self.assertRaises(ValidationError):
            rule.threshold_amount = 100.0
        self.assertEqual(
            Rule.create(
                {"name": "B", "rule_type": "overdue_new", "company_id": self.company_b.id}
            ).currency_id,
            self.currency_b,
        )

    def test_default_data_has_a_currency(self):
        default = self.env.ref("sale_credit_control.credit_scorecard_default")
        self.assertFalse(default.company_id)
        self.assertTrue(default.currency_id)
        rules = (
            self.env["credit.warning.rule"]
            .sudo()
            .with_context(active_test=False)
            .search(
                [
                    ("company_id", "=", False),
                    (
                        "id",
                        "in",
                        [
                            self.env.ref(f"sale_credit_control.{xmlid}").id
                            for xmlid in (
                                "credit_warning_rule_overdue",
                                "credit_warning_rule_order_spike",
                            )
                        ],
                    ),
                ]
            )
        )
        self.assertEqual(len(rules), 2)
        self.assertTrue(all(rules.mapped("currency_id")))
