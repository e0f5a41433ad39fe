from datetime import timedelta

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged

from ..models.credit_financial_statement import RATIO_FIELDS
from .common import CreditControlCommon


class PaymentBehaviourCommon(CreditControlCommon):
    """Helpers to post invoices with chosen dates and pay them on chosen days."""

    @classmethod
    def days(cls, offset):
        """The date ``offset`` days from today (negative: in the past)."""
        return cls.today + timedelta(days=offset)

    @classmethod
    def post_invoice(cls, partner, amount, invoice_day, due_day, move_type="out_invoice"):
        """A posted tax-free invoice dated ``invoice_day`` days from today, due ``due_day`` days from it."""
        move = cls.env["account.move"].create(
            {
                "move_type": move_type,
                "partner_id": partner.id,
                "invoice_date": cls.days(invoice_day),
                "invoice_date_due": cls.days(due_day),
                "invoice_line_ids": [
                    Command.create({"name": "Goods", "quantity": 1, "price_unit": amount, "tax_ids": []})
                ],
            }
        )
        move.action_post()
        return move

    @classmethod
    def pay_on(cls, invoice, day, amount=None):
        """Register a payment of ``invoice`` (all of it by default) dated ``day`` days from today."""
        vals = {"payment_date": cls.days(day)}
        if amount is not None:
            vals["amount"] = amount
        return (
            cls.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create(vals)
            ._create_payments()
        )

    @classmethod
    def new_customer(cls, name):
        return cls.env["res.partner"].create({"name": name, "is_company": True})

    def facts(self, partner, as_of=None):
        engine = self.env["credit.rating.engine"]
        return engine._customer_facts(partner.ids, self.company, as_of or self.today)[partner.id]


@tagged("post_install", "-at_install")
class TestPaymentBehaviour(PaymentBehaviourCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Two invoices due 70 days ago: 1 000 paid 10 days late, 3 000 paid 5 days early.
        cls.payer = cls.new_customer("Mostly On Time")
        cls.late_invoice = cls.post_invoice(cls.payer, 1000.0, -100, -70)
        cls.early_invoice = cls.post_invoice(cls.payer, 3000.0, -100, -70)
        cls.pay_on(cls.late_invoice, -60)
        cls.pay_on(cls.early_invoice, -75)

    def test_paid_invoices_late_share_weighted_days_and_max_days(self):
        facts = self.facts(self.payer)
        aggregates, values = facts["aggregates"], facts["values"]
        self.assertAlmostEqual(aggregates.paid_amount, 4000.0)
        self.assertAlmostEqual(aggregates.amount_days_late, 10000.0)  # 1 000 x 10 days
        self.assertAlmostEqual(aggregates.late_amount, 1000.0)
        self.assertEqual(aggregates.max_days_late, 10)
        self.assertAlmostEqual(values["late_share"], 0.25)
        self.assertAlmostEqual(values["weighted_days_late"], 2.5)
        self.assertEqual(values["max_days_late"], 10)
        # nothing open any more
        self.assertEqual(values["max_days_overdue"], 0)
        self.assertEqual(values["overdue_ratio"], 0)
        self.assertEqual(values["dso"], 0)
        self.assertAlmostEqual(values["sales_volume"], 4000.0)
        self.assertEqual(facts["first_invoice_date"], self.days(-100))
        self.assertAlmostEqual(values["relationship_years"], 100 / 365.25)
        # both payments fell in the last 90 days, none in the 90 before: no trend yet
        self.assertAlmostEqual(aggregates.recent_paid, 4000.0)
        self.assertAlmostEqual(aggregates.recent_late, 1000.0)
        self.assertEqual(aggregates.previous_paid, 0)
        self.assertIsNone(values["late_share_trend"])

    def test_partial_payment_open_and_overdue_items(self):
        customer = self.new_customer("Partly Paid")
        overdue = self.post_invoice(customer, 2000.0, -50, -20)
        self.pay_on(overdue, -10, amount=500.0)  # 10 days late, 1 500 still open
        self.post_invoice(customer, 1000.0, -5, 25)  # open, not due yet
        facts = self.facts(customer)
        aggregates, values = facts["aggregates"], facts["values"]
        self.assertAlmostEqual(aggregates.paid_amount, 500.0)
        self.assertAlmostEqual(values["late_share"], 1.0)
        self.assertAlmostEqual(values["weighted_days_late"], 10.0)
        self.assertAlmostEqual(facts["open_amount"], 2500.0)
        self.assertAlmostEqual(aggregates.overdue_amount, 1500.0)
        self.assertEqual(values["max_days_overdue"], 20)
        self.assertAlmostEqual(values["overdue_ratio"], 0.6)
        # DSO: 50 days of sales history, fewer than the 90 a DSO needs: no DSO (not 2 500 / 3 000 x 365)
        self.assertAlmostEqual(aggregates.receivables, 2500.0)
        self.assertAlmostEqual(aggregates.sales_in_period, 3000.0)
        self.assertEqual(aggregates.history_days, 50)
        self.assertIsNone(values["dso"])

    def test_figures_as_of_a_past_date_ignore_what_came_after(self):
        customer = self.new_customer("Seen Earlier")
        overdue = self.post_invoice(customer, 2000.0, -50, -20)
        self.pay_on(overdue, -10, amount=500.0)
        self.post_invoice(customer, 1000.0, -5, 25)
        facts = self.facts(customer, as_of=self.days(-15))
        aggregates, values = facts["aggregates"], facts["values"]
        # the payment 10 days ago and the invoice of 5 days ago did not exist yet
        self.assertEqual(aggregates.paid_amount, 0)
        self.assertIsNone(values["late_share"])
        self.assertIsNone(values["max_days_late"])
        self.assertAlmostEqual(facts["open_amount"], 2000.0)
        self.assertAlmostEqual(aggregates.overdue_amount, 2000.0)
        self.assertEqual(values["max_days_overdue"], 5)
        self.assertAlmostEqual(aggregates.receivables, 2000.0)
        # and as of before the payment the paid-late figures of the first customer are empty too
        self.assertIsNone(self.facts(self.payer, as_of=self.days(-76))["values"]["late_share"])
        early_only = self.facts(self.payer, as_of=self.days(-70))["aggregates"]
        self.assertAlmostEqual(early_only.paid_amount, 3000.0)
        self.assertEqual(early_only.late_amount, 0)

    def test_trend_compares_the_last_90_days_with_the_90_before(self):
        customer = self.new_customer("Improving")
        before = self.post_invoice(customer, 1000.0, -180, -150)
        self.pay_on(before, -140)  # 10 days late, in the previous window
        recent = self.post_invoice(customer, 1000.0, -70, -40)
        self.pay_on(recent, -45)  # on time, in the last 90 days
        facts = self.facts(customer)
        self.assertEqual(facts["previous_late_share"], 1.0)
        self.assertEqual(facts["recent_late_share"], 0.0)
        self.assertAlmostEqual(facts["values"]["late_share_trend"], -1.0)
        self.assertAlmostEqual(facts["values"]["late_share"], 0.5)

    def test_credit_note_is_not_a_payment(self):
        customer = self.new_customer("Refunded")
        invoice = self.post_invoice(customer, 1000.0, -60, -40)
        refund = self.post_invoice(customer, 1000.0, -10, -10, move_type="out_refund")
        (invoice + refund).line_ids.filtered(lambda line: line.account_type == "asset_receivable").reconcile()
        facts = self.facts(customer)
        self.assertEqual(facts["aggregates"].paid_amount, 0)
        self.assertIsNone(facts["values"]["late_share"])
        self.assertEqual(facts["open_amount"], 0)
        self.assertEqual(facts["aggregates"].overdue_amount, 0)
        self.assertEqual(facts["sales_volume"], 0)  # invoice minus credit note

    def test_open_items_are_the_credit_checks(self):
        """The rating's open and overdue amounts sum the credit check's open receivable items
        (an open credit note nets them); as of today they are the profile's figures."""
        customer = self.new_customer("Same Items Ltd")
        self.post_invoice(customer, 1000.0, -40, -25)
        self.post_invoice(customer, 300.0, -5, -5, move_type="out_refund")
        facts = self.facts(customer)
        profile = self.profile_of(customer)
        self.assertAlmostEqual(facts["open_amount"], 700.0)
        self.assertAlmostEqual(facts["open_amount"], profile.receivable_amount)
        self.assertAlmostEqual(facts["aggregates"].overdue_amount, 1000.0)
        self.assertAlmostEqual(facts["aggregates"].overdue_amount, profile.overdue_amount)
        self.assertEqual(facts["values"]["max_days_overdue"], 25)
        self.assertEqual(profile.behaviour_max_days_overdue, profile.overdue_days)

    def test_as_of_a_date_the_same_items_with_their_residuals_then(self):
        """A credit note booked and reconciled after the date is undone on both of its sides."""
        customer = self.new_customer("Rebuilt Ltd")
        invoice = self.post_invoice(customer, 1000.0, -40, -25)
        refund = self.post_invoice(customer, 400.0, -10, -10, move_type="out_refund")
        (invoice + refund).line_ids.filtered(lambda line: line.account_type == "asset_receivable").reconcile()
        before = self.facts(customer, as_of=self.days(-15))
        self.assertAlmostEqual(before["open_amount"], 1000.0)
        self.assertAlmostEqual(before["aggregates"].overdue_amount, 1000.0)
        self.assertEqual(before["values"]["max_days_overdue"], 10)
        now = self.facts(customer)
        self.assertAlmostEqual(now["open_amount"], 600.0)
        self.assertAlmostEqual(now["aggregates"].overdue_amount, 600.0)
        self.assertEqual(now["values"]["max_days_overdue"], 25)

    def test_statement_ratios_are_missing_where_the_scorecard_misses_them(self):
        """The screen's ratios are the scorecard's: missing (shown empty) without a denominator,
        a figure not entered reading 0 on both."""
        customer = self.new_customer("Ratios Ltd")
        statement = (
            self.env["credit.financial.statement"]
            .with_user(self.credit_manager)
            .create(
                {
                    "partner_id": customer.id,
                    "company_id": self.company.id,
                    "period_end": self.days(-30),
                    "total_assets": 1000.0,
                    "total_liabilities": 400.0,
                    "revenue": 0.0,
                    "net_profit": 50.0,
                }
            )
        )
        self.assertAlmostEqual(statement.debt_to_asset, 0.4)
        self.assertFalse(statement.debt_to_asset_missing)
        self.assertTrue(statement.current_ratio_missing)  # no current liabilities
        self.assertTrue(statement.net_margin_missing)  # no revenue
        self.assertFalse(statement.equity_ratio_missing)  # equity not entered: 0 of the assets
        self.assertEqual(statement.equity_ratio, 0.0)
        values = self.facts(customer)["values"]
        for name in RATIO_FIELDS:
            with self.subTest(ratio=name):
                if statement[f"{name}_missing"]:
                    self.assertIsNone(values[name])
                else:
                    self.assertAlmostEqual(values[name], statement[name])
        statement.current_liabilities = 500.0
        self.assertFalse(statement.current_ratio_missing)
        self.assertEqual(statement.current_ratio, 0.0)  # no current assets entered

    def test_invoices_of_contacts_count_for_the_company(self):
        customer = self.new_customer("Parent Co")
        contact = self.env["res.partner"].create({"name": "Buyer", "parent_id": customer.id})
        invoice = self.post_invoice(contact, 800.0, -40, -30)
        self.pay_on(invoice, -20)
        facts = self.facts(customer)
        self.assertAlmostEqual(facts["aggregates"].paid_amount, 800.0)
        self.assertEqual(facts["values"]["max_days_late"], 10)

    def test_customer_without_invoices_has_no_payment_data(self):
        values = self.facts(self.new_customer("Brand New"))["values"]
        for code in (
            "late_share",
            "weighted_days_late",
            "max_days_late",
            "max_days_overdue",
            "overdue_ratio",
            "dso",
            "late_share_trend",
            "relationship_years",
            "sales_volume",
        ):
            self.assertIsNone(values[code], code)

    def test_draft_invoices_and_other_customers_do_not_count(self):
        customer = self.new_customer("Draft Only")
        self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": customer.id,
                "invoice_date": self.days(-40),
                "invoice_date_due": self.days(-30),
                "invoice_line_ids": [Command.create({"name": "Draft", "quantity": 1, "price_unit": 500.0})],
            }
        )
        facts = self.facts(customer)
        self.assertIsNone(facts["first_invoice_date"])
        self.assertEqual(facts["open_amount"], 0)

    def test_one_query_per_metric_group_whatever_the_batch(self):
        customers = self.payer
        for index in range(3):
            customer = self.new_customer(f"Batch {index}")
            invoice = self.post_invoice(customer, 100.0 * (index + 1), -40, -30)
            self.pay_on(invoice, -25 + index)
            customers |= customer
        engine = self.env["credit.rating.engine"]
        self.env.flush_all()
        # paid, open items, balances, statements, bureau reports
        with self.assertQueryCount(5):
            engine._customer_facts(self.payer.ids, self.company, self.today)
        with self.assertQueryCount(5):
            facts = engine._customer_facts(customers.ids, self.company, self.today)
        self.assertEqual(len(facts), 4)

    def test_profile_shows_the_behaviour(self):
        customer = self.new_customer("Shown")
        invoice = self.post_invoice(customer, 2000.0, -50, -20)
        self.pay_on(invoice, -10, amount=500.0)
        profile = self.profile_of(customer)
        self.assertTrue(profile.behaviour_has_history)
        self.assertTrue(profile.behaviour_has_payments)
        self.assertAlmostEqual(profile.behaviour_late_share, 1.0)
        self.assertAlmostEqual(profile.behaviour_weighted_days_late, 10.0)
        self.assertEqual(profile.behaviour_max_days_late, 10)
        self.assertEqual(profile.behaviour_max_days_overdue, 20)
        self.assertAlmostEqual(profile.behaviour_overdue_ratio, 1.0)
        self.assertAlmostEqual(profile.behaviour_sales_volume, 2000.0)
        self.assertEqual(profile.behaviour_first_invoice_date, self.days(-50))
        # an auditor sees the same figures; salespeople do not read the credit file
        profile.invalidate_recordset()
        self.assertAlmostEqual(profile.with_user(self.auditor).behaviour_late_share, 1.0)
        with self.assertRaises(AccessError):
            profile.with_user(self.salesman).read(["behaviour_late_share"])
        empty = self.profile_of(self.new_customer("Nothing Yet"))
        self.assertFalse(empty.behaviour_has_history)
        self.assertFalse(empty.behaviour_has_payments)
        self.assertEqual(empty.behaviour_late_share, 0)
