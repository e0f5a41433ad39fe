import re
from datetime import datetime, time, timedelta

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, freeze_time, new_test_user, tagged
from odoo.tools import format_amount

from .common import CreditControlCommon

ACTIVITY_XMLID = "sale_credit_control.mail_activity_type_credit_limit_request"


@tagged("post_install", "-at_install")
class TestLimitRequest(CreditControlCommon):
    """Limit requests (授信申请): one or two approvals, application, temporary limits, direct edits."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        sales = "sales_team.group_sale_salesman"
        company_vals = {"company_id": cls.company.id, "company_ids": [Command.set(cls.company.ids)]}
        cls.director = new_test_user(
            cls.env,
            login="scc_director",
            groups=f"{sales},sale_credit_control.group_credit_director",
            **company_vals,
        )
        cls.director_2 = new_test_user(
            cls.env,
            login="scc_director_2",
            groups=f"{sales},sale_credit_control.group_credit_director",
            **company_vals,
        )
        # A grade may name its own approval group for limits above its recommendation.
        cls.risk_committee = cls.env["res.groups"].sudo().create({"name": "Risk Committee"})
        cls.committee_member = new_test_user(
            cls.env,
            login="scc_committee",
            groups=f"{sales},sale_credit_control.group_credit_manager",
            **company_vals,
        )
        cls.committee_member.groups_id = [Command.link(cls.risk_committee.id)]
        cls.scorecard = (
            cls.env["credit.scorecard"]
            .sudo()
            .create(
                {
                    "name": "Limit Request Scorecard",
                    "company_id": cls.company.id,
                    "factor_ids": [
                        Command.create(
                            {
                                "code": "late_share",
                                "weight": 1.0,
                                "band_ids": [
                                    Command.create({"has_lower": False, "has_upper": False, "points": 50.0})
                                ],
                            }
                        )
                    ],
                    "grade_ids": [
                        Command.create(
                            {
                                "code": "A",
                                "min_score": 60.0,
                                "approval_group_id": cls.env.ref(
                                    "sale_credit_control.group_credit_director"
                                ).id,
                            }
                        ),
                        Command.create(
                            {"code": "BB", "min_score": 0.0, "approval_group_id": cls.risk_committee.id}
                        ),
                    ],
                }
            )
        )
        cls.grade_a = cls.scorecard.grade_ids.filtered(lambda grade: grade.code == "A")
        cls.grade_bb = cls.scorecard.grade_ids.filtered(lambda grade: grade.code == "BB")
        cls.company.credit_limit_second_approval_threshold = 0.0
        cls.company.credit_allow_direct_limit_edit = True
        cls.currency = cls.company.currency_id

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    def rate(self, partner, grade, recommended):
        """Give ``partner`` a current rating of ``grade`` recommending ``recommended`` (None: none)."""
        rating = (
            self.env["credit.rating"]
            .sudo()
            .create(
                {
                    "partner_id": partner.id,
                    "company_id": self.company.id,
                    "date": self.today,
                    "scorecard_id": self.scorecard.id,
                    "score": grade.min_score,
                    "grade_id": grade.id,
                    "grade_code": grade.code,
                    "recommended_limit": recommended or 0.0,
                    "has_recommendation": recommended is not None,
                    "trigger": "manual",
                }
            )
        )
        self.profile_of(partner).sudo().write({"rating_id": rating.id})
        return rating

    def make_request(self, amount, user=None, submit=True, partner=None, **vals):
        user = user or self.salesman
        request = (
            self.env["credit.limit.request"]
            .with_user(user)
            .create(
                {
                    "partner_id": (partner or self.customer).id,
                    "amount": amount,
                    "reason": "Seasonal volume doubles",
                    **vals,
                }
            )
        )
        if submit:
            request.action_submit()
        return request

    def limit_of(self, partner=None):
        return (partner or self.customer).with_company(self.company).sudo().credit_limit

    def limit_history(self, partner=None):
        return self.env["credit.limit.history"].search(
            [
                ("partner_id", "=", (partner or self.customer).id),
                ("company_id", "=", self.company.id),
                ("field_name", "=", "credit_limit"),
            ],
            order="id desc",
        )

    def activity_users(self, request):
        activity_type = self.env.ref(ACTIVITY_XMLID)
        return request.sudo().activity_ids.filtered(lambda a: a.activity_type_id == activity_type).user_id

    def last_message(self, request):
        return request.message_ids.sorted("id")[-1:].body or ""

    def at(self, day):
        """A frozen moment at noon of ``day`` (no time-zone edge)."""
        return freeze_time(datetime.combine(day, time(12, 0)))

    # ------------------------------------------------------------
    # One approval
    # ------------------------------------------------------------

    def test_simple_approval_writes_limit_and_history(self):
        self.rate(self.customer, self.grade_a, 5000.0)
        request = self.make_request(3000.0)
        self.assertEqual(request.state, "submitted")
        self.assertEqual(request.requested_by_id, self.salesman)
        self.assertTrue(request.name.startswith("CLR/"))
        self.assertEqual(request.currency_id, self.currency)
        self.assertAlmostEqual(request.amount_company, 3000.0)
        self.assertAlmostEqual(request.previous_limit, 1000.0)
        self.assertEqual(request.grade_code, "A")
        self.assertTrue(request.has_recommendation)
        self.assertAlmostEqual(request.recommended_limit, 5000.0)
        self.assertFalse(request.needs_second_approval)
        # The company's responsible credit manager is asked to decide.
        self.assertEqual(self.activity_users(request), self.credit_manager)
        history_before = self.limit_history()

        request.with_user(self.credit_manager).action_approve()

        self.assertEqual(request.state, "approved")
        self.assertEqual(request.first_approver_id, self.credit_manager)
        self.assertFalse(request.second_approver_id)
        self.assertEqual(request.decided_by_id, self.credit_manager)
        self.assertTrue(request.decision_date)
        self.assertEqual(request.application_state, "applied")
        self.assertAlmostEqual(request.applied_limit, 3000.0)
        self.assertAlmostEqual(request.previous_limit, 1000.0)
        self.assertAlmostEqual(self.limit_of(), 3000.0)
        new_history = self.limit_history() - history_before
        self.assertEqual(len(new_history), 1)
        self.assertEqual(new_history.old_value, "1000.0")
        self.assertEqual(new_history.new_value, "3000.0")
        self.assertEqual(new_history.user_id, self.credit_manager)
        self.assertIn(request.name, new_history.reason)
        self.assertIn("Seasonal volume doubles", new_history.reason)
        self.assertFalse(self.activity_users(request), "the decision closes the activities")
        body = self.last_message(request)
        self.assertIn("1,000.00", body)
        self.assertIn("3,000.00", body)
        profile_messages = self.profile_of(self.customer).message_ids.mapped("body")
        self.assertTrue(any("3,000.00" in body and request.name in body for body in profile_messages))

    def test_no_rating_no_threshold_needs_one_approval(self):
        request = self.make_request(50000.0)
        self.assertFalse(request.sudo().rating_id)
        self.assertFalse(request.has_recommendation)
        self.assertFalse(request.needs_second_approval)
        self.assertEqual(request.approval_group_id, self.env.ref("sale_credit_control.group_credit_director"))
        request.with_user(self.credit_manager_2).action_approve()
        self.assertEqual(request.state, "approved")
        self.assertAlmostEqual(self.limit_of(), 50000.0)

    def test_manager_without_responsible_gets_every_manager_activity(self):
        self.company.credit_manager_id = False
        request = self.make_request(2000.0)
        users = self.activity_users(request)
        self.assertIn(self.credit_manager, users)
        self.assertIn(self.credit_manager_2, users)
        self.assertNotIn(self.salesman, users)

    def test_requester_is_not_asked_to_decide(self):
        request = self.make_request(2000.0, user=self.credit_manager)
        users = self.activity_users(request)
        self.assertTrue(users)
        self.assertNotIn(self.credit_manager, users)
        self.assertIn(self.credit_manager_2, users)

    def test_request_from_profile_form_is_prefilled(self):
        """The profile's "Request Limit Change" button opens a request prefilled for its customer."""
        profile = self.profile_of(self.customer)
        arch = self.env["credit.profile"].get_view(view_type="form")["arch"]
        action = self.env.ref("sale_credit_control.credit_limit_request_action_new")
        self.assertIn(f'name="{action.id}"', arch)
        self.rate(self.customer, self.grade_a, 5000.0)
        context = {
            "default_partner_id": profile.partner_id.id,
            "default_company_id": profile.company_id.id,
            "default_amount": profile.credit_limit,
        }
        form = Form(self.env["credit.limit.request"].with_user(self.salesman).with_context(**context))
        self.assertEqual(form.partner_id, self.customer)
        self.assertEqual(form.currency_id, self.currency)
        self.assertAlmostEqual(form.amount, 1000.0)
        self.assertAlmostEqual(form.previous_limit, 1000.0)
        # The rating behind it is the credit file: not on the salesperson's form.
        self.assertNotIn("recommended_limit", form._view["fields"])
        form.amount = 6000.0
        self.assertTrue(form.needs_second_approval)
        form.reason = "Large tender won"
        request = form.save()
        self.assertAlmostEqual(request.sudo().recommended_limit, 5000.0)
        request.action_submit()
        self.assertEqual(request.state, "submitted")
        self.assertEqual(request.currency_id, self.currency)
        self.assertAlmostEqual(request.amount_company, 6000.0)
        self.assertTrue(request.needs_second_approval)

    def test_settings(self):
        settings = Form(self.env["res.config.settings"])
        settings.credit_allow_direct_limit_edit = False
        settings.credit_limit_second_approval_threshold = 25000.0
        settings.save().execute()
        self.assertFalse(self.company.credit_allow_direct_limit_edit)
        self.assertAlmostEqual(self.company.credit_limit_second_approval_threshold, 25000.0)
        negative = format_amount(self.env, -1.0, self.company.currency_id)
        with self.assertRaisesRegex(ValidationError, re.escape(negative)), self.cr.savepoint():
            self.company.credit_limit_second_approval_threshold = -1.0
            self.company.flush_recordset()

    # ------------------------------------------------------------
    # Two approvals
    # ------------------------------------------------------------

    def test_over_recommendation_needs_second_approver_of_grade_group(self):
        self.rate(self.customer, self.grade_bb, 2000.0)
        request = self.make_request(5000.0, user=self.credit_manager_2)
        self.assertTrue(request.needs_second_approval)
        self.assertEqual(request.approval_group_id, self.risk_committee)
        self.assertIn("5,000.00", request.second_approval_note)
        self.assertIn("2,000.00", request.second_approval_note)
        self.assertIn("BB", request.second_approval_note)

        # The requester cannot approve their own request, even as a credit manager.
        with self.assertRaises(UserError):
            request.with_user(self.credit_manager_2).action_approve()
        # A salesman cannot approve at all.
        with self.assertRaises(AccessError):
            request.with_user(self.salesman).action_approve()

        request.with_user(self.credit_manager).action_approve()
        self.assertEqual(request.state, "first_approved")
        self.assertEqual(request.first_approver_id, self.credit_manager)
        self.assertAlmostEqual(self.limit_of(), 1000.0, msg="nothing applied after the first approval")
        # The second approval is asked from the grade's group, not from the first approver or requester.
        self.assertEqual(self.activity_users(request), self.committee_member)

        # The same person cannot approve twice.
        with self.assertRaises(UserError):
            request.with_user(self.credit_manager).action_approve()
        # Another credit manager, or a director outside the grade's group, cannot finish it.
        with self.assertRaises(AccessError) as error:
            request.with_user(self.director).action_approve()
        self.assertIn("Risk Committee", str(error.exception))
        self.assertIn("5,000.00", str(error.exception))
        self.assertEqual(request.state, "first_approved")

        request.with_user(self.committee_member).action_approve()
        self.assertEqual(request.state, "approved")
        self.assertEqual(request.second_approver_id, self.committee_member)
        self.assertEqual(request.decided_by_id, self.committee_member)
        self.assertAlmostEqual(self.limit_of(), 5000.0)
        self.assertEqual(self.limit_history()[0].user_id, self.committee_member)
        self.assertFalse(request.activity_ids)

    def test_within_recommendation_of_same_grade_needs_one_approval(self):
        self.rate(self.customer, self.grade_bb, 2000.0)
        request = self.make_request(2000.0)
        self.assertFalse(request.needs_second_approval)
        request.with_user(self.credit_manager).action_approve()
        self.assertEqual(request.state, "approved")
        self.assertAlmostEqual(self.limit_of(), 2000.0)

    def test_over_threshold_needs_a_director(self):
        self.company.credit_limit_second_approval_threshold = 4000.0
        request = self.make_request(4500.0)
        self.assertTrue(request.needs_second_approval)
        self.assertAlmostEqual(request.second_approval_threshold, 4000.0)
        self.assertIn("4,000.00", request.second_approval_note)
        self.assertIn("4,500.00", request.second_approval_note)
        self.assertEqual(request.approval_group_id, self.env.ref("sale_credit_control.group_credit_director"))

        request.with_user(self.credit_manager).action_approve()
        self.assertEqual(request.state, "first_approved")
        self.assertEqual(self.activity_users(request), self.director | self.director_2)
        with self.assertRaises(AccessError):
            request.with_user(self.credit_manager_2).action_approve()
        request.with_user(self.director).action_approve()
        self.assertEqual(request.state, "approved")
        self.assertAlmostEqual(self.limit_of(), 4500.0)

    def test_director_as_first_approver_still_needs_a_second_person(self):
        self.company.credit_limit_second_approval_threshold = 4000.0
        request = self.make_request(4500.0)
        request.with_user(self.director).action_approve()
        self.assertEqual(request.state, "first_approved")
        with self.assertRaises(UserError):
            request.with_user(self.director).action_approve()
        request.with_user(self.director_2).action_approve()
        self.assertEqual(request.state, "approved")
        self.assertEqual(
            (request.first_approver_id, request.second_approver_id), (self.director, self.director_2)
        )
        self.assertAlmostEqual(self.limit_of(), 4500.0)

    def test_below_threshold_needs_one_approval(self):
        self.company.credit_limit_second_approval_threshold = 4000.0
        request = self.make_request(4000.0)
        self.assertFalse(request.needs_second_approval)
        request.with_user(self.credit_manager).action_approve()
        self.assertEqual(request.state, "approved")

    def test_zero_limit_is_unlimited_and_needs_second_approval(self):
        """Odoo's limit 0 checks nothing: asking for it is above any recommendation."""
        self.rate(self.customer, self.grade_a, 5000.0)
        request = self.make_request(0.0)
        self.assertTrue(request.needs_second_approval)
        self.assertIn("no limit checked", request.second_approval_note)
        request.with_user(self.credit_manager).action_approve()
        self.assertEqual(request.state, "first_approved")
        request.with_user(self.director).action_approve()
        self.assertEqual(request.state, "approved")
        self.assertEqual(self.limit_of(), 0.0)

    def test_grade_checked_again_at_approval(self):
        """The decision uses the rating of the approval day, not of the submission."""
        self.rate(self.customer, self.grade_a, 5000.0)
        request = self.make_request(3000.0)
        self.assertFalse(request.needs_second_approval)
        self.rate(self.customer, self.grade_bb, 2000.0)
        request.with_user(self.credit_manager).action_approve()
        self.assertEqual(request.state, "first_approved")
        self.assertEqual(request.grade_code, "BB")
        self.assertEqual(request.approval_group_id, self.risk_committee)
        self.assertAlmostEqual(self.limit_of(), 1000.0)

    # ------------------------------------------------------------
    # Rejection and cancellation
    # ------------------------------------------------------------

    def test_rejection_needs_a_reason_and_keeps_it(self):
        request = self.make_request(3000.0)
        with self.assertRaises(UserError):
            request.with_user(self.credit_manager).action_reject()
        with self.assertRaises(UserError):
            request.with_user(self.credit_manager).action_reject("   ")
        with self.assertRaises(AccessError):
            request.with_user(self.salesman).action_reject("I changed my mind")
        self.assertEqual(request.state, "submitted")

        action = request.with_user(self.credit_manager).action_open_reject_wizard()
        wizard = Form(
            self.env[action["res_model"]].with_user(self.credit_manager).with_context(**action["context"])
        )
        wizard.reason = "Two invoices 60 days overdue"
        wizard.save().action_reject()

        self.assertEqual(request.state, "rejected")
        self.assertEqual(request.rejection_reason, "Two invoices 60 days overdue")
        self.assertEqual(request.decided_by_id, self.credit_manager)
        self.assertFalse(request.activity_ids)
        self.assertIn("Two invoices 60 days overdue", self.last_message(request))
        self.assertAlmostEqual(self.limit_of(), 1000.0)
        with self.assertRaises(UserError):
            request.with_user(self.credit_manager_2).action_approve()

    def test_rejection_after_first_approval(self):
        self.company.credit_limit_second_approval_threshold = 4000.0
        request = self.make_request(4500.0)
        request.with_user(self.credit_manager).action_approve()
        request.with_user(self.director).action_reject("Too much for a new customer")
        self.assertEqual(request.state, "rejected")
        self.assertEqual(request.rejection_reason, "Too much for a new customer")
        self.assertFalse(request.activity_ids)
        self.assertAlmostEqual(self.limit_of(), 1000.0)

    def test_requester_cancels_own_request(self):
        request = self.make_request(3000.0)
        with self.assertRaises(AccessError):
            request.with_user(self.salesman_2).action_cancel()
        request.with_user(self.salesman).action_cancel()
        self.assertEqual(request.state, "cancelled")
        self.assertFalse(request.activity_ids)
        with self.assertRaises(UserError):
            request.with_user(self.credit_manager).action_approve()

    # ------------------------------------------------------------
    # Temporary limits
    # ------------------------------------------------------------

    def test_temporary_limit_applies_and_reverts_by_cron(self):
        start, end = self.today + timedelta(days=5), self.today + timedelta(days=10)
        request = self.make_request(2500.0, request_type="temporary", date_from=start, date_to=end)
        request.with_user(self.credit_manager).action_approve()
        self.assertEqual(request.state, "approved")
        self.assertEqual(request.application_state, "waiting")
        self.assertAlmostEqual(self.limit_of(), 1000.0)
        cron = self.env["credit.limit.request"]._cron_process_temporary_limits

        with self.at(start - timedelta(days=1)):
            cron()
        self.assertEqual(request.application_state, "waiting")
        self.assertAlmostEqual(self.limit_of(), 1000.0)

        with self.at(start):
            cron()
        self.assertEqual(request.application_state, "applied")
        self.assertAlmostEqual(self.limit_of(), 2500.0)
        self.assertAlmostEqual(request.previous_limit, 1000.0)
        applied = self.limit_history()[0]
        self.assertEqual((applied.old_value, applied.new_value), ("1000.0", "2500.0"))
        self.assertIn(request.name, applied.reason)

        with self.at(end):
            cron()
        self.assertEqual(request.application_state, "applied", "valid through its last day")
        self.assertAlmostEqual(self.limit_of(), 2500.0)

        with self.at(end + timedelta(days=1)):
            cron()
        self.assertEqual(request.application_state, "ended")
        self.assertAlmostEqual(self.limit_of(), 1000.0)
        reverted = self.limit_history()[0]
        self.assertEqual((reverted.old_value, reverted.new_value), ("2500.0", "1000.0"))
        self.assertIn("Temporary limit ended", reverted.reason)
        self.assertIn(request.name, reverted.reason)

        with self.at(end + timedelta(days=2)):
            cron()
        self.assertEqual(len(self.limit_history()), 3, "initial limit, applied, reverted: nothing more")

    def test_temporary_limit_starting_today_applies_at_approval(self):
        request = self.make_request(
            1800.0, request_type="temporary", date_from=self.today, date_to=self.today + timedelta(days=3)
        )
        request.with_user(self.credit_manager).action_approve()
        self.assertEqual(request.application_state, "applied")
        self.assertAlmostEqual(self.limit_of(), 1800.0)
        with self.at(self.today + timedelta(days=4)):
            self.env["credit.limit.request"]._cron_process_temporary_limits()
        self.assertEqual(request.application_state, "ended")
        self.assertAlmostEqual(self.limit_of(), 1000.0)

    def test_temporary_limit_changed_since_is_kept(self):
        """A later approved change is not undone when an older temporary limit ends."""
        temporary = self.make_request(
            1800.0, request_type="temporary", date_from=self.today, date_to=self.today + timedelta(days=3)
        )
        temporary.with_user(self.credit_manager).action_approve()
        permanent = self.make_request(2200.0)
        permanent.with_user(self.credit_manager).action_approve()
        self.assertAlmostEqual(permanent.previous_limit, 1800.0)
        with self.at(self.today + timedelta(days=4)):
            self.env["credit.limit.request"]._cron_process_temporary_limits()
        self.assertEqual(temporary.application_state, "ended")
        self.assertAlmostEqual(self.limit_of(), 2200.0)
        self.assertIn("2,200.00", self.last_message(temporary))

    def test_temporary_dates_required_and_ordered(self):
        with self.assertRaises(ValidationError):
            self.make_request(1500.0, submit=False, request_type="temporary", date_from=self.today)
        with self.assertRaises(ValidationError):
            self.make_request(
                1500.0,
                submit=False,
                request_type="temporary",
                date_from=self.today + timedelta(days=5),
                date_to=self.today + timedelta(days=1),
            )
        past = self.make_request(
            1500.0,
            submit=False,
            request_type="temporary",
            date_from=self.today - timedelta(days=10),
            date_to=self.today - timedelta(days=1),
        )
        with self.assertRaises(UserError):
            past.action_submit()

    def test_cancel_waiting_temporary_limit(self):
        start = self.today + timedelta(days=5)
        request = self.make_request(2500.0, request_type="temporary", date_from=start, date_to=start)
        request.with_user(self.credit_manager).action_approve()
        with self.assertRaises(AccessError):
            request.with_user(self.salesman).action_cancel()
        request.with_user(self.credit_manager).action_cancel()
        self.assertEqual(request.state, "cancelled")
        with self.at(start):
            self.env["credit.limit.request"]._cron_process_temporary_limits()
        self.assertAlmostEqual(self.limit_of(), 1000.0)

    # ------------------------------------------------------------
    # Direct edits
    # ------------------------------------------------------------

    def test_direct_edit_refused_when_company_disallows_it(self):
        self.company.credit_allow_direct_limit_edit = False
        customer = self.customer.with_company(self.company).with_user(self.credit_manager)
        with self.assertRaises(UserError) as error:
            customer.credit_limit = 5000.0
        self.assertIn("limit request", str(error.exception))
        with self.assertRaises(UserError):
            self.profile_of(self.customer).with_user(self.credit_manager).credit_limit = 5000.0
        self.assertAlmostEqual(self.limit_of(), 1000.0)
        # The request path still works and is still recorded.
        history_before = self.limit_history()
        request = self.make_request(5000.0)
        request.with_user(self.credit_manager).action_approve()
        self.assertAlmostEqual(self.limit_of(), 5000.0)
        self.assertEqual(len(self.limit_history() - history_before), 1)
        # Other partner fields stay editable, and new contacts still inherit the limit.
        self.credit_manager.groups_id = [Command.link(self.env.ref("base.group_partner_manager").id)]
        self.customer.with_user(self.credit_manager).write({"phone": "+1 555 0100"})
        contact = (
            self.env["res.partner"]
            .with_user(self.credit_manager)
            .create({"name": "New Buyer", "parent_id": self.customer.id, "type": "contact"})
        )
        self.assertAlmostEqual(contact.with_company(self.company).sudo().credit_limit, 5000.0)

    def test_salesman_adds_contact_to_customer_with_limit(self):
        """Odoo copies the limit to a new contact (commercial fields): that is no limit change."""
        self.salesman.groups_id = [Command.link(self.env.ref("base.group_partner_manager").id)]
        for allowed in (True, False):
            self.company.credit_allow_direct_limit_edit = allowed
            contact = (
                self.env["res.partner"]
                .with_user(self.salesman)
                .create({"name": f"Buyer {allowed}", "parent_id": self.customer.id, "type": "contact"})
            )
            self.assertEqual(contact.commercial_partner_id, self.customer)
            self.assertAlmostEqual(contact.with_company(self.company).sudo().credit_limit, 1000.0)
        self.assertAlmostEqual(self.limit_of(), 1000.0)

    def test_direct_edit_allowed_and_recorded(self):
        self.assertTrue(self.company.credit_allow_direct_limit_edit)
        history_before = self.limit_history()
        self.customer.with_company(self.company).with_user(self.credit_manager).credit_limit = 2500.0
        self.assertAlmostEqual(self.limit_of(), 2500.0)
        new_history = self.limit_history() - history_before
        self.assertEqual(len(new_history), 1)
        self.assertEqual((new_history.old_value, new_history.new_value), ("1000.0", "2500.0"))
        self.assertEqual(new_history.user_id, self.credit_manager)
        # A salesman never edits limits directly.
        with self.assertRaises(AccessError):
            self.customer.with_company(self.company).with_user(self.salesman).credit_limit = 9000.0

    # ------------------------------------------------------------
    # Permissions
    # ------------------------------------------------------------

    def test_salesman_submits_for_a_rated_customer_without_reading_the_credit_file(self):
        """Submitted in its own transaction (nothing cached), as through the web client: the
        salesman's summary leaves out the grade and recommendation, which managers see."""
        self.rate(self.customer, self.grade_bb, 2000.0)
        request = self.make_request(5000.0, submit=False)
        self.env.invalidate_all()
        request.with_user(self.salesman).action_submit()
        self.assertEqual(request.state, "submitted")
        self.assertTrue(request.needs_second_approval)
        summary = request.message_ids.filtered(lambda m: "Submitted by" in (m.body or ""))
        self.assertEqual(len(summary), 1)
        self.assertIn("5,000.00", summary.body)
        self.assertNotIn("2,000.00", summary.body, "the recommendation is credit-file data")
        self.assertNotIn("BB", summary.body)
        self.assertIn("second approval", summary.body.lower())
        self.env.invalidate_all()
        manager_view = request.with_user(self.credit_manager)
        self.assertAlmostEqual(manager_view.recommended_limit, 2000.0)
        self.assertIn("2,000.00", manager_view.second_approval_note)

    def test_salesman_requests_but_does_not_decide(self):
        request = self.make_request(3000.0, submit=False)
        request.with_user(self.salesman).write({"amount": 3200.0, "reason": "New product line"})
        self.assertAlmostEqual(request.amount, 3200.0)
        request.with_user(self.salesman).action_submit()
        # Submitted: no more changes by the requester, and no way to set the status.
        with self.assertRaises(AccessError):
            request.with_user(self.salesman).write({"amount": 9000.0})
        with self.assertRaises(UserError):
            request.with_user(self.credit_manager).write({"amount": 9000.0})
        with self.assertRaises(UserError):
            request.with_user(self.credit_manager).write({"state": "approved"})
        with self.assertRaises(AccessError):
            request.with_user(self.salesman).action_approve()
        # Another salesman neither sees nor submits it.
        with self.assertRaises(AccessError):
            request.with_user(self.salesman_2).read(["amount"])
        self.assertFalse(
            self.env["credit.limit.request"].with_user(self.salesman_2).search([("id", "=", request.id)])
        )
        # Creating never sets the status, approvers or figures.
        forged = (
            self.env["credit.limit.request"]
            .with_user(self.salesman)
            .create(
                {
                    "partner_id": self.customer.id,
                    "amount": 100.0,
                    "reason": "x",
                    "state": "approved",
                    "first_approver_id": self.credit_manager.id,
                    "requested_by_id": self.salesman_2.id,
                }
            )
        )
        self.assertEqual(forged.state, "draft")
        self.assertFalse(forged.first_approver_id)
        self.assertEqual(forged.requested_by_id, self.salesman)
        with self.assertRaises(AccessError):
            forged.with_user(self.salesman).unlink()
        self.assertAlmostEqual(self.limit_of(), 1000.0)

    def test_auditor_reads_only(self):
        request = self.make_request(3000.0)
        as_auditor = request.with_user(self.auditor)
        self.assertEqual(as_auditor.read(["amount"])[0]["amount"], 3000.0)
        self.assertEqual(self.env["credit.limit.request"].with_user(self.auditor).search_count([]), 1)
        with self.assertRaises(AccessError):
            self.env["credit.limit.request"].with_user(self.auditor).create(
                {"partner_id": self.customer.id, "amount": 1.0, "reason": "x"}
            )
        with self.assertRaises(AccessError):
            as_auditor.write({"reason": "changed"})
        with self.assertRaises(AccessError):
            as_auditor.action_approve()
        with self.assertRaises(AccessError):
            as_auditor.action_reject("no")

    def test_manager_cannot_delete(self):
        request = self.make_request(3000.0)
        with self.assertRaises(AccessError):
            request.with_user(self.credit_manager).unlink()

    def test_contacts_are_refused(self):
        with self.assertRaises(ValidationError):
            self.make_request(3000.0, submit=False, partner=self.contact)

    def test_other_company_requests_are_hidden(self):
        other_company = self.env["res.company"].create({"name": "Credit Other Company"})
        request = self.env["credit.limit.request"].create(
            {
                "partner_id": self.customer.id,
                "company_id": other_company.id,
                "currency_id": other_company.currency_id.id,
                "amount": 700.0,
                "reason": "Other company",
            }
        )
        self.assertFalse(
            self.env["credit.limit.request"].with_user(self.credit_manager).search([("id", "=", request.id)])
        )

    # ------------------------------------------------------------
    # Currencies
    # ------------------------------------------------------------

    def test_foreign_currency_request_converted_at_approval_date(self):
        self.assertEqual(self.currency.name, "USD")
        eur = self.setup_other_currency("EUR", rates=[(self.today - timedelta(days=30), 2.0)])
        later = self.today + timedelta(days=3)
        self.env["res.currency.rate"].create(
            {"name": later, "rate": 4.0, "currency_id": eur.id, "company_id": self.company.id}
        )
        self.company.credit_limit_second_approval_threshold = 4000.0
        request = self.make_request(6000.0, currency_id=eur.id)
        self.assertEqual(request.currency_id, eur)
        # 6,000 EUR at 2 EUR per USD: 3,000 USD, below the 4,000 threshold.
        self.assertAlmostEqual(request.amount_company, 3000.0)
        self.assertEqual(request.conversion_date, self.today)
        self.assertFalse(request.needs_second_approval)

        with self.at(later):
            request.with_user(self.credit_manager).action_approve()
        # Converted again at the approval date's rate: 6,000 / 4 = 1,500 USD.
        self.assertEqual(request.state, "approved")
        self.assertAlmostEqual(request.amount_company, 1500.0)
        self.assertEqual(request.conversion_date, later)
        self.assertAlmostEqual(self.limit_of(), 1500.0)
        approval_messages = " ".join(request.message_ids.mapped("body"))
        self.assertIn("1,500.00", approval_messages)
        self.assertIn("at the rate of", approval_messages)

    def test_foreign_currency_over_threshold_after_conversion(self):
        eur = self.setup_other_currency("EUR", rates=[(self.today - timedelta(days=30), 0.5)])
        self.company.credit_limit_second_approval_threshold = 4000.0
        # 3,000 EUR at 0.5 EUR per USD: 6,000 USD, above the threshold although 3,000 < 4,000.
        request = self.make_request(3000.0, currency_id=eur.id)
        self.assertAlmostEqual(request.amount_company, 6000.0)
        self.assertTrue(request.needs_second_approval)
        self.assertIn("6,000.00", request.second_approval_note)
