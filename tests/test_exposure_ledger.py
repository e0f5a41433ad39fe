import random

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import CreditControlCommon


@tagged("post_install", "-at_install")
class TestExposureLedger(CreditControlCommon):
    """The exposure ledger (stored totals kept by database triggers) equals the figures
    recomputed from the documents, to the cent, after any sequence of what users do."""

    STEPS = 40

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.eur = cls.setup_other_currency("EUR", rates=[("2016-01-01", 3.0), (cls.today, 2.0)])
        cls.other_customer = cls.env["res.partner"].create(
            {"name": "Ledger Other Customer", "is_company": True}
        )
        cls.ledger = cls.env["credit.exposure.ledger"].sudo()

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    def assert_ledger_exact(self, context=""):
        """The stored rows equal their recomputation, and so do the check's figures."""
        self.assertEqual(self.ledger._verify(), {"ledger": 0, "order_lines": 0}, context)
        profiles = self.env["credit.profile"]
        partners = self.customer | self.other_customer
        fast = profiles._exposure_figures(partners, self.company, self.today)
        receivables = profiles._query_receivables(tuple(partners.ids), self.company, self.today)
        orders = profiles._query_uninvoiced_orders(tuple(partners.ids), self.company, self.today, (0,))
        convert = profiles._converter(self.company, self.today)
        for partner in partners:
            source = receivables.get(partner.id, {"residual": {}, "overdue": {}, "oldest_due": None})
            exposure = fast[partner.id]["exposure"]
            with self.subTest(partner=partner.name, step=context):
                self.assertEqual(exposure.receivables, convert(source["residual"]))
                self.assertEqual(exposure.uninvoiced_orders, convert(orders.get(partner.id, {})))
                self.assertEqual(fast[partner.id]["overdue_amount"], convert(source["overdue"]))
                oldest = source["oldest_due"]
                self.assertEqual(
                    fast[partner.id]["overdue_days"], (self.today - oldest).days if oldest else 0
                )

    def random_order(self, rng):
        partner = rng.choice([self.customer, self.contact, self.other_customer])
        quantity = rng.choice([1, 2, 3, 7])
        order = self.create_order(
            partner,
            round(rng.uniform(1, 500), 2),
            quantity=quantity,
            currency=self.eur if rng.random() < 0.3 else None,
        )
        if rng.random() < 0.5:
            order.order_line = [
                Command.create(
                    {
                        "product_id": self.product.id,
                        "product_uom_qty": 3,
                        "price_unit": 33.33,
                        "discount": 10.0,
                        "tax_id": [Command.clear()],
                    }
                )
            ]
        order.action_confirm()
        return order

    # ------------------------------------------------------------
    # Steps a user takes (each changes the documents the ledger follows)
    # ------------------------------------------------------------

    def step_confirm(self, rng, state):
        self.set_limit(self.customer, 1e9)
        self.set_limit(self.other_customer, 1e9)
        state["orders"].append(self.random_order(rng))

    def step_deliver(self, rng, state):
        line = rng.choice(state["orders"]).order_line[:1]
        line.qty_delivered = line.product_uom_qty + rng.choice([-1, 0, 1, 2])

    def step_invoice(self, rng, state):
        order = rng.choice(state["orders"])
        try:
            invoice = order._create_invoices()
        except UserError:  # nothing left to invoice
            return
        line = invoice.invoice_line_ids.filtered("sale_line_ids")[:1]
        if line and rng.random() < 0.5:
            line.quantity = max(line.quantity - 1, 1)
        if rng.random() < 0.8:
            invoice.action_post()
        state["invoices"].append(invoice)

    def step_credit_note(self, rng, state):
        posted = [
            inv for inv in state["invoices"] if inv.state == "posted" and inv.move_type == "out_invoice"
        ]
        if posted:
            refund = rng.choice(posted)._reverse_moves(
                [{"invoice_date": self.today}], cancel=rng.random() < 0.5
            )
            if refund.state == "draft":
                refund.action_post()

    def step_pay(self, rng, state):
        open_invoices = [inv for inv in state["invoices"] if inv.state == "posted" and inv.amount_residual]
        if open_invoices:
            invoice = rng.choice(open_invoices)
            self.pay(invoice, amount=round(invoice.amount_residual * rng.choice([0.3, 0.5, 1.0]), 2))

    def step_cancel(self, rng, state):
        order = rng.choice(state["orders"])
        if rng.random() < 0.5:
            order._action_cancel()
        else:
            order.order_line[:1].product_uom_qty += 1  # an amendment

    def step_reset_invoice(self, rng, state):
        posted = [inv for inv in state["invoices"] if inv.state == "posted" and not inv.amount_residual == 0]
        if posted:
            invoice = rng.choice(posted)
            invoice.button_draft()
            if rng.random() < 0.5:
                invoice.button_cancel()

    def step_move_contact(self, rng, state):
        self.contact.parent_id = (
            self.other_customer if self.contact.parent_id == self.customer else self.customer
        )

    # ------------------------------------------------------------
    # Tests
    # ------------------------------------------------------------

    def test_random_sequences_keep_the_ledger_exact(self):
        steps = [
            self.step_confirm,
            self.step_confirm,
            self.step_deliver,
            self.step_invoice,
            self.step_invoice,
            self.step_credit_note,
            self.step_pay,
            self.step_pay,
            self.step_cancel,
            self.step_reset_invoice,
            self.step_move_contact,
        ]
        for seed in (1, 2, 3):
            rng = random.Random(seed)
            state = {"orders": [], "invoices": []}
            self.step_confirm(rng, state)
            for number in range(self.STEPS):
                step = rng.choice(steps)
                with self.env.cr.savepoint():
                    step(rng, state)
                self.assert_ledger_exact(f"seed {seed}, step {number}: {step.__name__}")
        # The sequences did reach every part of the ledger.
        self.assertTrue(self.ledger.search_count([("part", "=", "receivables"), ("amount", "!=", 0)]))
        self.assertTrue(self.ledger.search_count([("part", "=", "uninvoiced_orders"), ("amount", "!=", 0)]))

    def test_overdue_items_by_due_date(self):
        self.create_invoice(self.customer, 100.0, days_ago=10)
        self.create_invoice(self.customer, 50.0, days_ago=3)
        refund = self.create_invoice(self.customer, 30.0, days_ago=10, move_type="out_refund")
        self.assert_ledger_exact()
        figures = self.env["credit.profile"]._exposure_figures(self.customer, self.company, self.today)[
            self.customer.id
        ]
        self.assertEqual(figures["exposure"].receivables, 120.0)
        self.assertEqual(figures["overdue_amount"], 150.0)  # the credit note is not overdue
        self.assertEqual(figures["overdue_days"], 10)
        self.pay(refund)
        self.assert_ledger_exact("refund used")

    def test_drift_is_reported_and_repaired(self):
        order = self.create_order(self.customer, 400.0)
        order.action_confirm()
        self.create_invoice(self.customer, 100.0)
        self.assert_ledger_exact()
        self.env.cr.execute(
            "UPDATE credit_exposure_ledger SET amount = amount - 1"
            " WHERE partner_id = %s AND part = 'receivables'",
            [self.customer.id],
        )
        self.env.cr.execute("DELETE FROM credit_exposure_order_line WHERE order_id = %s", [order.id])
        with self.assertLogs(
            "odoo.addons.sale_credit_control.models.credit_exposure_ledger", "WARNING"
        ) as logs:
            drift = self.ledger._verify(repair=True)
        self.assertEqual(drift, {"ledger": 1, "order_lines": 1})
        self.assertIn("repaired", logs.output[0])
        self.assert_ledger_exact("repaired")
        figures = self.env["credit.profile"]._exposure_figures(self.customer, self.company, self.today)
        self.assertEqual(figures[self.customer.id]["exposure"].receivables, 100.0)
        self.assertEqual(figures[self.customer.id]["exposure"].uninvoiced_orders, 400.0)

    def test_other_company_rows_stay_apart(self):
        other_company = self.setup_other_company()["company"]
        self.create_invoice(self.customer, 100.0)
        invoice = self.init_invoice(
            "out_invoice", partner=self.customer, amounts=[70.0], taxes=[], company=other_company, post=True
        )
        self.assertEqual(invoice.company_id, other_company)
        self.assert_ledger_exact()
        rows = self.ledger.search([("partner_id", "=", self.customer.id), ("part", "=", "receivables")])
        self.assertEqual(sorted(rows.mapped("amount")), [70.0, 100.0])
        self.assertEqual(set(rows.company_id.ids), {self.company.id, other_company.id})
        own = self.env["credit.profile"]._exposure_figures(self.customer, self.company, self.today)
        self.assertEqual(own[self.customer.id]["exposure"].receivables, 100.0)

    def test_access_per_group_and_company(self):
        other_company = self.setup_other_company()["company"]
        self.create_invoice(self.customer, 100.0)
        self.init_invoice(
            "out_invoice", partner=self.customer, amounts=[70.0], taxes=[], company=other_company, post=True
        )
        for model in ("credit.exposure.ledger", "credit.exposure.order.line"):
            with self.assertRaises(AccessError, msg=model):
                self.env[model].with_user(self.salesman).search([])
        rows = (
            self.env["credit.exposure.ledger"]
            .with_user(self.credit_manager)
            .search([("partner_id", "=", self.customer.id)])
        )
        self.assertEqual(rows.company_id, self.company)
        self.assertEqual(rows.mapped("amount"), [100.0])
        with self.assertRaises(AccessError):
            rows.with_user(self.credit_manager).write({"amount": 1.0})

    def test_items_booked_before_their_customer_is_written(self):
        """Odoo may write a new partner's commercial partner after the journal items of its
        invoice (one flush, models in any order): the items count once the partner is written."""
        newcomer = self.env["res.partner"].create({"name": "Ledger Newcomer", "is_company": True})
        invoice = self.create_invoice(newcomer, 80.0, days_ago=5, post=False)
        self.env.flush_all()
        # as between the ORM's INSERT of the partner and the UPDATE of its computed fields
        self.env.cr.execute(
            "UPDATE res_partner SET commercial_partner_id = NULL WHERE id = %s", [newcomer.id]
        )
        invoice.action_post()
        self.env.flush_all()
        self.env.cr.execute("UPDATE res_partner SET commercial_partner_id = id WHERE id = %s", [newcomer.id])
        self.assertEqual(self.ledger._verify(), {"ledger": 0, "order_lines": 0})
        figures = self.env["credit.profile"]._exposure_figures(newcomer, self.company, self.today)
        self.assertEqual(figures[newcomer.id]["exposure"].receivables, 80.0)
