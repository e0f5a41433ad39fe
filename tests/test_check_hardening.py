import contextlib
from unittest.mock import patch

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from ..exceptions import CreditRefusal
from .common import CreditControlCommon


@tagged("post_install", "-at_install")
class TestCheckHardening(CreditControlCommon):
    """The check holds: every committed order counts, no field a salesperson can write
    decides, approvals stay bound to what was approved, prepayments count once.

    Limit 1,000 on the customer, amounts tax free unless a test says otherwise.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.delivered_product = cls._create_product(
            name="Credit Stock Widget", lst_price=100.0, invoice_policy="delivery", taxes_id=[Command.clear()]
        )
        cls.other_customer = cls.env["res.partner"].create(
            {"name": "Other Credit Customer", "is_company": True}
        )
        cls.set_limit(cls.other_customer, 100.0)

    def order_of(self, product, quantity, price, partner=None, user=None):
        """A quotation created by ``user`` (default: the salesperson, who then owns it)."""
        env = self.env(user=user or self.salesman)
        return env["sale.order"].create(
            {
                "partner_id": (partner or self.customer).id,
                "company_id": self.company.id,
                "order_line": [
                    Command.create(
                        {
                            "product_id": product.id,
                            "product_uom_qty": quantity,
                            "price_unit": price,
                            "tax_id": [Command.clear()],
                        }
                    )
                ],
            }
        )

    def exposure(self, partner=None):
        profile = self.profile_of(partner or self.customer)
        profile.invalidate_recordset()
        return profile.uninvoiced_order_amount, profile.exposure_amount

    def invoice(self, order):
        invoice = order.with_env(self.env)._create_invoices()
        invoice.action_post()
        return invoice

    def request_and_approve(self, order, amount=None):
        approval = (
            self.env["credit.approval"]
            .with_user(self.salesman)
            .create({"order_id": order.id, "request_reason": "Good customer"})
        )
        if amount:
            approval.with_user(self.credit_manager).approved_amount = amount
        approval.with_user(self.credit_manager).action_approve()
        return approval

    # ------------------------------------------------------------
    # 1. Every committed order counts, whatever its invoicing policy
    # ------------------------------------------------------------

    def test_delivery_policy_orders_count_before_delivery(self):
        first = self.order_of(self.delivered_product, 8, 100.0)
        self.confirm_as(first, self.salesman)
        self.assertEqual(self.exposure(), (800.0, 800.0))
        second = self.order_of(self.delivered_product, 8, 100.0)
        with self.assertRaises(UserError):
            self.confirm_as(second, self.salesman)
        self.assertEqual(second.state, "draft")

    def test_partial_invoice_counts_once(self):
        order = self.order_of(self.product, 8, 100.0)
        self.confirm_as(order, self.salesman)
        order.order_line.qty_delivered = 3
        order.order_line.product_id.sudo().invoice_policy = "delivery"
        invoice = self.invoice(order)
        self.assertEqual(invoice.amount_total, 300.0)
        profile = self.profile_of(self.customer)
        self.assertEqual((profile.receivable_amount, profile.uninvoiced_order_amount), (300.0, 500.0))
        self.assertEqual(profile.exposure_amount, 800.0)

    def test_over_delivery_counts_the_delivered_quantity(self):
        order = self.order_of(self.delivered_product, 8, 100.0)
        self.confirm_as(order, self.salesman)
        order.order_line.qty_delivered = 10
        self.assertEqual(self.exposure(), (1000.0, 1000.0))

    def test_down_payment_counts_once(self):
        order = self.order_of(self.delivered_product, 8, 100.0)
        self.confirm_as(order, self.salesman)
        wizard = (
            self.env["sale.advance.payment.inv"]
            .with_context(active_model="sale.order", active_ids=order.ids)
            .create({"advance_payment_method": "fixed", "fixed_amount": 200.0})
        )
        wizard.create_invoices()
        order.with_env(self.env).invoice_ids.action_post()
        profile = self.profile_of(self.customer)
        self.assertEqual((profile.receivable_amount, profile.uninvoiced_order_amount), (200.0, 600.0))

    def test_credit_note_from_the_order_brings_the_commitment_back(self):
        order = self.order_of(self.product, 5, 100.0)
        self.confirm_as(order, self.salesman)
        invoice = self.invoice(order)
        self.assertEqual(self.exposure(), (0.0, 500.0))
        reversal = (
            self.env["account.move.reversal"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create({"journal_id": invoice.journal_id.id, "reason": "return"})
        )
        reversal.modify_moves()  # reverse (reconciled with the invoice) and open a new draft invoice
        self.assertEqual(self.exposure(), (500.0, 500.0))

    def test_cancelled_orders_count_nothing(self):
        order = self.order_of(self.delivered_product, 8, 100.0)
        self.confirm_as(order, self.salesman)
        order.with_user(self.salesman)._action_cancel()
        self.assertEqual(self.exposure(), (0.0, 0.0))

    def test_order_lines_with_taxes_count_taxes_included(self):
        tax = self.env["account.tax"].create(
            {"name": "Credit VAT 10", "amount": 10.0, "company_id": self.company.id}
        )
        order = self.order_of(self.delivered_product, 5, 100.0)
        order.order_line.tax_id = tax
        self.confirm_as(order, self.salesman)
        self.assertEqual(self.exposure(), (550.0, 550.0))

    def test_order_total_with_taxes_rounded_per_line_and_globally(self):
        """The checked amount is the order's total either way taxes are rounded: the sum of the
        lines' totals per line (Odoo's default), the order-level recomputation globally."""
        tax = self.env["account.tax"].create(
            {"name": "Credit VAT 10", "amount": 10.0, "company_id": self.company.id}
        )
        for method in ("round_per_line", "round_globally"):
            self.company.tax_calculation_rounding_method = method
            order = self.order_of(self.product, 1, 0.05)
            order.order_line = [
                Command.create({"product_id": self.product.id, "product_uom_qty": 1, "price_unit": 0.05})
                for _ in range(2)
            ]
            order.order_line.tax_id = tax
            with self.subTest(method=method):
                # 3 × 0.05 + 10 % tax: 0.18 per line (0.005 → 0.01 each), 0.17 globally (0.015 → 0.02).
                self.assertEqual(order.amount_total, {"round_per_line": 0.18, "round_globally": 0.17}[method])
                self.assertEqual(order._credit_recomputed_total(), order.amount_total)

    # ------------------------------------------------------------
    # 2. The decision trusts nothing a salesperson can write
    # ------------------------------------------------------------

    def test_cancelled_order_written_to_sale_is_checked(self):
        order = self.order_of(self.product, 12, 100.0)
        order.with_user(self.salesman)._action_cancel()
        with self.assertRaises(UserError):
            order.with_user(self.salesman).write({"state": "sale"})
        self.assertEqual(order.state, "cancel")

    def test_order_created_confirmed_is_checked(self):
        with self.assertRaises(UserError):
            self.env["sale.order"].with_user(self.salesman).create(
                {
                    "partner_id": self.customer.id,
                    "state": "sale",
                    "order_line": [Command.create({"product_id": self.product.id, "product_uom_qty": 12})],
                }
            )
        self.assertFalse(self.env["sale.order"].search([("partner_id", "=", self.customer.id)]))

    def test_stored_totals_cannot_be_written_and_are_not_trusted(self):
        order = self.order_of(self.product, 8, 100.0)
        self.confirm_as(order, self.salesman)
        quotation = self.order_of(self.product, 8, 100.0, user=self.salesman)
        with self.assertRaises(AccessError):
            quotation.with_user(self.salesman).write({"amount_total": 1.0})
        # Even a total forged in the database does not decide: the lines do.
        self.env.cr.execute("UPDATE sale_order SET amount_total = 1 WHERE id = %s", [quotation.id])
        quotation.invalidate_recordset(["amount_total"])
        with self.assertRaises(UserError):
            self.confirm_as(quotation, self.salesman)

    def test_confirmed_lines_computed_fields_cannot_be_written(self):
        order = self.order_of(self.product, 8, 100.0)
        self.confirm_as(order, self.salesman)
        for vals in (
            {"untaxed_amount_to_invoice": 0.0},
            {"state": "cancel"},
            {"qty_invoiced": 8.0},
            {"price_total": 0.0},
            {"is_downpayment": True},
        ):
            with self.assertRaises(AccessError, msg=str(vals)):
                order.order_line.with_user(self.salesman).write(vals)
        self.assertEqual(self.exposure(), (800.0, 800.0))
        # Odoo's own stored "to invoice" amount forged to 0 does not remove the commitment.
        self.env.cr.execute(
            "UPDATE sale_order_line SET untaxed_amount_to_invoice = 0 WHERE order_id = %s", [order.id]
        )
        self.assertEqual(self.exposure(), (800.0, 800.0))

    def test_another_customers_payment_does_not_cover_the_order(self):
        self.create_payment_provider()
        quotation = self.order_of(self.product, 12, 100.0, user=self.salesman)
        foreign_tx = self.done_transaction(1200.0, self.other_customer, reference="OTHER-TX")
        with self.assertRaises(AccessError):
            quotation.with_user(self.salesman).write({"transaction_ids": [Command.link(foreign_tx.id)]})
        # Linked all the same (e.g. by someone with every right): it is not this customer's payment.
        quotation.sudo().transaction_ids = [Command.link(foreign_tx.id)]
        self.assertEqual(quotation._credit_prepaid_amount(), 0.0)
        with self.assertRaises(UserError):
            self.confirm_as(quotation, self.salesman)

    # ------------------------------------------------------------
    # 3, 9. Approvals are bound to what was approved
    # ------------------------------------------------------------

    def test_approval_does_not_follow_the_order_to_another_customer(self):
        order = self.order_of(self.product, 12, 100.0, user=self.salesman)
        with self.assertRaises(UserError):
            self.confirm_as(order, self.salesman)
        approval = self.request_and_approve(order)
        order.with_user(self.salesman).write({"partner_id": self.other_customer.id})
        self.assertEqual(approval.state, "cancelled")
        with self.assertRaises(UserError):
            self.confirm_as(order, self.salesman)
        self.assertEqual(self.exposure(self.other_customer), (0.0, 0.0))

    def test_approval_voided_by_a_currency_change(self):
        eur = self.setup_other_currency("EUR", rates=[(self.today, 2.0)])
        order = self.order_of(self.product, 12, 100.0, user=self.salesman)
        approval = self.request_and_approve(order)
        order.with_user(self.salesman).pricelist_id = self._pricelist(eur, self.company)
        self.assertEqual(order.currency_id, eur)
        self.assertEqual(approval.state, "cancelled")
        self.assertFalse(approval.is_covering)

    def test_new_blocking_reason_needs_a_new_decision(self):
        order = self.order_of(self.product, 12, 100.0, user=self.salesman)
        approval = self.request_and_approve(order)
        self.assertEqual(approval.blocking_codes, "limit_exceeded")
        self.profile_of(self.customer).with_user(self.credit_manager)._put_on_hold("Disputed invoices")
        with self.assertRaises(UserError):
            self.confirm_as(order, self.salesman)
        self.profile_of(self.customer).with_user(self.credit_manager).action_release_hold()
        self.confirm_as(order, self.salesman)
        self.assertEqual(order.state, "sale")

    # ------------------------------------------------------------
    # 4. Online prepayments count once
    # ------------------------------------------------------------

    def test_booked_online_payment_is_not_deducted_twice(self):
        self.create_invoice(self.customer, 1000.0)
        self.create_payment_provider()
        quotation = self.order_of(self.product, 8, 100.0)
        tx = self.done_transaction(700.0, self.customer, quotation, reference="PREPAY-700")
        self.assertEqual(quotation._credit_prepaid_amount(), 700.0)
        payment = self.env["account.payment"].create(
            {
                "payment_type": "inbound",
                "partner_type": "customer",
                "partner_id": self.customer.id,
                "amount": 700.0,
                "journal_id": self.company_data["default_journal_bank"].id,
            }
        )
        payment.action_post()
        tx.payment_id = payment
        self.assertEqual(tx.payment_id.move_id.state, "posted")
        profile = self.profile_of(self.customer)
        self.assertEqual(profile.receivable_amount, 300.0)
        # Booked: it is in the receivables (1,000 - 700), and no longer deducted from the order.
        self.assertEqual(quotation._credit_prepaid_amount(), 0.0)
        with self.assertRaises(UserError) as refusal:
            self.confirm_as(quotation, self.salesman)
        self.assertIn("1,100.00", refusal.exception.args[0])

    # ------------------------------------------------------------
    # 5, 6. Four eyes, and the approver sets what is approved
    # ------------------------------------------------------------

    def test_requester_cannot_decide_through_write(self):
        order = self.order_of(self.product, 12, 100.0)
        approval = (
            self.env["credit.approval"]
            .with_user(self.credit_manager)
            .create({"order_id": order.id, "request_reason": "Mine"})
        )
        for vals in ({"state": "approved"}, {"approver_id": self.credit_manager_2.id}):
            with self.assertRaises(AccessError):
                approval.with_user(self.credit_manager).write(vals)
        other = self.order_of(self.product, 5, 100.0)
        with self.assertRaises(AccessError):
            approval.with_user(self.credit_manager_2).write({"order_id": other.id})
        with self.assertRaises(UserError):
            approval.with_user(self.credit_manager).action_approve()
        self.assertEqual((approval.state, approval.order_id), ("pending", order))

    def test_requester_cannot_preset_the_approval(self):
        order = self.order_of(self.product, 12, 100.0, user=self.salesman)
        with self.assertRaises(AccessError):
            self.env["credit.approval"].with_user(self.salesman).create(
                {"order_id": order.id, "request_reason": "Big", "approved_amount": 1_000_000.0}
            )
        with self.assertRaises(AccessError):
            self.env["credit.approval"].with_user(self.salesman).create(
                {"order_id": order.id, "request_reason": "Big", "snapshot_limit": 1_000_000.0}
            )
        approval = self.request_and_approve(order)
        self.assertEqual(approval.approved_amount, 1200.0)
        self.assertEqual((approval.snapshot_limit, approval.snapshot_exposure_after), (1000.0, 1200.0))

    # ------------------------------------------------------------
    # 8. The invoiced customer is checked
    # ------------------------------------------------------------

    def test_invoice_address_customer_is_checked(self):
        order = self.order_of(self.product, 8, 100.0, partner=self.customer)
        order.partner_invoice_id = self.other_customer
        with self.assertRaises(UserError) as refusal:
            self.confirm_as(order, self.salesman)
        self.assertIn(self.other_customer.name, refusal.exception.args[0])
        order.partner_invoice_id = self.customer
        self.confirm_as(order, self.salesman)
        self.assertEqual(self.exposure(), (800.0, 800.0))
        self.assertEqual(self.exposure(self.other_customer), (0.0, 0.0))

    # ------------------------------------------------------------
    # 11. Odoo's own additions to confirmed orders never fail
    # ------------------------------------------------------------

    def test_system_added_lines_are_recorded_not_refused(self):
        order = self.order_of(self.product, 9, 100.0)
        self.confirm_as(order, self.salesman)
        # As Odoo's re-invoicing does for an accountant (not a superuser).
        accountant = new_test_user(
            self.env,
            login="scc_accountant",
            groups="sales_team.group_sale_manager,account.group_account_invoice",
            company_id=self.company.id,
            company_ids=[Command.set(self.company.ids)],
        )
        self.env["sale.order.line"].with_user(accountant).create(
            {
                "order_id": order.id,
                "product_id": self.product.id,
                "product_uom_qty": 3,
                "price_unit": 100.0,
                "tax_id": [Command.clear()],
                "is_expense": True,
            }
        )
        self.assertEqual(order.amount_total, 1200.0)
        check = order.credit_check_ids.filtered(lambda c: c.result == "system_amended")
        self.assertEqual(len(check), 1)
        alert = self.env["credit.alert"].search(
            [("partner_id", "=", self.customer.id), ("alert_type", "=", "order_amended")]
        )
        self.assertEqual(len(alert), 1)
        self.assertEqual(alert.user_id, self.credit_manager)
        # A salesperson adding the same line is refused.
        with self.assertRaises(UserError):
            self.env["sale.order.line"].with_user(self.salesman).create(
                {
                    "order_id": order.id,
                    "product_id": self.product.id,
                    "product_uom_qty": 1,
                    "tax_id": [Command.clear()],
                }
            )

    # ------------------------------------------------------------
    # 15. Recording a refusal never replaces it
    # ------------------------------------------------------------

    def test_recording_failure_still_refuses(self):
        order = self.order_of(self.product, 12, 100.0, user=self.salesman)
        with patch.object(type(self.registry), "cursor", side_effect=RuntimeError("no connection")):
            with self.assertRaises(UserError):
                self.confirm_as(order, self.salesman)

    def test_retried_refusal_is_recorded_once(self):
        order = self.order_of(self.product, 12, 100.0, user=self.salesman)
        for _attempt in range(2):
            # Not assertRaises: its savepoint would roll the recorded attempt back.
            with contextlib.suppress(UserError):
                self.confirm_as(order, self.salesman)
        self.assertEqual(order.state, "draft")
        self.assertEqual(len(order.credit_check_ids.filtered(lambda c: c.result == "blocked")), 1)

    # ------------------------------------------------------------
    # 17, 18, 19. The flow for the people using it
    # ------------------------------------------------------------

    def test_refusal_offers_the_request(self):
        order = self.order_of(self.product, 12, 100.0, user=self.salesman)
        with self.assertRaises(CreditRefusal) as refusal:
            self.confirm_as(order, self.salesman)
        message, action, button = refusal.exception.args[:3]
        self.assertIn("1,200.00", message)
        self.assertEqual(button, "Request Credit Approval")
        self.assertEqual(
            (action["res_model"], action["context"]["default_order_id"]),
            ("credit.approval.request", order.id),
        )
        wizard = (
            self.env["credit.approval.request"]
            .with_user(self.salesman)
            .with_context(**action["context"])
            .create({"reason": "Long-standing customer"})
        )
        self.assertEqual(wizard.action_request()["tag"], "soft_reload")
        self.assertEqual(order.credit_check_state, "pending")

    def test_confirming_while_pending_keeps_the_request_pending(self):
        order = self.order_of(self.product, 12, 100.0, user=self.salesman)
        approval = (
            self.env["credit.approval"]
            .with_user(self.salesman)
            .create({"order_id": order.id, "request_reason": "Please"})
        )
        order.sudo().credit_check_state = "pending"
        with self.assertRaises(UserError) as refusal:
            self.confirm_as(order, self.salesman)
        self.assertNotIsInstance(refusal.exception, CreditRefusal)
        self.assertIn(approval.name, refusal.exception.args[0])
        order.invalidate_recordset()
        self.assertEqual(order.credit_check_state, "pending")

    def test_request_by_the_only_manager_reaches_an_administrator(self):
        self.company.credit_manager_id = False
        managers = self.env.ref("sale_credit_control.group_credit_manager")
        director = self.env.ref("sale_credit_control.group_credit_director")
        (managers.users - self.credit_manager).write(
            {"groups_id": [Command.unlink(director.id), Command.unlink(managers.id)]}
        )
        self.env.ref("base.user_admin").company_ids |= self.company
        order = self.order_of(self.product, 12, 100.0)
        approval = (
            self.env["credit.approval"]
            .with_user(self.credit_manager)
            .create({"order_id": order.id, "request_reason": "Only me"})
        )
        self.assertFalse(approval.with_user(self.credit_manager).can_decide)
        self.assertIn(self.env.ref("base.user_admin"), approval.activity_ids.user_id)
        self.assertNotIn(self.credit_manager, approval.activity_ids.user_id)
        self.assertIn("no credit manager other than the requester", approval.activity_ids[0].summary)
