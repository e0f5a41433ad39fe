import os
import tempfile
from collections import defaultdict, namedtuple
from datetime import datetime, time, timedelta

import xlsxwriter
from dateutil.relativedelta import relativedelta
from xlsxwriter.utility import xl_col_to_name

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL, format_date

from ..credit_policy.aging import aging_from_sums
from ..reports.credit_profile_report import ACTIVITY_MONTHS

# Who may export the portfolio (the ACL of the wizard says the same).
EXPORT_GROUPS = "sale_credit_control.group_credit_manager,sale_credit_control.group_credit_auditor"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Cell formats by column kind (xlsxwriter properties).
CELL_FORMATS = {
    "text": {},
    "money": {"num_format": "#,##0.00"},
    "percent": {"num_format": "0.0%"},
    "number": {"num_format": "0.00"},
    "integer": {"num_format": "0"},
    "date": {"num_format": "yyyy-mm-dd"},
    "datetime": {"num_format": "yyyy-mm-dd hh:mm"},
}
# A row of the Exposure sheet's query (``_query_profile_rows``).
ProfileRow = namedtuple(
    "ProfileRow",
    "partner_id name vat salesperson team country mode partner_limit limit_currency_id limit_amount_currency "
    "on_hold review_date grade score rating_date",
)
# Column widths by kind (characters).
COLUMN_WIDTHS = {
    "text": 18,
    "money": 15,
    "percent": 11,
    "number": 9,
    "integer": 9,
    "date": 12,
    "datetime": 17,
}


class Column:
    """One column of a sheet: header, kind (a key of ``CELL_FORMATS``), width, and what the totals
    row shows under it: ``"sum"`` (``SUBTOTAL(9, ...)``) or ``"count"`` (``SUBTOTAL(3, ...)``),
    both over the rows the autofilter shows; nothing when ``None``."""

    __slots__ = ("header", "kind", "width", "total")

    def __init__(self, header, kind="text", width=None, total=None):
        self.header = header
        self.kind = kind
        self.width = width or COLUMN_WIDTHS[kind]
        self.total = total


class CreditPortfolioExport(models.TransientModel):
    """The portfolio workbook (XLSX) of a company's credit profiles, for accountants.

    Five sheets: *Exposure* (one row per customer), *Aging*, *Approvals*, *Limit changes* and
    *Ratings* (distribution by grade). The profiles are found by one search with the user's
    rights (record rules included: only the user's companies); every sheet is then filled from
    grouped queries for the whole portfolio (``credit.profile._exposure_figures``,
    ``_query_aging``, one query per sheet), never a read per customer, and written by
    xlsxwriter in ``constant_memory`` mode to a temporary file: rows go to disk as they are
    written. The workbook is stored as an attachment of the wizard and downloaded.
    """

    _name = "credit.portfolio.export"
    _description = "Credit Portfolio Workbook"
    _check_company_auto = True

    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        domain="[('id', 'in', allowed_company_ids)]",
    )
    date = fields.Date(string="As Of", required=True, default=fields.Date.context_today)
    user_id = fields.Many2one(
        "res.users", string="Salesperson", check_company=True, help="Only the customers of this salesperson."
    )
    team_id = fields.Many2one(
        "crm.team",
        string="Sales Team",
        check_company=True,
        help="Only the customers whose salesperson's main sales team is this one.",
    )
    grade_id = fields.Many2one(
        "credit.grade",
        check_company=True,
        help="Only the customers whose current rating has this grade (by its code).",
    )
    country_id = fields.Many2one("res.country")
    only_over_limit = fields.Boolean(
        help="Customers whose exposure on the date exceeds their total capacity."
    )
    only_on_hold = fields.Boolean()
    only_overdue = fields.Boolean(help="Customers with overdue receivables on the date.")
    only_review_due = fields.Boolean(help="Customers whose next review date is on or before the date.")

    @api.depends("date")
    def _compute_display_name(self):
        for wizard in self:
            wizard.display_name = self.env._(
                "Credit Portfolio as of %(date)s",
                date=format_date(self.env, wizard.date) if wizard.date else "",
            )

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_export(self):
        """Write the workbook, store it as an attachment of the wizard and download it."""
        self.ensure_one()
        attachment = self._create_workbook_attachment()
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{attachment.id}?download=true",
            "target": "download",
        }

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _check_export_access(self):
        if not self.env.su and not self.env.user.has_groups(EXPORT_GROUPS):
            raise AccessError(
                self.env._("Only credit managers and credit auditors export the credit portfolio.")
            )
        if not self.env.su and self.company_id not in self.env.user.company_ids:
            raise AccessError(
                self.env._(
                    "You cannot export the credit portfolio of %(company)s.", company=self.company_id.name
                )
            )

    def _create_workbook_attachment(self):
        self.ensure_one()
        self._check_export_access()
        handle, path = tempfile.mkstemp(prefix="credit_portfolio_", suffix=".xlsx")
        os.close(handle)
        try:
            self._write_workbook(path)
            with open(path, "rb") as workbook_file:
                content = workbook_file.read()
        finally:
            os.unlink(path)
        return self.env["ir.attachment"].create(
            {
                "name": self._workbook_filename(),
                "raw": content,
                "mimetype": XLSX_MIMETYPE,
                "res_model": self._name,
                "res_id": self.id,
            }
        )

    def _workbook_filename(self):
        return self.env._(
            "Credit Portfolio %(company)s %(date)s.xlsx",
            company=self.company_id.name,
            date=self.date.isoformat(),
        )

    def _profile_domain(self):
        """The profiles the filters select, but those on figures (over limit, overdue)."""
        domain = [("company_id", "=", self.company_id.id)]
        if self.user_id:
            domain.append(("partner_id.user_id", "=", self.user_id.id))
        if self.team_id:
            domain.append(("partner_id.user_id.sale_team_id", "=", self.team_id.id))
        if self.grade_id:
            domain.append(("rating_id.grade_code", "=", self.grade_id.code))
        if self.country_id:
            domain.append(("partner_id.country_id", "=", self.country_id.id))
        if self.only_on_hold:
            domain.append(("on_hold", "=", True))
        if self.only_review_due:
            domain += [("review_date", "!=", False), ("review_date", "<=", self.date)]
        return domain

    def _write_workbook(self, path):
        """The whole workbook into the file ``path``."""
        # Searched with the user's rights: the record rules keep other companies out.
        profiles = self.env["credit.profile"].search(self._profile_domain(), order="id")
        workbook = xlsxwriter.Workbook(path, {"constant_memory": True, "in_memory": False})
        try:
            styles = {kind: workbook.add_format(props) for kind, props in CELL_FORMATS.items()}
            styles["header"] = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top"})
            styles["total_label"] = workbook.add_format({"bold": True})
            styles.update(
                {
                    f"total_{kind}": workbook.add_format({**props, "bold": True})
                    for kind, props in CELL_FORMATS.items()
                }
            )
            customers, by_grade = self._write_exposure_sheet(workbook, styles, profiles)
            self._write_aging_sheet(workbook, styles, customers)
            partner_ids = [partner_id for partner_id, _name, _vat in customers]
            self._write_approvals_sheet(workbook, styles, partner_ids)
            self._write_limit_changes_sheet(workbook, styles, partner_ids)
            self._write_ratings_sheet(workbook, styles, by_grade)
        finally:
            workbook.close()

    # ------------------------------------------------------------
    # SHEETS
    # ------------------------------------------------------------

    def _write_exposure_sheet(self, workbook, styles, profiles):
        """One row per customer profile; returns the customers written, as ``[(partner id, name,
        VAT)]`` in their order, and ``{grade code: [customers, exposure, score sum, scored]}``."""
        _ = self.env._
        company, as_of = self.company_id, self.date
        profile_model = self.env["credit.profile"]
        labels = profile_model._credit_part_labels()
        part_codes = profile_model._credit_exposure_part_codes(company)
        capacity_codes = [code for code, _query in profile_model._credit_capacity_parts(company)]
        money = company.currency_id.name
        mode_labels = dict(profile_model._fields["mode"]._description_selection(self.env))

        def label(code):
            text = labels.get(code, code)
            return text[:1].upper() + text[1:]

        columns = [
            Column(self.env._("Customer"), width=32),
            Column(self.env._("VAT")),
            Column(self.env._("Salesperson")),
            Column(self.env._("Sales Team")),
            Column(self.env._("Country")),
            Column(self.env._("Credit Mode"), width=12),
            Column(self.env._("Credit Limit (%(currency)s)", currency=money), "money", total="sum"),
            *(Column(f"{label(code)} ({money})", "money", total="sum") for code in part_codes),
            *(Column(f"{label(code)} ({money})", "money", total="sum") for code in capacity_codes),
            Column(self.env._("Total Capacity (%(currency)s)", currency=money), "money", total="sum"),
            Column(self.env._("Exposure (%(currency)s)", currency=money), "money", total="sum"),
            Column(self.env._("Available Credit (%(currency)s)", currency=money), "money", total="sum"),
            Column(self.env._("Utilization"), "percent"),
            Column(self.env._("Overdue Amount (%(currency)s)", currency=money), "money", total="sum"),
            Column(self.env._("Oldest Days Overdue"), "integer"),
            Column(self.env._("Grade"), width=8),
            Column(self.env._("Score"), "number"),
            Column(self.env._("Rated On"), "date"),
            Column(self.env._("On Hold"), width=9),
            Column(self.env._("Next Review"), "date"),
        ]
        sheet = self._add_sheet(workbook, styles, self.env._("Exposure"), columns)
        write_row = self._row_writer(sheet, styles, columns)
        rows = self._query_profile_rows(profiles)
        limit_rates = self._limit_rates(rows)
        partners = self.env["res.partner"].browse([row[0] for row in rows])
        figures = profile_model._exposure_figures(partners, company, as_of)
        yes, no = self.env._("Yes"), self.env._("No")
        customers = []
        by_grade = defaultdict(lambda: [0, 0.0, 0.0, 0])
        for row in map(ProfileRow._make, rows):
            figure = figures[row.partner_id]
            exposure = figure["exposure"]
            rate = limit_rates.get(row.limit_currency_id)
            limit = row.partner_limit or 0.0
            if row.limit_currency_id and row.mode == "limit" and row.limit_amount_currency and rate:
                limit = row.limit_amount_currency * rate
            capacity_parts = dict(figure["capacity_parts"])
            capacity = limit + sum(capacity_parts.values()) if limit else 0.0
            total = exposure.total
            if self.only_over_limit and not (limit and row.mode == "limit" and total > capacity):
                continue
            if self.only_overdue and not figure["overdue_amount"] > 0:
                continue
            parts = dict(exposure.parts)
            values = [
                row.name,
                row.vat,
                row.salesperson,
                row.team,
                row.country,
                mode_labels.get(row.mode, row.mode),
                limit,
                *(parts.get(code, 0.0) for code in part_codes),
                *(capacity_parts.get(code, 0.0) for code in capacity_codes),
                capacity,
                total,
                capacity - total if limit else None,
                total / capacity if capacity else None,
                figure["overdue_amount"],
                figure["overdue_days"],
                row.grade,
                row.score if row.grade else None,
                row.rating_date,
                yes if row.on_hold else no,
                row.review_date,
            ]
            customers.append((row.partner_id, row.name, row.vat))
            write_row(len(customers), values)
            grade = by_grade[row.grade or ""]
            grade[0] += 1
            grade[1] += total
            if row.grade:
                grade[2] += row.score or 0.0
                grade[3] += 1
        self._finish_sheet(sheet, styles, columns, len(customers))
        return customers, by_grade

    def _write_aging_sheet(self, workbook, styles, customers):
        """The open receivables of each customer in the company's aging buckets on the date
        (one grouped query); a customer's total is its receivables on the Exposure sheet."""
        _ = self.env._
        company, as_of = self.company_id, self.date
        edges = company._credit_aging_edges()
        sums = self.env["credit.profile"]._query_aging(
            tuple(partner_id for partner_id, _name, _vat in customers) or (0,), company, as_of, edges
        )
        convert = self._amount_converter()
        report = self.env["report.sale_credit_control.report_credit_profile"]
        buckets = aging_from_sums({}, edges).buckets
        money = company.currency_id.name
        columns = [
            Column(self.env._("Customer"), width=32),
            Column(self.env._("VAT")),
            *(Column(f"{report._aging_label(bucket)} ({money})", "money", total="sum") for bucket in buckets),
            Column(self.env._("Total (%(currency)s)", currency=money), "money", total="sum"),
            Column(self.env._("Overdue (%(currency)s)", currency=money), "money", total="sum"),
        ]
        sheet = self._add_sheet(workbook, styles, self.env._("Aging"), columns)
        write_row = self._row_writer(sheet, styles, columns)
        # ``aging_from_sums`` per customer, unrolled: the buckets are the database's indexes (0 for
        # not due), the total sums every bucket and the overdue amount all but the first, in order.
        empty = {}
        count = len(buckets)
        for row, (partner_id, name, vat) in enumerate(customers, start=1):
            amounts = [0.0] * count
            for index, by_currency in sums.get(partner_id, empty).items():
                amounts[index] += convert(by_currency)
            write_row(row, [name, vat, *amounts, sum(amounts), sum(amounts[1:])])
        self._finish_sheet(sheet, styles, columns, len(customers))

    def _write_approvals_sheet(self, workbook, styles, partner_ids):
        """Override approvals requested in the 12 months up to the date (one query)."""
        _ = self.env._
        approval_model = self.env["credit.approval"]
        since, until = self._activity_period()
        approvals = approval_model._search(
            [
                ("company_id", "=", self.company_id.id),
                ("partner_id", "in", partner_ids),
                ("request_date", ">=", since),
                ("request_date", "<", until),
            ]
        )
        approval_model.flush_model()
        self.env["sale.order"].flush_model(["name"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT approval.name, sale.name, customer.name, requester.name, approval.state,
                       approver.name, approval.request_date, approval.decision_date, approval.valid_until,
                       currency.name, approval.snapshot_order_amount, approval.approved_amount,
                       approval.snapshot_limit, approval.snapshot_exposure_before,
                       approval.snapshot_exposure_after, approval.request_reason, approval.decision_reason
                  FROM credit_approval approval
                  JOIN sale_order sale ON sale.id = approval.order_id
                  JOIN res_partner customer ON customer.id = approval.partner_id
                  JOIN res_users requester_user ON requester_user.id = approval.requested_by_id
                  JOIN res_partner requester ON requester.id = requester_user.partner_id
             LEFT JOIN res_users approver_user ON approver_user.id = approval.approver_id
             LEFT JOIN res_partner approver ON approver.id = approver_user.partner_id
                  JOIN res_currency currency ON currency.id = approval.order_currency_id
                 WHERE approval.id IN %(approvals)s
              ORDER BY approval.request_date, approval.id
                """,
                approvals=approvals.subselect(),
            )
        )
        money = self.company_id.currency_id.name
        # Order amounts are in each order's currency: summed only when they share one.
        one_currency = len({row[9] for row in rows}) <= 1
        states = dict(approval_model._fields["state"]._description_selection(self.env))
        columns = [
            Column(self.env._("Reference"), width=14),
            Column(self.env._("Order"), width=14, total="count"),
            Column(self.env._("Customer"), width=32),
            Column(self.env._("Requested By")),
            Column(self.env._("State"), width=11),
            Column(self.env._("Decided By")),
            Column(self.env._("Requested On"), "datetime"),
            Column(self.env._("Decided On"), "datetime"),
            Column(self.env._("Valid Until"), "date"),
            Column(self.env._("Order Currency"), width=9),
            Column(self.env._("Order Total"), "money", total="sum" if one_currency else None),
            Column(self.env._("Approved Amount"), "money", total="sum" if one_currency else None),
            Column(self.env._("Credit Limit (%(currency)s)", currency=money), "money"),
            Column(self.env._("Exposure Before Order (%(currency)s)", currency=money), "money"),
            Column(self.env._("Exposure After Order (%(currency)s)", currency=money), "money"),
            Column(self.env._("Request Reason"), width=40),
            Column(self.env._("Decision Reason"), width=40),
        ]
        sheet = self._add_sheet(workbook, styles, self.env._("Approvals"), columns)
        for index, row in enumerate(rows, start=1):
            values = list(row)
            values[4] = states.get(row[4], row[4])
            values[6] = self._local_datetime(row[6])
            values[7] = self._local_datetime(row[7])
            self._write_row(sheet, styles, columns, index, values)
        self._finish_sheet(sheet, styles, columns, len(rows))

    def _write_limit_changes_sheet(self, workbook, styles, partner_ids):
        """Changes of the customers' credit settings in the 12 months up to the date (one query)."""
        _ = self.env._
        history_model = self.env["credit.limit.history"]
        since, until = self._activity_period()
        changes = history_model._search(
            [
                ("company_id", "=", self.company_id.id),
                ("partner_id", "in", partner_ids),
                ("date", ">=", since),
                ("date", "<", until),
            ]
        )
        history_model.flush_model()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT change.date, customer.name, change.field_name, change.old_value, change.new_value,
                       old_currency.name, change.old_limit_amount, new_currency.name, change.new_limit_amount,
                       author.name, change.reason
                  FROM credit_limit_history change
                  JOIN res_partner customer ON customer.id = change.partner_id
                  JOIN res_users author_user ON author_user.id = change.user_id
                  JOIN res_partner author ON author.id = author_user.partner_id
             LEFT JOIN res_currency old_currency ON old_currency.id = change.old_limit_currency_id
             LEFT JOIN res_currency new_currency ON new_currency.id = change.new_limit_currency_id
                 WHERE change.id IN %(changes)s
              ORDER BY change.date, change.id
                """,
                changes=changes.subselect(),
            )
        )
        settings = dict(history_model._fields["field_name"]._description_selection(self.env))
        columns = [
            Column(self.env._("Date"), "datetime"),
            Column(self.env._("Customer"), width=32, total="count"),
            Column(self.env._("Setting")),
            Column(self.env._("Old Value")),
            Column(self.env._("New Value")),
            Column(self.env._("Old Limit Currency"), width=9),
            Column(self.env._("Old Limit"), "money"),
            Column(self.env._("New Limit Currency"), width=9),
            Column(self.env._("New Limit"), "money"),
            Column(self.env._("Changed By")),
            Column(self.env._("Reason"), width=40),
        ]
        sheet = self._add_sheet(workbook, styles, self.env._("Limit changes"), columns)
        for index, row in enumerate(rows, start=1):
            values = list(row)
            values[0] = self._local_datetime(row[0])
            values[2] = settings.get(row[2], row[2])
            if not row[5]:  # not a limit set in a currency: no typed amounts
                values[6] = values[8] = None
            self._write_row(sheet, styles, columns, index, values)
        self._finish_sheet(sheet, styles, columns, len(rows))

    def _write_ratings_sheet(self, workbook, styles, by_grade):
        """The customers of the Exposure sheet by current grade: count, share, exposure, score."""
        _ = self.env._
        money = self.company_id.currency_id.name
        grades = self.env["credit.grade"].search(
            [("company_id", "in", (False, self.company_id.id))], order="min_score desc, id"
        )
        rank = {}
        for grade in grades:
            rank.setdefault(grade.code, len(rank))
        customers = sum(values[0] for values in by_grade.values())
        exposure = sum(values[1] for values in by_grade.values())
        columns = [
            Column(self.env._("Grade"), width=12),
            Column(self.env._("Customers"), "integer", total="sum"),
            Column(self.env._("Share of Customers"), "percent", total="sum"),
            Column(self.env._("Exposure (%(currency)s)", currency=money), "money", total="sum"),
            Column(self.env._("Share of Exposure"), "percent", total="sum"),
            Column(self.env._("Average Score"), "number"),
        ]
        sheet = self._add_sheet(workbook, styles, self.env._("Ratings"), columns)
        ordered = sorted(by_grade, key=lambda code: (not code, rank.get(code, len(rank)), code))
        for index, code in enumerate(ordered, start=1):
            count, grade_exposure, score_sum, scored = by_grade[code]
            values = [
                code or self.env._("Not Rated"),
                count,
                count / customers if customers else 0.0,
                grade_exposure,
                grade_exposure / exposure if exposure else 0.0,
                score_sum / scored if scored else None,
            ]
            self._write_row(sheet, styles, columns, index, values)
        self._finish_sheet(sheet, styles, columns, len(ordered))

    # ------------------------------------------------------------
    # PRIVATE
    # ------------------------------------------------------------

    def _query_profile_rows(self, profiles):
        """What the Exposure sheet shows of each profile and its customer, in one query ordered
        by customer name: tuples of ``ProfileRow``'s fields. The limit is Odoo's company-dependent
        ``credit_limit`` of the customer (its default included), as the profile reads it."""
        company = self.company_id
        for model_name, names in (
            (
                "credit.profile",
                [
                    "partner_id",
                    "company_id",
                    "mode",
                    "limit_currency_id",
                    "limit_amount_currency",
                    "on_hold",
                    "review_date",
                    "rating_id",
                ],
            ),
            ("res.partner", ["name", "vat", "user_id", "country_id"]),
            ("credit.rating", ["grade_code", "score", "date"]),
            ("res.users", ["partner_id", "sale_team_id"]),
        ):
            self.env[model_name].flush_model(names)
        # The profile gives read access to its limit (as its own compute does, in sudo).
        limit = self.env["res.partner"].sudo().with_company(company)._field_to_sql("customer", "credit_limit")
        return self.env.execute_query(
            SQL(
                """
                SELECT profile.partner_id, customer.name, customer.vat, salesperson.name AS salesperson,
                       %(team)s AS team, %(country)s AS country, profile.mode, %(limit)s AS partner_limit,
                       profile.limit_currency_id, profile.limit_amount_currency, profile.on_hold,
                       profile.review_date, rating.grade_code AS grade, rating.score,
                       rating.date AS rating_date
                  FROM credit_profile profile
                  JOIN res_partner customer ON customer.id = profile.partner_id
             LEFT JOIN res_users seller ON seller.id = customer.user_id
             LEFT JOIN res_partner salesperson ON salesperson.id = seller.partner_id
             LEFT JOIN crm_team team ON team.id = seller.sale_team_id
             LEFT JOIN res_country country ON country.id = customer.country_id
             LEFT JOIN credit_rating rating ON rating.id = profile.rating_id
                 WHERE profile.id = ANY(%(profiles)s)
              ORDER BY customer.name, profile.id
                """,
                team=self.env["crm.team"]._field_to_sql("team", "name"),
                country=self.env["res.country"]._field_to_sql("country", "name"),
                limit=limit,
                profiles=profiles.ids,
            )
        )

    def _limit_rates(self, rows):
        """``{currency id: rate}`` on the date of the limits set in another currency (one query,
        none when every limit is in the company currency)."""
        currency_ids = {row[8] for row in rows if row[8]}
        if not currency_ids:
            return {}
        currencies = self.env["res.currency"].browse(sorted(currency_ids))
        return self.env["credit.profile"]._credit_limit_rates(currencies, self.company_id, self.date)

    def _activity_period(self):
        """The 12 months up to and including the date, as UTC datetimes ``[since, until)``."""
        since = self.date - relativedelta(months=ACTIVITY_MONTHS)
        return datetime.combine(since, time.min), datetime.combine(self.date + timedelta(days=1), time.min)

    def _local_datetime(self, value):
        """A stored UTC datetime in the user's time zone, naive (what a spreadsheet shows)."""
        if not value:
            return None
        return fields.Datetime.context_timestamp(self, value).replace(tzinfo=None)

    @api.model
    def _add_sheet(self, workbook, styles, name, columns):
        sheet = workbook.add_worksheet(name)
        for index, column in enumerate(columns):
            sheet.set_column(index, index, column.width)
        sheet.set_row(0, 30)
        for index, column in enumerate(columns):
            sheet.write_string(0, index, column.header, styles["header"])
        sheet.freeze_panes(1, 0)
        return sheet

    def _amount_converter(self):
        """``credit.profile._converter`` of the company on the date, with the same sums, but
        adding amounts in the company currency without a ``res.currency`` per call (it runs for
        every bucket of every customer); other currencies go through the profile's converter."""
        company = self.company_id
        company_currency_id = company.currency_id.id
        convert_other = self.env["credit.profile"]._converter(company, self.date)

        def convert(amounts_by_currency):
            total = 0.0
            for currency_id, amount in amounts_by_currency.items():
                if not amount:
                    continue
                if currency_id == company_currency_id:
                    total += amount
                else:
                    total += convert_other({currency_id: amount})
            return total

        return convert

    @api.model
    def _row_writer(self, sheet, styles, columns):
        """``write(row, values)``: ``_write_row`` for a sheet's columns, with each column's
        xlsxwriter method and format looked up once per sheet instead of once per cell."""
        plan = []
        for index, column in enumerate(columns):
            kind = column.kind
            if kind in ("date", "datetime"):
                plan.append((index, sheet.write_datetime, styles[kind], False))
            elif kind == "text":
                plan.append((index, sheet.write_string, None, True))
            else:
                plan.append((index, sheet.write_number, styles[kind], False))

        def write(row, values):
            for (index, method, style, text), value in zip(plan, values, strict=True):
                if value is None or value is False or value == "":
                    continue
                if text:
                    method(row, index, str(value))
                else:
                    method(row, index, value, style)

        return write

    @api.model
    def _write_row(self, sheet, styles, columns, row, values):
        for index, (column, value) in enumerate(zip(columns, values, strict=True)):
            if value is None or value is False or value == "":
                continue
            kind = column.kind
            if kind in ("date", "datetime"):
                sheet.write_datetime(row, index, value, styles[kind])
            elif kind == "text":
                sheet.write_string(row, index, str(value))
            else:
                sheet.write_number(row, index, value, styles[kind])

    @api.model
    def _finish_sheet(self, sheet, styles, columns, count):
        """Autofilter over the header and the ``count`` rows; below them, a totals row of
        ``SUBTOTAL`` formulas (sums or counts of the rows the filter shows)."""
        last_col = len(columns) - 1
        sheet.autofilter(0, 0, max(count, 1), last_col)
        if not count:
            return
        total_row = count + 1
        sheet.write_string(total_row, 0, self.env._("Total"), styles["total_label"])
        for index, column in enumerate(columns):
            if not column.total or index == 0:
                continue
            letter = xl_col_to_name(index)
            function, style = (
                (9, styles[f"total_{column.kind}"]) if column.total == "sum" else (3, styles["total_integer"])
            )
            sheet.write_formula(
                total_row, index, f"=SUBTOTAL({function},{letter}2:{letter}{count + 1})", style
            )
