from contextlib import contextmanager
from datetime import timedelta

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged

from .common import CreditControlCommon


@tagged("post_install", "-at_install")
class TestInsurance(CreditControlCommon):
    """Credit insurance (信用保险): an insurer covers the customer up to an insured limit.

    The customer's credit limit (1,000) is never the reason here: orders stay below it. Its cover
    insures 600 at 90 %.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.insurer = cls.env["res.partner"].create({"name": "Sino Credit Insurer", "is_company": True})

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    def create_policy(self, limit=600.0, coverage=90.0, company=None, activate=True, cover_vals=None, **vals):
        company = company or self.company
        policy = (
            self.env["credit.insurance.policy"]
            .with_user(self.credit_manager)
            .with_company(company)
            .create(
                {
                    "name": "P-2026-01",
                    "insurer_id": self.insurer.id,
                    "company_id": company.id,
                    "currency_id": company.currency_id.id,
                    "coverage_percent": coverage,
                    "date_from": self.today - timedelta(days=30),
                    "date_to": self.today + timedelta(days=335),
                    "cover_ids": [
                        (0, 0, {"partner_id": self.customer.id, "insured_limit": limit, **(cover_vals or {})})
                    ],
                    **vals,
                }
            )
        )
        if activate:
            policy.action_activate()
        return policy

    @contextmanager
    def refused(self, pattern):
        """A ValidationError matching ``pattern``, and nothing of the call left behind."""
        with self.assertRaisesRegex(ValidationError, pattern), self.env.cr.savepoint():
            yield

    def require_insurance(self, action="warn"):
        self.company.write({"credit_insurance_required": True, "credit_insurance_action": action})

    # ------------------------------------------------------------
    # The rule
    # ------------------------------------------------------------

    def test_default_action_is_warn(self):
        defaults = self.env["res.company"].default_get(
            ["credit_insurance_action", "credit_insurance_required"]
        )
        self.assertEqual(defaults.get("credit_insurance_action"), "warn")
        self.assertFalse(defaults.get("credit_insurance_required"))

    def test_warns_above_insured_limit_when_required(self):
        self.require_insurance("warn")
        self.create_policy()
        within = self.create_order(self.customer, 600.0, user=self.salesman)
        self.assertIsNone(self.try_confirm(within))
        self.assertEqual((within.state, within.credit_check_state), ("sale", "ok"))
        over = self.create_order(self.customer, 200.0, user=self.salesman)
        self.assertIsNone(self.try_confirm(over))
        self.assertEqual((over.state, over.credit_check_state), ("sale", "warning"))
        self.assertIn("exceeds the insured limit of $\xa0600.00", over.credit_check_message)
        self.assertIn("$\xa0800.00", over.credit_check_message)

    def test_blocks_above_insured_limit_with_figures(self):
        self.require_insurance("block")
        self.create_policy()
        order = self.create_order(self.customer, 800.0, user=self.salesman)
        message = self.try_confirm(order)
        self.assertTrue(message)
        self.assertEqual(order.state, "draft")
        self.assertIn(
            "The exposure after this order, $\xa0800.00, exceeds the insured limit of $\xa0600.00 "
            "(credit insurance: Sino Credit Insurer P-2026-01) by $\xa0200.00.",
            message,
        )
        self.assertNotIn("Credit limit exceeded", message)
        self.assertEqual(order.credit_check_state, "blocked")
        # The insurer raises its limit: the held quotation is re-evaluated.
        self.env["credit.insurance.cover"].search([("partner_id", "=", self.customer.id)]).with_user(
            self.credit_manager
        ).insured_limit = 800.0
        self.assertEqual(order.credit_check_state, "ready")
        self.assertIsNone(self.try_confirm(order))

    def test_not_required_no_rule(self):
        self.create_policy()
        order = self.create_order(self.customer, 800.0, user=self.salesman)
        self.assertIsNone(self.try_confirm(order))
        self.assertEqual((order.state, order.credit_check_state), ("sale", "ok"))

    def test_required_without_cover_fires(self):
        self.require_insurance("block")
        message = self.try_confirm(self.create_order(self.customer, 100.0, user=self.salesman))
        self.assertIn("Credit Customer has no valid credit insurance cover", message)
        self.assertIn("insured limit of $\xa00.00", message)

    def test_foreign_currency_cover_converted_at_check_date(self):
        eur = self.setup_other_currency("EUR")  # 1 company currency = 2 EUR today
        self.require_insurance("block")
        self.create_policy(limit=1200.0, cover_vals={"currency_id": eur.id})  # 600 in company currency
        profile = self.profile_of(self.customer)
        decision, facts = profile._evaluate(
            self.today, 600.0, 600.0, order=self.create_order(self.customer, 600.0)
        )
        self.assertAlmostEqual(facts.extra["insured_limit"], 600.0)
        self.assertEqual(decision.state, "ok")

    # ------------------------------------------------------------
    # The profile: insured vs uninsured exposure
    # ------------------------------------------------------------

    def test_profile_insured_split(self):
        self.create_policy()
        self.confirm_as(self.create_order(self.customer, 800.0, user=self.salesman), self.salesman)
        profile = self.profile_of(self.customer).with_user(self.auditor)
        self.assertAlmostEqual(profile.exposure_amount, 800.0)
        self.assertAlmostEqual(profile.insured_exposure_amount, 540.0)  # min(800, 600) x 90 %
        self.assertAlmostEqual(profile.uninsured_exposure_amount, 260.0)

    def test_profile_split_queries_constant_in_the_number_of_covers(self):
        others = self.env["res.partner"].create(
            [{"name": f"Insured Buyer {index}", "is_company": True} for index in range(4)]
        )
        policy = self.create_policy()
        profiles = self.profile_of(self.customer)
        for partner in others:
            profiles |= self.profile_of(partner)

        def count_queries():
            self.env.invalidate_all()
            before = self.cr.sql_log_count
            profiles.mapped("insured_exposure_amount")
            return self.cr.sql_log_count - before

        count_queries()  # warm the registry caches (rules, the companies with guarantees) first
        one_cover = count_queries()
        policy.cover_ids = [(0, 0, {"partner_id": partner.id, "insured_limit": 100.0}) for partner in others]
        self.env.flush_all()
        self.assertEqual(count_queries(), one_cover, "one grouped query whatever the number of covers")
        self.assertEqual(profiles.mapped("insured_exposure_amount"), [0.0] * 5)

    def test_expired_cover_not_counted(self):
        self.confirm_as(self.create_order(self.customer, 100.0, user=self.salesman), self.salesman)
        self.create_policy(
            cover_vals={
                "date_from": self.today - timedelta(days=30),
                "date_to": self.today - timedelta(days=1),
            }
        )
        profile = self.profile_of(self.customer)
        self.assertAlmostEqual(profile.exposure_amount, 100.0)
        self.assertEqual(profile.insured_exposure_amount, 0.0)
        self.assertAlmostEqual(profile.uninsured_exposure_amount, 100.0)
        self.require_insurance("block")
        message = self.try_confirm(self.create_order(self.customer, 50.0, user=self.salesman))
        self.assertIn("no valid credit insurance cover", message)

    def test_ended_or_draft_policy_not_counted(self):
        self.require_insurance("block")
        policy = self.create_policy(activate=False)
        order = self.create_order(self.customer, 300.0, user=self.salesman)
        self.assertTrue(self.try_confirm(order), "a draft policy insures nothing")
        policy.action_activate()
        self.assertEqual(order.credit_check_state, "ready", "activating re-evaluates the held order")
        self.assertIsNone(self.try_confirm(order))
        policy.action_end()
        self.assertTrue(self.try_confirm(self.create_order(self.customer, 10.0, user=self.salesman)))

    def test_other_company_cover_ignored(self):
        company_b = self.env["res.company"].create(
            {"name": "Insurance Company B", "currency_id": self.company.currency_id.id}
        )
        self.credit_manager.company_ids |= company_b
        self.create_policy(limit=5000.0, company=company_b)
        self.require_insurance("block")
        self.assertTrue(self.try_confirm(self.create_order(self.customer, 100.0, user=self.salesman)))
        profile = self.profile_of(self.customer)
        self.assertEqual(profile.insured_exposure_amount, 0.0)
        # Nor can a user of the first company only see it.
        self.assertFalse(
            self.env["credit.insurance.cover"]
            .with_user(self.auditor)
            .search([("partner_id", "=", self.customer.id)])
        )

    # ------------------------------------------------------------
    # Bad input
    # ------------------------------------------------------------

    def test_bad_input_names_the_field(self):
        for coverage in (0.0, -5.0, 100.5):
            with self.refused(r"^Coverage \(%\)"):
                self.create_policy(coverage=coverage, activate=False)
        for limit in (0.0, -100.0):
            with self.refused(r"^Insured Limit"):
                self.create_policy(limit=limit, activate=False)
        with self.refused(r"^Valid To"):
            self.create_policy(activate=False, date_to=self.today - timedelta(days=31))
        with self.refused(r"^Valid To"):
            self.create_policy(
                activate=False,
                cover_vals={"date_from": self.today, "date_to": self.today - timedelta(days=1)},
            )
        with self.refused(r"^Customer"):
            self.create_policy(activate=False, cover_vals={"partner_id": self.contact.id})
        self.assertFalse(self.env["credit.insurance.policy"].search([]), "nothing half-written")

    # ------------------------------------------------------------
    # Access
    # ------------------------------------------------------------

    def test_access_per_group(self):
        policy = self.create_policy()
        cover = policy.cover_ids
        # Salespeople: neither policies nor covers.
        with self.assertRaises(AccessError):
            self.env["credit.insurance.cover"].with_user(self.salesman).search([])
        with self.assertRaises(AccessError):
            cover.with_user(self.salesman).read(["insured_limit"])
        with self.assertRaises(AccessError):
            self.env["credit.insurance.policy"].with_user(self.salesman).search([])
        # Auditors read, change nothing.
        self.assertEqual(cover.with_user(self.auditor).insured_limit, 600.0)
        self.assertEqual(policy.with_user(self.auditor).coverage_percent, 90.0)
        with self.assertRaises(AccessError):
            cover.with_user(self.auditor).write({"insured_limit": 900.0})
        with self.assertRaises(AccessError):
            policy.with_user(self.auditor).action_end()
        with self.assertRaises(AccessError):
            self.env["credit.insurance.cover"].with_user(self.auditor).create(
                {"policy_id": policy.id, "partner_id": self.customer.id, "insured_limit": 1.0}
            )
        self.assertEqual(policy.state, "active")
        # Managers edit the covers (done as the manager in the helper) and end the policy.
        cover.with_user(self.credit_manager).insured_limit = 700.0
        policy.with_user(self.credit_manager).action_end()
        self.assertEqual(policy.state, "ended")
