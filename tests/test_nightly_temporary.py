import contextlib
from datetime import datetime, time, timedelta

from odoo.exceptions import UserError
from odoo.tests import freeze_time, tagged

from .common import CreditControlCommon


@tagged("post_install", "-at_install")
class TestNightlyTemporaryLimits(CreditControlCommon):
    """The daily temporary-limit job by committed batches, taken up after a crash (issue 9 §2)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.credit_limit_second_approval_threshold = 0.0
        cls.customers = cls.env["res.partner"].create(
            [{"name": f"Temporary Batch {index}", "is_company": True} for index in range(3)]
        )
        for customer in cls.customers:
            cls.set_limit(customer, 1000.0)
        cls.end = cls.today + timedelta(days=3)
        cls.requests = cls.env["credit.limit.request"].sudo()  # as the cron reads them
        for customer in cls.customers:
            request = (
                cls.env["credit.limit.request"]
                .with_user(cls.salesman)
                .create(
                    {
                        "partner_id": customer.id,
                        "amount": 1800.0,
                        "reason": "Harvest season",
                        "request_type": "temporary",
                        "date_from": cls.today,
                        "date_to": cls.end,
                    }
                )
            )
            request.action_submit()
            request.with_user(cls.credit_manager).action_approve()
            cls.requests |= request.sudo()

    def at(self, day):
        return freeze_time(datetime.combine(day, time(12, 0)))

    def limit_of(self, partner):
        return partner.with_company(self.company).sudo().credit_limit

    def reverts(self, partner):
        return (
            self.env["credit.limit.history"]
            .sudo()
            .search(
                [
                    ("partner_id", "=", partner.id),
                    ("field_name", "=", "credit_limit"),
                    ("reason", "ilike", "Temporary limit ended"),
                ]
            )
        )

    def test_temporary_limits_reverted_by_batches_and_taken_up_after_a_crash(self):
        """Batches of requests by start date and id; a run that stops after its first batch (as
        a crash after that batch's commit) leaves the others to the next run, which reverts
        them without reverting the first batch a second time."""
        self.assertEqual(self.requests.mapped("application_state"), ["applied"] * 3)
        self.assertEqual([self.limit_of(customer) for customer in self.customers], [1800.0] * 3)
        Request = self.env["credit.limit.request"]
        first_batch = self.requests.sorted(lambda request: (request.date_from, request.id))[:2]
        day_after = self.end + timedelta(days=1)
        with self.at(day_after):
            # The batch that was committed before the crash.
            first_batch._process_temporary_batch(day_after)
            self.assertEqual(first_batch.mapped("application_state"), ["ended", "ended"])
            self.assertEqual((self.requests - first_batch).application_state, "applied")
            Request._cron_process_temporary_limits(batch_size=2)
        self.assertEqual(self.requests.mapped("application_state"), ["ended"] * 3)
        for customer in self.customers:
            self.assertEqual(self.limit_of(customer), 1000.0, customer.name)
            self.assertEqual(len(self.reverts(customer)), 1, customer.name)
        for request in self.requests:
            ended = [body for body in request.message_ids.mapped("body") if "temporary limit ended" in body]
            self.assertEqual(len(ended), 1, request.name)
        with self.at(day_after + timedelta(days=1)):
            Request._cron_process_temporary_limits(batch_size=2)
        for customer in self.customers:
            self.assertEqual(len(self.reverts(customer)), 1, "nothing reverted twice")

    def test_one_failing_request_does_not_stop_its_batch(self):
        """A request whose revert fails is skipped (logged, retried tomorrow); the others end."""
        failing = self.requests[1]
        Request = self.env.registry["credit.limit.request"]
        original = Request._revert_limit

        def revert(request):
            if request == failing:
                raise ValueError("simulated failure")
            return original(request)

        day_after = self.end + timedelta(days=1)
        with (
            self.at(day_after),
            self.assertLogs(
                "odoo.addons.sale_credit_control.models.credit_limit_request_application", "ERROR"
            ),
        ):
            self.patch(Request, "_revert_limit", revert)
            self.env["credit.limit.request"]._cron_process_temporary_limits(batch_size=2)
        self.assertEqual(failing.application_state, "applied")
        self.assertEqual((self.requests - failing).mapped("application_state"), ["ended", "ended"])

    def test_held_quotations_reevaluated_once_per_batch(self):
        """The customers whose limit the job changes have their held quotations re-evaluated,
        together at the end of the batch: ready when the temporary limit applies, blocked
        again when it is reverted."""
        customer = self.env["res.partner"].create({"name": "Temporary Held", "is_company": True})
        self.set_limit(customer, 1000.0)
        start = self.today + timedelta(days=1)
        request = (
            self.env["credit.limit.request"]
            .with_user(self.salesman)
            .create(
                {
                    "partner_id": customer.id,
                    "amount": 1800.0,
                    "reason": "Harvest season",
                    "request_type": "temporary",
                    "date_from": start,
                    "date_to": start + timedelta(days=2),
                }
            )
        )
        request.action_submit()
        request.with_user(self.credit_manager).action_approve()
        self.assertEqual(request.sudo().application_state, "waiting")
        order = self.create_order(customer, 1500.0, user=self.salesman)
        # Refused, as asserted below (not assertRaises: its savepoint would undo the recorded refusal).
        with contextlib.suppress(UserError):
            self.confirm_as(order, self.salesman)
        self.assertEqual(order.credit_check_state, "blocked")
        Request = self.env["credit.limit.request"]
        with self.at(start):
            Request._cron_process_temporary_limits(batch_size=2)
        self.assertEqual(request.sudo().application_state, "applied")
        self.assertEqual(order.credit_check_state, "ready")
        with self.at(start + timedelta(days=3)):
            Request._cron_process_temporary_limits(batch_size=2)
        self.assertEqual(request.sudo().application_state, "ended")
        self.assertEqual(order.credit_check_state, "blocked")
        self.assertIn("1,000.00", order.credit_check_message)
