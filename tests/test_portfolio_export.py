import contextlib
import difflib
import io
from unittest.mock import patch

import openpyxl

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.sql_db import Cursor
from odoo.tests import Form, new_test_user, tagged

from .common import CreditControlCommon

SHEETS = ["Exposure", "Aging", "Approvals", "Limit changes", "Ratings"]


@tagged("post_install", "-at_install")
class TestPortfolioExport(CreditControlCommon):
    """The portfolio workbook (XLSX): sheets, figures, totals, filters, rights, query budget."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.money = cls.company.currency_id.name
        cls.profile_of(cls.customer)
        # The salesperson of the customer over its limit is in a sales team of its own.
        cls.team = cls.env["crm.team"].create(
            {
                "name": "Portfolio Team",
                "company_id": cls.company.id,
                "member_ids": [Command.set(cls.salesman.ids)],
            }
        )
        cls.accountant = new_test_user(
            cls.env,
            login="scc_export_accountant",
            groups="account.group_account_invoice,sale_credit_control.group_credit_auditor",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        # Over its limit (1,000) and overdue: 800 overdue for 40 days, 500 not due, 300 ordered.
        cls.over = cls._customer("Portfolio Over Ltd", cls.salesman, 1000.0, vat="BE0477472701")
        cls.create_invoice(cls.over, 800.0, days_ago=40)
        cls.create_invoice(cls.over, 150.0, days_ago=70, move_type="out_refund")  # a credit note, 61-90
        cls.create_invoice(cls.over, 500.0, days_ago=0)
        cls._confirmed_order(cls.over, 300.0)
        # Within its limit (5,000), nothing overdue, on hold.
        cls.within = cls._customer("Portfolio Within Ltd", cls.salesman_2, 5000.0)
        cls.create_invoice(cls.within, 1000.0, days_ago=0)
        cls._confirmed_order(cls.within, 200.0)
        cls.profile_of(cls.within).with_user(cls.credit_manager)._put_on_hold("Disputed delivery")
        # The other company's customer: never in the workbook.
        cls.company_b = cls.setup_other_company(name="Portfolio Company B")["company"]
        cls.foreign = cls.env["res.partner"].create({"name": "Other Company Customer", "is_company": True})
        cls.profile_of(cls.foreign, company=cls.company_b)
        # A rating and an approved override for the customer over its limit.
        engine = cls.env["credit.rating.engine"].with_user(cls.credit_manager)
        cls.rating = engine._rate_partners(cls.over, cls.company)
        blocked = cls.create_order(cls.over, 700.0, user=cls.salesman)
        # Refused, as asserted below (not assertRaises: its savepoint would undo the recorded refusal).
        with contextlib.suppress(UserError):
            blocked.with_user(cls.salesman).action_confirm()
        assert blocked.credit_check_state == "blocked", blocked.credit_check_state
        wizard = Form(
            cls.env["credit.approval.request"]
            .with_user(cls.salesman)
            .with_context(default_order_id=blocked.id)
        )
        wizard.reason = "Seasonal peak"
        wizard.save().action_request()
        cls.approval = blocked.credit_approval_ids
        cls.approval.with_user(cls.credit_manager).action_approve()

    @classmethod
    def _customer(cls, name, salesperson, limit, **vals):
        partner = cls.env["res.partner"].create(
            {"name": name, "is_company": True, "user_id": salesperson.id, **vals}
        )
        cls.set_limit(partner, limit)
        cls.profile_of(partner)
        return partner

    @classmethod
    def _confirmed_order(cls, partner, amount):
        order = cls.create_order(partner, amount)
        cls.company.credit_control_enabled = False
        order.action_confirm()
        cls.company.credit_control_enabled = True
        return order

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    def _export(self, user=None, **filters):
        env = self.env(user=user or self.accountant)
        wizard = env["credit.portfolio.export"].create(filters)
        action = wizard.action_export()
        self.assertEqual(action["type"], "ir.actions.act_url")
        attachment_id = int(action["url"].split("/web/content/")[1].split("?")[0])
        self.assertTrue(action["url"].endswith("?download=true"))
        attachment = env["ir.attachment"].browse(attachment_id)
        self.assertEqual((attachment.res_model, attachment.res_id), (wizard._name, wizard.id))
        return openpyxl.load_workbook(io.BytesIO(attachment.raw))

    @staticmethod
    def _rows(sheet):
        """``{first cell: {header: value}}`` of the data rows (the totals row left out)."""
        rows = list(sheet.iter_rows(values_only=True))
        header = rows[0]
        return {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:] if row[0] != "Total"}

    def _count_queries(self, func):
        """The number of queries ``func`` makes (flushes included) and their beginnings."""
        queries = []
        execute = Cursor.execute

        def logged(cursor, query, params=None, log_exceptions=True):
            queries.append(" ".join(str(query).split())[:150])
            return execute(cursor, query, params, log_exceptions)

        self.env.flush_all()
        self.env.invalidate_all()
        count0 = self.cr.sql_log_count
        with patch.object(Cursor, "execute", logged):
            func()
            self.env.flush_all()
        return self.cr.sql_log_count - count0, queries

    # ------------------------------------------------------------
    # Sheets
    # ------------------------------------------------------------

    def test_sheets_layout(self):
        book = self._export()
        self.assertEqual(book.sheetnames, SHEETS)
        for sheet in book.worksheets:
            self.assertEqual(sheet.freeze_panes, "A2", sheet.title)
            self.assertTrue(all(cell.font.b for cell in sheet[1]), sheet.title)
            last_column = openpyxl.utils.get_column_letter(sheet.max_column)
            # The data rows (rows may share their first cell: limit changes at the same time).
            data_rows = sum(1 for row in sheet.iter_rows(min_row=2, values_only=True) if row[0] != "Total")
            self.assertEqual(sheet.auto_filter.ref, f"A1:{last_column}{data_rows + 1}", sheet.title)
            # The totals row right below the data: SUBTOTAL formulas over the data rows.
            totals = [cell.value for cell in sheet[data_rows + 2]]
            self.assertEqual(totals[0], "Total", sheet.title)
            formulas = [value for value in totals[1:] if value is not None]
            self.assertTrue(formulas, sheet.title)
            for formula in formulas:
                self.assertRegex(formula, rf"^=SUBTOTAL\((9|3),[A-Z]+2:[A-Z]+{data_rows + 1}\)$", sheet.title)
        exposure = book["Exposure"]
        self.assertEqual(exposure["G2"].number_format, "#,##0.00")
        headers = [cell.value for cell in exposure[1]]
        self.assertEqual(exposure.cell(2, headers.index("Utilization") + 1).number_format, "0.0%")

    def test_exposure_sheet(self):
        book = self._export()
        rows = self._rows(book["Exposure"])
        self.assertEqual(set(rows), {"Portfolio Over Ltd", "Portfolio Within Ltd", "Credit Customer"})
        headers = [cell.value for cell in book["Exposure"][1]]
        money = self.money
        self.assertEqual(
            headers[:9],
            [
                "Customer",
                "VAT",
                "Salesperson",
                "Sales Team",
                "Country",
                "Credit Mode",
                f"Credit Limit ({money})",
                f"Open receivables ({money})",
                f"Confirmed uninvoiced orders ({money})",
            ],
        )
        for partner in (self.over, self.within):
            profile = self.profile_of(partner)
            row = rows[partner.name]
            self.assertEqual(row["Salesperson"], partner.user_id.name)
            self.assertAlmostEqual(row[f"Credit Limit ({money})"], profile.credit_limit, places=2)
            self.assertAlmostEqual(row[f"Open receivables ({money})"], profile.receivable_amount, places=2)
            self.assertAlmostEqual(
                row[f"Confirmed uninvoiced orders ({money})"], profile.uninvoiced_order_amount, places=2
            )
            self.assertAlmostEqual(row[f"Total Capacity ({money})"], profile.capacity_amount, places=2)
            self.assertAlmostEqual(row[f"Exposure ({money})"], profile.exposure_amount, places=2)
            self.assertAlmostEqual(row[f"Available Credit ({money})"], profile.available_amount, places=2)
            self.assertAlmostEqual(row["Utilization"], profile.utilization / 100, places=4)
            self.assertAlmostEqual(row[f"Overdue Amount ({money})"], profile.overdue_amount, places=2)
            self.assertEqual(row["Grade"], profile.grade_code or None)
        over = rows["Portfolio Over Ltd"]
        self.assertEqual(over["VAT"], "BE0477472701")
        self.assertEqual(self.salesman.sale_team_id, self.team)
        self.assertEqual(over["Sales Team"], "Portfolio Team")
        self.assertAlmostEqual(over[f"Open receivables ({money})"], 1150.0, places=2)
        self.assertAlmostEqual(over[f"Exposure ({money})"], 1450.0, places=2)
        self.assertAlmostEqual(over[f"Available Credit ({money})"], -450.0, places=2)
        self.assertAlmostEqual(over["Utilization"], 1.45, places=4)
        self.assertAlmostEqual(over[f"Overdue Amount ({money})"], 800.0, places=2)
        self.assertEqual(over["Oldest Days Overdue"], 40)
        self.assertEqual(over["Grade"], self.rating.grade_code)
        self.assertAlmostEqual(over["Score"], self.rating.score, places=2)
        self.assertEqual(over["On Hold"], "No")
        self.assertEqual(rows["Portfolio Within Ltd"]["On Hold"], "Yes")
        self.assertEqual(rows["Portfolio Within Ltd"]["Credit Mode"], "Credit Limit")

    def test_aging_sheet_adds_up_to_the_receivables(self):
        book = self._export()
        rows = self._rows(book["Aging"])
        money = self.money
        headers = [cell.value for cell in book["Aging"][1]]
        buckets = [
            f"{label} ({money})"
            for label in ("Not Due", "1-30 Days", "31-60 Days", "61-90 Days", "91-120 Days", "Over 120 Days")
        ]
        self.assertEqual(headers, ["Customer", "VAT", *buckets, f"Total ({money})", f"Overdue ({money})"])
        over = rows["Portfolio Over Ltd"]
        self.assertEqual([over[bucket] or 0.0 for bucket in buckets], [500.0, 0.0, 800.0, -150.0, 0.0, 0.0])
        for partner in (self.over, self.within):
            row = rows[partner.name]
            receivables = self.profile_of(partner).receivable_amount
            self.assertAlmostEqual(row[f"Total ({money})"], receivables, places=2)
            self.assertAlmostEqual(sum(row[bucket] or 0.0 for bucket in buckets), receivables, places=2)

    def test_approvals_limit_changes_and_ratings_sheets(self):
        book = self._export()
        approvals = self._rows(book["Approvals"])
        self.assertEqual(set(approvals), {self.approval.name})
        row = approvals[self.approval.name]
        self.assertEqual(row["Order"], self.approval.order_id.name)
        self.assertEqual(row["Customer"], "Portfolio Over Ltd")
        self.assertEqual(row["Requested By"], self.salesman.name)
        self.assertEqual(row["Decided By"], self.credit_manager.name)
        self.assertEqual(row["State"], "Approved")
        self.assertAlmostEqual(row["Order Total"], 700.0, places=2)
        self.assertAlmostEqual(row["Approved Amount"], self.approval.approved_amount, places=2)
        self.assertAlmostEqual(
            row[f"Exposure Before Order ({self.money})"], self.approval.snapshot_exposure_before, places=2
        )
        self.assertTrue(row["Requested On"])
        # The limits given at creation are in the settings history.
        history = self.env["credit.limit.history"].search(
            [
                ("partner_id", "in", (self.over | self.within | self.customer).ids),
                ("company_id", "=", self.company.id),
            ]
        )
        self.assertTrue(history)
        changes = list(book["Limit changes"].iter_rows(min_row=2, values_only=True))
        self.assertEqual(len([row for row in changes if row[0] != "Total"]), len(history))
        self.assertIn(("Portfolio Over Ltd", "Credit Limit"), {(row[1], row[2]) for row in changes})
        # Ratings: one row per grade, and the unrated customers.
        ratings = self._rows(book["Ratings"])
        exposure = self._rows(book["Exposure"])
        self.assertEqual(ratings[self.rating.grade_code]["Customers"], 1)
        self.assertEqual(ratings["Not Rated"]["Customers"], 2)
        self.assertAlmostEqual(ratings["Not Rated"]["Share of Customers"], 2 / 3, places=4)
        self.assertAlmostEqual(
            ratings[self.rating.grade_code][f"Exposure ({self.money})"],
            exposure["Portfolio Over Ltd"][f"Exposure ({self.money})"],
            places=2,
        )
        self.assertAlmostEqual(sum(row["Share of Exposure"] for row in ratings.values()), 1.0, places=4)

    # ------------------------------------------------------------
    # Filters
    # ------------------------------------------------------------

    def test_filters_reduce_the_rows(self):
        everyone = set(self._rows(self._export()["Exposure"]))
        self.assertEqual(len(everyone), 3)
        for filters, expected in (
            ({"only_over_limit": True}, {"Portfolio Over Ltd"}),
            ({"only_overdue": True}, {"Portfolio Over Ltd"}),
            ({"only_on_hold": True}, {"Portfolio Within Ltd"}),
            ({"user_id": self.salesman_2.id}, {"Portfolio Within Ltd"}),
            ({"team_id": self.team.id}, {"Portfolio Over Ltd"}),
            ({"grade_id": self.rating.grade_id.id}, {"Portfolio Over Ltd"}),
        ):
            book = self._export(**filters)
            self.assertEqual(set(self._rows(book["Exposure"])), expected, filters)
            self.assertEqual(set(self._rows(book["Aging"])), expected, filters)
        # The approvals follow the customers kept.
        book = self._export(user_id=self.salesman_2.id)
        self.assertEqual(self._rows(book["Approvals"]), {})
        self.assertEqual(book["Approvals"].max_row, 1)  # no totals row without rows

    # ------------------------------------------------------------
    # Rights
    # ------------------------------------------------------------

    def test_other_company_absent(self):
        # Even a manager of both companies gets only the chosen company's customers.
        self.credit_manager.company_ids |= self.company_b
        for user in (self.accountant, self.credit_manager):
            book = self._export(user=user)
            for sheet in book.worksheets:
                names = {cell for row in sheet.iter_rows(values_only=True) for cell in row}
                self.assertNotIn("Other Company Customer", names, (user.login, sheet.title))
        # ... and that company's workbook has its own customers only.
        book = self._export(user=self.credit_manager, company_id=self.company_b.id)
        self.assertEqual(set(self._rows(book["Exposure"])), {"Other Company Customer"})
        with self.assertRaises(AccessError):
            self._export(user=self.accountant, company_id=self.company_b.id)

    def test_salesperson_cannot_export(self):
        with self.assertRaises(AccessError):
            self.env["credit.portfolio.export"].with_user(self.salesman).create({})
        wizard = self.env["credit.portfolio.export"].with_user(self.accountant).create({})
        with self.assertRaises(AccessError):
            wizard.with_user(self.salesman).action_export()

    # ------------------------------------------------------------
    # Query budget
    # ------------------------------------------------------------

    def test_query_count_constant_in_customers(self):
        self._export()  # warm the caches

        def export():
            self._export()

        small_count, small_queries = self._count_queries(export)
        for index in range(4):
            partner = self._customer(f"Portfolio Extra {index}", self.salesman, 2000.0)
            self.create_invoice(partner, 100.0 + index, days_ago=35 * index)
            self._confirmed_order(partner, 50.0)
        self.env["credit.rating.engine"].with_user(self.credit_manager)._rate_partners(
            self.within, self.company
        )
        large_count, large_queries = self._count_queries(export)
        self.assertEqual(len(self._rows(self._export()["Exposure"])), 7)
        self.assertEqual(
            large_count,
            small_count,
            "\n".join(difflib.unified_diff(small_queries, large_queries, lineterm="")),
        )
