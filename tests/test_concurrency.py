"""Concurrent confirmations for one customer, with real transactions.

Each attempt runs in its own thread, on its own database cursor (its own
PostgreSQL transaction, REPEATABLE READ as in production), through
``odoo.service.model.retrying`` as an RPC call would. The fixtures are
committed, and removed again at the end, because a second transaction never
sees uncommitted data: ``TransactionCase`` (one cursor, rolled back) cannot
show what happens between two salespeople confirming at the same moment.
"""

import logging
import random
import sys
import threading
import time
import traceback
import uuid
from itertools import cycle
from types import SimpleNamespace
from unittest.mock import patch

from odoo import SUPERUSER_ID, Command, api
from odoo.exceptions import UserError
from odoo.modules.registry import DummyRLock, Registry
from odoo.service import model as rpc_model
from odoo.service.model import retrying
from odoo.tests import BaseCase, get_db_name, tagged
from odoo.tools import SQL, mute_logger

from .common import CREDIT_POLICY

_logger = logging.getLogger(__name__)

# Bounds on every wait, so a broken lock shows as a failure instead of a hung test run.
BARRIER_TIMEOUT = 30
JOIN_TIMEOUT = 40
# Rounds of the load test: each a pair of confirmations of one customer at the same moment.
LOAD_ROUNDS = 100


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
            customer_id = customer.id
        return customer_id, self._commit_quotations(customer_id, order_amounts)

    def _commit_quotations(self, customer_id, order_amounts):
        """One committed quotation of ``customer_id`` per amount, for each salesman in turn.
        Returns their ids. Fixtures: created without chatter or assignment e-mails."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            orders = (
                env["sale.order"]
                .with_company(self.company_id)
                .create(
                    [
                        {
                            "partner_id": customer_id,
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
                        for amount, salesman_id in zip(order_amounts, cycle(self.salesman_ids))
                    ]
                )
            )
            self.assertEqual(orders.mapped("amount_total"), list(order_amounts))
            return orders.ids

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

    def test_harness_without_the_lock_still_serialized_by_the_ledger(self):
        """Control: the same race with the customer lock switched off. The threads really
        overlap: the exposure ledger's row of the customer, which both confirmations write,
        fails the second one with a serialization error (logged by the database layer), and
        Odoo's retry then sees the first order and refuses the second. So the test above
        passes because the confirmations are serialized, and not because they ran one after
        the other; the lock makes the wait happen before the check, not at the write."""
        customer_id, order_ids = self._commit_customer(1000.0, (600.0, 600.0))
        profile_class = self.registry["credit.profile"]

        def find_without_locking(self, condition, company=None, order=None):
            return self.env.execute_query(SQL("SELECT id FROM credit_profile profile WHERE %s", condition))

        with (
            patch.object(profile_class, "_execute_check_lock", find_without_locking),
            self.assertLogs("odoo.sql_db", level="ERROR") as logs,
        ):
            outcomes = self._confirm_concurrently(order_ids)

        self.assertTrue(any("could not serialize" in line for line in logs.output), logs.output)
        self.assertEqual(
            sorted(str(type(outcome).__name__) for outcome in outcomes.values()), ["CreditRefusal", "str"]
        )
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            self.assertEqual(sorted(env["sale.order"].browse(order_ids).mapped("state")), ["draft", "sale"])

    def test_hundred_simultaneous_pairs_never_pass_the_limit_together(self):
        """Limit 1,000; 100 rounds, each two quotations confirmed at the same moment, each
        within the limit alone (540 to 900) and over it together. Every round: exactly one
        passes, the other is refused with the credit explanation and its figures, no
        serialization error reaches the salesman, and the exposure stays within the limit.
        The passed order is cancelled after its round, so each round starts from 0.

        Odoo's retry waits a random 0-2 s (0-4 s, ...) before retrying; the waits are
        shortened twentyfold here to keep the run short (what is retried is unchanged)."""
        limit = 1000.0
        pairs = [(600.0 + n % 7 * 50.0, 700.0 - n % 5 * 40.0) for n in range(LOAD_ROUNDS)]
        customer_id, first_pair = self._commit_customer(limit, pairs[0])
        # All the quotations at once (one transaction), in pairs: (salesman 1's, salesman 2's).
        order_ids = self._commit_quotations(customer_id, [a for pair in pairs[1:] for a in pair])
        pair_ids = [first_pair, *zip(order_ids[::2], order_ids[1::2], strict=True)]
        retries = []

        def short_wait(low, high):
            retries.append(high)
            return random.uniform(low, high) / 20

        both_passed, none_passed, errors, unexplained, over_limit = [], [], [], [], []
        started = time.monotonic()
        with (
            patch.object(rpc_model, "random", SimpleNamespace(uniform=short_wait)),
            mute_logger("odoo.service.model"),
        ):
            for round_no, (pair, amounts) in enumerate(zip(pair_ids, pairs, strict=True)):
                outcomes = self._confirm_concurrently(pair)
                confirmed = [oid for oid, outcome in outcomes.items() if outcome == "confirmed"]
                refused = {oid: outcome for oid, outcome in outcomes.items() if outcome != "confirmed"}
                if len(confirmed) == 2:
                    both_passed.append(round_no)
                elif not confirmed:
                    none_passed.append((round_no, outcomes))
                for outcome in refused.values():
                    if not isinstance(outcome, UserError):
                        errors.append((round_no, repr(outcome)))
                    elif not self._explains_limit(str(outcome), limit, sum(amounts)):
                        unexplained.append((round_no, str(outcome)))
                exposure = self._exposure_then_cancel(customer_id, confirmed)
                if exposure > limit:
                    over_limit.append((round_no, exposure))
        _logger.info(
            "%s simultaneous pairs in %.1fs, %s retries after a serialization failure",
            LOAD_ROUNDS,
            time.monotonic() - started,
            len(retries),
        )

        self.assertEqual(both_passed, [], "rounds where both orders passed the limit together")
        self.assertEqual(over_limit, [], "rounds that ended with the exposure over the limit")
        self.assertEqual(errors, [], "refusals that were not a UserError (e.g. a serialization error)")
        self.assertEqual(unexplained, [], "refusals without the credit explanation and its figures")
        self.assertEqual(none_passed, [], "rounds where neither order passed (each fits alone)")
        # Each round's loser waited for the winner's lock and was retried: the pairs overlapped.
        self.assertGreaterEqual(len(retries), LOAD_ROUNDS, "every round must have raced")
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            checks = env["credit.check"].search([("partner_id", "=", customer_id)])
            self.assertEqual(len(checks), LOAD_ROUNDS, "one recorded refusal per round")
            self.assertEqual(set(checks.mapped("result")), {"blocked"})

    def _explains_limit(self, message, limit, pair_total):
        """Whether a refusal gives the limit rule with its figures: the limit and the exposure
        after the order (the winner's order plus the refused one: the pair's total)."""
        figures = [f"{limit:,.2f}", f"{pair_total:,.2f}"]
        return "Credit limit exceeded" in message and all(figure in message for figure in figures)

    def _exposure_then_cancel(self, customer_id, order_ids):
        """The customer's exposure once a round is over; then its confirmed orders are cancelled
        (committed), so the next round starts with the whole limit available."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            profile = env["credit.profile"].search([("partner_id", "=", customer_id)])
            exposure = profile.with_company(self.company_id).exposure_amount
            env["sale.order"].browse(order_ids)._action_cancel()
        return exposure

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
