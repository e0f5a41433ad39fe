import json
from unittest.mock import patch

from psycopg2 import errors as pg_errors

from odoo import SUPERUSER_ID, Command, api
from odoo.exceptions import AccessError, UserError
from odoo.modules.registry import Registry
from odoo.sql_db import Callbacks
from odoo.tests import BaseCase, get_db_name, new_test_user, tagged
from odoo.tools import SQL, mute_logger

from ..credit_policy.decision_log import BREAK_CONTENT, BREAK_MISSING
from .common import CreditControlCommon

LOG_LOGGER = "odoo.addons.sale_credit_control.models.credit_decision_log"


@tagged("post_install", "-at_install")
class TestDecisionLog(CreditControlCommon):
    """The append-only, hash-chained log of credit decisions."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # 400 owed (due today): an order of 800 needs 1,200 of the 1,000 limit.
        cls.create_invoice(cls.customer, 400.0)
        cls.Log = cls.env["credit.decision.log"]

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    def _chain(self, company=None):
        return self.Log.sudo().search([("company_id", "=", (company or self.company).id)], order="sequence")

    def _last(self, event, company=None):
        logs = self._chain(company).filtered(lambda log: log.event == event)
        self.assertTrue(logs, f"no {event} in the decision log")
        return logs[-1]

    def _blocked_order(self, amount=800.0):
        order = self.create_order(self.customer, amount, user=self.salesman)
        self.assertTrue(self.try_confirm(order))
        self.assertEqual(order.credit_check_state, "blocked")
        return order

    def _request(self, order):
        self.env["credit.approval.request"].with_user(self.salesman).create(
            {"order_id": order.id, "reason": "Paying at the end of the month"}
        ).action_request()
        return order.credit_approval_ids.filtered(lambda approval: approval.state == "pending")

    def _tamper(self, query):
        self.env.flush_all()
        self.env.cr.execute(query)
        self.env.invalidate_all()

    # ------------------------------------------------------------
    # What is logged
    # ------------------------------------------------------------

    def test_limit_change_is_logged(self):
        # The fixture's limit of 1,000 (set when credit control was on).
        first = self._last("limit_changed")
        self.assertEqual(first.partner_id, self.customer)
        before = len(self._chain())
        self.set_limit(self.customer, 2500.0)
        log = self._last("limit_changed")
        self.assertEqual(len(self._chain()), before + 1)
        self.assertEqual(
            (log.partner_id, log.company_id, log.res_model),
            (self.customer, self.company, "credit.limit.history"),
        )
        self.assertIn("1,000.00", log.summary)
        self.assertIn("2,500.00", log.summary)
        payload = json.loads(log.payload)
        self.assertEqual((payload["old_limit_amount"], payload["new_limit_amount"]), ("1000.0", "2500.0"))
        self.assertEqual(log.reference._name, "credit.limit.history")

    def test_blocked_check_is_logged(self):
        order = self._blocked_order()
        log = self._last("check_blocked")
        check = order.credit_check_ids
        self.assertEqual((log.res_model, log.res_id), ("credit.check", check.id))
        self.assertEqual(
            (log.partner_id, log.company_id, log.user_id), (self.customer, self.company, self.salesman)
        )
        self.assertIn(order.name, log.summary)
        for figure in ("800.00", "400.00", "1,200.00", "1,000.00", "Credit limit exceeded"):
            self.assertIn(figure, log.summary)
        payload = json.loads(log.payload)
        self.assertEqual(
            (payload["order_amount"], payload["exposure_after"], payload["credit_limit"], payload["result"]),
            ("800.0", "1200.0", "1000.0", "blocked"),
        )
        # Canonical JSON: sorted keys, no spaces.
        self.assertEqual(
            log.payload, json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        )

    def test_passing_and_warning_confirmations_log_nothing(self):
        chain = self._chain()
        Log = type(self.Log)
        with patch.object(Log, "_append_batch", side_effect=AssertionError("logged")) as append:
            order = self.create_order(self.customer, 500.0, user=self.salesman)
            self.assertIsNone(self.try_confirm(order))
            self.assertEqual(order.state, "sale")
            self.company.credit_limit_action = "warn"
            warned = self.create_order(self.customer, 900.0, user=self.salesman)
            self.assertIsNone(self.try_confirm(warned))
            self.assertEqual(warned.credit_check_ids.result, "warning")
        append.assert_not_called()
        self.assertEqual(self._chain(), chain)

    def test_approve_reject_and_overridden_check_are_logged(self):
        order = self._blocked_order()
        approval = self._request(order)
        approval.with_user(self.credit_manager).write({"approved_amount": 900.0})
        approval.with_user(self.credit_manager).action_approve()
        log = self._last("approval_approved")
        self.assertEqual((log.res_model, log.res_id), ("credit.approval", approval.id))
        self.assertEqual((log.partner_id, log.user_id), (self.customer, self.credit_manager))
        self.assertIn(approval.name, log.summary)
        self.assertIn("900.00", log.summary)
        self.assertEqual(json.loads(log.payload)["approved_amount"], "900.0")

        self.assertIsNone(self.try_confirm(order))
        self.assertEqual(order.state, "sale")
        overridden = self._last("check_overridden")
        self.assertEqual(
            overridden.res_id, order.credit_check_ids.filtered(lambda c: c.result == "approved").id
        )
        self.assertEqual(overridden.partner_id, self.customer)
        self.assertIn(order.name, overridden.summary)

        other = self._blocked_order(700.0)
        rejected = self._request(other)
        rejected.with_user(self.credit_manager).write({"decision_reason": "Too much overdue history"})
        rejected.with_user(self.credit_manager).action_reject()
        log = self._last("approval_rejected")
        self.assertEqual(
            (log.res_id, log.partner_id, log.user_id), (rejected.id, self.customer, self.credit_manager)
        )
        self.assertIn("Too much overdue history", log.summary)
        self.assertIsNone(self.Log._verify_company(self.company)[0])

    def test_hold_set_and_released_are_logged(self):
        profile = self.profile_of(self.customer).with_user(self.credit_manager)
        profile._put_on_hold("Disputed invoices")
        log = self._last("hold_set")
        self.assertEqual(
            (log.partner_id, log.company_id, log.user_id), (self.customer, self.company, self.credit_manager)
        )
        self.assertIn("Disputed invoices", log.summary)
        profile.action_release_hold()
        released = self._last("hold_released")
        self.assertEqual(released.partner_id, self.customer)
        self.assertEqual(released.sequence, log.sequence + 1)

    def test_ratings_are_logged_in_one_insert(self):
        customers = self.env["res.partner"].create(
            [{"name": f"Rated {index}", "is_company": True} for index in range(3)]
        )
        Log = type(self.Log)
        original = Log._append_batch
        calls = []

        def counted(log_self, entries, wait=True):
            calls.append(len(entries))
            return original(log_self, entries, wait=wait)

        with patch.object(Log, "_append_batch", counted):
            engine = self.env["credit.rating.engine"].with_user(self.credit_manager)
            ratings = engine._rate_partners(customers, self.company)
        self.assertEqual(calls, [3])
        logs = self._chain().filtered(lambda log: log.event == "rating")[-3:]
        self.assertEqual(logs.partner_id, customers)
        self.assertEqual(set(logs.mapped("res_id")), set(ratings.ids))
        for log in logs:
            rating = ratings.filtered(lambda r, log=log: r.partner_id == log.partner_id)
            self.assertIn(f"rated {rating.grade_code}", log.summary)
            self.assertEqual(json.loads(log.payload)["grade"], rating.grade_code)

    # ------------------------------------------------------------
    # The chain
    # ------------------------------------------------------------

    def _some_decisions(self):
        self._blocked_order()
        self.set_limit(self.customer, 3000.0)
        self.profile_of(self.customer).with_user(self.credit_manager)._put_on_hold("Check")
        chain = self._chain()
        self.assertGreaterEqual(len(chain), 4)
        return chain

    def test_chain_verifies(self):
        chain = self._some_decisions()
        self.assertEqual(chain.mapped("sequence"), list(range(1, len(chain) + 1)))
        self.assertEqual(chain[0].previous_hash or "", "")
        for previous, record in zip(chain[:-1], chain[1:], strict=True):
            self.assertEqual(record.previous_hash, previous.hash)
        broken, count, last_hash = self.Log._verify_company(self.company)
        self.assertIsNone(broken)
        self.assertEqual((count, last_hash), (len(chain), chain[-1].hash))
        action = self.Log.with_user(self.auditor).action_verify()
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn(chain[-1].hash, action["params"]["message"])
        self.assertFalse(self.Log._cron_verify())

    def test_sql_update_is_detected(self):
        chain = self._some_decisions()
        target = chain[1]
        self._tamper(
            SQL("UPDATE credit_decision_log SET summary = summary || ' (amended)' WHERE id = %s", target.id)
        )
        broken = self.Log._verify_company(self.company)[0]
        self.assertEqual((broken.record_id, broken.sequence, broken.reason), (target.id, 2, BREAK_CONTENT))
        action = self.Log.with_user(self.credit_manager).action_verify()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn(f"record #2 (id {target.id})", action["params"]["message"])

    def test_sql_amount_update_is_detected_by_the_cron(self):
        self._some_decisions()
        blocked = self._last("check_blocked")
        self._tamper(
            SQL(
                'UPDATE credit_decision_log SET payload = replace(payload, \'"order_amount":"800.0"\','
                ' \'"order_amount":"80.0"\') WHERE id = %s',
                blocked.id,
            )
        )
        self.assertIn('"order_amount":"80.0"', blocked.payload)
        with mute_logger(LOG_LOGGER):
            broken = self.Log._cron_verify()[self.company]
        self.assertEqual((broken.record_id, broken.reason), (blocked.id, BREAK_CONTENT))
        alert = self.env["credit.alert"].search(
            [("alert_type", "=", "decision_log_broken"), ("company_id", "=", self.company.id)]
        )
        self.assertEqual(len(alert), 1)
        self.assertIn(f"record #{blocked.sequence} (id {blocked.id})", alert.message)
        self.assertEqual(alert.severity, "critical")
        self.assertIn(self.credit_manager, alert.activity_ids.user_id)
        self.assertIn(self.credit_manager_2, alert.activity_ids.user_id)
        # Once per break while the alert is open.
        with mute_logger(LOG_LOGGER):
            self.Log._cron_verify()
        self.assertEqual(
            self.env["credit.alert"].search_count([("alert_type", "=", "decision_log_broken")]), 1
        )

    def test_sql_delete_of_a_middle_record_is_detected(self):
        chain = self._some_decisions()
        deleted, following = chain[1], chain[2]
        self._tamper(SQL("DELETE FROM credit_decision_log WHERE id = %s", deleted.id))
        broken = self.Log._verify_company(self.company)[0]
        self.assertEqual(
            (broken.record_id, broken.sequence, broken.expected_sequence, broken.reason),
            (following.id, 3, 2, BREAK_MISSING),
        )
        message = self.Log._break_message(self.company, broken)
        self.assertIn(f"record #3 (id {following.id})", message)
        self.assertIn("missing", message)

    def test_appending_continues_the_chain(self):
        chain = self._some_decisions()
        self.set_limit(self.customer, 4000.0)
        new = self._chain()[-1]
        self.assertEqual((new.sequence, new.previous_hash), (chain[-1].sequence + 1, chain[-1].hash))

    # ------------------------------------------------------------
    # Nobody rewrites it through the ORM
    # ------------------------------------------------------------

    def test_orm_cannot_create_write_or_delete(self):
        log = self._some_decisions()[0]
        admin = self.env.ref("base.user_admin")
        for env in (self.env, self.env(user=admin, su=True), self.env(user=self.credit_manager, su=True)):
            record = env["credit.decision.log"].browse(log.id)
            with self.assertRaises(UserError):
                record.write({"summary": "rewritten"})
            with self.assertRaises(UserError):
                record.unlink()
            with self.assertRaises(UserError):
                env["credit.decision.log"].create({"company_id": self.company.id, "event": "rating"})
            with self.assertRaises(UserError):
                record.copy()
        self.assertIsNone(self.Log._verify_company(self.company)[0])

    def test_access(self):
        log = self._some_decisions()[0]
        with self.assertRaises(AccessError):
            self.env["credit.decision.log"].with_user(self.salesman).search([])
        with self.assertRaises(AccessError):
            self.Log.with_user(self.salesman).action_verify()
        self.assertEqual(self.Log.with_user(self.auditor).browse(log.id).summary, log.summary)
        with self.assertRaises(UserError):
            self.Log.with_user(self.auditor).browse(log.id).write({"summary": "x"})
        self.assertTrue(self.Log.with_user(self.credit_manager).search_count([]))

    # ------------------------------------------------------------
    # Companies
    # ------------------------------------------------------------

    def test_companies_have_independent_chains(self):
        company_b = self.setup_other_company(name="Decision Log Company B")["company"]
        company_b.write(self._credit_policy_vals())
        manager_b = new_test_user(
            self.env,
            login="scc_log_manager_b",
            groups="sales_team.group_sale_salesman,sale_credit_control.group_credit_manager",
            company_id=company_b.id,
            company_ids=[Command.set(company_b.ids)],
        )
        chain_a = self._some_decisions()
        self.set_limit(self.customer, 7000.0, company=company_b)
        self.set_limit(self.customer, 8000.0, company=company_b)
        chain_b = self._chain(company_b)
        self.assertEqual(chain_b.mapped("sequence"), [1, 2])
        self.assertEqual(chain_b[0].previous_hash or "", "")
        self.assertEqual(chain_b[1].previous_hash, chain_b[0].hash)
        self.assertEqual(self._chain(), chain_a)  # company A's chain did not move
        # Each manager sees their company's log only.
        visible_b = self.env["credit.decision.log"].with_user(manager_b).search([])
        self.assertEqual(visible_b, chain_b)
        visible_a = self.env["credit.decision.log"].with_user(self.credit_manager).search([])
        self.assertFalse(visible_a & chain_b)
        self.assertEqual(visible_a, chain_a)
        # Breaking company A's chain leaves company B's whole.
        self._tamper(SQL("UPDATE credit_decision_log SET summary = 'x' WHERE id = %s", chain_a[0].id))
        self.assertEqual(self.Log._verify_company(self.company)[0].record_id, chain_a[0].id)
        self.assertIsNone(self.Log._verify_company(company_b)[0])
        with mute_logger(LOG_LOGGER):
            self.assertEqual(set(self.Log._cron_verify()), {self.company})

    # ------------------------------------------------------------
    # A blocked check while this transaction holds the company's chain
    # ------------------------------------------------------------

    def test_blocked_check_logged_after_the_request_when_the_chain_is_locked(self):
        """The second cursor that records a blocked check must never wait for the chain lock
        the refused transaction may hold: it tries, and else appends once that one ends."""
        later = []
        Log = type(self.Log)
        original_lock = Log._lock_chains
        original_add = Callbacks.add

        def busy(log_self, company_ids, wait=True):
            return False if not wait else original_lock(log_self, company_ids, wait=wait)

        def capture(callbacks, func):
            if func.__name__ == "append_later":
                later.append(func)
                return
            original_add(callbacks, func)

        with patch.object(Log, "_lock_chains", busy), patch.object(Callbacks, "add", capture):
            order = self._blocked_order()
        check = order.credit_check_ids
        self.assertEqual(len(later), 2)  # after commit or after rollback, whichever comes
        self.assertFalse(
            self.Log.sudo().search([("res_model", "=", "credit.check"), ("res_id", "=", check.id)])
        )
        later[1]()
        later[0]()  # only one of them runs in reality; logged once anyway
        logged = self.Log.sudo().search([("res_model", "=", "credit.check"), ("res_id", "=", check.id)])
        self.assertEqual(len(logged), 1)
        self.assertEqual((logged.event, logged.partner_id), ("check_blocked", self.customer))
        self.assertIsNone(self.Log._verify_company(self.company)[0])


@tagged("post_install", "-at_install")
class TestDecisionLogConcurrency(BaseCase):
    """Two real transactions appending to one company's chain (REPEATABLE READ, as in production).

    The rows are committed (a second transaction never sees uncommitted data) and removed
    at the end: they are the tail of the main company's chain, which stays whole.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = Registry(get_db_name())
        if cls.registry.test_cr is not None:
            raise RuntimeError("The registry is in test mode: the cursors would share one transaction.")
        cls.committed = []
        cls.addClassCleanup(cls._remove_committed)
        with cls.registry.cursor() as cr:
            cls.company_id = api.Environment(cr, SUPERUSER_ID, {}).ref("base.main_company").id

    @classmethod
    def _remove_committed(cls):
        if cls.committed:
            with cls.registry.cursor() as cr:
                cr.execute(SQL("DELETE FROM credit_decision_log WHERE id IN %s", tuple(cls.committed)))

    def _entry(self, summary):
        return {
            "company_id": self.company_id,
            "event": "hold_set",
            "summary": summary,
            "payload": {"test": 1},
        }

    def _log(self, cr):
        return api.Environment(cr, SUPERUSER_ID, {})["credit.decision.log"]

    def test_a_stale_transaction_cannot_fork_the_chain(self):
        with self.registry.cursor() as cr_b:
            # B's snapshot is taken here, before A appends.
            cr_b.execute(SQL("SELECT count(*) FROM credit_decision_log"))
            with self.registry.cursor() as cr_a:
                appended = self._log(cr_a)._append_batch([self._entry("A")])
                self.committed += appended.ids
                # While A holds the chain, a second cursor that may not wait does not write.
                with self.registry.cursor() as cr_c:
                    self.assertIs(self._log(cr_c)._append_batch([self._entry("C")], wait=False), False)
            # A committed: B takes the lock, but cannot see A's record; its insert meets A's
            # position and fails as a serialization error (retried by Odoo), not a fork.
            with self.assertRaises(pg_errors.SerializationFailure), mute_logger("odoo.sql_db"):
                self._log(cr_b)._append_batch([self._entry("B")])
            cr_b.rollback()
            # The retry, with a fresh snapshot, continues the chain after A.
            retried = self._log(cr_b)._append_batch([self._entry("B")])
            self.committed += retried.ids
        with self.registry.cursor() as cr:
            log = self._log(cr)
            rows = log.browse(self.committed)
            self.assertEqual(rows[1].sequence, rows[0].sequence + 1)
            self.assertEqual(rows[1].previous_hash, rows[0].hash)
            company = log.env["res.company"].browse(self.company_id)
            self.assertIsNone(log._verify_company(company)[0])
