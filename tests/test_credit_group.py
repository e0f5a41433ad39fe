import difflib
from unittest.mock import patch

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.sql_db import Cursor
from odoo.tests import tagged

from .common import CreditControlCommon


@tagged("post_install", "-at_install")
class TestCreditGroup(CreditControlCommon):
    """A credit group "ACME Family" with a group limit of 1,000 shared by two customers, each with
    a limit of 10,000 of its own (so only the group limit can refuse here)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.set_limit(cls.customer, 10000.0)
        cls.sister = cls.env["res.partner"].create({"name": "ACME Sister", "is_company": True})
        cls.set_limit(cls.sister, 10000.0)
        cls.outsider = cls.env["res.partner"].create({"name": "Independent Customer", "is_company": True})
        cls.set_limit(cls.outsider, 10000.0)
        cls.group = cls.env["credit.group"].create(
            {
                "name": "ACME Family",
                "company_id": cls.company.id,
                "credit_limit": 1000.0,
                "partner_ids": [Command.set((cls.customer | cls.sister).ids)],
            }
        )

    def test_member_within_own_limit_blocked_by_group_limit(self):
        self.create_invoice(self.sister, 700.0)
        order = self.create_order(self.customer, 400.0, user=self.salesman)
        with self.assertRaises(UserError) as refusal:
            self.confirm_as(order, self.salesman)
        message = str(refusal.exception)
        self.assertIn("The credit group ACME Family would exceed its group limit of $\xa01,000.00", message)
        self.assertIn(
            "$\xa0700.00 before this order and $\xa01,100.00 after (available $\xa0300.00)", message
        )
        self.assertNotIn("Credit limit exceeded", message)
        self.assertNotEqual(order.state, "sale")
        # Within the group's available credit the member passes.
        small = self.create_order(self.customer, 200.0, user=self.salesman)
        self.confirm_as(small, self.salesman)
        self.assertEqual((small.state, small.credit_check_state), ("sale", "ok"))
        # The profile shows the group, its exposure and this member's share; the group its members.
        profile = self.profile_of(self.customer).with_user(self.credit_manager)
        profile.invalidate_recordset()
        self.assertEqual(profile.credit_group_id, self.group)
        self.assertAlmostEqual(profile.group_limit, 1000.0)
        self.assertAlmostEqual(profile.group_exposure_amount, 900.0)
        self.assertAlmostEqual(profile.group_available_amount, 100.0)
        self.assertAlmostEqual(profile.group_share, 200.0 / 900.0)
        group = self.group.with_user(self.auditor)
        group.invalidate_recordset()
        self.assertAlmostEqual(group.exposure_amount, 900.0)
        self.assertAlmostEqual(group.available_amount, 100.0)
        self.assertIn("ACME Sister", group.member_exposure_html)
        self.assertIn("77.8%", group.member_exposure_html)

    def test_group_limit_can_warn_instead(self):
        self.company.credit_group_action = "warn"
        order = self.create_order(self.customer, 1200.0, user=self.salesman)
        self.confirm_as(order, self.salesman)
        self.assertEqual((order.state, order.credit_check_state), ("sale", "warning"))

    def test_non_members_unaffected(self):
        self.create_invoice(self.sister, 900.0)
        order = self.create_order(self.outsider, 5000.0, user=self.salesman)
        self.confirm_as(order, self.salesman)
        self.assertEqual((order.state, order.credit_check_state), ("sale", "ok"))
        profile = self.profile_of(self.outsider).with_user(self.credit_manager)
        self.assertFalse(profile.credit_group_id)
        self.assertEqual(profile.group_share, 0.0)

    def test_partner_in_one_group_per_company(self):
        with self.assertRaisesRegex(ValidationError, "at most one credit group per company: Credit Customer"):
            self.env["credit.group"].create(
                {
                    "name": "Other Family",
                    "company_id": self.company.id,
                    "partner_ids": [Command.link(self.customer.id)],
                }
            )
        other = self.env["credit.group"].create({"name": "Other Family", "company_id": self.company.id})
        with self.assertRaises(ValidationError):
            other.partner_ids = [Command.link(self.sister.id)]
        other.invalidate_recordset()
        self.assertFalse(other.partner_ids)
        with self.assertRaisesRegex(ValidationError, "Only commercial partners"):
            other.partner_ids = [Command.link(self.contact.id)]

    def test_access_per_group(self):
        with self.assertRaises(AccessError):
            self.group.with_user(self.salesman).read(["name"])
        with self.assertRaises(AccessError):
            self.env["credit.group"].with_user(self.salesman).search([])
        self.assertEqual(self.group.with_user(self.auditor).read(["name"])[0]["name"], "ACME Family")
        with self.assertRaises(AccessError):
            self.group.with_user(self.auditor).credit_limit = 5000.0
        self.group.with_user(self.credit_manager).credit_limit = 5000.0
        self.assertEqual(self.group.credit_limit, 5000.0)
        created = self.env["credit.group"].with_user(self.credit_manager).create({"name": "New Family"})
        self.assertEqual(created.company_id, self.company)
        # A salesman confirming an order is checked against the group without reading it.
        order = self.create_order(self.customer, 6000.0, user=self.salesman)
        with self.assertRaises(UserError):
            self.confirm_as(order, self.salesman)

    def test_other_company_group_ignored(self):
        company_b = self.setup_other_company(name="Credit Company B")["company"]
        self.group.partner_ids = [Command.clear()]
        # The same customer may be in a group of another company; that group does not apply here.
        group_b = self.env["credit.group"].create(
            {
                "name": "Family in B",
                "company_id": company_b.id,
                "credit_limit": 1.0,
                "partner_ids": [Command.link(self.customer.id)],
            }
        )
        self.assertEqual(group_b.partner_ids, self.customer)
        order = self.create_order(self.customer, 500.0, user=self.salesman)
        self.confirm_as(order, self.salesman)
        self.assertEqual((order.state, order.credit_check_state), ("sale", "ok"))
        profile = self.profile_of(self.customer).with_user(self.credit_manager)
        self.assertFalse(profile.credit_group_id)
        # A manager of company A only does not see company B's group.
        with self.assertRaises(AccessError):
            group_b.with_user(self.credit_manager).read(["name"])

    def test_family_group_follows_the_parent_company(self):
        """A group on a parent company holds the parent and every company under it, including
        a subsidiary created after the group, without anyone listing it."""
        holding = self.env["res.partner"].create({"name": "Global Holding", "is_company": True})
        family = self.env["credit.group"].create(
            {"name": "Global Family", "credit_limit": 1000.0, "parent_partner_id": holding.id}
        )
        subsidiary = self.env["res.partner"].create(
            {"name": "Global Subsidiary", "is_company": True, "parent_id": holding.id}
        )
        branch = self.env["res.partner"].create(
            {"name": "Global Branch", "is_company": True, "parent_id": subsidiary.id}
        )
        for partner in holding | subsidiary | branch:
            self.set_limit(partner, 10000.0)
        self.assertEqual(family._credit_members(), holding | subsidiary | branch)
        self.assertEqual(family.member_count, 3)
        self.create_invoice(holding, 700.0)
        message = self.try_confirm(self.create_order(branch, 400.0, user=self.salesman))
        self.assertIn("The credit group Global Family would exceed its group limit", message)
        self.assertEqual(self.profile_of(branch).with_user(self.credit_manager).credit_group_id, family)
        # A company of the family cannot also be listed in another group of the company.
        with self.assertRaisesRegex(
            ValidationError, "at most one credit group per company: Global Subsidiary"
        ):
            self.group.partner_ids = [Command.link(subsidiary.id)]

    def test_group_changes_reevaluate_held_quotations(self):
        self.create_invoice(self.sister, 700.0)
        order = self.create_order(self.customer, 400.0, user=self.salesman)
        self.assertIn("group limit", self.try_confirm(order))
        self.assertEqual(order.credit_check_state, "blocked")
        self.group.with_user(self.credit_manager).credit_limit = 2000.0
        self.assertEqual(order.credit_check_state, "ready", "raising the group limit re-evaluates")
        self.group.credit_limit = 1000.0
        self.assertEqual(order.credit_check_state, "blocked", "lowering it stops the ready quotation")
        self.group.partner_ids = [Command.unlink(self.sister.id)]
        self.assertEqual(order.credit_check_state, "ready", "the sister's debt no longer counts")
        self.assertIsNone(self.try_confirm(order))
        self.assertEqual(order.state, "sale")

    def test_check_query_count_is_constant_in_members(self):
        """A member's confirmation costs the same number of queries in a group of 2 or of 10
        members; a customer in no group costs only the lookup of its group."""
        self.group.credit_limit = 100000000.0
        family = self.env["res.partner"].create(
            [{"name": f"Big Family Member {i}", "is_company": True} for i in range(10)]
        )
        big_group = self.env["credit.group"].create(
            {"name": "Big Family", "credit_limit": 100000000.0, "partner_ids": [Command.set(family.ids)]}
        )
        big_customer = family[0]
        self.set_limit(big_customer, 10000.0)
        for member in self.customer | self.sister | family:
            self.create_invoice(member, 10.0)
        orders = {
            partner: [self.create_order(partner, 100.0) for _ in range(4)]
            for partner in (self.outsider, self.customer, big_customer)
        }
        # Warm-ups, twice per customer, read from the database like the measured calls do.
        for round_ in range(2):
            for partner in orders:
                self.env.invalidate_all()
                orders[partner][round_].action_confirm()
        counts = {}
        for partner in orders:
            self.env.invalidate_all()
            counts[partner] = self._count_queries(orders[partner][2].action_confirm)
        (lone_count, _lone), (small_count, small_queries), (large_count, large_queries) = counts.values()
        self.assertEqual(len(big_group.partner_ids), 10)
        self.assertEqual(
            large_count, small_count, "\n".join(difflib.unified_diff(small_queries, large_queries))
        )
        self.assertLess(lone_count, small_count)
        self.env.invalidate_all()
        with self.assertQueryCount(small_count):
            self._count_queries(orders[big_customer][3].action_confirm)
        confirmed = [order for rows in orders.values() for order in rows if order.state == "sale"]
        self.assertEqual(len(confirmed), 10)
        self.assertEqual({order.credit_check_state for order in confirmed}, {"ok"})

    def _count_queries(self, func):
        """The exact number of queries ``func`` makes, flushes included, and their beginnings
        (shown when two counts differ)."""
        queries = []
        execute = Cursor.execute

        def logged(cursor, query, params=None, log_exceptions=True):
            queries.append(" ".join(str(query).split())[:150])
            return execute(cursor, query, params, log_exceptions)

        self.env.flush_all()
        self.env.cr.flush()
        count0 = self.cr.sql_log_count
        with patch.object(Cursor, "execute", logged):
            func()
            self.env.flush_all()
            self.env.cr.flush()
        return self.cr.sql_log_count - count0, queries
