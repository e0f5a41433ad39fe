from datetime import datetime, time, timedelta

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import freeze_time, new_test_user, tagged
from odoo.tools import format_date

from .common import CreditControlCommon

HOW_TO_GET_THE_RIGHT = "Settings > Users & Companies > Users"


@tagged("post_install", "-at_install")
class TestLimitControls(CreditControlCommon):
    """Who may set limits, tolerances and the company default limit, and temporary limits
    that must not overlap (issue 6, items 7, 12 and 13)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company_vals = {"company_id": cls.company.id, "company_ids": [Command.set(cls.company.ids)]}
        # An accounting manager as Odoo knows one: may set credit limits without this add-on.
        cls.accountant = new_test_user(
            cls.env,
            login="scc_lc_accountant",
            groups="base.group_user,base.group_partner_manager,account.group_account_manager",
            **company_vals,
        )
        # Administrators: one without credit rights, one credit manager.
        cls.settings_admin = new_test_user(
            cls.env,
            login="scc_lc_admin",
            groups="base.group_system,base.group_partner_manager,account.group_account_manager",
            **company_vals,
        )
        cls.credit_admin = new_test_user(
            cls.env,
            login="scc_lc_credit_admin",
            groups="base.group_system,base.group_partner_manager,account.group_account_manager,"
            "sale_credit_control.group_credit_manager",
            **company_vals,
        )
        cls.salesman.groups_id = [Command.link(cls.env.ref("base.group_partner_manager").id)]
        cls.company.write(
            {
                "credit_allow_direct_limit_edit": True,
                "credit_limit_second_approval_threshold": 0.0,
                "account_use_credit_limit": True,
            }
        )

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    def limit_of(self, partner=None):
        return (partner or self.customer).with_company(self.company).sudo().credit_limit

    def history(self, partner=None, field_name="credit_limit"):
        return (
            self.env["credit.limit.history"]
            .sudo()
            .search(
                [
                    ("partner_id", "=", partner.id if partner else False),
                    ("company_id", "=", self.company.id),
                    ("field_name", "=", field_name),
                ],
                order="id desc",
            )
        )

    def company_default_limit(self):
        return self.env["res.partner"].with_company(self.company)._credit_default_limit()

    def partners_named(self, name):
        return self.env["res.partner"].sudo().with_context(active_test=False).search([("name", "=", name)])

    def make_request(self, amount, date_from=None, date_to=None, submit=True, partner=None):
        vals = {"partner_id": (partner or self.customer).id, "amount": amount, "reason": "Harvest season"}
        if date_from:
            vals.update(request_type="temporary", date_from=date_from, date_to=date_to)
        request = self.env["credit.limit.request"].with_user(self.salesman).create(vals)
        if submit:
            request.action_submit()
        return request

    def at(self, day):
        return freeze_time(datetime.combine(day, time(12, 0)))

    def run_cron(self, day):
        with self.at(day):
            self.env["credit.limit.request"]._cron_process_temporary_limits()

    # ------------------------------------------------------------
    # Item 7: where credit control is off, Odoo's own rules
    # ------------------------------------------------------------

    def test_control_off_accountant_sets_and_creates_limits_as_in_odoo(self):
        self.company.credit_control_enabled = False
        history_before = self.env["credit.limit.history"].sudo().search([])
        self.customer.with_company(self.company).with_user(self.accountant).credit_limit = 4000.0
        self.assertAlmostEqual(self.limit_of(), 4000.0)
        created = (
            self.env["res.partner"]
            .with_company(self.company)
            .with_user(self.accountant)
            .create({"name": "Off Control Co", "is_company": True, "credit_limit": 2500.0})
        )
        self.assertAlmostEqual(self.limit_of(created), 2500.0)
        # Nothing of the add-on's own: no history, no profile created on the way.
        self.assertEqual(self.env["credit.limit.history"].sudo().search([]), history_before)
        self.assertFalse(created.sudo().credit_profile_ids)

    def test_control_on_accountant_is_told_how_to_get_the_right(self):
        customer = self.customer.with_company(self.company).with_user(self.accountant)
        with self.assertRaises(AccessError) as error:
            customer.credit_limit = 4000.0
        message = str(error.exception)
        self.assertIn(HOW_TO_GET_THE_RIGHT, message)
        self.assertIn("Credit Control to Manager", message)
        self.assertIn(self.company.name, message)
        self.assertAlmostEqual(self.limit_of(), 1000.0)
        self.assertEqual(len(self.history(self.customer)), 1, "only the fixture's limit")
        # Given the right as the message says, the same accountant sets the limit, recorded.
        manager_group = self.env.ref("sale_credit_control.group_credit_manager")
        self.accountant.groups_id = [Command.link(manager_group.id)]
        customer.credit_limit = 4000.0
        self.assertAlmostEqual(self.limit_of(), 4000.0)
        change = self.history(self.customer)[0]
        self.assertEqual((change.old_value, change.new_value), ("1000.0", "4000.0"))
        self.assertEqual(change.user_id, self.accountant)

    # ------------------------------------------------------------
    # Item 12: creating a customer with a limit
    # ------------------------------------------------------------

    def test_create_with_limit_is_guarded(self):
        Partner = self.env["res.partner"].with_company(self.company)
        with self.assertRaises(AccessError) as error:
            Partner.with_user(self.accountant).create(
                {"name": "Sneaky Co", "is_company": True, "credit_limit": 7000.0}
            )
        self.assertIn(HOW_TO_GET_THE_RIGHT, str(error.exception))
        self.assertFalse(self.partners_named("Sneaky Co"))
        # Nor through a default: the context's, or a personal default of the creator.
        with self.assertRaises(AccessError):
            Partner.with_user(self.accountant).with_context(default_credit_limit=8000.0).create(
                {"name": "Context Co", "is_company": True}
            )
        self.assertFalse(self.partners_named("Context Co"))
        self.env["ir.default"].with_user(self.salesman).set(
            "res.partner", "credit_limit", 9000.0, user_id=True
        )
        with self.assertRaises(AccessError):
            Partner.with_user(self.salesman).create({"name": "Default Co", "is_company": True})
        self.assertFalse(self.partners_named("Default Co"))
        # A contact's limit is its company's whatever is sent (Odoo's commercial-field sync).
        contact = Partner.with_user(self.accountant).create(
            {"name": "Buyer", "parent_id": self.customer.id, "type": "contact", "credit_limit": 99999.0}
        )
        self.assertAlmostEqual(self.limit_of(contact), 1000.0)
        self.assertAlmostEqual(self.limit_of(), 1000.0)
        # A customer without a limit of its own is created as before.
        plain = Partner.with_user(self.accountant).create(
            {"name": "Plain Co", "is_company": True, "credit_limit": 0.0}
        )
        self.assertAlmostEqual(self.limit_of(plain), 0.0)
        self.assertFalse(self.history(plain))

    def test_create_with_limit_by_credit_manager_is_recorded(self):
        self.credit_manager.groups_id = [Command.link(self.env.ref("base.group_partner_manager").id)]
        Partner = self.env["res.partner"].with_company(self.company).with_user(self.credit_manager)
        partner = Partner.create({"name": "Managed Co", "is_company": True, "credit_limit": 6000.0})
        self.assertAlmostEqual(self.limit_of(partner), 6000.0)
        change = self.history(partner)
        self.assertEqual(len(change), 1)
        self.assertEqual((change.old_value, change.new_value), ("0.0", "6000.0"))
        self.assertEqual(change.user_id, self.credit_manager)
        self.assertIn("created", change.reason)
        # No profile is created for it, but the change joins the profile once there is one.
        self.assertFalse(change.profile_id)
        profile = self.profile_of(partner)
        self.assertEqual(change.profile_id, profile)
        self.assertIn(change, profile.history_ids)
        # Where direct edits are off, a limit at creation needs a limit request too.
        self.company.credit_allow_direct_limit_edit = False
        with self.assertRaises(UserError):
            Partner.create({"name": "Direct Co", "is_company": True, "credit_limit": 3000.0})
        self.assertFalse(self.partners_named("Direct Co"))

    # ------------------------------------------------------------
    # Item 12: the tolerance has an upper bound
    # ------------------------------------------------------------

    def test_tolerance_is_bounded_by_the_company_maximum(self):
        self.assertAlmostEqual(self.company.credit_max_tolerance, 10.0)
        profile = self.profile_of(self.customer).with_user(self.credit_manager)
        profile.tolerance_percent = 10.0
        with self.assertRaises(ValidationError) as error:
            profile.tolerance_percent = 500.0
        self.assertIn("500.00", str(error.exception))
        self.assertIn("10.00", str(error.exception))
        profile.invalidate_recordset()
        self.assertAlmostEqual(profile.tolerance_percent, 10.0)
        # The company default obeys the same maximum.
        with self.assertRaises(ValidationError):
            self.company.credit_default_tolerance = 12.0
        self.company.invalidate_recordset()
        self.assertAlmostEqual(self.company.credit_default_tolerance, 0.0)
        # The maximum itself is a share: 0..100, and not below a customer's tolerance.
        for maximum in (150.0, -1.0):
            with self.assertRaises(ValidationError):
                self.company.credit_max_tolerance = maximum
        with self.assertRaises(ValidationError) as error:
            self.company.credit_max_tolerance = 5.0
        self.assertIn(self.customer.name, str(error.exception))
        self.company.invalidate_recordset()
        self.assertAlmostEqual(self.company.credit_max_tolerance, 10.0)
        # Raising the maximum and the default together in the settings works.
        settings = self.env["res.config.settings"].create(
            {"credit_default_tolerance": 15.0, "credit_max_tolerance": 20.0}
        )
        settings.execute()
        self.assertAlmostEqual(self.company.credit_max_tolerance, 20.0)
        self.assertAlmostEqual(self.company.credit_default_tolerance, 15.0)
        profile.tolerance_percent = 20.0
        self.assertAlmostEqual(profile.tolerance_percent, 20.0)

    # ------------------------------------------------------------
    # Item 12: Odoo's company default credit limit
    # ------------------------------------------------------------

    def test_company_default_limit_guarded_and_recorded(self):
        Settings = self.env["res.config.settings"]
        self.assertAlmostEqual(self.company_default_limit(), 0.0)
        with self.assertRaises(AccessError) as error:
            Settings.with_user(self.settings_admin).create(
                {"account_default_credit_limit": 50000.0}
            ).execute()
        self.assertIn(HOW_TO_GET_THE_RIGHT, str(error.exception))
        self.assertIn("50,000.00", str(error.exception))
        self.assertAlmostEqual(self.company_default_limit(), 0.0)
        self.assertFalse(self.history(field_name="default_credit_limit"))
        # Saving the settings without changing the default limit is not a change.
        Settings.with_user(self.settings_admin).create({"account_default_credit_limit": 0.0}).execute()

        Settings.with_user(self.credit_admin).create({"account_default_credit_limit": 50000.0}).execute()
        self.assertAlmostEqual(self.company_default_limit(), 50000.0)
        change = self.history(field_name="default_credit_limit")
        self.assertEqual(len(change), 1)
        self.assertFalse(change.partner_id)
        self.assertEqual((change.old_value, change.new_value), ("0.0", "50000.0"))
        self.assertEqual(change.user_id, self.credit_admin)
        # Credit control off: Odoo's rules (an administrator sets it), nothing recorded.
        self.company.credit_control_enabled = False
        Settings.with_user(self.settings_admin).create({"account_default_credit_limit": 100.0}).execute()
        self.assertAlmostEqual(self.company_default_limit(), 100.0)
        self.assertEqual(self.history(field_name="default_credit_limit"), change)

    # ------------------------------------------------------------
    # Item 13: temporary limits
    # ------------------------------------------------------------

    def test_overlapping_temporary_limits_refused(self):
        day = lambda n: self.today + timedelta(days=n)  # noqa: E731
        first = self.make_request(2500.0, day(5), day(10))
        first.with_user(self.credit_manager).action_approve()
        self.assertEqual(first.application_state, "waiting")

        overlapping = self.make_request(3000.0, day(8), day(12), submit=False)
        with self.assertRaises(ValidationError) as error:
            overlapping.with_user(self.salesman).action_submit()
        message = str(error.exception)
        self.assertIn(first.name, message)
        self.assertIn(format_date(self.env, day(5)), message)
        self.assertIn(format_date(self.env, day(10)), message)
        self.assertEqual(overlapping.state, "draft")

        # Both submitted before either was approved: the second approval is refused.
        third = self.make_request(2000.0, day(20), day(25))
        fourth = self.make_request(2200.0, day(25), day(30))
        third.with_user(self.credit_manager).action_approve()
        with self.assertRaises(ValidationError):
            fourth.with_user(self.credit_manager).action_approve()
        self.assertEqual(fourth.state, "submitted")
        self.assertFalse(fourth.application_state)

        # Back to back is no overlap; every temporary limit ends on the permanent one.
        following = self.make_request(3000.0, day(11), day(15))
        following.with_user(self.credit_manager).action_approve()
        for when, expected in ((5, 2500.0), (11, 3000.0), (16, 1000.0), (20, 2000.0), (26, 1000.0)):
            self.run_cron(day(when))
            self.assertAlmostEqual(self.limit_of(), expected, msg=f"day {when}")
        self.assertEqual((first | following | third).mapped("application_state"), ["ended", "ended", "ended"])

    def test_permanent_change_during_temporary_limit_is_the_new_base(self):
        end = self.today + timedelta(days=3)
        temporary = self.make_request(1800.0, self.today, end)
        temporary.with_user(self.credit_manager).action_approve()
        self.assertEqual(temporary.application_state, "applied")
        self.assertAlmostEqual(self.limit_of(), 1800.0)
        # A permanent request for the same amount: it must stay after the temporary one ends.
        permanent = self.make_request(1800.0)
        permanent.with_user(self.credit_manager_2).action_approve()
        self.assertEqual(permanent.state, "approved")
        self.assertAlmostEqual(temporary.previous_limit, 1800.0)
        self.run_cron(end + timedelta(days=1))
        self.assertEqual(temporary.application_state, "ended")
        self.assertAlmostEqual(self.limit_of(), 1800.0)

    def test_direct_edit_during_temporary_limit_is_the_new_base(self):
        end = self.today + timedelta(days=3)
        temporary = self.make_request(1800.0, self.today, end)
        temporary.with_user(self.credit_manager).action_approve()
        self.customer.with_company(self.company).with_user(self.credit_manager_2).credit_limit = 2500.0
        self.assertAlmostEqual(temporary.previous_limit, 2500.0)
        self.assertIn("2,500.00", temporary.message_ids.sorted("id")[-1].body)
        self.run_cron(end + timedelta(days=1))
        self.assertEqual(temporary.application_state, "ended")
        self.assertAlmostEqual(self.limit_of(), 2500.0)
