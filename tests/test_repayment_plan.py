from datetime import datetime, time, timedelta

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import freeze_time, tagged

from .common import CreditControlCommon


@tagged("post_install", "-at_install")
class TestRepaymentPlan(CreditControlCommon):
    """Repayment plans for overdue debt: instalments, progress from reconciled payments,
    states by date with grace days, the overdue rule suspended while a plan runs, alert and
    hold when it breaks. Limit 1000 on ``cls.customer``; the overdue rule blocks beyond 30 days."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write(
            {
                "credit_repayment_grace_days": 5,
                "credit_repayment_hold_on_broken": True,
                "credit_repayment_excludes_overdue": True,
            }
        )

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    def create_plan(self, invoices, instalments, partner=None, company=None, user=None, **vals):
        """A draft plan of ``instalments`` ``[(days from today, amount)]`` over ``invoices``."""
        company = company or self.company
        return (
            self.env["credit.repayment.plan"]
            .with_user(user or self.credit_manager)
            .with_company(company)
            .create(
                {
                    "partner_id": (partner or self.customer).id,
                    "company_id": company.id,
                    "invoice_ids": [Command.set(invoices.ids)],
                    "instalment_ids": [
                        Command.create({"date_due": self.today + timedelta(days=days), "amount": amount})
                        for days, amount in instalments
                    ],
                    **vals,
                }
            )
        )

    def confirmed_plan(self, invoices, instalments, **kwargs):
        plan = self.create_plan(invoices, instalments, **kwargs)
        plan.with_user(self.credit_manager).action_confirm()
        return plan

    def at(self, day):
        return freeze_time(datetime.combine(day, time(12, 0)))

    def overdue_figures(self, partner=None):
        profile = self.profile_of(partner or self.customer)
        profile.invalidate_recordset()
        return profile.receivable_amount, profile.overdue_amount, profile.overdue_days

    # ------------------------------------------------------------
    # Instalments
    # ------------------------------------------------------------

    def test_total_defaults_to_the_open_amount_of_the_invoices(self):
        first = self.create_invoice(self.customer, 400.0, days_ago=40)
        second = self.create_invoice(self.customer, 600.0, days_ago=35)
        self.pay(second, 100.0)
        plan = self.create_plan(first | second, [(10, 450.0), (40, 450.0)])
        self.assertEqual(plan.state, "draft")
        self.assertAlmostEqual(plan.amount_total, 900.0)
        self.assertIn("Credit Customer", plan.display_name)

    def test_instalments_not_summing_refused_and_nothing_written(self):
        invoice = self.create_invoice(self.customer, 1000.0, days_ago=40)
        Plan = self.env["credit.repayment.plan"]
        with self.assertRaises(ValidationError) as error:
            self.create_plan(invoice, [(10, 300.0), (40, 300.0)])
        message = str(error.exception)
        self.assertIn("sum to $\xa0600.00", message)
        self.assertIn("plan total of $\xa01,000.00", message)
        self.assertIn("difference $\xa0400.00", message)
        self.assertFalse(Plan.search([("partner_id", "=", self.customer.id)]))
        self.assertFalse(
            self.env["credit.repayment.instalment"].search([("plan_id.partner_id", "=", self.customer.id)])
        )
        # Cents: 333.33 + 333.33 + 333.34 is the total; one cent off is not.
        plan = self.create_plan(invoice, [(10, 333.33), (20, 333.33), (30, 333.34)])
        with self.assertRaises(ValidationError) as error:
            plan.write({"instalment_ids": [Command.update(plan.instalment_ids[2].id, {"amount": 333.33})]})
        self.assertIn("difference $\xa00.01", str(error.exception))
        self.assertAlmostEqual(plan.instalment_ids[2].amount, 333.34)

    def test_confirmation_needs_instalments_and_overdue_invoices(self):
        overdue = self.create_invoice(self.customer, 500.0, days_ago=40)
        plan = self.create_plan(overdue, [])
        with self.assertRaisesRegex(UserError, "has no instalment"):
            plan.with_user(self.credit_manager).action_confirm()
        self.assertEqual(plan.state, "draft")
        current = self.create_invoice(self.customer, 200.0, days_ago=0)
        plan = self.create_plan(current, [(10, 200.0)])
        with self.assertRaisesRegex(UserError, "is not overdue"):
            plan.with_user(self.credit_manager).action_confirm()
        other = self.env["res.partner"].create({"name": "Other Customer", "is_company": True})
        with self.assertRaisesRegex(ValidationError, "not a posted customer invoice of Other Customer"):
            self.create_plan(overdue, [(10, 500.0)], partner=other)

    def test_confirmed_plan_keeps_its_terms(self):
        invoice = self.create_invoice(self.customer, 500.0, days_ago=40)
        plan = self.confirmed_plan(invoice, [(10, 250.0), (40, 250.0)])
        self.assertEqual(plan.state, "on_track")
        self.assertEqual(plan.confirmed_by_id, self.credit_manager)
        self.assertTrue(plan.confirmed_date)
        manager_plan = plan.with_user(self.credit_manager)
        with self.assertRaisesRegex(UserError, "no longer a draft"):
            manager_plan.amount_total = 400.0
        with self.assertRaisesRegex(UserError, "no longer a draft"):
            manager_plan.instalment_ids[0].amount = 100.0
        with self.assertRaisesRegex(UserError, "buttons"):
            manager_plan.write({"state": "completed"})
        # The same invoice cannot be in two running plans.
        second = self.create_plan(invoice, [(10, 500.0)])
        with self.assertRaisesRegex(UserError, "already in"):
            second.with_user(self.credit_manager).action_confirm()

    # ------------------------------------------------------------
    # The overdue rule
    # ------------------------------------------------------------

    def test_plan_on_track_lets_an_overdue_customer_order_pass(self):
        covered = self.create_invoice(self.customer, 500.0, days_ago=40)
        order = self.create_order(self.customer, 100.0, user=self.salesman)
        message = self.try_confirm(order)
        self.assertIn("Overdue receivables: $\xa0500.00, the oldest 40 days past due", message)

        self.confirmed_plan(covered, [(10, 250.0), (40, 250.0)])
        # The debt is still owed: the exposure is unchanged; only the overdue figures leave it out.
        self.assertEqual(self.overdue_figures(), (500.0, 0.0, 0))
        self.assertIsNone(self.try_confirm(order))
        self.assertEqual(order.state, "sale")

        # Debt the plan does not cover still counts.
        self.create_invoice(self.customer, 200.0, days_ago=35)
        self.assertEqual(self.overdue_figures(), (700.0, 200.0, 35))
        blocked = self.create_order(self.customer, 50.0, user=self.salesman)
        self.assertIn(
            "Overdue receivables: $\xa0200.00, the oldest 35 days past due", self.try_confirm(blocked)
        )

    def test_setting_off_keeps_the_overdue_rule(self):
        covered = self.create_invoice(self.customer, 500.0, days_ago=40)
        self.confirmed_plan(covered, [(10, 500.0)])
        self.company.credit_repayment_excludes_overdue = False
        self.assertEqual(self.overdue_figures(), (500.0, 500.0, 40))
        order = self.create_order(self.customer, 100.0, user=self.salesman)
        self.assertIn("Overdue receivables: $\xa0500.00", self.try_confirm(order))

    def test_draft_and_cancelled_plans_do_not_lift_the_rule(self):
        covered = self.create_invoice(self.customer, 500.0, days_ago=40)
        plan = self.create_plan(covered, [(10, 500.0)])
        self.assertEqual(self.overdue_figures(), (500.0, 500.0, 40))
        plan.with_user(self.credit_manager).action_confirm()
        self.assertEqual(self.overdue_figures(), (500.0, 0.0, 0))
        plan.with_user(self.credit_manager).action_cancel()
        self.assertEqual(plan.state, "cancelled")
        self.assertEqual(plan.cancelled_by_id, self.credit_manager)
        self.assertEqual(self.overdue_figures(), (500.0, 500.0, 40))

    # ------------------------------------------------------------
    # Progress from payments
    # ------------------------------------------------------------

    def test_reconciled_payments_give_progress_then_completion(self):
        first = self.create_invoice(self.customer, 300.0, days_ago=40)
        second = self.create_invoice(self.customer, 200.0, days_ago=45)
        plan = self.create_plan(first | second, [(10, 250.0), (40, 250.0)])
        # The test environment disables tracking: turn it back on once the creation is flushed.
        self.env.flush_all()
        self.env.cr.flush()
        plan.with_context(tracking_disable=False, mail_notrack=False).with_user(
            self.credit_manager
        ).action_confirm()
        self.env.flush_all()
        self.env.cr.flush()  # tracking is written at commit: one message per transaction
        self.assertEqual((plan.amount_total, plan.amount_paid), (500.0, 0.0))

        self.pay(first, 280.0)
        self.assertAlmostEqual(plan.amount_paid, 280.0)
        self.assertEqual(plan.instalment_ids.mapped("amount_paid"), [250.0, 30.0])
        self.assertEqual(plan.state, "on_track")
        self.assertEqual(plan.next_due_date, self.today + timedelta(days=40))
        self.assertAlmostEqual(plan.progress, 56.0)
        # Payments of invoices the plan does not cover are no progress.
        other = self.create_invoice(self.customer, 80.0, days_ago=1)
        self.pay(other)
        self.assertAlmostEqual(plan.amount_paid, 280.0)

        self.pay(first, 20.0)
        self.pay(second)
        self.assertAlmostEqual(plan.amount_paid, 500.0)
        self.assertEqual(plan.state, "completed")
        self.assertFalse(plan.grace_end_date)
        self.assertTrue(plan.state_date)
        self.assertEqual(plan.state_user_id, self.env.user)
        # The confirmation is tracked (who, when); the automatic change says why, with its figures.
        self.env.flush_all()
        self.env.cr.flush()
        tracked = (
            self.env["mail.tracking.value"]
            .sudo()
            .search(
                [
                    ("mail_message_id.model", "=", "credit.repayment.plan"),
                    ("mail_message_id.res_id", "=", plan.id),
                    ("field_id.name", "=", "state"),
                ]
            )
        )
        self.assertEqual(tracked.mapped("new_value_char"), ["On Track"])
        self.assertEqual(tracked.mail_message_id.author_id, self.credit_manager.partner_id)
        self.assertIn(
            "Repayment plan completed: $&nbsp;500.00 of $&nbsp;500.00 paid.",
            plan.message_ids.mapped("body")[0],
        )

    # ------------------------------------------------------------
    # Late, broken: alert and hold
    # ------------------------------------------------------------

    def test_missed_instalment_late_then_broken_alert_hold_and_blocked(self):
        covered = self.create_invoice(self.customer, 500.0, days_ago=40)
        plan = self.confirmed_plan(covered, [(1, 250.0), (30, 250.0)])
        due = self.today + timedelta(days=1)
        profile = self.profile_of(self.customer)
        Plan = self.env["credit.repayment.plan"]

        # Within the grace days (exactly the last one included): late, the rule still suspended.
        with self.at(due + timedelta(days=5)):
            Plan._cron_update_plans()
            self.assertEqual(plan.state, "late")
            self.assertEqual(plan.grace_end_date, due + timedelta(days=5))
            order = self.create_order(self.customer, 100.0, user=self.salesman)
            self.assertIsNone(self.try_confirm(order))
        self.assertFalse(profile.on_hold)

        # The day after: the overdue rule applies by the date alone, before any cron ran.
        with self.at(due + timedelta(days=6)):
            order = self.create_order(self.customer, 100.0, user=self.salesman)
            self.assertIn("Overdue receivables: $\xa0500.00", self.try_confirm(order))
            Plan._cron_update_plans()
            self.assertEqual(plan.state, "broken")
            alert = self.env["credit.alert"].search(
                [("partner_id", "=", self.customer.id), ("alert_type", "=", "repayment_broken")]
            )
            self.assertEqual(len(alert), 1)
            self.assertEqual(plan.sudo().alert_id, alert)
            self.assertTrue(alert.hold_applied)
            self.assertIn("broken", alert.message)
            self.assertTrue(profile.on_hold)
            self.assertTrue(profile.hold_user_id and profile.hold_date)
            self.assertIn("Repayment plan broken", profile.hold_reason)
            self.assertIn(alert.name, profile.hold_reason)
            message = self.try_confirm(self.create_order(self.customer, 10.0, user=self.salesman))
            self.assertIn("is on credit hold: Repayment plan broken", message)
            # Once broken, always broken: no second alert.
            Plan._cron_update_plans()
            self.assertEqual(
                self.env["credit.alert"].search_count([("alert_type", "=", "repayment_broken")]), 1
            )

    def test_broken_without_hold_setting_only_alerts(self):
        self.company.write({"credit_repayment_hold_on_broken": False, "credit_repayment_grace_days": 0})
        covered = self.create_invoice(self.customer, 500.0, days_ago=40)
        plan = self.confirmed_plan(covered, [(0, 500.0)])
        with self.at(self.today + timedelta(days=1)):
            self.env["credit.repayment.plan"]._cron_update_plans()
            self.assertEqual(plan.state, "broken")
        alert = self.env["credit.alert"].search([("alert_type", "=", "repayment_broken")])
        self.assertEqual(len(alert), 1)
        self.assertFalse(alert.hold_applied)
        self.assertFalse(self.profile_of(self.customer).on_hold)

    # ------------------------------------------------------------
    # Access
    # ------------------------------------------------------------

    def test_access_per_group(self):
        invoice = self.create_invoice(self.customer, 500.0, days_ago=40)
        plan = self.create_plan(invoice, [(10, 500.0)])
        # Salespeople read plans, neither create, edit nor confirm them.
        self.assertEqual(self.env["credit.repayment.plan"].with_user(self.salesman).search([]), plan)
        self.assertEqual(plan.with_user(self.salesman).amount_total, 500.0)
        with self.assertRaises(AccessError):
            self.create_plan(invoice, [(10, 500.0)], user=self.salesman)
        with self.assertRaises(AccessError):
            plan.with_user(self.salesman).action_confirm()
        with self.assertRaises(AccessError):
            plan.with_user(self.salesman).write({"note": "x"})
        with self.assertRaises(AccessError):
            plan.instalment_ids.with_user(self.salesman).write({"amount": 1.0})
        # Auditors read, change nothing.
        self.assertEqual(self.env["credit.repayment.plan"].with_user(self.auditor).search([]), plan)
        with self.assertRaises(AccessError):
            plan.with_user(self.auditor).action_cancel()
        with self.assertRaises(AccessError):
            plan.with_user(self.auditor).write({"note": "x"})
        self.assertEqual(plan.state, "draft")
        plan.with_user(self.credit_manager).action_confirm()
        self.assertEqual(plan.state, "on_track")
        with self.assertRaisesRegex(UserError, "Only draft or cancelled"):
            plan.with_user(self.credit_manager).unlink()

    def test_other_company_plan_invisible(self):
        company_b = self.env["res.company"].create(
            {"name": "Repayment Company B", "currency_id": self.company.currency_id.id}
        )
        other = (
            self.env["credit.repayment.plan"]
            .with_company(company_b)
            .create({"partner_id": self.customer.id, "company_id": company_b.id})
        )
        own = self.create_plan(self.create_invoice(self.customer, 500.0, days_ago=40), [(10, 500.0)])
        for user in (self.credit_manager, self.salesman, self.auditor):
            self.assertEqual(self.env["credit.repayment.plan"].with_user(user).search([]), own)
        with self.assertRaises(AccessError):
            other.with_user(self.credit_manager).read(["amount_total"])

    # ------------------------------------------------------------
    # Query count
    # ------------------------------------------------------------

    def _count_queries(self, func):
        self.env.flush_all()
        self.env.cr.flush()
        count0 = self.cr.sql_log_count
        func()
        self.env.flush_all()
        self.env.cr.flush()
        return self.cr.sql_log_count - count0

    def test_check_query_count_constant_in_number_of_plans(self):
        self.set_limit(self.customer, 100000.0)
        orders = [self.create_order(self.customer, 100.0, user=self.salesman) for _ in range(4)]
        warm_up, small, warm_up_2, large = orders
        profile = self.profile_of(self.customer)
        self.confirmed_plan(self.create_invoice(self.customer, 100.0, days_ago=40), [(10, 40.0), (20, 60.0)])

        def evaluate():
            return profile._evaluate(self.today, 100.0, 100.0)

        # Warm-ups read from the database like the measured calls do (ACL and rule caches).
        self.env.invalidate_all()
        warm_up.action_confirm()
        self.env.invalidate_all()
        evaluate()
        self.env.invalidate_all()
        small_evaluate = self._count_queries(evaluate)
        self.env.invalidate_all()
        small_confirm = self._count_queries(small.action_confirm)
        self.assertEqual(evaluate()[1].overdue_amount, 0.0)

        for index in range(4):
            invoice = self.create_invoice(self.customer, 100.0, days_ago=40 + index)
            self.confirmed_plan(invoice, [(10 + day, 10.0) for day in range(10)])
        self.assertEqual(
            self.env["credit.repayment.plan"].search_count(
                [("partner_id", "=", self.customer.id), ("state", "=", "on_track")]
            ),
            5,
        )
        self.env.invalidate_all()
        warm_up_2.action_confirm()
        self.env.invalidate_all()
        evaluate()
        self.env.invalidate_all()
        with self.assertQueryCount(small_evaluate):
            large_evaluate = self._count_queries(evaluate)
        self.env.invalidate_all()
        with self.assertQueryCount(small_confirm):
            large_confirm = self._count_queries(large.action_confirm)
        self.assertEqual((large_confirm, large_evaluate), (small_confirm, small_evaluate))
        _decision, facts = evaluate()
        self.assertEqual((facts.overdue_amount, facts.overdue_days), (0.0, 0))
        self.assertAlmostEqual(facts.exposure.receivables, 500.0)
        self.assertEqual((small | large).mapped("state"), ["sale", "sale"])
