import ast
from datetime import timedelta

from odoo.exceptions import UserError
from odoo.tests import freeze_time, tagged

from .common import CreditControlCommon


@tagged("post_install", "-at_install")
class TestCreditReview(CreditControlCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.profile = cls.profile_of(cls.customer)
        cls.review_type = cls.env.ref("sale_credit_control.mail_activity_type_credit_review")
        cls.cron = cls.env.ref("sale_credit_control.ir_cron_credit_review")

    def _review_activities(self, profile=None):
        profile = profile or self.profile
        return profile.activity_ids.filtered(lambda a: a.activity_type_id == self.review_type)

    def _run_cron(self):
        # The scheduled action itself, as the cron runs it (its code, as its user).
        self.cron.method_direct_trigger()

    def test_defaults(self):
        """The responsible manager defaults to the company's; the reminder lead to 14 days."""
        self.assertEqual(self.company.credit_review_lead_days, 14)
        self.assertEqual(self.profile.credit_manager_id, self.credit_manager)
        self.company.credit_manager_id = self.credit_manager_2
        other = self.env["res.partner"].create({"name": "Other Customer", "is_company": True})
        self.assertEqual(self.profile_of(other).credit_manager_id, self.credit_manager_2)
        # An existing profile keeps its own manager.
        self.assertEqual(self.profile.credit_manager_id, self.credit_manager)

    def test_review_state_computed_and_searchable(self):
        today = self.today
        dates = {
            "none": False,
            "later": today + timedelta(days=15),
            "lead_edge": today + timedelta(days=14),
            "today": today,
            "yesterday": today - timedelta(days=1),
        }
        expected = {
            "none": "ok",
            "later": "ok",
            "lead_edge": "due_soon",
            "today": "due_soon",
            "yesterday": "overdue",
        }
        profiles = {}
        for key, review_date in dates.items():
            partner = self.env["res.partner"].create({"name": f"Review {key}", "is_company": True})
            profiles[key] = self.profile_of(partner)
            profiles[key].review_date = review_date
        for key, profile in profiles.items():
            self.assertEqual(profile.review_state, expected[key], key)
        all_ids = [p.id for p in profiles.values()]
        Profile = self.env["credit.profile"].sudo()

        def found(domain):
            return {
                key for key, p in profiles.items() if p in Profile.search(domain + [("id", "in", all_ids)])
            }

        self.assertEqual(found([("review_state", "=", "ok")]), {"none", "later"})
        self.assertEqual(found([("review_state", "=", "due_soon")]), {"lead_edge", "today"})
        self.assertEqual(found([("review_state", "=", "overdue")]), {"yesterday"})
        self.assertEqual(found([("review_state", "!=", "ok")]), {"lead_edge", "today", "yesterday"})
        self.assertEqual(found([("review_state", "not in", ("due_soon", "overdue"))]), {"none", "later"})
        # The company's lead days move the boundary.
        self.company.credit_review_lead_days = 15
        profiles["later"].invalidate_recordset(["review_state"])
        self.assertEqual(profiles["later"].review_state, "due_soon")
        self.assertEqual(found([("review_state", "=", "due_soon")]), {"later", "lead_edge", "today"})

    def test_review_activity_scheduled_once_before_the_due_date(self):
        review_date = self.today + timedelta(days=30)
        self.profile.review_date = review_date
        self._run_cron()
        self.assertFalse(self._review_activities(), "30 days ahead is not due soon yet (lead 14 days)")

        with freeze_time(review_date - timedelta(days=14)):
            self._run_cron()
            activity = self._review_activities()
            self.assertEqual(len(activity), 1)
            self.assertEqual(activity.user_id, self.credit_manager)
            self.assertEqual(activity.date_deadline, review_date)
            self.assertEqual(self.profile.review_activity_date, review_date)
        # Later runs, before and after the due date, schedule nothing more for the same date.
        for days_before in (13, 1, 0, -3):
            with freeze_time(review_date - timedelta(days=days_before)):
                self._run_cron()
        self.assertEqual(self._review_activities(), activity)

        # The review is done: the manager closes the activity and sets the next review date.
        activity.with_user(self.credit_manager).action_feedback(feedback="Reviewed")
        next_review = review_date + timedelta(days=365)
        self.profile.review_date = next_review
        with freeze_time(next_review - timedelta(days=15)):
            self._run_cron()
            self.assertFalse(self._review_activities())
        with freeze_time(next_review - timedelta(days=10)):
            self._run_cron()
            self.assertEqual(len(self._review_activities()), 1)
            self.assertEqual(self._review_activities().date_deadline, next_review)

    def test_review_activity_goes_to_the_profile_manager(self):
        self.profile.credit_manager_id = self.credit_manager_2
        self.profile.review_date = self.today + timedelta(days=3)
        self._run_cron()
        self.assertEqual(self._review_activities().user_id, self.credit_manager_2)
        # Without a manager on the profile, the company's responsible manager gets it.
        other = self.profile_of(self.env["res.partner"].create({"name": "No Manager", "is_company": True}))
        other.write({"credit_manager_id": False, "review_date": self.today + timedelta(days=3)})
        self._run_cron()
        self.assertEqual(self._review_activities(other).user_id, self.credit_manager)

    def test_reviews_scheduled_by_batches_and_taken_up_after_a_crash(self):
        """Batches of profiles in id order; a run that stops after its first batch (as a crash
        after that batch's commit) leaves the others to the next run, which schedules them
        without a second activity for the first."""
        customers = self.env["res.partner"].create(
            [{"name": f"Batch Review {i}", "is_company": True} for i in range(3)]
        )
        profiles = self.env["credit.profile"].browse(self.profile_of(customer).id for customer in customers)
        profiles.write({"review_date": self.today + timedelta(days=3)})
        Profile = self.env["credit.profile"]
        first_batch = profiles.sorted("id")[:2]
        first_batch._schedule_review_activities()  # the batch that was committed before the crash
        done = Profile._cron_schedule_reviews(batch_size=2)
        self.assertEqual(done & profiles, profiles - first_batch)
        for profile in profiles:
            self.assertEqual(len(self._review_activities(profile)), 1, profile.partner_id.name)
            self.assertEqual(self._review_activities(profile).user_id, self.credit_manager)
        self.assertFalse(Profile._cron_schedule_reviews(batch_size=2) & profiles, "nothing left to schedule")

    def test_overdue_review_without_earlier_activity_gets_one(self):
        """A review date set in the past (e.g. imported) is flagged at the next run."""
        self.profile.review_date = self.today - timedelta(days=5)
        self._run_cron()
        activity = self._review_activities()
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.date_deadline, self.today - timedelta(days=5))
        self.assertEqual(activity.state, "overdue")

    def test_overdue_review_blocks_the_order(self):
        self.profile.review_date = self.today - timedelta(days=1)
        self.assertEqual(self.profile.review_state, "overdue")
        order = self.create_order(self.customer, 100.0, user=self.salesman)
        # Not assertRaises: its savepoint would roll back the recorded block.
        try:
            self.confirm_as(order, self.salesman)
            self.fail("the overdue review should block the order")
        except UserError as error:
            self.assertIn("The credit review was due on", str(error))
        self.assertEqual(order.state, "draft")
        self.assertEqual(order.credit_check_state, "blocked")

    def test_overdue_review_only_warns_under_a_warn_policy(self):
        self.company.credit_expired_action = "warn"
        self.profile.review_date = self.today - timedelta(days=1)
        order = self.create_order(self.customer, 100.0, user=self.salesman)
        self.confirm_as(order, self.salesman)
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.credit_check_state, "warning")
        self.assertIn("The credit review was due on", order.credit_check_message)

    def test_review_due_today_does_not_block(self):
        self.profile.review_date = self.today
        self.assertEqual(self.profile.review_state, "due_soon")
        order = self.create_order(self.customer, 100.0, user=self.salesman)
        self.confirm_as(order, self.salesman)
        self.assertEqual(order.state, "sale")

    def test_reviews_due_menu_lists_due_soon_and_overdue(self):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sale_credit_control.credit_profile_review_action"
        )
        due = self.profile
        due.review_date = self.today + timedelta(days=2)
        overdue = self.profile_of(self.env["res.partner"].create({"name": "Late", "is_company": True}))
        overdue.review_date = self.today - timedelta(days=2)
        fine = self.profile_of(self.env["res.partner"].create({"name": "Fine", "is_company": True}))
        fine.review_date = self.today + timedelta(days=60)
        domain = ast.literal_eval(action["domain"])
        listed = self.env["credit.profile"].with_user(self.credit_manager).search(domain)
        self.assertIn(due, listed)
        self.assertIn(overdue, listed)
        self.assertNotIn(fine, listed)
        menu = self.env.ref("sale_credit_control.credit_profile_review_menu")
        self.assertEqual(menu.parent_id, self.env.ref("sale_credit_control.credit_control_menu"))
