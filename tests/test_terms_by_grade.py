from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import CreditControlCommon


@tagged("post_install", "-at_install")
class TestTermsByGrade(CreditControlCommon):
    """The grade's payment term and deposit apply to quotations (评级结果应用).

    The customer is graded C: terms of at most 15 days and a 50 % deposit before
    confirmation. Its limit (1,000) is never the reason here: orders stay below it.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        scorecard = (
            cls.env["credit.scorecard"]
            .sudo()
            .create(
                {
                    "name": "Terms Scorecard",
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
                            {"code": "C", "min_score": 0.0, "payment_term_days": 15, "deposit_percent": 50.0}
                        )
                    ],
                }
            )
        )
        cls.grade_c = scorecard.grade_ids
        rating = (
            cls.env["credit.rating"]
            .sudo()
            .create(
                {
                    "partner_id": cls.customer.id,
                    "company_id": cls.company.id,
                    "date": cls.today,
                    "scorecard_id": scorecard.id,
                    "score": 30.0,
                    "grade_id": cls.grade_c.id,
                    "grade_code": "C",
                    "trigger": "manual",
                }
            )
        )
        cls.profile_of(cls.customer).sudo().rating_id = rating
        cls.term_30 = cls.env.ref("account.account_payment_term_30days")
        cls.term_15 = cls.env.ref("account.account_payment_term_15days")
        cls.create_payment_provider()

    def quotation(self, amount=600.0, term=None):
        order = self.create_order(self.customer, amount, user=self.salesman)
        order.payment_term_id = term or self.term_15
        return order

    def pay_online(self, order, amount):
        return self.done_transaction(amount, self.customer, order, reference=f"{order.name}-deposit-{amount}")

    def test_quotation_proposes_the_grades_deposit_as_online_prepayment(self):
        order = self.quotation()
        self.assertTrue(order.require_payment)
        self.assertAlmostEqual(order.prepayment_percent, 0.5)
        other = self.create_order(self.env["res.partner"].create({"name": "Ungraded"}), 100.0)
        self.assertAlmostEqual(other.prepayment_percent, self.company.prepayment_percent)

    def test_term_longer_than_the_grade_allows_is_refused(self):
        order = self.quotation(term=self.term_30)
        self.pay_online(order, 300.0)
        with self.assertRaises(UserError) as refusal:
            self.confirm_as(order, self.salesman)
        message = str(refusal.exception)
        self.assertIn("payment term of 30 days is longer than grade C allows (15 days)", message)
        self.assertNotIn("deposit", message)
        order.payment_term_id = self.term_15
        self.confirm_as(order, self.salesman)
        self.assertEqual(order.state, "sale")

    def test_deposit_required_then_paid_online_then_confirmed(self):
        order = self.quotation()
        with self.assertRaises(UserError) as refusal:
            self.confirm_as(order, self.salesman)
        for text in ("requires a deposit of 50.0%", "$\xa0300.00", "paid $\xa00.00"):
            self.assertIn(text, str(refusal.exception))
        self.pay_online(order, 299.0)
        with self.assertRaises(UserError):
            self.confirm_as(order, self.salesman)
        self.pay_online(order, 1.0)
        self.confirm_as(order, self.salesman)
        self.assertEqual(order.state, "sale")

    def test_each_rule_has_its_own_action(self):
        self.company.write({"credit_term_action": "warn", "credit_deposit_action": "ignore"})
        order = self.quotation(term=self.term_30)
        self.confirm_as(order, self.salesman)
        self.assertEqual((order.state, order.credit_check_state), ("sale", "warning"))
        self.assertIn("payment term of 30 days", order.credit_check_message)

    def test_ungraded_customer_has_neither_rule(self):
        customer = self.env["res.partner"].create({"name": "Ungraded Customer", "is_company": True})
        order = self.create_order(customer, 600.0, user=self.salesman)
        order.payment_term_id = self.term_30
        self.confirm_as(order, self.salesman)
        self.assertEqual(order.state, "sale")

    def test_longest_days_of_payment_terms(self):
        self.assertEqual(self.term_30._credit_longest_days(), 30)
        self.assertEqual(self.env.ref("account.account_payment_term_immediate")._credit_longest_days(), 0)
        end_of_month = self.env["account.payment.term"].create(
            {
                "name": "30 days end of month",
                "line_ids": [
                    Command.create(
                        {
                            "value": "percent",
                            "value_amount": 100.0,
                            "nb_days": 30,
                            "delay_type": "days_after_end_of_month",
                        }
                    )
                ],
            }
        )
        self.assertEqual(end_of_month._credit_longest_days(), 61)
