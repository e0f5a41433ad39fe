from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import CreditControlCommon


@tagged("post_install", "-at_install")
class TestRatingTerms(CreditControlCommon):
    """The grade's payment term is proposed on the customer when a rating is accepted: a credit
    manager applies it from the rating (Apply Grade's Terms), and the change is recorded."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.term_15 = cls.env.ref("account.account_payment_term_15days")
        cls.term_30 = cls.env.ref("account.account_payment_term_30days")
        scorecard = (
            cls.env["credit.scorecard"]
            .sudo()
            .create(
                {
                    "name": "Terms Proposal Scorecard",
                    "company_id": cls.company.id,
                    "factor_ids": [
                        Command.create(
                            {
                                "code": "late_share",
                                "weight": 1.0,
                                "band_ids": [
                                    Command.create({"has_lower": False, "has_upper": False, "points": 30.0})
                                ],
                            }
                        )
                    ],
                    "grade_ids": [
                        Command.create(
                            {
                                "code": "C",
                                "min_score": 0.0,
                                "payment_term_id": cls.term_15.id,
                                "payment_term_days": 15,
                            }
                        ),
                        Command.create({"code": "B", "min_score": 50.0}),
                    ],
                }
            )
        )
        cls.grade_c = scorecard.grade_ids.filtered(lambda grade: grade.code == "C")
        cls.grade_b = scorecard.grade_ids.filtered(lambda grade: grade.code == "B")
        cls.scorecard = scorecard
        cls.customer.with_company(cls.company).property_payment_term_id = cls.term_30
        cls.rating = cls._current_rating(cls.customer, cls.grade_c)

    @classmethod
    def _current_rating(cls, partner, grade):
        rating = (
            cls.env["credit.rating"]
            .sudo()
            .create(
                {
                    "partner_id": partner.id,
                    "company_id": cls.company.id,
                    "date": cls.today,
                    "scorecard_id": cls.scorecard.id,
                    "score": grade.min_score,
                    "grade_id": grade.id,
                    "grade_code": grade.code,
                    "trigger": "manual",
                }
            )
        )
        cls.profile_of(partner).sudo().rating_id = rating
        return rating

    def term_of(self, partner):
        return partner.with_company(self.company).property_payment_term_id

    def test_manager_applies_the_grades_term_recorded_in_chatter(self):
        profile = self.profile_of(self.customer)
        messages_before = profile.message_ids
        result = self.rating.with_user(self.credit_manager).action_apply_grade_terms()
        self.assertEqual(self.term_of(self.customer), self.term_15)
        self.assertEqual(result["params"]["type"], "success")
        note = profile.message_ids - messages_before
        self.assertEqual(len(note), 1)
        self.assertEqual(note.author_id, self.credit_manager.partner_id)
        self.assertIn(self.credit_manager.name, note.body)
        self.assertIn(f"from {self.term_30.name} to {self.term_15.name}", note.body)
        self.assertIn("grade C", note.body)
        # New quotations of the customer take the applied terms.
        order = self.create_order(self.customer, 100.0, user=self.salesman)
        self.assertEqual(order.payment_term_id, self.term_15)
        # Applied again: nothing to change, nothing recorded.
        result = self.rating.with_user(self.credit_manager).action_apply_grade_terms()
        self.assertEqual(result["params"]["type"], "info")
        self.assertEqual(profile.message_ids - messages_before, note)

    def test_terms_apply_in_the_ratings_company_only(self):
        other_company = self.env["res.company"].create({"name": "Terms Company B"})
        self.customer.with_company(other_company).property_payment_term_id = self.term_30
        self.rating.with_user(self.credit_manager).action_apply_grade_terms()
        self.assertEqual(self.term_of(self.customer), self.term_15)
        self.assertEqual(self.customer.with_company(other_company).property_payment_term_id, self.term_30)

    def test_salesperson_cannot_apply(self):
        with self.assertRaises(AccessError):
            self.rating.with_user(self.salesman).action_apply_grade_terms()
        self.assertEqual(self.term_of(self.customer), self.term_30)

    def test_grade_without_term_is_refused(self):
        graded_b = self.env["res.partner"].create({"name": "Grade B Customer", "is_company": True})
        graded_b.with_company(self.company).property_payment_term_id = self.term_30
        rating_b = self._current_rating(graded_b, self.grade_b)
        messages_before = self.profile_of(graded_b).message_ids
        with self.assertRaisesRegex(UserError, "Grade B has no default payment terms"):
            rating_b.with_user(self.credit_manager).action_apply_grade_terms()
        self.assertEqual(self.term_of(graded_b), self.term_30)
        self.assertEqual(self.profile_of(graded_b).message_ids, messages_before)
        # In a batch with a rating that could be applied, nothing changes either.
        with self.assertRaises(UserError):
            (self.rating | rating_b).with_user(self.credit_manager).action_apply_grade_terms()
        self.assertEqual(self.term_of(self.customer), self.term_30)

    def test_only_the_current_rating_applies(self):
        newer = self._current_rating(self.customer, self.grade_b)
        self.assertEqual(self.profile_of(self.customer).rating_id, newer)
        with self.assertRaisesRegex(UserError, "not the current rating"):
            self.rating.with_user(self.credit_manager).action_apply_grade_terms()
        self.assertEqual(self.term_of(self.customer), self.term_30)
