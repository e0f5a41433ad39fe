"""Concurrent confirmations for one customer, with real transactions.

Each attempt runs in its own thread, on its own database cursor (its own
PostgreSQL transaction, REPEATABLE READ as in production), through
``odoo.service.model.retrying`` as an RPC call would. The fixtures are
committed, and removed again at the end, because a second transaction never
sees uncommitted data: ``TransactionCase`` (one cursor, rolled back) cannot
show what happens between two salespeople confirming at the same moment.
"""

import sys
import threading
import traceback
import uuid
from unittest.mock import patch

from odoo import SUPERUSER_ID, Command, api
from odoo.exceptions import UserError
from odoo.modules.registry import DummyRLock, Registry
from odoo.service.model import retrying
from odoo.tests import BaseCase, get_db_name, tagged
from odoo.tools import SQL, mute_logger

from .common import CREDIT_POLICY

# Bounds on every wait, so a broken lock shows as a failure instead of a hung test run.
BARRIER_TIMEOUT = 30
JOIN_TIMEOUT = 40



@tagged("post_install", "-at_install")
class TestConcurrentConfirmation(BaseCase):
    """Two salespeople confirm orders of the same customer at the same moment."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = Registry(get_db_name())
        if cls.registry.test_cr is not None:
            raise RuntimeError("The registry is in test mode: the threads would share one transaction.")
        cls.tag = uuid.uuid4().hex[:8]
        cls.created = {}  # model name -> ids committed by the fixtures, removed at the end
        with cls.registry.cursor() as cr:  # one transaction: all committed, or nothing to remove
            env = api.Environment(cr, SUPERUSER_ID, {})
            cls.company = env.ref("base.main_company")
            cls.company_id = cls.company.id
            cls.saved_policy = cls.company.read(list(CREDIT_POLICY))[0]
            del cls.saved_policy["id"]
            cls.company.write(CREDIT_POLICY)
            product = env["product.product"].create(
                {
                    "name": f"Concurrency Widget {cls.tag}",
                    "type": "consu",
                    "invoice_policy": "order",
                    "list_price": 100.0,
                    "taxes_id": [Command.clear()],
                }
            )
            cls.product_id = product.id
            cls._remember(product.product_tmpl_id)
            users = (
                env["res.users"]
                .with_context(no_reset_password=True)
                .create(
                    [
                        {
                            "name": f"Concurrency Salesman {n} {cls.tag}",
                            "login": f"scc_concurrency_{n}_{cls.tag}",
                            "email": f"scc.concurrency.{n}.{cls.tag}@example.com",
                            "company_id": cls.company_id,
                            "company_ids": [Command.set([cls.company_id])],
                            "groups_id": [Command.set([env.ref("sales_team.group_sale_salesman").id])],
                        }
                        for n in (1, 2)
                    ]
                )
            )
            cls.salesman_ids = users.ids
            cls._remember(users)
            cls._remember(users.partner_id)
        cls.addClassCleanup(cls._remove_committed_data)

    @classmethod
    def _remember(cls, records):
        cls.created.setdefault(records._name, set()).update(records.ids)

    @classmethod
    def _remove_committed_data(cls):
        """Delete everything the fixtures and the attempts committed; restore the company."""
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"active_test": False})
            partner_ids = list(cls.created.get("res.partner", ()))
            customers = env["res.partner"].browse(partner_ids).exists()
            orders = env["sale.order"].search([("partner_id", "child_of", customers.ids)])
            orders.filtered(lambda o: o.state == "sale")._action_cancel()
            env["credit.check"].search([("partner_id", "in", customers.ids)]).unlink()
            env["credit.approval"].search([("partner_id", "in", customers.ids)]).unlink()
            orders.unlink()
            env["credit.limit.history"].search([("partner_id", "in", customers.ids)]).unlink()
            # The decision log refuses deletions through the ORM; the attempts' entries are the
            # tail of the company's chain (nothing else is committed meanwhile), so it stays whole.
            cr.execute(
                SQL(
                    "DELETE FROM credit_decision_log WHERE partner_id IN %s OR user_id IN %s",
                    tuple(customers.ids) or (0,),
                    tuple(cls.created.get("res.users", ())) or (0,),
                )
            )
            env["credit.profile"].search([("partner_id", "in", customers.ids)]).unlink()
            env["res.users"].browse(cls.created.get("res.users", ())).exists().unlink()
            customers.exists().unlink()
            env["product.template"].browse(cls.created.get("product.template", ())).exists().unlink()
            env["res.company"].browse(cls.company_id).write(cls.saved_policy)

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    def _commit_customer(self, limit, order_amounts):
        """A committed customer (with ``limit``, 0: none) and one committed quotation per
        amount, the n-th for the n-th salesman. Returns ``(customer_id, order_ids)``."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            customer = env["res.partner"].create(
                {"name": f"Concurrent Customer {uuid.uuid4().hex[:8]}", "is_company": True}
            )
            self._remember(customer)
            if limit:
                customer.with_company(self.company_id).credit_limit = limit
            orders = (
                env["sale.order"]
                .with_company(self.company_id)
                .create(
                    [
                        {
                            "partner_id": customer.id,
                            "company_id": self.company_id,
                            "user_id": salesman_id,
                            "order_line": [
                                Command.create(
                                    {
                                        "product_id": self.product_id,
                                        "product_uom_qty": 1.0,
                                        "price_unit": amount,
                                        "tax_id": [Command.clear()],
                                    }
                                )
                            ],
                        }
                        for amount, salesman_id in zip(order_amounts, self.salesman_ids, strict=True)
                    ]
                )
            )
            self.assertEqual(orders.mapped("amount_total"), list(order_amounts))
            return customer.id, orders.ids

    def _confirm_concurrently(self, order_ids):
        """Confirm each order as its salesman, in parallel transactions that all take their
        snapshot before any of them confirms. Returns ``{order_id: "confirmed" | exception}``."""
        dbname = self.registry.db_name
        barrier = threading.Barrier(len(order_ids), timeout=BARRIER_TIMEOUT)
        outcomes = {}

        def attempt(order_id, uid):
            threading.current_thread().dbname = dbname
            try:
                with self.registry.cursor() as cr:
                    env = api.Environment(cr, uid, {})
                    # The first query of a REPEATABLE READ transaction fixes its snapshot:
                    # neither transaction can see what the other one confirms.
                    env["sale.order"].browse(order_id).read(["state", "amount_total"])
                    barrier.wait()
                    try:
                        retrying(lambda: env["sale.order"].browse(order_id).action_confirm(), env)
                        outcomes[order_id] = "confirmed"
                    except UserError as error:
                        cr.rollback()  # as the RPC layer does for a refused call
                        outcomes[order_id] = error
            except Exception as error:  # noqa: BLE001 - reported by the test, not lost in the thread
                barrier.abort()
                outcomes[order_id] = error

        threads = [
            threading.Thread(target=attempt, args=(order_id, uid), name=f"scc-confirm-{order_id}")
            for order_id, uid in zip(order_ids, self.salesman_ids, strict=True)
        ]
        # Odoo's server thread holds the registries' lock while it runs the tests, and
        # every new environment looks its registry up under that lock: let the threads
        # look it up without it, as Registry.enter_test_mode() does for HttpCase.
        with patch.object(Registry, "_lock", DummyRLock()):
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(JOIN_TIMEOUT)
        stuck = [t for t in threads if t.is_alive()]
        if stuck:
            frames = sys._current_frames()
            stacks = "\n".join(
                f"{t.name}:\n{''.join(traceback.format_stack(frames[t.ident]))}" for t in stuck
            )
            self.fail(f"confirmations did not finish in {JOIN_TIMEOUT}s:\n{stacks}")
        return outcomes

    # ------------------------------------------------------------
    # Tests
    # ------------------------------------------------------------

    def test_concurrent_confirmations_cannot_pass_the_limit_together(self):
        """Limit 1,000; two quotations of 600 confirmed at the same moment: one passes,
        the other waits for the customer's credit row, is retried with a fresh snapshot
        in which it sees the first order, and is blocked (600 + 600 = 1,200 > 1,000)."""
        customer_id, order_ids = self._commit_customer(1000.0, (600.0, 600.0))

        outcomes = self._confirm_concurrently(order_ids)

        confirmed = [oid for oid, outcome in outcomes.items() if outcome == "confirmed"]
        refused = {oid: outcome for oid, outcome in outcomes.items() if outcome != "confirmed"}
        self.assertEqual(len(confirmed), 1, f"exactly one order must pass, got {outcomes!r}")
        self.assertEqual(len(refused), 1, f"exactly one order must be refused, got {outcomes!r}")
        [(blocked_id, error)] = refused.items()
        self.assertIsInstance(error, UserError)
        message = str(error)
        self.assertIn("Credit limit exceeded", message)
        for figure in ("1,000.00", "600.00", "1,200.00"):
            self.assertIn(figure, message)

        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            passed = env["sale.order"].browse(confirmed)
            blocked = env["sale.order"].browse(blocked_id)
            self.assertEqual(passed.state, "sale")
            self.assertEqual(passed.credit_check_state, "ok")
            self.assertEqual(blocked.state, "draft")
            # Written through a separate cursor: outlived the rollback of the refused call.
            self.assertEqual(blocked.credit_check_state, "blocked")
            self.assertIn("Credit limit exceeded", blocked.credit_check_message)
            checks = env["credit.check"].search([("partner_id", "=", customer_id)])
            self.assertEqual(len(checks), 1, "one record of the blocked attempt, none for the passed order")
            self.assertEqual(checks.order_id, blocked)
            self.assertEqual(checks.result, "blocked")
            self.assertEqual(checks.user_id, blocked.user_id)
            self.assertAlmostEqual(checks.credit_limit, 1000.0)
            self.assertAlmostEqual(checks.exposure_before, 600.0)
            self.assertAlmostEqual(checks.order_amount, 600.0)
            self.assertAlmostEqual(checks.exposure_after, 1200.0)
            profile = env["credit.profile"].search([("partner_id", "=", customer_id)])
            self.assertAlmostEqual(profile.with_company(self.company_id).uninvoiced_order_amount, 600.0)
            self.assertTrue(profile.last_check_date)

    def test_concurrent_confirmations_within_the_limit_both_pass(self):
        """Limit 1,000; 400 and 500 at the same moment: the one that waits is retried and
        passes too (900 <= 1,000). The lock serializes the checks, it does not refuse."""
        customer_id, order_ids = self._commit_customer(1000.0, (400.0, 500.0))

        outcomes = self._confirm_concurrently(order_ids)

        self.assertEqual(outcomes, dict.fromkeys(order_ids, "confirmed"))
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            orders = env["sale.order"].browse(order_ids)
            self.assertEqual(orders.mapped("state"), ["sale", "sale"])
            self.assertEqual(orders.mapped("credit_check_state"), ["ok", "ok"])
            self.assertFalse(env["credit.check"].search([("partner_id", "=", customer_id)]))
            profile = env["credit.profile"].search([("partner_id", "=", customer_id)])
            self.assertAlmostEqual(profile.with_company(self.company_id).uninvoiced_order_amount, 900.0)

    def test_harness_without_the_lock_lets_both_pass(self):
        """Control: the same race with the customer lock switched off lets both orders
        through (1,200 > 1,000). It proves the threads really overlap, so the test above
        passes because of the lock and not because the confirmations ran one after the other."""
        customer_id, order_ids = self._commit_customer(1000.0, (600.0, 600.0))
        profile_class = self.registry["credit.profile"]

        def find_without_locking(self, condition):
            return self.env.execute_query(SQL("SELECT id FROM credit_profile WHERE %s", condition))

        with patch.object(profile_class, "_execute_check_lock", find_without_locking):
            outcomes = self._confirm_concurrently(order_ids)

        self.assertEqual(outcomes, dict.fromkeys(order_ids, "confirmed"))
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            self.assertEqual(env["sale.order"].browse(order_ids).mapped("state"), ["sale", "sale"])

    def test_concurrent_first_checks_of_a_new_customer(self):
        """A customer without a credit profile yet (no limit): two concurrent first
        confirmations both create the profile; the loser is retried, not refused."""
        customer_id, order_ids = self._commit_customer(0.0, (600.0, 600.0))
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            self.assertFalse(env["credit.profile"].search([("partner_id", "=", customer_id)]))

        # The loser's insert fails on the unique constraint (logged by the ORM) and is retried.
        with mute_logger("odoo.sql_db"):
            outcomes = self._confirm_concurrently(order_ids)

        self.assertEqual(outcomes, dict.fromkeys(order_ids, "confirmed"))
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            self.assertEqual(env["sale.order"].browse(order_ids).mapped("state"), ["sale", "sale"])
            self.assertEqual(env["credit.profile"].search_count([("partner_id", "=", customer_id)]), 1)
