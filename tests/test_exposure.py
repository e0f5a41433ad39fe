from datetime import timedelta

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import Form, tagged
from odoo.tools import format_date

from .common import CreditControlCommon

EXPOSURE_FIELDS = (
    "receivable_amount",
    "uninvoiced_order_amount",
    "draft_invoice_amount",
    "exposure_amount",
    "available_amount",
    "utilization",
    "overdue_amount",
    "overdue_days",
)


@tagged("post_install", "-at_install")
class TestExposure(CreditControlCommon):
    """Exposure parts of the credit profile and of the confirmation check, with exact figures.

    Limit 1000 on ``cls.customer``; amounts are tax-free.
    """

    # Queries of one confirmation / one evaluation, whatever the customer's history
    # (one of them the secured capacity of guarantees, whatever their number; one the facts
    # of the grade's term and deposit rules; one the lookup of the customer's credit group).
    CONFIRM_QUERY_BUDGET = 32
    EVALUATE_QUERY_BUDGET = 7

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.profile = cls.profile_of(cls.customer)

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    def assert_exposure(self, partner=None, **expected):
        """Compare the profile's exposure figures; unnamed figures are expected to be 0."""
        profile = self.profile_of(partner or self.customer)
        profile.invalidate_recordset()
        for name in EXPOSURE_FIELDS:
            with self.subTest(figure=name):
                self.assertAlmostEqual(profile[name], expected.get(name, 0), places=2, msg=name)

    def assert_matches_odoo_credit(self, partner=None):
        """Single currency: open receivables equal Odoo's own partner ``credit``."""
        partner = (partner or self.customer).with_company(self.company)
        partner.invalidate_recordset(["credit"])
        profile = self.profile_of(partner)
        profile.invalidate_recordset()
        self.assertAlmostEqual(profile.receivable_amount, partner.credit, places=2)

    def confirmed_order(self, partner, amount, quantity=1.0, currency=None):
        order = self.create_order(partner, amount, quantity=quantity, currency=currency)
        order.action_confirm()
        self.assertEqual(order.state, "sale")
        return order

    def blocked_message(self, order):
        with self.assertRaises(UserError) as error:
            self.confirm_as(order, self.salesman)
        return str(error.exception)

    # ------------------------------------------------------------
    # Orders and invoicing
    # ------------------------------------------------------------

    def test_no_documents(self):
        self.assert_exposure(available_amount=1000.0)
        self.profile.invalidate_recordset()
        self.assertEqual(self.profile.credit_state, "ok")

    def test_confirmed_uninvoiced_order_counts(self):
        self.confirmed_order(self.customer, 300.0)
        self.assert_exposure(
            uninvoiced_order_amount=300.0, exposure_amount=300.0, available_amount=700.0, utilization=30.0
        )

    def test_quotations_and_cancelled_orders_do_not_count(self):
        self.create_order(self.customer, 300.0)
        cancelled = self.confirmed_order(self.customer, 200.0)
        cancelled._action_cancel()
        self.assert_exposure(available_amount=1000.0)

    def test_partial_invoicing_moves_invoiced_part_to_receivables(self):
        self.company.credit_count_draft_invoices = True
        order = self.confirmed_order(self.customer, 400.0, quantity=4.0)
        invoice = order._create_invoices()
        with Form(invoice) as form:
            with form.invoice_line_ids.edit(0) as line:
                line.quantity = 1.0
        self.assertAlmostEqual(invoice.amount_total, 100.0)
        # Draft invoice from the order: still order exposure, not counted a second time.
        self.assert_exposure(
            uninvoiced_order_amount=400.0, exposure_amount=400.0, available_amount=600.0, utilization=40.0
        )
        invoice.action_post()
        self.assert_exposure(
            receivable_amount=100.0,
            uninvoiced_order_amount=300.0,
            exposure_amount=400.0,
            available_amount=600.0,
            utilization=40.0,
        )
        self.assert_matches_odoo_credit()
        rest = order._create_invoices()
        self.assertAlmostEqual(rest.amount_total, 300.0)
        rest.action_post()
        self.assert_exposure(
            receivable_amount=400.0, exposure_amount=400.0, available_amount=600.0, utilization=40.0
        )
        self.assert_matches_odoo_credit()

    def test_partial_invoicing_figures_in_the_check(self):
        order = self.confirmed_order(self.customer, 400.0, quantity=4.0)
        invoice = order._create_invoices()
        with Form(invoice) as form:
            with form.invoice_line_ids.edit(0) as line:
                line.quantity = 1.0
        invoice.action_post()
        new_order = self.create_order(self.customer, 700.0, user=self.salesman)
        message = self.blocked_message(new_order)
        self.assertIn("Exposure before this order: $\xa0400.00", message)
        self.assertIn("open receivables $\xa0100.00", message)
        self.assertIn("confirmed uninvoiced orders $\xa0300.00", message)
        self.assertIn("draft invoices $\xa00.00", message)
        self.assertIn("This order: $\xa0700.00", message)
        self.assertIn("Exposure after this order: $\xa01,100.00", message)
        self.assertIn("Available credit: $\xa0600.00", message)

    def test_draft_invoice_from_order_not_counted_twice(self):
        self.company.credit_count_draft_invoices = True
        order = self.confirmed_order(self.customer, 300.0)
        invoice = order._create_invoices()
        self.assertEqual(invoice.state, "draft")
        self.assert_exposure(
            uninvoiced_order_amount=300.0, exposure_amount=300.0, available_amount=700.0, utilization=30.0
        )
        # The check sees the same: 300 + 700 fits the limit exactly.
        fitting = self.create_order(self.customer, 700.0, user=self.salesman)
        self.confirm_as(fitting, self.salesman)
        self.assertEqual(fitting.credit_check_state, "ok")

    def test_free_standing_draft_invoice_counted_only_when_configured(self):
        self.create_invoice(self.customer, 250.0, post=False)
        self.create_invoice(self.customer, 50.0, post=False, move_type="out_refund")
        self.assert_exposure(available_amount=1000.0)
        order = self.create_order(self.customer, 900.0, user=self.salesman)
        self.confirm_as(order, self.salesman)
        self.assertEqual(order.credit_check_state, "ok")

        self.company.credit_count_draft_invoices = True
        self.assert_exposure(
            uninvoiced_order_amount=900.0,
            draft_invoice_amount=200.0,
            exposure_amount=1100.0,
            available_amount=-100.0,
            utilization=110.0,
        )
        self.profile.invalidate_recordset()
        self.assertEqual(self.profile.credit_state, "over_limit")
        self.assertTrue(self.profile.is_over_limit)
        message = self.blocked_message(self.create_order(self.customer, 10.0, user=self.salesman))
        self.assertIn("draft invoices $\xa0200.00", message)
        self.assertIn("Exposure after this order: $\xa01,110.00", message)

    # ------------------------------------------------------------
    # Payments and credit notes
    # ------------------------------------------------------------

    def test_payments_reduce_receivables_at_once(self):
        invoice = self.create_invoice(self.customer, 500.0)
        self.assert_exposure(
            receivable_amount=500.0, exposure_amount=500.0, available_amount=500.0, utilization=50.0
        )
        self.assert_matches_odoo_credit()
        self.pay(invoice, amount=200.0)
        self.assert_exposure(
            receivable_amount=300.0, exposure_amount=300.0, available_amount=700.0, utilization=30.0
        )
        self.assert_matches_odoo_credit()
        # The check uses the same figures at once: 300 + 700 fits exactly.
        order = self.create_order(self.customer, 700.0, user=self.salesman)
        self.confirm_as(order, self.salesman)
        self.assertEqual(order.credit_check_state, "ok")
        self.pay(invoice)
        self.assertEqual(invoice.payment_state in ("paid", "in_payment"), True)
        self.assert_exposure(
            uninvoiced_order_amount=700.0, exposure_amount=700.0, available_amount=300.0, utilization=70.0
        )
        self.assert_matches_odoo_credit()

    def test_posted_credit_note_reduces_receivables(self):
        self.create_invoice(self.customer, 500.0)
        self.create_invoice(self.customer, 200.0, move_type="out_refund")
        self.assert_exposure(
            receivable_amount=300.0, exposure_amount=300.0, available_amount=700.0, utilization=30.0
        )
        self.assert_matches_odoo_credit()

    def test_credit_note_from_invoice_reconciled(self):
        invoice = self.create_invoice(self.customer, 500.0)
        reversal = (
            self.env["account.move.reversal"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create({"journal_id": invoice.journal_id.id, "reason": "Return"})
        )
        reversal.refund_moves()
        refund = invoice.reversal_move_ids
        with Form(refund) as form:
            with form.invoice_line_ids.edit(0) as line:
                line.price_unit = 150.0
        refund.action_post()  # reconciled with the invoice it reverses
        self.assertAlmostEqual(invoice.amount_residual, 350.0)
        self.assertEqual(refund.payment_state, "paid")
        self.assert_exposure(
            receivable_amount=350.0, exposure_amount=350.0, available_amount=650.0, utilization=35.0
        )
        self.assert_matches_odoo_credit()

    def test_unreconciled_payment_reduces_receivables(self):
        self.create_invoice(self.customer, 500.0)
        payment = self.env["account.payment"].create(
            {
                "payment_type": "inbound",
                "partner_type": "customer",
                "partner_id": self.customer.id,
                "amount": 120.0,
                "journal_id": self.company_data["default_journal_bank"].id,
            }
        )
        payment.action_post()
        self.assert_exposure(
            receivable_amount=380.0, exposure_amount=380.0, available_amount=620.0, utilization=38.0
        )
        self.assert_matches_odoo_credit()

    # ------------------------------------------------------------
    # Overdue
    # ------------------------------------------------------------

    def test_overdue_figures(self):
        self.create_invoice(self.customer, 400.0, days_ago=35)
        self.create_invoice(self.customer, 150.0, days_ago=10)
        self.create_invoice(self.customer, 100.0)  # due today: not overdue
        self.assert_exposure(
            receivable_amount=650.0,
            exposure_amount=650.0,
            available_amount=350.0,
            utilization=65.0,
            overdue_amount=550.0,
            overdue_days=35,
        )
        self.assert_matches_odoo_credit()

    def test_partly_paid_overdue_invoice(self):
        old = self.create_invoice(self.customer, 400.0, days_ago=35)
        self.create_invoice(self.customer, 150.0, days_ago=10)
        self.pay(old, amount=100.0)
        self.assert_exposure(
            receivable_amount=450.0,
            exposure_amount=450.0,
            available_amount=550.0,
            utilization=45.0,
            overdue_amount=450.0,
            overdue_days=35,
        )
        self.pay(old)
        self.assert_exposure(
            receivable_amount=150.0,
            exposure_amount=150.0,
            available_amount=850.0,
            utilization=15.0,
            overdue_amount=150.0,
            overdue_days=10,
        )

    # ------------------------------------------------------------
    # Commercial partner
    # ------------------------------------------------------------

    def test_contacts_and_addresses_roll_up(self):
        self.confirmed_order(self.contact, 200.0)
        self.confirmed_order(self.delivery_address, 100.0)
        self.create_invoice(self.contact, 150.0)
        self.create_invoice(self.delivery_address, 50.0, days_ago=40)
        self.company.credit_count_draft_invoices = True
        self.create_invoice(self.contact, 30.0, post=False)
        figures = dict(
            receivable_amount=200.0,
            uninvoiced_order_amount=300.0,
            draft_invoice_amount=30.0,
            exposure_amount=530.0,
            available_amount=470.0,
            utilization=53.0,
            overdue_amount=50.0,
            overdue_days=40,
        )
        self.assert_exposure(**figures)
        self.assertEqual(self.profile_of(self.contact), self.profile)
        self.assertEqual(self.profile_of(self.delivery_address), self.profile)
        self.assertEqual(self.delivery_address.credit_profile_id, self.profile)
        self.delivery_address.invalidate_recordset()
        self.assertAlmostEqual(self.delivery_address.credit_exposure, 530.0)
        self.assert_matches_odoo_credit()
        # The check of an order for the contact uses the company's limit and exposure.
        order = self.create_order(self.contact, 480.0, user=self.salesman)
        message = self.blocked_message(order)
        self.assertIn("Exposure before this order: $\xa0530.00", message)
        self.assertIn("Exposure after this order: $\xa01,010.00", message)

    def test_other_customers_do_not_count(self):
        other = self.env["res.partner"].create({"name": "Other Customer", "is_company": True})
        self.confirmed_order(other, 700.0)
        self.create_invoice(other, 300.0)
        self.confirmed_order(self.customer, 100.0)
        self.assert_exposure(
            uninvoiced_order_amount=100.0, exposure_amount=100.0, available_amount=900.0, utilization=10.0
        )
        self.assert_exposure(
            other, receivable_amount=300.0, uninvoiced_order_amount=700.0, exposure_amount=1000.0
        )

    def test_other_company_documents_do_not_count(self):
        other_company = self.setup_other_company(name="Credit Company 2")["company"]
        self.env.user.company_ids |= other_company
        self.confirmed_order(self.customer, 100.0)
        order = self.create_order(self.customer, 5000.0, company=other_company)
        order.action_confirm()
        self.assert_exposure(
            uninvoiced_order_amount=100.0, exposure_amount=100.0, available_amount=900.0, utilization=10.0
        )
        profile_2 = self.profile_of(self.customer, other_company)
        self.assertNotEqual(profile_2, self.profile)
        profile_2.invalidate_recordset()
        self.assertAlmostEqual(profile_2.uninvoiced_order_amount, 5000.0)

    # ------------------------------------------------------------
    # Other currencies
    # ------------------------------------------------------------

    def test_other_currency_converted_at_todays_rate(self):
        # 1 USD = 4 EUR on the invoice date, 2 EUR today.
        eur = self.setup_other_currency(
            "EUR",
            rates=[
                ("2016-01-01", 3.0),
                (self.today - timedelta(days=10), 4.0),
                (self.today, 2.0),
            ],
        )
        self.assertEqual(self.company.currency_id.name, "USD")
        invoice = self.create_invoice(self.customer, 400.0, days_ago=10, currency=eur)
        self.assertEqual(invoice.currency_id, eur)
        self.assertAlmostEqual(invoice.amount_total_signed, 100.0)  # booked at the invoice date's rate
        order = self.confirmed_order(self.customer, 300.0, currency=eur)
        self.assertEqual(order.currency_id, eur)
        self.assert_exposure(
            receivable_amount=200.0,
            uninvoiced_order_amount=150.0,
            exposure_amount=350.0,
            available_amount=650.0,
            utilization=35.0,
            overdue_amount=200.0,
            overdue_days=10,
        )
        # 1400 EUR = 700 USD today: 350 + 700 = 1050 > 1000 (at the invoice date's rate the
        # receivable would be 100 and the order would fit).
        blocked = self.create_order(self.customer, 1400.0, user=self.salesman, currency=eur)
        message = self.blocked_message(blocked)
        self.assertIn("Exposure before this order: $\xa0350.00", message)
        self.assertIn("open receivables $\xa0200.00", message)
        self.assertIn("confirmed uninvoiced orders $\xa0150.00", message)
        self.assertIn("This order: $\xa0700.00", message)
        self.assertIn("Exposure after this order: $\xa01,050.00", message)
        self.assertIn(f"converted at the rate of {format_date(self.env, self.today)}", message)
        # 1300 EUR = 650 USD fits exactly.
        fitting = self.create_order(self.customer, 1300.0, user=self.salesman, currency=eur)
        self.confirm_as(fitting, self.salesman)
        self.assertEqual(fitting.credit_check_state, "ok")

    def test_other_currency_payment(self):
        eur = self.setup_other_currency("EUR", rates=[("2016-01-01", 3.0), (self.today, 2.0)])
        invoice = self.create_invoice(self.customer, 600.0, currency=eur)
        self.pay(invoice, amount=200.0, currency=eur)
        self.assert_exposure(
            receivable_amount=200.0, exposure_amount=200.0, available_amount=800.0, utilization=20.0
        )

    # ------------------------------------------------------------
    # Query budget
    # ------------------------------------------------------------

    def _open_documents(self, n_orders, n_invoices):
        """``n_orders`` confirmed uninvoiced orders (1 each) and ``n_invoices`` posted invoices
        (1 each), half of them on the contact, created in bulk with credit control off."""
        self.company.credit_control_enabled = False
        partners = (self.customer, self.contact)
        orders = self.env["sale.order"].create(
            [
                {
                    "partner_id": partners[i % 2].id,
                    "order_line": [
                        Command.create(
                            {
                                "product_id": self.product.id,
                                "product_uom_qty": 1.0,
                                "price_unit": 1.0,
                                "tax_id": [Command.clear()],
                            }
                        )
                    ],
                }
                for i in range(n_orders)
            ]
        )
        orders.action_confirm()
        invoices = self.env["account.move"].create(
            [
                {
                    "move_type": "out_invoice",
                    "partner_id": partners[i % 2].id,
                    "invoice_date": self.today,
                    "invoice_line_ids": [
                        Command.create(
                            {"name": "Bulk", "quantity": 1.0, "price_unit": 1.0, "tax_ids": [Command.clear()]}
                        )
                    ],
                }
                for i in range(n_invoices)
            ]
        )
        invoices.action_post()
        self.company.credit_control_enabled = True

    def _count_queries(self, func):
        """The exact number of queries ``func`` makes, flushes included."""
        self.env.flush_all()
        self.env.cr.flush()
        count0 = self.cr.sql_log_count
        func()
        self.env.flush_all()
        self.env.cr.flush()
        return self.cr.sql_log_count - count0

    def test_passing_check_statements_over_a_confirmation_without_credit_control(self):
        """What the check adds to a passing confirmation, against the same confirmation with
        credit control off (3 statements): the lock, which also finds the profile and returns its
        row, the customer's limit and the order's online payments; the exposure ledger's figures;
        the user's time zone for the check date (the web client sends it in the context). The
        order's total is the sum of its lines' totals (taxes rounded per line). No to-do cleanup
        for an order that was never held, no team read for a team without a budget, no group
        lookup in a company without credit groups, no guarantee sum in a company without active
        guarantees, and no more statements with a longer history (test_check_query_count_is_constant)."""
        self.set_limit(self.customer, 100000000.0)
        self.create_invoice(self.customer, 10.0)
        # As a salesperson confirms from the web client (which sends the time zone).
        orders = [
            self.create_order(self.customer, 100.0, user=self.salesman).with_context(tz="Europe/Brussels")
            for _ in range(4)
        ]
        statements = {}
        for enabled, warm_up, measured in ((False, *orders[:2]), (True, *orders[2:])):
            self.company.credit_control_enabled = enabled
            self.env.invalidate_all()
            warm_up.action_confirm()
            self.env.invalidate_all()
            statements[enabled] = self._count_queries(measured.action_confirm)
        self.assertEqual(orders[3].credit_check_state, "ok")
        self.assertEqual(statements[True] - statements[False], 3)

    def test_check_query_count_is_constant(self):
        """One confirmation (and one evaluation) costs the same number of queries with
        10 or 1000 open documents: the exposure is a fixed set of grouped queries."""
        self.set_limit(self.customer, 100000000.0)
        warm_up, warm_up_2, small, large = (self.create_order(self.customer, 100.0) for _ in range(4))
        profile = self.profile

        def evaluate():
            return profile._evaluate(self.today, 100.0, 100.0)

        self._open_documents(5, 5)
        # Warm-ups read from the database like the measured calls do (ir.rule caches).
        self.env.invalidate_all()
        warm_up.action_confirm()
        evaluate()
        self.env.invalidate_all()
        with self.assertQueryCount(self.CONFIRM_QUERY_BUDGET):
            small_confirm = self._count_queries(small.action_confirm)
        self.env.invalidate_all()
        with self.assertQueryCount(self.EVALUATE_QUERY_BUDGET):
            small_evaluate = self._count_queries(evaluate)
        decision, facts = evaluate()
        self.assertEqual(decision.state, "ok")
        self.assertAlmostEqual(facts.exposure.before_order, 5.0 + 5.0 + 200.0)

        self._open_documents(900, 100)
        self.env.invalidate_all()
        warm_up_2.action_confirm()
        evaluate()
        self.env.invalidate_all()
        with self.assertQueryCount(self.CONFIRM_QUERY_BUDGET):
            large_confirm = self._count_queries(large.action_confirm)
        self.env.invalidate_all()
        with self.assertQueryCount(self.EVALUATE_QUERY_BUDGET):
            large_evaluate = self._count_queries(evaluate)
        self.assertEqual(large_confirm, small_confirm)
        self.assertEqual(large_evaluate, small_evaluate)

        self.assertEqual((small | large).mapped("credit_check_state"), ["ok", "ok"])
        decision, facts = evaluate()
        self.assertAlmostEqual(facts.exposure.receivables, 105.0)
        self.assertAlmostEqual(facts.exposure.uninvoiced_orders, 1305.0)
        self.assert_exposure(
            receivable_amount=105.0,
            uninvoiced_order_amount=1305.0,
            exposure_amount=1410.0,
            available_amount=100000000.0 - 1410.0,
            utilization=0.00141,
        )
