from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import CreditControlCommon


@tagged("post_install", "-at_install")
class TestViewsUx(CreditControlCommon):
    """What the screens rely on: the stat buttons' counts, "Run Now" on a warning rule, and
    every window action of the add-on opening its views."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The shipped default rules apply to every company: keep them out of the alert counts.
        cls.env["credit.warning.rule"].sudo().search([]).active = False
        cls.other = cls.env["res.partner"].create({"name": "Other Customer", "is_company": True})
        cls.set_limit(cls.other, 5000.0)
        cls.quiet = cls.env["res.partner"].create({"name": "Quiet Customer", "is_company": True})
        cls.set_limit(cls.quiet, 5000.0)
        cls.bank = cls.env["res.partner"].create({"name": "Guarantor Bank", "is_company": True})

    def _rule(self, rule_type, **vals):
        return (
            self.env["credit.warning.rule"]
            .sudo()
            .create(
                {"name": f"UX {rule_type}", "rule_type": rule_type, "company_id": self.company.id, **vals}
            )
        )

    def _request(self, partner, amount):
        return (
            self.env["credit.limit.request"]
            .with_user(self.salesman)
            .create({"partner_id": partner.id, "amount": amount, "reason": "More volume"})
        )

    def _guarantee(self, partner):
        return (
            self.env["credit.guarantee"]
            .with_user(self.credit_manager)
            .create(
                {
                    "partner_id": partner.id,
                    "company_id": self.company.id,
                    "issuer_id": self.bank.id,
                    "amount": 500.0,
                    "coverage_percent": 100.0,
                }
            )
        )

    # ------------------------------------------------------------
    # Stat button counts
    # ------------------------------------------------------------

    def test_profile_counts_for_a_batch(self):
        """Each profile counts its own customer's records in its company, the whole batch at once."""
        # The customer: two orders (one through its contact), a blocked check, two limit
        # requests, a guarantee and an open utilization alert; the other: one order only.
        self.create_order(self.customer, 400.0)
        blocked = self.create_order(self.contact, 2000.0)
        self.assertTrue(self.try_confirm(blocked), "over the limit: blocked")
        self.create_order(self.other, 100.0)
        self._request(self.customer, 1500.0)
        self._request(self.customer, 1800.0)
        self._guarantee(self.customer)
        self.create_invoice(self.customer, 900.0)
        self._rule("utilization", threshold_percent=80.0)._evaluate_company(self.company)

        profiles = self.profile_of(self.customer) | self.profile_of(self.other) | self.profile_of(self.quiet)
        profiles = profiles.with_user(self.credit_manager)
        profiles.invalidate_recordset()
        customer, other, quiet = profiles
        self.assertEqual(
            (
                customer.order_count,
                customer.limit_request_count,
                customer.guarantee_count,
                customer.alert_count,
            ),
            (2, 2, 1, 1),
        )
        self.assertGreaterEqual(customer.check_count, 1)
        self.assertEqual(customer.check_count, len(customer.check_ids))
        self.assertEqual(customer.history_count, len(customer.history_ids))
        self.assertEqual((other.order_count, other.limit_request_count, other.alert_count), (1, 0, 0))
        self.assertEqual(
            (
                quiet.order_count,
                quiet.check_count,
                quiet.approval_count,
                quiet.rating_count,
                quiet.guarantee_count,
            ),
            (0, 0, 0, 0, 0),
        )
        # Each button opens the records it counts.
        for method, count in (
            ("action_view_limit_requests", 2),
            ("action_view_alerts", 1),
            ("action_view_guarantees", 1),
        ):
            action = getattr(customer, method)()
            records = self.env[action["res_model"]].with_user(self.credit_manager)
            self.assertEqual(records.search_count(action["domain"]), count, method)

    def test_partner_alert_count(self):
        self.create_invoice(self.customer, 900.0)
        self._rule("utilization", threshold_percent=80.0)._evaluate_company(self.company)
        partners = (self.customer | self.contact | self.other).with_user(self.credit_manager)
        self.assertEqual(partners.mapped("credit_alert_count"), [1, 1, 0])
        self.assertEqual(self.customer.with_user(self.credit_manager).credit_profile_limit, 1000.0)

    # ------------------------------------------------------------
    # Run Now
    # ------------------------------------------------------------

    def test_run_now_evaluates_that_rule_only(self):
        utilization = self._rule("utilization", threshold_percent=80.0)
        overdue = self._rule("overdue_new", threshold_days=0)
        self.create_invoice(self.customer, 900.0, days_ago=10)
        action = utilization.with_user(self.credit_manager).action_run_now()
        alerts = self.env["credit.alert"].sudo().search([("company_id", "=", self.company.id)])
        self.assertEqual(alerts.rule_id, utilization)
        self.assertEqual(alerts.partner_id, self.customer)
        self.assertEqual(action["tag"], "display_notification")
        self.assertIn("1", action["params"]["message"])
        # Run again: the alert is open, nothing new.
        action = utilization.with_user(self.credit_manager).action_run_now()
        self.assertEqual(action["params"]["type"], "info")
        self.assertFalse(self.env["credit.alert"].sudo().search_count([("rule_id", "=", overdue.id)]))

    def test_run_now_refused_to_a_salesperson(self):
        rule = self._rule("utilization", threshold_percent=80.0)
        self.create_invoice(self.customer, 900.0)
        with self.assertRaises(AccessError):
            rule.with_user(self.salesman).action_run_now()
        self.assertFalse(self.env["credit.alert"].sudo().search_count([("rule_id", "=", rule.id)]))

    # ------------------------------------------------------------
    # Actions and their views
    # ------------------------------------------------------------

    def test_every_window_action_loads_its_views(self):
        action_ids = (
            self.env["ir.model.data"]
            .sudo()
            .search([("module", "=", "sale_credit_control"), ("model", "=", "ir.actions.act_window")])
            .mapped("res_id")
        )
        actions = self.env["ir.actions.act_window"].browse(action_ids)
        self.assertGreater(len(actions), 20)
        for action in actions:
            with self.subTest(action=action.xml_id):
                model = self.env[action.res_model].sudo()  # the views, whoever may open them
                modes = action.view_mode.split(",")
                result = model.get_views([(False, mode) for mode in modes])
                self.assertEqual(set(result["views"]), set(modes))
                result = model.get_views([(view_id, mode) for view_id, mode in action.views])
                self.assertEqual(set(result["views"]), set(modes))
                if action.view_mode != "form":  # a list says what to do when it is empty
                    self.assertIn("o_view_nocontent_smiling_face", str(action.help or ""))

    def test_kanban_graph_and_pivot_where_users_reach_for_them(self):
        expected = {
            "credit_approval_action": "kanban",
            "sale_order_credit_blocked_action": "kanban",
            "credit_limit_request_action": "kanban",
            "credit_alert_action": "graph,pivot",
            "credit_guarantee_action": "graph,pivot",
            "credit_limit_history_action": "graph,pivot",
            "credit_exposure_report_action": "graph,pivot",
            "credit_overdue_trend_action": "graph,pivot",
        }
        for xml_id, modes in expected.items():
            action = self.env.ref(f"sale_credit_control.{xml_id}")
            for mode in modes.split(","):
                self.assertIn(mode, action.view_mode.split(","), xml_id)
