from psycopg2 import IntegrityError

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import CreditControlCommon, band


@tagged("post_install", "-at_install")
class TestCountryRisk(CreditControlCommon):
    """Country risk (国家风险): the class is a scorecard factor, the cap caps recommended limits and
    direct limit edits, the deposit is required before confirmation.

    A scorecard with the country risk factor only: class 0 earns 100 points, 1-3 60, 4 or more 20,
    a country without a class the neutral 60. Grade A (60 or more) recommends at most 100,000,
    grade B at most 50,000. Argentina is class 7 with a cap of 20,000 and a 50 % deposit; Germany
    class 0 without cap or deposit; France has no class.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.credit_allow_direct_limit_edit = True
        cls.company.credit_limit_second_approval_threshold = 0.0
        cls.argentina, cls.germany, cls.france = (cls.env.ref(f"base.{code}") for code in ("ar", "de", "fr"))
        cls.scorecard = (
            cls.env["credit.scorecard"]
            .sudo()
            .create(
                {
                    "name": "Country Scorecard",
                    "company_id": cls.company.id,
                    "factor_ids": [
                        Command.create(
                            {
                                "code": "country_risk",
                                "weight": 1.0,
                                "missing_mode": "neutral",
                                "band_ids": [
                                    band(None, 1.0, 100.0),
                                    band(1.0, 4.0, 60.0),
                                    band(4.0, None, 20.0),
                                ],
                            }
                        )
                    ],
                    "grade_ids": [
                        Command.create(
                            {
                                "code": "A",
                                "min_score": 60.0,
                                "use_fixed_cap": True,
                                "max_limit_fixed": 100000.0,
                            }
                        ),
                        Command.create(
                            {"code": "B", "min_score": 0.0, "use_fixed_cap": True, "max_limit_fixed": 50000.0}
                        ),
                    ],
                }
            )
        )
        CountryRisk = cls.env["credit.country.risk"].with_user(cls.credit_manager)
        cls.risk_ar = CountryRisk.create(
            {
                "country_id": cls.argentina.id,
                "risk_class": 7,
                "limit_cap": 20000.0,
                "deposit_percent": 50.0,
                "source": "OECD",
            }
        )
        cls.risk_de = CountryRisk.create({"country_id": cls.germany.id, "risk_class": 0, "source": "OECD"})
        cls.ar_customer = cls.new_customer("Buenos Aires Importer", cls.argentina)
        cls.de_customer = cls.new_customer("Hamburg Distributor", cls.germany)
        cls.fr_customer = cls.new_customer("Lyon Wholesaler", cls.france)
        cls.director = new_test_user(
            cls.env,
            login="scc_country_director",
            groups="sales_team.group_sale_salesman,sale_credit_control.group_credit_director",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.create_payment_provider()

    @classmethod
    def new_customer(cls, name, country):
        return cls.env["res.partner"].create({"name": name, "is_company": True, "country_id": country.id})

    def rate(self, partners):
        engine = self.env["credit.rating.engine"].with_user(self.credit_manager)
        return engine._rate_partners(partners, self.company)

    def country_line(self, rating):
        (line,) = [line for line in rating.breakdown if line["code"] == "country_risk"]
        return line

    def set_limit_as_manager(self, partner, amount):
        partner.with_company(self.company).with_user(self.credit_manager).credit_limit = amount

    def limit_of(self, partner):
        return partner.with_company(self.company).sudo().credit_limit

    # ------------------------------------------------------------------ rating

    def test_rating_scores_the_class_and_caps_the_recommendation(self):
        contact = self.env["res.partner"].create(
            {
                "name": "Buyer in Spain",
                "parent_id": self.ar_customer.id,
                "country_id": self.env.ref("base.es").id,
            }
        )
        ratings = self.rate(contact + self.de_customer + self.fr_customer)
        ar, de, fr = (
            ratings.filtered(lambda r, p=p: r.partner_id == p)
            for p in (self.ar_customer, self.de_customer, self.fr_customer)
        )
        # Argentina, class 7 (the commercial partner's country, not the contact's): 20 points, grade B
        # recommending 50,000, capped at the country's 20,000.
        self.assertEqual(self.country_line(ar)["value"], 7.0)
        self.assertEqual(self.country_line(ar)["points"], 20.0)
        self.assertEqual(ar.grade_code, "B")
        self.assertTrue(ar.has_recommendation)
        self.assertAlmostEqual(ar.recommended_limit, 20000.0)
        self.assertTrue(ar.country_cap_applied)
        self.assertEqual((ar.country_id, ar.country_risk_class), (self.argentina, 7))
        self.assertAlmostEqual(ar.country_limit_cap, 20000.0)
        self.assertIn("capped at", ar.breakdown_html)
        self.assertIn("Argentina (class 7)", ar.breakdown_html)
        # Germany, class 0: 100 points, grade A, no cap.
        self.assertEqual(self.country_line(de)["value"], 0.0)
        self.assertEqual(de.grade_code, "A")
        self.assertAlmostEqual(de.recommended_limit, 100000.0)
        self.assertFalse(de.country_cap_applied)
        self.assertEqual((de.country_id, de.country_risk_class), (self.germany, 0))
        self.assertNotIn("capped at", de.breakdown_html)
        # France has no class: missing, scored by the missing-data rule (neutral 60 points).
        line = self.country_line(fr)
        self.assertEqual((line["value"], line["status"], line["points"]), (None, "missing", 60.0))
        self.assertFalse(fr.country_id)
        self.assertAlmostEqual(fr.recommended_limit, 100000.0)
        # The profile shows the capped recommendation.
        self.assertAlmostEqual(self.profile_of(self.ar_customer).recommended_limit, 20000.0)

    def test_an_archived_row_neither_scores_nor_caps(self):
        self.risk_ar.with_user(self.credit_manager).active = False
        rating = self.rate(self.ar_customer)
        self.assertEqual(self.country_line(rating)["status"], "missing")
        self.assertAlmostEqual(rating.recommended_limit, 100000.0)
        self.assertFalse(rating.country_cap_applied)

    def test_countries_of_a_batch_take_one_query(self):
        engine = self.env["credit.rating.engine"]
        partners = self.ar_customer + self.de_customer + self.fr_customer
        engine._query_country_risks(partners.ids, self.company)  # warm the table's cache
        with self.assertQueryCount(1):
            risks = engine._query_country_risks(partners.ids, self.company)
        self.assertEqual(risks[self.ar_customer.id].risk_class, 7)
        self.assertEqual(risks[self.de_customer.id].risk_class, 0)
        self.assertNotIn(self.fr_customer.id, risks)
        # A company without rows: no query at all.
        other = self.setup_other_company(name="Country Company B")["company"]
        engine._query_country_risks(partners.ids, other)
        with self.assertQueryCount(0):
            self.assertEqual(engine._query_country_risks(partners.ids, other), {})

    # ------------------------------------------------------------------ limits

    def test_limit_request_above_the_cap_needs_a_second_approval(self):
        self.rate(self.ar_customer)  # grade B: 50,000, capped at 20,000
        Request = self.env["credit.limit.request"].with_user(self.credit_manager_2)
        above = Request.create({"partner_id": self.ar_customer.id, "amount": 30000.0, "reason": "Expansion"})
        above.action_submit()
        self.assertAlmostEqual(above.recommended_limit, 20000.0)
        self.assertTrue(above.needs_second_approval)
        self.assertIn("Argentina (country risk class 7)", above.second_approval_note)
        self.assertIn("20,000.00", above.second_approval_note)
        within = Request.create({"partner_id": self.ar_customer.id, "amount": 15000.0, "reason": "Season"})
        within.action_submit()
        self.assertFalse(within.needs_second_approval)
        # Without the cap, 30,000 is within grade B's 50,000: one approval.
        self.rate(self.fr_customer)
        other = Request.create({"partner_id": self.fr_customer.id, "amount": 30000.0, "reason": "Season"})
        other.action_submit()
        self.assertFalse(other.needs_second_approval)

    def test_unrated_customer_gets_the_cap_as_recommendation(self):
        request = (
            self.env["credit.limit.request"]
            .with_user(self.credit_manager_2)
            .create({"partner_id": self.ar_customer.id, "amount": 25000.0, "reason": "First order"})
        )
        request.action_submit()
        self.assertTrue(request.has_recommendation)
        self.assertAlmostEqual(request.recommended_limit, 20000.0)
        self.assertTrue(request.needs_second_approval)
        # Two approvals set the limit above the cap: the decision was taken knowingly.
        request.with_user(self.credit_manager).action_approve()
        self.assertEqual(request.state, "first_approved")
        request.with_user(self.director).action_approve()
        self.assertEqual(request.state, "approved")
        self.assertAlmostEqual(self.limit_of(self.ar_customer), 25000.0)

    def test_direct_limit_above_the_cap_is_refused(self):
        self.set_limit_as_manager(self.ar_customer, 20000.0)  # at the cap: allowed
        self.assertAlmostEqual(self.limit_of(self.ar_customer), 20000.0)
        with self.assertRaises(ValidationError) as refusal:
            self.set_limit_as_manager(self.ar_customer, 25000.0)
        message = str(refusal.exception)
        for text in (
            "Buenos Aires Importer",
            "Argentina",
            "class 7",
            "20,000.00",
            "25,000.00",
            "limit request",
        ):
            self.assertIn(text, message)
        self.assertAlmostEqual(self.limit_of(self.ar_customer), 20000.0)
        # 0 is "no limit checked": above every cap.
        with self.assertRaises(ValidationError):
            self.set_limit_as_manager(self.ar_customer, 0.0)
        # Creating a customer with a limit above its country's cap is refused too.
        with self.assertRaises(ValidationError):
            self.env["res.partner"].sudo().with_company(self.company).create(
                {
                    "name": "Rosario Trader",
                    "is_company": True,
                    "country_id": self.argentina.id,
                    "credit_limit": 1e6,
                }
            )
        # No cap in Germany, no class in France.
        self.set_limit_as_manager(self.de_customer, 1000000.0)
        self.set_limit_as_manager(self.fr_customer, 1000000.0)
        self.assertAlmostEqual(self.limit_of(self.de_customer), 1000000.0)
        # Without a cap (0), any limit.
        self.risk_ar.with_user(self.credit_manager).limit_cap = 0.0
        self.set_limit_as_manager(self.ar_customer, 90000.0)
        self.assertAlmostEqual(self.limit_of(self.ar_customer), 90000.0)

    # ------------------------------------------------------------------ deposit

    def test_country_deposit_blocks_an_order_until_paid(self):
        self.set_limit(self.ar_customer, 10000.0)
        order = self.create_order(self.ar_customer, 1000.0, user=self.salesman)
        with self.assertRaises(UserError) as refusal:
            self.confirm_as(order, self.salesman)
        message = str(refusal.exception)
        self.assertIn("Customers in Argentina (country risk class 7) pay a deposit of 50.0%", message)
        # The quotation proposes the country's deposit as Odoo's online prepayment.
        self.assertTrue(order.require_payment)
        self.assertAlmostEqual(order.prepayment_percent, 0.5)
        self.assertIn("$\xa0500.00", message)
        self.assertNotIn("Grade", message)
        self.done_transaction(499.0, self.ar_customer, order, reference=f"{order.name}-deposit-1")
        with self.assertRaises(UserError):
            self.confirm_as(order, self.salesman)
        self.done_transaction(1.0, self.ar_customer, order, reference=f"{order.name}-deposit-2")
        self.confirm_as(order, self.salesman)
        self.assertEqual(order.state, "sale")
        # Germany asks no deposit: an order confirms at once.
        self.set_limit(self.de_customer, 10000.0)
        german = self.create_order(self.de_customer, 1000.0, user=self.salesman)
        self.confirm_as(german, self.salesman)
        self.assertEqual(german.state, "sale")

    def test_a_larger_grade_deposit_names_the_grade(self):
        grade = self.scorecard.grade_ids.filtered(lambda grade: grade.code == "B")
        grade.sudo().deposit_percent = 80.0
        self.rate(self.ar_customer)
        self.set_limit(self.ar_customer, 10000.0)
        order = self.create_order(self.ar_customer, 1000.0, user=self.salesman)
        with self.assertRaises(UserError) as refusal:
            self.confirm_as(order, self.salesman)
        message = str(refusal.exception)
        self.assertIn("Grade B requires a deposit of 80.0%", message)
        self.assertNotIn("Argentina", message)

    def test_country_lookup_costs_no_query_once_warm(self):
        CountryRisk = self.env["credit.country.risk"]
        CountryRisk._credit_deposit_facts(self.de_customer, self.company)
        self.assertTrue(self.de_customer.country_id)  # the check has the customer loaded already
        with self.assertQueryCount(0):
            self.assertEqual(CountryRisk._credit_deposit_facts(self.de_customer, self.company), {})
        facts = CountryRisk._credit_deposit_facts(self.ar_customer, self.company)
        self.assertEqual(
            facts, {"country_deposit_percent": 50.0, "country": "Argentina", "country_risk_class": 7}
        )

    # ------------------------------------------------------------------ the table itself

    def test_salesperson_and_auditor_read_but_cannot_edit(self):
        for user in (self.salesman, self.auditor):
            rows = (
                self.env["credit.country.risk"]
                .with_user(user)
                .search([("country_id", "=", self.argentina.id)])
            )
            self.assertEqual(rows, self.risk_ar)
            self.assertEqual(rows.risk_class, 7)
            with self.assertRaises(AccessError):
                rows.write({"risk_class": 1})
            with self.assertRaises(AccessError):
                self.env["credit.country.risk"].with_user(user).create(
                    {"country_id": self.france.id, "risk_class": 0}
                )
            with self.assertRaises(AccessError):
                rows.unlink()
        self.assertEqual(self.risk_ar.risk_class, 7)

    def test_other_company_rows_are_invisible_and_do_not_apply(self):
        other = self.setup_other_company(name="Country Company C")["company"]
        foreign_row = (
            self.env["credit.country.risk"]
            .sudo()
            .create(
                {"company_id": other.id, "country_id": self.france.id, "risk_class": 6, "limit_cap": 1000.0}
            )
        )
        visible = self.env["credit.country.risk"].with_user(self.credit_manager).search([])
        self.assertIn(self.risk_ar, visible)
        self.assertNotIn(foreign_row, visible)
        with self.assertRaises(AccessError):
            foreign_row.with_user(self.credit_manager).read(["risk_class"])
        # France has a class in the other company only: unscored, uncapped here.
        rating = self.rate(self.fr_customer)
        self.assertFalse(rating.country_id)
        self.set_limit_as_manager(self.fr_customer, 5000.0)
        self.assertAlmostEqual(self.limit_of(self.fr_customer), 5000.0)

    def test_bad_class_or_deposit_is_refused(self):
        CountryRisk = self.env["credit.country.risk"].with_user(self.credit_manager)
        for vals, text in (
            ({"risk_class": 8}, "from 0 (lowest risk) to 7"),
            ({"risk_class": -1}, "from 0 (lowest risk) to 7"),
            ({"deposit_percent": 120.0}, "between 0 and 100%"),
            ({"deposit_percent": -5.0}, "between 0 and 100%"),
            ({"limit_cap": -1.0}, "cannot be negative"),
        ):
            with self.subTest(vals=vals), self.assertRaises(ValidationError) as error:
                CountryRisk.create({"country_id": self.france.id, "risk_class": 3, **vals})
            self.assertIn("France", str(error.exception))
            self.assertIn(text, str(error.exception))
        with self.assertRaises(ValidationError):
            self.risk_ar.with_user(self.credit_manager).risk_class = 9
        self.assertEqual(self.risk_ar.risk_class, 7)
        self.assertFalse(CountryRisk.search([("country_id", "=", self.france.id)]))
        # One row per country and company.
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            CountryRisk.create({"country_id": self.argentina.id, "risk_class": 6})

    def test_changes_are_tracked(self):
        # The test environment disables tracking: turn it back on once the creation is flushed.
        self.env.flush_all()
        self.env.cr.flush()
        row = self.risk_ar.with_context(tracking_disable=False, mail_notrack=False)
        row.with_user(self.credit_manager).write({"risk_class": 6, "limit_cap": 30000.0})
        self.env.flush_all()
        self.env.cr.flush()  # tracking is written at commit
        trackings = (
            self.env["mail.tracking.value"]
            .sudo()
            .search(
                [
                    ("mail_message_id.model", "=", "credit.country.risk"),
                    ("mail_message_id.res_id", "=", self.risk_ar.id),
                ]
            )
        )
        changes = {
            tracking.field_id.name: (tracking.old_value_integer, tracking.new_value_integer)
            for tracking in trackings
            if tracking.field_id.name == "risk_class"
        }
        self.assertEqual(changes, {"risk_class": (7, 6)})
        cap = trackings.filtered(lambda tracking: tracking.field_id.name == "limit_cap")
        self.assertEqual((cap.old_value_float, cap.new_value_float), (20000.0, 30000.0))
        self.assertEqual(trackings.mail_message_id.author_id, self.credit_manager.partner_id)
        self.assertEqual(self.risk_ar.display_name, "Argentina (class 6)")
