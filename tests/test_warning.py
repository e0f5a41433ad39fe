from datetime import datetime, time, timedelta
from unittest.mock import patch

import psycopg2

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import format_amount, mute_logger

from .common import CreditControlCommon


@tagged("post_install", "-at_install")
class TestCreditWarning(CreditControlCommon):
    """Each early-warning rule raises exactly one alert for its condition.

    Deduplication, as defined in ``credit_policy.warnings``: no second alert while
    one is open (new or acknowledged) for the same rule, customer and event; after
    resolution a *state* rule (overdue, utilization, order spike) whose condition
    still holds raises a new alert, an *event* rule (downgrade, bureau drop, limit or
    review expiring) never alerts the same event twice.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The shipped default rules apply to every company: keep them out of the figures here.
        cls.default_rules = cls.env["credit.warning.rule"].sudo().search([])
        cls.default_rules.active = False
        cls.alert_type = cls.env.ref("sale_credit_control.mail_activity_type_credit_alert")
        cls.quiet = cls.env["res.partner"].create({"name": "Quiet Customer", "is_company": True})
        cls.set_limit(cls.quiet, 1000.0)

    @classmethod
    def _rule(cls, rule_type, **vals):
        return (
            cls.env["credit.warning.rule"]
            .sudo()
            .create(
                {"name": f"Test {rule_type}", "rule_type": rule_type, "company_id": cls.company.id, **vals}
            )
        )

    def _run(self, rules):
        return rules._evaluate_company(self.company)

    def _alerts(self, partner=None, rule=None):
        domain = [("company_id", "=", self.company.id)]
        if partner:
            domain.append(("partner_id", "=", partner.id))
        if rule:
            domain.append(("rule_id", "=", rule.id))
        return self.env["credit.alert"].sudo().search(domain)

    def _partner(self, name, limit=0.0):
        partner = self.env["res.partner"].create({"name": name, "is_company": True})
        if limit:
            self.set_limit(partner, limit)
        self.profile_of(partner)
        return partner

    def assertOneAlertOnly(self, rule, partner, quiet=None):
        """One alert for ``partner``, none for ``quiet``, none more on a second run."""
        first = self._run(rule)
        alert = self._alerts(partner, rule)
        self.assertEqual(len(alert), 1)
        self.assertEqual(first.filtered(lambda a: a.partner_id == partner), alert)
        if quiet:
            self.assertFalse(self._alerts(quiet, rule))
        second = self._run(rule)
        self.assertFalse(second.filtered(lambda a: a.partner_id == partner))
        self.assertEqual(self._alerts(partner, rule), alert)
        self.assertEqual(alert.state, "new")
        self.assertEqual(alert.alert_type, rule.rule_type)
        self.assertEqual(alert.severity, rule.severity)
        self.assertEqual(alert.profile_id, self.profile_of(partner))
        return alert

    # ------------------------------------------------------------
    # Default rules
    # ------------------------------------------------------------

    def test_default_rules_shipped_for_all_companies(self):
        rules = self.default_rules.with_context(active_test=False)
        self.assertEqual(len(rules), 11)
        self.assertFalse(rules.company_id, "the default rules apply to every company")
        self.assertEqual(
            set(rules.mapped("rule_type")),
            {
                "overdue_new",
                "utilization",
                "downgrade",
                "bureau_drop",
                "order_spike",
                "limit_expiring",
                "review_expiring",
                "guarantee_expiring",
                "rate_move",
                "predicted_late_jump",
            },
        )
        warning = self.env.ref("sale_credit_control.credit_warning_rule_utilization_80")
        critical = self.env.ref("sale_credit_control.credit_warning_rule_utilization_100")
        self.assertEqual((warning.threshold_percent, warning.severity), (80.0, "medium"))
        self.assertEqual((critical.threshold_percent, critical.severity), (100.0, "critical"))

    def test_default_utilization_rules_through_the_cron(self):
        """The daily cron with the two shipped utilization rules: 85 % raises the warning
        only, 120 % raises both."""
        (
            self.env.ref("sale_credit_control.credit_warning_rule_utilization_80")
            | self.env.ref("sale_credit_control.credit_warning_rule_utilization_100")
        ).sudo().active = True
        self.create_invoice(self.customer, 850.0)
        over = self._partner("Over Limit Customer", limit=1000.0)
        self.create_invoice(over, 1200.0)
        self.profile_of(self.quiet)
        self.env.ref("sale_credit_control.ir_cron_credit_warning").method_direct_trigger()
        self.assertEqual(self._alerts(self.customer).mapped("severity"), ["medium"])
        self.assertEqual(sorted(self._alerts(over).mapped("severity")), ["critical", "medium"])
        self.assertFalse(self._alerts(self.quiet))
        self.env.ref("sale_credit_control.ir_cron_credit_warning").method_direct_trigger()
        self.assertEqual(len(self._alerts(self.customer)), 1)
        self.assertEqual(len(self._alerts(over)), 2)

    # ------------------------------------------------------------
    # One alert per rule type
    # ------------------------------------------------------------

    def test_overdue_new(self):
        rule = self._rule("overdue_new", threshold_days=30, severity="high")
        self.create_invoice(self.customer, 500.0, days_ago=45)
        self.create_invoice(self.quiet, 300.0, days_ago=20)
        alert = self.assertOneAlertOnly(rule, self.customer, self.quiet)
        self.assertEqual(alert.figures["overdue_amount"], 500.0)
        self.assertEqual(alert.figures["overdue_days"], 45)
        self.assertIn("500.00", alert.message)
        self.assertIn("45 days past due", alert.message)

    def test_overdue_minimum_amount(self):
        rule = self._rule("overdue_new", threshold_days=30, threshold_amount=500.0)
        self.create_invoice(self.customer, 500.0, days_ago=45)
        self.assertFalse(self._run(rule), "500 is not above the minimum of 500")
        self.create_invoice(self.customer, 0.01, days_ago=40)
        self.assertEqual(len(self._run(rule)), 1)

    def test_rule_conditions_show_their_figures_formatted(self):
        """Amounts as every credit message shows money, percentages, points and factors as
        numbers in the reader's notation (no bare ``80.0`` or ``0.0``)."""
        currency = self.company.currency_id
        overdue = self._rule("overdue_new", threshold_days=30, threshold_amount=1500.0)
        self.assertIn(format_amount(self.env, 1500.0, currency), overdue.description)
        # no minimum amount: no "above 0.00"
        self.assertEqual(
            self._rule("overdue_new", threshold_days=30).description, "Overdue more than 30 days, any amount"
        )
        self.assertEqual(
            self._rule("utilization", threshold_percent=80.0).description, "Exposure above 80% of the limit"
        )
        self.assertIn("2.5 x", self._rule("order_spike", threshold_factor=2.5).description)
        self.assertIn("12 points", self._rule("bureau_drop", threshold_points=12.0).description)

    def test_utilization(self):
        rule = self._rule("utilization", threshold_percent=80.0)
        self.create_invoice(self.customer, 850.0)
        self.create_invoice(self.quiet, 800.0)  # exactly 80 %: not above
        alert = self.assertOneAlertOnly(rule, self.customer, self.quiet)
        self.assertEqual(alert.figures["exposure"], 850.0)
        self.assertEqual(alert.figures["limit"], 1000.0)
        self.assertAlmostEqual(alert.figures["utilization"], 85.0)
        self.assertIn("85.0%", alert.message)
        self.assertIn("1,000.00", alert.message)

    def test_alert_message_is_rendered_in_the_readers_language(self):
        """The alert keeps figures, not a sentence: each reader gets it in their own language."""
        self.env["res.lang"]._activate_lang("fr_FR")
        rule = self._rule("utilization", threshold_percent=80.0)
        self.create_invoice(self.customer, 850.0)
        alert = self.assertOneAlertOnly(rule, self.customer, self.quiet)
        self.assertFalse(alert.recorded_message)
        self.assertIn("85.0%", alert.with_context(lang="en_US").message)
        french = alert.with_context(lang="fr_FR").message
        self.assertIn("85,0", french)
        self.assertNotIn("85.0", french)

    def test_utilization_counts_secured_capacity(self):
        """As the confirmation check: a guarantee's secured capacity adds to the limit."""
        rule = self._rule("utilization", threshold_percent=100.0)
        self.create_invoice(self.customer, 1200.0)
        guarantee = self.env["credit.guarantee"].create(
            {
                "partner_id": self.customer.id,
                "company_id": self.company.id,
                "guarantee_type": "bank_guarantee",
                "issuer_id": self.env["res.partner"]
                .create({"name": "Guarantor Bank", "is_company": True})
                .id,
                "amount": 500.0,
                "coverage_percent": 100.0,
            }
        )
        guarantee.with_user(self.credit_manager).action_activate()
        self.assertFalse(self._run(rule), "1,200 of a capacity of 1,500 is 80 %")
        low = self._rule("utilization", threshold_percent=75.0)
        alert = self.assertOneAlertOnly(low, self.customer, self.quiet)
        self.assertAlmostEqual(alert.figures["utilization"], 80.0)
        self.assertIn("capacity", alert.message)
        self.assertIn("1,500.00", alert.message)

    def test_utilization_ignores_customers_without_limit_or_cash_only(self):
        rule = self._rule("utilization", threshold_percent=0.0)
        unlimited = self._partner("No Limit")
        self.create_invoice(unlimited, 5000.0)
        cash = self._partner("Cash", limit=100.0)
        self.profile_of(cash).mode = "cash"
        self.create_invoice(cash, 500.0)
        self._run(rule)
        self.assertFalse(self._alerts(unlimited) | self._alerts(cash))

    def test_downgrade(self):
        rule = self._rule("downgrade", threshold_grades=1, threshold_days=30)
        Rating = self.env["credit.rating"].sudo()
        common = {"company_id": self.company.id, "trigger": "batch"}
        Rating.create(
            {
                **common,
                "partner_id": self.customer.id,
                "date": self.today - timedelta(days=200),
                "grade_code": "A",
                "trend": "new",
                "score": 72.0,
            }
        )
        latest = Rating.create(
            {
                **common,
                "partner_id": self.customer.id,
                "date": self.today - timedelta(days=2),
                "grade_code": "BBB",
                "previous_grade_code": "A",
                "trend": "down",
                "score": 63.0,
            }
        )
        # An upgrade and a first rating raise nothing.
        Rating.create(
            {
                **common,
                "partner_id": self.quiet.id,
                "date": self.today - timedelta(days=2),
                "grade_code": "AA",
                "previous_grade_code": "A",
                "trend": "up",
                "score": 81.0,
            }
        )
        alert = self.assertOneAlertOnly(rule, self.customer, self.quiet)
        self.assertEqual(alert.figures["previous_grade"], "A")
        self.assertEqual(alert.figures["grade"], "BBB")
        self.assertEqual(alert.figures["notches"], 1)
        self.assertIn("from A to BBB", alert.message)
        self.assertTrue(alert.dedup_key.endswith(f":{latest.id}"))
        # Resolved, the same downgrade is never alerted again; a further one is.
        alert.with_user(self.credit_manager).action_resolve()
        self.assertFalse(self._run(rule))
        Rating.create(
            {
                **common,
                "partner_id": self.customer.id,
                "date": self.today,
                "grade_code": "B",
                "previous_grade_code": "BBB",
                "trend": "down",
                "score": 41.0,
            }
        )
        again = self._run(rule)
        self.assertEqual(len(again), 1)
        self.assertEqual(again.figures["notches"], 2)

    def test_downgrade_older_than_the_look_back_is_ignored(self):
        rule = self._rule("downgrade", threshold_grades=1, threshold_days=30)
        self.env["credit.rating"].sudo().create(
            {
                "company_id": self.company.id,
                "trigger": "batch",
                "partner_id": self.customer.id,
                "date": self.today - timedelta(days=31),
                "grade_code": "BBB",
                "previous_grade_code": "A",
                "trend": "down",
                "score": 63.0,
            }
        )
        self.assertFalse(self._run(rule))

    def test_bureau_drop(self):
        rule = self._rule("bureau_drop", threshold_points=10.0, threshold_days=30)
        Report = self.env["credit.bureau.report"].sudo()
        for partner, old, new in ((self.customer, 70.0, 55.0), (self.quiet, 70.0, 62.0)):
            Report.create(
                {
                    "partner_id": partner.id,
                    "company_id": self.company.id,
                    "agency": "Dun & Bradstreet",
                    "report_date": self.today - timedelta(days=60),
                    "score": old,
                }
            )
            Report.create(
                {
                    "partner_id": partner.id,
                    "company_id": self.company.id,
                    "agency": "Experian",
                    "report_date": self.today - timedelta(days=3),
                    "score": new,
                }
            )
        alert = self.assertOneAlertOnly(rule, self.customer, self.quiet)
        self.assertEqual(alert.figures["previous_score"], 70.0)
        self.assertEqual(alert.figures["score"], 55.0)
        self.assertEqual(alert.figures["drop"], 15.0)
        self.assertIn("dropped by 15.0 points", alert.message)
        self.assertIn("Experian", alert.message)

    def test_order_spike(self):
        rule = self._rule("order_spike", threshold_days=30, threshold_factor=3.0, history_days=365)
        spiking = self._partner("Spiking Customer")
        steady = self._partner("Steady Customer")
        recent_start = datetime.combine(self.today - timedelta(days=30), time.min)
        for partner, recent_amount in ((spiking, 500.0), (steady, 250.0)):
            # 1,200 over the 360 days before the period: an average of 100 per 30 days.
            for days_before, amount in ((360, 300.0), (240, 300.0), (120, 300.0), (10, 300.0)):
                order = self.create_order(partner, amount)
                order.action_confirm()
                order.date_order = recent_start - timedelta(days=days_before)
            self.create_order(partner, recent_amount).action_confirm()
        alert = self.assertOneAlertOnly(rule, spiking, steady)
        self.assertAlmostEqual(alert.figures["recent_amount"], 500.0)
        self.assertAlmostEqual(alert.figures["average_amount"], 100.0)
        self.assertAlmostEqual(alert.figures["ratio"], 5.0)
        self.assertEqual(alert.figures["history_days"], 360)
        self.assertIn("500.00", alert.message)
        self.assertIn("100.00", alert.message)

    def test_order_spike_needs_history(self):
        rule = self._rule("order_spike", threshold_days=30, threshold_factor=3.0, history_days=365)
        newcomer = self._partner("Newcomer")
        self.create_order(newcomer, 5000.0).action_confirm()
        self.assertFalse(self._run(rule), "no history: no average to compare with")

    def test_limit_expiring(self):
        rule = self._rule("limit_expiring", threshold_days=30, severity="low")
        self.profile_of(self.customer).limit_valid_until = self.today + timedelta(days=10)
        self.profile_of(self.quiet).limit_valid_until = self.today + timedelta(days=31)
        expired = self._partner("Expired", limit=500.0)
        self.profile_of(expired).limit_valid_until = self.today - timedelta(days=1)
        alert = self.assertOneAlertOnly(rule, self.customer, self.quiet)
        self.assertFalse(self._alerts(expired))
        self.assertEqual(alert.figures["days_left"], 10)
        self.assertIn("in 10 days", alert.message)
        self.assertIn("1,000.00", alert.message)
        # The message shows the limit the alert was raised on, not a later one.
        self.set_limit(self.customer, 2500.0)
        alert.invalidate_recordset(["message"])
        self.assertIn("1,000.00", alert.message)
        # Resolved: that expiry date is not alerted again; a new date is a new event.
        alert.with_user(self.credit_manager).action_resolve()
        self.assertFalse(self._run(rule))
        self.profile_of(self.customer).limit_valid_until = self.today + timedelta(days=20)
        self.assertEqual(len(self._run(rule)), 1)

    def test_review_expiring(self):
        rule = self._rule("review_expiring", threshold_days=30)
        self.profile_of(self.customer).review_date = self.today + timedelta(days=30)
        self.profile_of(self.quiet).review_date = self.today + timedelta(days=45)
        alert = self.assertOneAlertOnly(rule, self.customer, self.quiet)
        self.assertEqual(alert.figures["days_left"], 30)

    def _guarantee(self, partner, days, activate=True, **vals):
        """A bank guarantee of ``partner`` valid from 5 days ago until ``days`` from today,
        created (and activated) by a credit manager."""
        if not getattr(self, "bank", None):
            self.bank = self.env["res.partner"].create({"name": "Warning Bank", "is_company": True})
        guarantee = (
            self.env["credit.guarantee"]
            .with_user(self.credit_manager)
            .create(
                {
                    "partner_id": partner.id,
                    "company_id": self.company.id,
                    "guarantee_type": "bank_guarantee",
                    "issuer_id": self.bank.id,
                    "reference": f"BG-{partner.id}-{days}",
                    "amount": 1000.0,
                    "currency_id": self.company.currency_id.id,
                    "coverage_percent": 50.0,
                    "valid_from": self.today - timedelta(days=5),
                    "valid_to": self.today + timedelta(days=days),
                    **vals,
                }
            )
        )
        if activate:
            guarantee.action_activate()
        return guarantee

    def test_guarantee_expiring(self):
        """An active guarantee ending today or within N days raises one alert per guarantee and
        end date, naming it and the secured capacity the customer loses; extended to a new date,
        it alerts again."""
        rule = self._rule("guarantee_expiring", threshold_days=30, severity="medium")
        guarantee = self._guarantee(self.customer, 10, reference="BG-EXP-1")
        # No alert: beyond the window, a draft, released, open-ended, already ended.
        self._guarantee(self.quiet, 31)
        self._guarantee(self.quiet, 5, activate=False)
        self._guarantee(self.quiet, 5).with_user(self.credit_manager).action_release()
        self._guarantee(self.quiet, 0, valid_to=False)
        ended = self._guarantee(self.quiet, 5)
        ended.with_user(self.credit_manager).valid_to = self.today - timedelta(days=1)

        alert = self.assertOneAlertOnly(rule, self.customer, self.quiet)
        end = self.today + timedelta(days=10)
        self.assertEqual(alert.figures["guarantee_id"], guarantee.id)
        self.assertEqual(alert.figures["days_left"], 10)
        self.assertEqual(alert.figures["date"], end.isoformat())
        self.assertEqual(alert.figures["secured_amount"], 500.0)
        self.assertEqual(
            alert.dedup_key, f"guarantee_expiring:{rule.id}:{self.customer.id}:{guarantee.id}:{end}"
        )
        texts = ("Bank Guarantee BG-EXP-1", "reference BG-EXP-1", "1,000.00", "50.0% coverage", "in 10 days")
        for text in texts:
            self.assertIn(text, alert.message)
        self.assertRegex(alert.message, r"Credit Customer loses .{0,4}500\.00.{0,4} of secured capacity")

        # Boundaries: ending today and ending in exactly N days both alert, each on its own.
        today_end = self._guarantee(self.customer, 0)
        last_day = self._guarantee(self._partner("Last Day Customer"), 30)
        new = self._run(rule)
        self.assertEqual(len(new), 2)
        self.assertEqual(
            sorted((a.figures["guarantee_id"], a.figures["days_left"]) for a in new),
            sorted([(today_end.id, 0), (last_day.id, 30)]),
        )

        # Resolved: the same end date never alerts again; extended to a new date, it does.
        alert.with_user(self.credit_manager).action_resolve()
        self.assertFalse(self._run(rule).filtered(lambda a: a.figures["guarantee_id"] == guarantee.id))
        guarantee.with_user(self.credit_manager).valid_to = self.today + timedelta(days=25)
        again = self._run(rule)
        self.assertEqual(len(again), 1)
        self.assertEqual(again.figures["guarantee_id"], guarantee.id)
        self.assertEqual(again.figures["days_left"], 25)

    def test_guarantee_expiring_in_foreign_currency(self):
        """The secured capacity lost is converted into the company currency at today's rate."""
        eur = self.setup_other_currency("EUR")  # 1 company currency = 2 EUR
        rule = self._rule("guarantee_expiring", threshold_days=30)
        self._guarantee(self.customer, 10, currency_id=eur.id, coverage_percent=100.0)
        alert = self._run(rule)
        self.assertEqual(alert.figures["secured_amount"], 500.0)
        self.assertIn("€", alert.message)

    def test_guarantee_expiring_query_count_constant(self):
        """One query for the company's guarantees, whatever their number."""
        rule = self._rule("guarantee_expiring", threshold_days=30)

        def signals_and_queries():
            self.env.flush_all()
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            signals = list(rule._signals_guarantee_expiring(self.company, self.today, {}))
            return len(signals), self.env.cr.sql_log_count - before

        self._guarantee(self.customer, 10)
        signals_and_queries()  # warm the registry caches (rules, translations) first
        one = signals_and_queries()
        for days in (5, 15, 25):
            self._guarantee(self._partner(f"Guaranteed {days}"), days)
        signals_and_queries()  # activating a guarantee clears the registry caches: warm them again
        four = signals_and_queries()
        self.assertEqual((one[0], four[0]), (1, 4))
        self.assertEqual(one[1], four[1])

    # ------------------------------------------------------------
    # Deduplication, activities, hold, resolution
    # ------------------------------------------------------------

    def test_state_rule_alerts_again_after_resolution_if_still_true(self):
        rule = self._rule("utilization", threshold_percent=80.0)
        self.create_invoice(self.customer, 900.0)
        first = self._run(rule)
        first.with_user(self.credit_manager).action_acknowledge()
        self.assertFalse(self._run(rule), "acknowledged is still open: no duplicate")
        first.with_user(self.credit_manager).action_resolve()
        second = self._run(rule)
        self.assertEqual(len(second), 1)
        self.assertNotEqual(second, first)
        self.assertEqual(second.dedup_key, first.dedup_key)
        self.assertFalse(self._run(rule))

    def test_open_duplicates_refused_by_the_database(self):
        rule = self._rule("utilization", threshold_percent=80.0)
        self.create_invoice(self.customer, 900.0)
        alert = self._run(rule)
        with self.assertRaises(psycopg2.IntegrityError), mute_logger("odoo.sql_db"), self.cr.savepoint():
            alert.sudo().copy({"dedup_key": alert.dedup_key})
            self.env.flush_all()

    def test_alert_activity_for_the_responsible_manager(self):
        rule = self._rule("utilization", threshold_percent=80.0)
        self.profile_of(self.quiet).credit_manager_id = self.credit_manager_2
        self.create_invoice(self.customer, 900.0)
        self.create_invoice(self.quiet, 900.0)
        self._run(rule)
        alert = self._alerts(self.customer)
        activity = alert.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.activity_type_id, self.alert_type)
        self.assertEqual(activity.user_id, self.credit_manager)
        self.assertEqual(alert.user_id, self.credit_manager)
        self.assertEqual(self._alerts(self.quiet).activity_ids.user_id, self.credit_manager_2)
        # Resolving the alert closes its activity.
        alert.with_user(self.credit_manager).action_resolve()
        self.assertFalse(alert.activity_ids)
        self.assertEqual(alert.resolved_by_id, self.credit_manager)

    def test_auto_hold_puts_the_customer_on_hold(self):
        rule = self._rule("overdue_new", threshold_days=30, severity="critical", auto_hold=True)
        self.create_invoice(self.customer, 500.0, days_ago=45)
        alert = self._run(rule)
        profile = self.profile_of(self.customer)
        self.assertTrue(profile.on_hold)
        self.assertTrue(alert.hold_applied)
        self.assertIn(alert.name, profile.hold_reason)
        self.assertIn("500.00", profile.hold_reason)
        # The hold blocks the next order.
        order = self.create_order(self.customer, 10.0, user=self.salesman)
        try:  # not assertRaises: its savepoint would roll back the recorded block
            self.confirm_as(order, self.salesman)
            self.fail("the hold should block the order")
        except UserError as error:
            self.assertIn(alert.name, str(error))
        self.assertIn(alert.name, order.credit_check_message)

    def test_auto_hold_keeps_an_existing_hold(self):
        rule = self._rule("overdue_new", threshold_days=30, auto_hold=True)
        profile = self.profile_of(self.customer)
        profile._put_on_hold("Manual hold")
        self.create_invoice(self.customer, 500.0, days_ago=45)
        alert = self._run(rule)
        self.assertEqual(profile.hold_reason, "Manual hold")
        self.assertFalse(alert.hold_applied)

    def test_no_auto_hold_without_the_option(self):
        rule = self._rule("overdue_new", threshold_days=30)
        self.create_invoice(self.customer, 500.0, days_ago=45)
        self._run(rule)
        self.assertFalse(self.profile_of(self.customer).on_hold)

    def test_rules_of_another_company_do_not_apply(self):
        other_company = self.env["res.company"].create({"name": "Other Credit Company"})
        rule = self._rule("utilization", threshold_percent=80.0)
        rule.company_id = other_company
        self.create_invoice(self.customer, 900.0)
        self.env["credit.warning.rule"]._cron_evaluate()
        self.assertFalse(self._alerts(self.customer))

    def test_nothing_resolves_by_itself(self):
        rule = self._rule("utilization", threshold_percent=80.0)
        invoice = self.create_invoice(self.customer, 900.0)
        alert = self._run(rule)
        self.pay(invoice)
        self._run(rule)
        self.assertEqual(alert.state, "new", "the condition cleared, but a person resolves the alert")

    # ------------------------------------------------------------
    # Permissions
    # ------------------------------------------------------------

    def test_permissions(self):
        rule = self._rule("utilization", threshold_percent=80.0)
        self.create_invoice(self.customer, 900.0)
        alert = self._run(rule)
        # Alerts are the credit file (downgrades, bureau scores, exposure): salespeople do not read them.
        with self.assertRaises(AccessError):
            alert.with_user(self.salesman).read(["message"])
        self.assertEqual(alert.with_user(self.auditor).message, alert.message)
        # Salespeople (credit users) and auditors read rules; neither changes alerts or rules.
        for user in (self.salesman, self.auditor):
            self.assertEqual(rule.with_user(user).name, rule.name)
            for action in ("action_acknowledge", "action_resolve"):
                with self.assertRaises(AccessError):
                    getattr(alert.with_user(user), action)()
            with self.assertRaises(AccessError):
                alert.with_user(user).write({"resolution_note": "done"})
            with self.assertRaises(AccessError):
                rule.with_user(user).write({"threshold_percent": 90.0})
        self.assertEqual(alert.state, "new")
        # Managers acknowledge and resolve, manage rules, but neither create nor delete alerts.
        alert.with_user(self.credit_manager).action_acknowledge()
        self.assertEqual(alert.state, "acknowledged")
        self.assertEqual(alert.acknowledged_by_id, self.credit_manager)
        alert.with_user(self.credit_manager_2).write(
            {"resolution_note": "Customer paid part; limit reviewed."}
        )
        alert.with_user(self.credit_manager_2).action_resolve()
        self.assertEqual(alert.state, "resolved")
        self.assertEqual(alert.resolved_by_id, self.credit_manager_2)
        with self.assertRaises(AccessError):
            alert.with_user(self.credit_manager).unlink()
        with self.assertRaises(AccessError):
            self.env["credit.alert"].with_user(self.credit_manager).create(
                {
                    "alert_type": "utilization",
                    "severity": "low",
                    "partner_id": self.customer.id,
                    "company_id": self.company.id,
                }
            )
        new_rule = (
            self.env["credit.warning.rule"]
            .with_user(self.credit_manager)
            .create({"name": "Manager rule", "rule_type": "overdue_new", "threshold_days": 60})
        )
        self.assertTrue(new_rule)

    def test_alerts_of_other_companies_are_not_visible(self):
        rule = self._rule("utilization", threshold_percent=80.0)
        self.create_invoice(self.customer, 900.0)
        alert = self._run(rule)
        other_company = self.env["res.company"].create({"name": "Other Credit Company"})
        outsider = self.env["res.users"].create(
            {
                "name": "Other Company Manager",
                "login": "scc_other_manager",
                "company_id": other_company.id,
                "company_ids": [Command.set(other_company.ids)],
                "groups_id": [
                    Command.set(
                        self.env.ref("sale_credit_control.group_credit_manager").ids
                        + self.env.ref("base.group_user").ids
                    )
                ],
            }
        )
        self.assertFalse(self.env["credit.alert"].with_user(outsider).search([("id", "=", alert.id)]))


@tagged("post_install", "-at_install")
class TestWarningBatches(CreditControlCommon):
    """The daily evaluation takes the customers in batches; run by the cron, each batch is
    committed with the rules' position, so a run that stops halfway resumes after the last
    committed batch. Here a "commit" is a savepoint and the crash a rollback to it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["credit.warning.rule"].sudo().search([]).active = False
        cls.rule = (
            cls.env["credit.warning.rule"]
            .sudo()
            .create(
                {
                    "name": "Batch utilization",
                    "rule_type": "utilization",
                    "threshold_percent": 80.0,
                    "company_id": cls.company.id,
                }
            )
        )
        cls.over = cls.env["res.partner"]
        for index in range(5):
            partner = cls.env["res.partner"].create({"name": f"Batch Customer {index}", "is_company": True})
            cls.set_limit(partner, 1000.0)
            cls.profile_of(partner)
            cls.create_invoice(partner, 900.0)
            cls.over |= partner

    def _run_cron(self, crash_at=None):
        """``_cron_evaluate`` in batches of 2 profiles; each batch "committed" (a savepoint), a
        crash after the work of batch ``crash_at`` rolled back to the last commit. Returns the
        (low, high] ranges evaluated."""
        Rule = type(self.env["credit.warning.rule"])
        evaluate = Rule._evaluate_company
        ranges, commits = [], [self.env.cr.savepoint()]

        def evaluate_batch(rules, company, today=None, partner_range=(0, None), done_up_to=None):
            ranges.append(partner_range)
            alerts = evaluate(rules, company, today, partner_range, done_up_to)
            if len(ranges) == crash_at:
                raise RuntimeError("cron worker killed")
            return alerts

        def commit_batch(model, done, remaining):
            model.env.flush_all()
            commits.append(model.env.cr.savepoint())
            model.env.invalidate_all()

        with (
            patch.object(Rule, "_batch_size", 2),
            patch.object(Rule, "_evaluate_company", evaluate_batch),
            patch.object(Rule, "_commit_batch", commit_batch),
        ):
            try:
                self.env["credit.warning.rule"]._cron_evaluate()
            except RuntimeError:
                commits[-1].rollback()
                self.env.invalidate_all(flush=False)
        return ranges

    def _alert_counts(self):
        alerts = self.env["credit.alert"].sudo().search([("rule_id", "=", self.rule.id)])
        per_partner = alerts.grouped("partner_id")
        return {partner: len(per_partner.get(partner, [])) for partner in self.over}

    def test_interrupted_run_resumes_without_repeating_a_batch(self):
        first = self._run_cron(crash_at=2)
        self.assertEqual(len(first), 2)
        done_up_to = first[0][1]
        self.assertEqual(
            (self.rule.resume_date, self.rule.resume_company_id, self.rule.resume_partner_id),
            (self.today, self.company, done_up_to),
            "the position of the last committed batch",
        )
        counts = self._alert_counts()
        self.assertEqual(
            {partner: count for partner, count in counts.items() if count},
            {partner: 1 for partner in self.over if partner.id <= done_up_to},
            "only the committed batch's alerts are left",
        )
        self.assertTrue(any(partner.id > done_up_to for partner in self.over), "work left for the rerun")

        again = self._run_cron()
        self.assertEqual(again[0][0], done_up_to, "the rerun starts after the committed batch")
        self.assertTrue(all(low >= done_up_to for low, _high in again))
        self.assertIsNone(again[-1][1], "the last batch has no upper bound")
        self.assertEqual(self._alert_counts(), {partner: 1 for partner in self.over}, "one alert each")
        self.assertFalse(self.rule.resume_date, "the run is over: no position left")

        # The next run evaluates everyone again and raises nothing new.
        self.assertEqual(self._run_cron()[0][0], 0)
        self.assertEqual(self._alert_counts(), {partner: 1 for partner in self.over})

    def test_rule_added_during_an_interrupted_run_sees_every_customer(self):
        self._run_cron(crash_at=2)
        late = self.rule.copy({"name": "Late utilization", "threshold_percent": 85.0})
        self.assertFalse(late.resume_date)
        self._run_cron()
        alerts = self.env["credit.alert"].sudo().search([("rule_id", "=", late.id)])
        self.assertEqual(alerts.partner_id, self.over)
        self.assertEqual(self._alert_counts(), {partner: 1 for partner in self.over})
