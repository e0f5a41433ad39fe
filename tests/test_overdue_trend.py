from datetime import timedelta

from dateutil.relativedelta import relativedelta

from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import CreditControlCommon


@tagged("post_install", "-at_install")
class TestOverdueTrend(CreditControlCommon):
    """The dashboard's overdue trend (``credit.overdue.trend``), rebuilt from invoices and payments.

    ``cls.customer``: an invoice of 1000 dated and due 90 days ago, paid 400 on the day 45 days
    ago; an invoice of 250 due 10 days ago; an invoice of 300 due 400 days ago, paid in full 380
    days ago (open at none of the dates shown: absent). ``cls.other_customer``: an invoice of 70 in the second
    company.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.invoice_1000 = cls.create_invoice(cls.customer, 1000.0, days_ago=90)
        cls.paid_on = cls.today - timedelta(days=45)
        cls.pay_on(cls.invoice_1000, 400.0, cls.paid_on)
        cls.invoice_250 = cls.create_invoice(cls.customer, 250.0, days_ago=10)
        settled = cls.create_invoice(cls.customer, 300.0, days_ago=400)
        cls.pay_on(settled, 300.0, cls.today - timedelta(days=380))
        cls.company_2 = cls.setup_other_company(name="Trend Company B")["company"]
        cls.other_customer = cls.env["res.partner"].create({"name": "Other Company Customer"})
        cls.other_invoice = cls.init_invoice(
            "out_invoice",
            partner=cls.other_customer,
            invoice_date=cls.today - timedelta(days=60),
            amounts=[70.0],
            taxes=[],
            company=cls.company_2,
        )
        cls.other_invoice.invoice_payment_term_id = cls.env.ref("account.account_payment_term_immediate")
        cls.other_invoice.action_post()

    @classmethod
    def pay_on(cls, invoice, amount, payment_date):
        wizard = (
            cls.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create({"payment_date": payment_date, "amount": amount})
        )
        wizard._create_payments()

    def expected_overdue(self, as_of):
        """(overdue, overdue over 30 days, invoices) of ``cls.customer`` at ``as_of``, by hand."""
        due_1000 = self.today - timedelta(days=90)
        due_250 = self.today - timedelta(days=10)
        amount = amount_30 = 0.0
        count = 0
        if due_1000 < as_of:
            open_1000 = 600.0 if as_of >= self.paid_on else 1000.0
            amount += open_1000
            amount_30 += open_1000 if due_1000 < as_of - timedelta(days=30) else 0.0
            count += 1
        if due_250 < as_of:
            amount += 250.0
            amount_30 += 250.0 if due_250 < as_of - timedelta(days=30) else 0.0
            count += 1
        return amount, amount_30, count

    def trend_rows(self, user=None, partner=None):
        model = self.env["credit.overdue.trend"].with_user(user or self.credit_manager)
        return model.search([("partner_id", "=", (partner or self.customer).id)])

    def test_dates_are_today_and_the_last_twelve_month_ends(self):
        first_of_month = self.today.replace(day=1)
        expected = {self.today} | {
            first_of_month - relativedelta(months=n) - timedelta(days=1) for n in range(12)
        }
        shown = set(self.env["credit.overdue.trend"].with_user(self.credit_manager).search([]).mapped("date"))
        self.assertTrue(shown <= expected)
        self.assertIn(self.today, shown)

    def test_amounts_follow_the_invoices_and_payments_at_each_date(self):
        rows = self.trend_rows()
        self.assertTrue(rows)
        first_of_month = self.today.replace(day=1)
        dates = {self.today} | {
            first_of_month - relativedelta(months=n) - timedelta(days=1) for n in range(12)
        }
        expected = {date: self.expected_overdue(date) for date in dates if self.expected_overdue(date)[0]}
        self.assertEqual(
            {
                row.date: (row.overdue_amount, row.overdue_30_amount, row.overdue_invoice_count)
                for row in rows
            },
            expected,
        )
        # Today: 600 left of the first invoice and the second one.
        today_row = rows.filtered(lambda row: row.date == self.today)
        self.assertEqual(today_row.overdue_amount, 850.0)
        self.assertEqual(today_row.currency_id, self.company.currency_id)

    def test_payment_entered_late_rewrites_the_history(self):
        """A payment recorded today but dated in the past lowers the dates after its date."""
        self.pay_on(self.invoice_250, 250.0, self.today - timedelta(days=1))
        today_row = self.trend_rows().filtered(lambda row: row.date == self.today)
        self.assertEqual(today_row.overdue_amount, 600.0)
        self.assertEqual(today_row.overdue_invoice_count, 1)

    def test_other_company_is_not_shown(self):
        self.assertFalse(self.trend_rows(partner=self.other_customer))
        other_rows = (
            self.env["credit.overdue.trend"].sudo().search([("partner_id", "=", self.other_customer.id)])
        )
        self.assertEqual(set(other_rows.mapped("company_id")), {self.company_2})

    def test_auditor_reads_and_salesperson_cannot(self):
        self.assertTrue(self.trend_rows(user=self.auditor))
        with self.assertRaises(AccessError):
            self.trend_rows(user=self.salesman)
