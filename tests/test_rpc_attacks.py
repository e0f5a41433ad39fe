import xmlrpc.client

from odoo.tests import HttpCase, tagged

from .common import CreditControlCommon


@tagged("post_install", "-at_install")
class TestRpcAttacks(CreditControlCommon, HttpCase):
    """A plain salesperson over XML-RPC (``execute_kw``) tries every way around the check.

    Each attempt must fail with an error and change nothing. The customer's limit is 1,000
    and the salesperson's quotation is 1,200.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.quotation = cls.create_order(cls.customer, 1200.0, user=cls.salesman)
        cls.confirmed = cls.create_order(cls.customer, 300.0, user=cls.salesman)
        cls.confirmed.action_confirm()

    def rpc(self, model, method, *args, **kwargs):
        db = self.env.cr.dbname
        return self.xmlrpc_object.execute_kw(
            db, self.salesman.id, "scc_salesman", model, method, list(args), kwargs
        )

    def assert_refused(self, model, method, *args, **kwargs):
        with self.assertRaises(xmlrpc.client.Fault, msg=f"{model}.{method}{args}{kwargs}") as error:
            self.rpc(model, method, *args, **kwargs)
        return error.exception.faultString

    def assert_quotation_unchanged(self):
        self.quotation.invalidate_recordset()
        self.assertEqual(self.quotation.state, "draft")
        self.assertFalse(self.quotation.credit_approval_ids.filtered(lambda a: a.state == "approved"))

    def test_confirming_over_the_limit_fails_whatever_the_context(self):
        message = self.assert_refused("sale.order", "action_confirm", self.quotation.ids)
        self.assertIn("Credit limit exceeded", message)
        for context in (
            {"credit_confirm_batch": []},
            {"credit_confirm_batch": [self.confirmed.id]},
            {"skip_credit_check": True, "bypass_risk": True, "credit_checked": True},
            {"sale_credit_control.checked_orders": {str(self.quotation.id): 1200.0}},
            {"active_test": False, "tracking_disable": True},
        ):
            self.assert_refused("sale.order", "action_confirm", self.quotation.ids, context=context)
        self.assert_quotation_unchanged()

    def test_writing_the_state_or_the_figures_fails(self):
        for vals in (
            {"state": "sale"},
            {"amount_total": 1.0},
            {"amount_untaxed": 1.0},
            {"credit_check_state": "approved"},
            {"transaction_ids": [(4, 1)]},  # Command.link, as an RPC client sends it
        ):
            self.assert_refused("sale.order", "write", self.quotation.ids, vals)
        self.assert_quotation_unchanged()
        self.assertEqual(self.quotation.amount_total, 1200.0)

    def test_creating_a_confirmed_order_fails(self):
        vals = {
            "partner_id": self.customer.id,
            "state": "sale",
            "order_line": [(0, 0, {"product_id": self.product.id, "product_uom_qty": 12})],
        }
        self.assert_refused("sale.order", "create", [vals])
        self.assertEqual(self.env["sale.order"].search_count([("partner_id", "=", self.customer.id)]), 2)

    def test_removing_a_confirmed_order_from_the_exposure_fails(self):
        for vals in ({"untaxed_amount_to_invoice": 0.0}, {"state": "cancel"}, {"qty_invoiced": 3.0}):
            self.assert_refused("sale.order.line", "write", self.confirmed.order_line.ids, vals)
        self.assertEqual(self.profile_of(self.customer).uninvoiced_order_amount, 300.0)

    def test_private_methods_are_not_callable(self):
        for method in ("_credit_mark_checked", "_credit_check_transition", "_action_confirm"):
            self.assert_refused("sale.order", method, self.quotation.ids)
        self.assert_quotation_unchanged()

    def test_approvals_cannot_be_forged_or_self_decided(self):
        self.assert_refused(
            "credit.approval",
            "create",
            [{"order_id": self.quotation.id, "request_reason": "x", "approved_amount": 1e9}],
        )
        self.assert_refused(
            "credit.approval",
            "create",
            [{"order_id": self.quotation.id, "request_reason": "x", "state": "approved"}],
        )
        approval_id = self.rpc(
            "credit.approval", "create", [{"order_id": self.quotation.id, "request_reason": "Please"}]
        )[0]
        self.assert_refused("credit.approval", "write", [approval_id], {"state": "approved"})
        self.assert_refused("credit.approval", "write", [approval_id], {"approved_amount": 1e9})
        self.assert_refused("credit.approval", "write", [approval_id], {"order_id": self.confirmed.id})
        self.assert_refused("credit.approval", "action_approve", [approval_id])
        self.assertEqual(self.env["credit.approval"].browse(approval_id).state, "pending")
        self.assert_refused("sale.order", "action_confirm", self.quotation.ids)
        self.assert_quotation_unchanged()

    def test_limits_holds_and_profiles_cannot_be_changed(self):
        profile = self.profile_of(self.customer)
        self.assert_refused("res.partner", "write", self.customer.ids, {"credit_limit": 1e9})
        self.assert_refused("res.partner", "create", [{"name": "Self-granted", "credit_limit": 1e9}])
        for vals in (
            {"mode": "limit", "tolerance_percent": 1000.0},
            {"on_hold": False},
            {"limit_valid_until": False},
        ):
            self.assert_refused("credit.profile", "write", profile.ids, vals)
        self.assert_refused("credit.profile", "create", [{"partner_id": self.customer.id}])
        self.assert_refused("credit.profile", "action_release_hold", profile.ids)
        self.assertEqual(self.customer.with_company(self.company).credit_limit, 1000.0)
        self.assertFalse(self.env["res.partner"].search([("name", "=", "Self-granted")]))
