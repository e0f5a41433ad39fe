from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import CreditControlCommon


@tagged("post_install", "-at_install")
class TestTeamBudget(CreditControlCommon):
    """A sales team's credit budget of 1,000 is shared by all its customers, each with a
    limit of 10,000 of its own (so only the team budget can refuse here)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.team = cls.env["crm.team"].create(
            {"name": "Credit Team North", "company_id": cls.company.id, "credit_budget": 1000.0}
        )
        cls.other_team = cls.env["crm.team"].create(
            {"name": "Credit Team South", "company_id": cls.company.id}
        )
        cls.set_limit(cls.customer, 10000.0)
        cls.second_customer = cls.env["res.partner"].create(
            {"name": "Second Team Customer", "is_company": True}
        )
        cls.set_limit(cls.second_customer, 10000.0)

    def order_for(self, partner, amount, team):
        order = self.create_order(partner, amount, user=self.salesman)
        order.team_id = team
        return order

    def test_team_budget_blocks_across_customers(self):
        first = self.order_for(self.customer, 700.0, self.team)
        self.confirm_as(first, self.salesman)
        self.create_invoice(self.second_customer, 200.0).team_id = self.team
        self.team.invalidate_recordset()
        self.assertAlmostEqual(self.team.credit_exposure, 900.0)
        self.assertAlmostEqual(self.team.credit_budget_available, 100.0)
        second = self.order_for(self.second_customer, 400.0, self.team)
        with self.assertRaises(UserError) as refusal:
            self.confirm_as(second, self.salesman)
        message = str(refusal.exception)
        self.assertIn("Credit Team North would exceed its credit budget of $\xa01,000.00", message)
        self.assertIn("$\xa0900.00 before this order and $\xa01,300.00 after", message)
        # Another team without a budget is not checked.
        elsewhere = self.order_for(self.second_customer, 400.0, self.other_team)
        self.confirm_as(elsewhere, self.salesman)
        self.assertEqual(elsewhere.state, "sale")

    def test_team_budget_can_warn_instead(self):
        self.company.credit_team_budget_action = "warn"
        order = self.order_for(self.customer, 1200.0, self.team)
        self.confirm_as(order, self.salesman)
        self.assertEqual((order.state, order.credit_check_state), ("sale", "warning"))

    def test_only_credit_managers_set_budgets(self):
        sales_manager = self.env["res.users"].create(
            {
                "name": "Team Boss",
                "login": "scc_team_boss",
                "company_id": self.company.id,
                "company_ids": [(6, 0, self.company.ids)],
                "groups_id": [(6, 0, [self.env.ref("sales_team.group_sale_manager").id])],
            }
        )
        with self.assertRaises(AccessError):
            self.team.with_user(sales_manager).credit_budget = 1_000_000.0
        self.assertEqual(self.team.credit_budget, 1000.0)
