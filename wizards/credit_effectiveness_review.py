import base64
import io
from datetime import datetime, time, timedelta

import xlsxwriter
from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, format_date

from ..credit_policy.effectiveness import (
    WRITE_OFF_DAYS,
    OutcomeCounts,
    discrimination,
    grade_outcomes,
    manager_outcomes,
    override_summary,
)

# Models the review reads by SQL: their access rights are checked first.
READ_MODELS = ("credit.rating", "credit.approval", "credit.check", "account.move")
# Fields only Compute writes.
COMPUTED_ONLY = ("result", "review_date")


class CreditEffectivenessReview(models.TransientModel):
    """Policy-effectiveness review (效果评估): did the grades and the overrides predict who paid late?

    Definitions (also shown under the results):

    - **Ratings**: for each customer, its *latest* rating made in the period (date from/to) in
      the company; a customer rated several times counts once, with the rating the company
      acted on last, so no invoice is counted under two ratings.
    - **Later invoices** of a rating: the customer's posted invoices (``out_invoice``, the
      commercial partner's) dated after the rating date and within the horizon (days).
    - **Late** (beyond N days): the last payment reconciled with the invoice (not a credit
      note; the reconciliation's ``max_date``) came more than N days after its due date, or the
      invoice is still open and more than N days past due at the review date (today).
    - **Written off within 90 / 180 days**: a credit note was reconciled with the invoice by
      due date + 90 / 180 days, or part of it was still unpaid 90 / 180 days after its due date
      (only once those days have passed).
    - **Discrimination**: AUC and Gini of the rating score (higher = safer) against "the
      customer had a late invoice", over the ratings with later invoices.
    - **Overrides**: the company's invoices dated from the period start to its end plus the
      horizon, split by whether they invoice an order confirmed under an override (a credit
      check passed by approval, or an approved credit approval).
    - **Managers**: approvals decided in the period, per approver; the approved ones' orders'
      invoices and their late share.

    Every figure comes from a few grouped queries over the chosen company only, which must be
    one of the user's active companies.
    """

    _name = "credit.effectiveness.review"
    _description = "Policy Effectiveness Review"

    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        domain="[('id', 'in', allowed_company_ids)]",
    )
    date_from = fields.Date(
        string="Ratings From",
        required=True,
        default=lambda self: fields.Date.context_today(self) - relativedelta(years=1),
    )
    date_to = fields.Date(string="Ratings To", required=True, default=fields.Date.context_today)
    late_days = fields.Integer(
        aggregator=False,
        string="Late Beyond (days)",
        default=0,
        required=True,
        help="An invoice paid (or still open) more than this many days after its due date is late. "
        "0: any lateness.",
    )
    horizon_days = fields.Integer(
        aggregator=False,
        string="Horizon (days)",
        default=365,
        required=True,
        help="Invoices dated up to this many days after the rating count as its outcome.",
    )
    review_date = fields.Date(readonly=True, help="Date the figures were computed as of.")
    result = fields.Json(readonly=True)
    result_html = fields.Html(compute="_compute_result_html", sanitize=False, string="Results")
    has_result = fields.Boolean(compute="_compute_result_html")

    _sql_constraints = [
        ("late_days_positive", "CHECK(late_days >= 0)", "The late threshold cannot be negative."),
        ("horizon_positive", "CHECK(horizon_days > 0)", "The horizon must be at least one day."),
    ]

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends("date_from", "date_to")
    def _compute_display_name(self):
        for review in self:
            review.display_name = self.env._(
                "Policy Effectiveness %(start)s - %(end)s",
                start=format_date(self.env, review.date_from),
                end=format_date(self.env, review.date_to),
            )

    @api.depends("result")
    def _compute_result_html(self):
        for review in self:
            review.has_result = bool(review.result)
            review.result_html = (
                self.env["ir.qweb"]._render(
                    "sale_credit_control.credit_effectiveness_review_tables", {"v": review._report_values()}
                )
                if review.result
                else False
            )

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        # The figures come from Compute only, never from the caller (a printed review is evidence).
        for vals in vals_list:
            for name in COMPUTED_ONLY:
                vals.pop(name, None)
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.context.get("credit_effectiveness_computing"):
            if any(name in vals for name in COMPUTED_ONLY):
                raise UserError(self.env._("The review's figures are set by Compute only."))
            if vals:
                vals = dict(vals, result=False, review_date=False)  # changed parameters: stale figures
        return super().write(vals)

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_compute(self):
        self.ensure_one()
        self._check_review_access()
        if self.date_from > self.date_to:
            raise UserError(self.env._("The period starts after it ends."))
        review_date = fields.Date.context_today(self)
        self.with_context(credit_effectiveness_computing=True).write(
            {"review_date": review_date, "result": self._compute_review(review_date)}
        )
        return True

    def action_print_pdf(self):
        self.ensure_one()
        self._check_computed()
        return self.env.ref("sale_credit_control.credit_effectiveness_review_report").report_action(self)

    def action_export_xlsx(self):
        self.ensure_one()
        self._check_computed()
        attachment = self.env["ir.attachment"].create(
            {
                "name": self._xlsx_filename(),
                "datas": base64.b64encode(self._xlsx_content()),
                "res_model": self._name,
                "res_id": self.id,
                "mimetype": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            }
        )
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{attachment.id}?download=true",
            "target": "self",
        }

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _check_review_access(self):
        """Credit managers and auditors, in one of their active companies (the review reads by SQL)."""
        if self.env.su:
            return
        user = self.env.user
        if not (
            user.has_group("sale_credit_control.group_credit_manager")
            or user.has_group("sale_credit_control.group_credit_auditor")
        ):
            raise AccessError(self.env._("Only credit managers and auditors review the credit policy."))
        if self.company_id not in self.env.companies:
            raise AccessError(
                self.env._(
                    "You cannot review %(company)s: it is not one of your active companies.",
                    company=self.company_id.sudo().name,
                )
            )
        for model in READ_MODELS:
            self.env[model].check_access("read")

    def _check_computed(self):
        self._check_review_access()
        if not self.result:
            raise UserError(self.env._("Compute the review first."))

    def _compute_review(self, review_date):
        """All figures as plain data (stored on the wizard, rendered in the form, PDF and XLSX)."""
        self._flush_sources()
        ratings = self._query_ratings(review_date)
        grades = self._grade_order(ratings)
        per_grade_ratings, per_grade_outcomes = {}, {}
        for row in ratings:
            per_grade_ratings[row["grade"]] = per_grade_ratings.get(row["grade"], 0) + 1
            per_grade_outcomes[row["grade"]] = (
                per_grade_outcomes.get(row["grade"], OutcomeCounts()) + row["counts"]
            )
        lines, breaks = grade_outcomes(grades, per_grade_ratings, per_grade_outcomes)
        with_invoices = [row for row in ratings if row["counts"].invoices]
        score = discrimination(
            [row["score"] for row in with_invoices],
            [row["counts"].late > 0 for row in with_invoices],
            higher_is_riskier=False,
        )
        overrides = override_summary(*self._query_overrides(review_date))
        managers = manager_outcomes(self._query_managers(review_date))
        return {
            "model": self._model_comparison(review_date),
            "discrimination": {
                "ratings": len(ratings),
                "with_invoices": score.count,
                "late": score.late_count,
                "auc": score.auc,
                "gini": score.gini,
            },
            "grades": [
                dict(
                    grade=line.grade,
                    ratings=line.ratings,
                    breaks=line.breaks_monotonicity,
                    **self._counts_dict(line.outcomes),
                )
                for line in lines
            ],
            "breaks": [list(pair) for pair in breaks],
            "overrides": {
                "overridden": self._counts_dict(overrides.overridden),
                "rest": self._counts_dict(overrides.rest),
                "difference": overrides.late_share_difference,
            },
            "managers": [
                dict(
                    user_id=line.manager,
                    approved=line.approved,
                    rejected=line.rejected,
                    **self._counts_dict(line.outcomes),
                )
                for line in managers
            ],
        }

    @staticmethod
    def _counts_dict(counts):
        return {
            "invoices": counts.invoices,
            "late": counts.late,
            "written_off_90": counts.written_off_90,
            "written_off_180": counts.written_off_180,
            "late_share": counts.late_share,
            "written_off_90_share": counts.written_off_90_share,
            "written_off_180_share": counts.written_off_180_share,
        }

    def _grade_order(self, ratings):
        """Grade codes seen, best first: by the grade's minimum score (the scorecard's order, as
        ``credit.grade`` sorts), or, for a rating whose grade definition is gone, its score."""
        keys = {}
        for row in ratings:
            key = row["min_score"] if row["min_score"] is not None else row["score"]
            keys[row["grade"]] = max(keys.get(row["grade"], key), key)
        return sorted(keys, key=lambda code: (-keys[code], code))

    # ------------------------------------------------------------
    # PRIVATE: SQL
    # ------------------------------------------------------------

    def _flush_sources(self):
        self.env["credit.rating"].flush_model(
            ["partner_id", "company_id", "date", "score", "grade_id", "grade_code"]
        )
        self.env["credit.grade"].flush_model(["min_score"])
        self.env["credit.approval"].flush_model(
            ["order_id", "company_id", "state", "approver_id", "decision_date"]
        )
        self.env["credit.check"].flush_model(["order_id", "result"])
        self.env["sale.order"].flush_model(["company_id", "state"])
        self.env["sale.order.line"].flush_model(["order_id", "invoice_lines"])
        self.env["account.move"].flush_model(
            [
                "company_id",
                "move_type",
                "state",
                "commercial_partner_id",
                "invoice_date",
                "invoice_date_due",
                "amount_total_signed",
            ]
        )
        self.env["account.move.line"].flush_model(["move_id", "display_type"])
        self.env["account.partial.reconcile"].flush_model(
            ["debit_move_id", "credit_move_id", "amount", "max_date"]
        )

    def _outcome_sql(self, candidates, review_date):
        """Per invoice of ``candidates`` (SQL selecting move ids): late, written off in 90 / 180 days.

        The invoice's receivable lines (``payment_term``) are the debit side of its
        reconciliations; the credit side is a payment or a credit note (``out_refund``).
        """
        eps = self.company_id.currency_id.rounding / 2.0
        write_off = [
            SQL(
                """
                COALESCE(BOOL_OR(counter_move.move_type = 'out_refund'
                                 AND part.max_date <= move.invoice_date_due + %(days)s), FALSE)
                OR (move.invoice_date_due + %(days)s <= %(review)s
                    AND move.amount_total_signed - COALESCE(SUM(part.amount) FILTER (
                            WHERE part.max_date <= move.invoice_date_due + %(days)s), 0) > %(eps)s)
                """,
                days=days,
                review=review_date,
                eps=eps,
            )
            for days in WRITE_OFF_DAYS
        ]
        return SQL(
            """
            SELECT move.id AS move_id,
                   (COALESCE(MAX(part.max_date) FILTER (
                        WHERE counter_move.move_type IS DISTINCT FROM 'out_refund'), move.invoice_date_due)
                        > move.invoice_date_due + %(late_days)s
                    OR (move.amount_total_signed - COALESCE(SUM(part.amount) FILTER (
                            WHERE part.max_date <= %(review)s), 0) > %(eps)s
                        AND %(review)s > move.invoice_date_due + %(late_days)s)) AS late,
                   (%(write_off_90)s) AS written_off_90,
                   (%(write_off_180)s) AS written_off_180
              FROM account_move move
              JOIN account_move_line aml ON aml.move_id = move.id AND aml.display_type = 'payment_term'
         LEFT JOIN account_partial_reconcile part ON part.debit_move_id = aml.id
         LEFT JOIN account_move_line counterpart ON counterpart.id = part.credit_move_id
         LEFT JOIN account_move counter_move ON counter_move.id = counterpart.move_id
             WHERE move.id IN (%(candidates)s)
          GROUP BY move.id
            """,
            late_days=self.late_days,
            review=review_date,
            eps=eps,
            write_off_90=write_off[0],
            write_off_180=write_off[1],
            candidates=candidates,
        )

    @staticmethod
    def _counts_sql(alias):
        return SQL(
            """COUNT(%(move)s), COUNT(%(move)s) FILTER (WHERE %(late)s),
               COUNT(%(move)s) FILTER (WHERE %(wo90)s), COUNT(%(move)s) FILTER (WHERE %(wo180)s)""",
            move=SQL.identifier(alias, "move_id"),
            late=SQL.identifier(alias, "late"),
            wo90=SQL.identifier(alias, "written_off_90"),
            wo180=SQL.identifier(alias, "written_off_180"),
        )

    def _rated_moves_sql(self, review_date):
        """The CTEs ``rated`` (each customer's latest rating in the period) and ``rated_moves``
        (``rating_id, move_id``: its later invoices), for ``WITH %s, ...``."""
        return SQL(
            """
            rated AS (
                SELECT DISTINCT ON (rating.partner_id)
                       rating.id, rating.partner_id, rating.date, rating.score, rating.grade_code,
                       grade.min_score
                  FROM credit_rating rating
             LEFT JOIN credit_grade grade ON grade.id = rating.grade_id
                 WHERE rating.company_id = %(company)s
                   AND rating.date >= %(date_from)s AND rating.date <= %(date_to)s
              ORDER BY rating.partner_id, rating.date DESC, rating.id DESC
            ), rated_moves AS (
                SELECT rated.id AS rating_id, move.id AS move_id
                  FROM rated
                  JOIN account_move move ON move.commercial_partner_id = rated.partner_id
                 WHERE move.company_id = %(company)s
                   AND move.move_type = 'out_invoice'
                   AND move.state = 'posted'
                   AND move.invoice_date > rated.date
                   AND move.invoice_date <= rated.date + %(horizon)s
                   AND move.invoice_date <= %(review)s
            )
            """,
            company=self.company_id.id,
            date_from=self.date_from,
            date_to=self.date_to,
            horizon=self.horizon_days,
            review=review_date,
        )

    def _query_ratings(self, review_date):
        """One row per rated customer: its latest rating in the period and its later invoices' outcomes."""
        rows = self.env.execute_query(
            SQL(
                """
                WITH %(rated)s, outcome AS (%(outcome)s)
                SELECT rated.id, rated.score, rated.grade_code, rated.min_score, %(counts)s
                  FROM rated
             LEFT JOIN rated_moves ON rated_moves.rating_id = rated.id
             LEFT JOIN outcome ON outcome.move_id = rated_moves.move_id
              GROUP BY rated.id, rated.score, rated.grade_code, rated.min_score
              ORDER BY rated.id
                """,
                rated=self._rated_moves_sql(review_date),
                outcome=self._outcome_sql(SQL("SELECT move_id FROM rated_moves"), review_date),
                counts=self._counts_sql("outcome"),
            )
        )
        return [
            {
                "rating_id": rating_id,
                "score": score or 0.0,
                "grade": grade,
                "min_score": min_score,
                "counts": OutcomeCounts(*counts),
            }
            for rating_id, score, grade, min_score, *counts in rows
        ]

    def _overridden_orders_sql(self):
        return SQL(
            """
            SELECT so.id
              FROM sale_order so
             WHERE so.company_id = %(company)s
               AND so.state = 'sale'
               AND (EXISTS (SELECT 1 FROM credit_check chk
                             WHERE chk.order_id = so.id AND chk.result = 'approved')
                    OR EXISTS (SELECT 1 FROM credit_approval appr
                                WHERE appr.order_id = so.id AND appr.state = 'approved'))
            """,
            company=self.company_id.id,
        )

    def _query_overrides(self, review_date):
        """Outcomes of the invoices of overridden orders, and of all other invoices of the window."""
        rows = self.env.execute_query(
            SQL(
                """
                WITH overridden_orders AS (%(overridden)s),
                period_moves AS (
                    SELECT move.id AS move_id,
                           EXISTS (SELECT 1
                                     FROM account_move_line line
                                     JOIN sale_order_line_invoice_rel rel ON rel.invoice_line_id = line.id
                                     JOIN sale_order_line sol ON sol.id = rel.order_line_id
                                     JOIN overridden_orders ON overridden_orders.id = sol.order_id
                                    WHERE line.move_id = move.id) AS overridden
                      FROM account_move move
                     WHERE move.company_id = %(company)s
                       AND move.move_type = 'out_invoice'
                       AND move.state = 'posted'
                       AND move.invoice_date >= %(date_from)s
                       AND move.invoice_date <= %(date_stop)s
                ), outcome AS (%(outcome)s)
                SELECT period_moves.overridden, %(counts)s
                  FROM period_moves
                  JOIN outcome ON outcome.move_id = period_moves.move_id
              GROUP BY period_moves.overridden
                """,
                overridden=self._overridden_orders_sql(),
                company=self.company_id.id,
                date_from=self.date_from,
                date_stop=min(self.date_to + timedelta(days=self.horizon_days), review_date),
                outcome=self._outcome_sql(SQL("SELECT move_id FROM period_moves"), review_date),
                counts=self._counts_sql("outcome"),
            )
        )
        found = {overridden: OutcomeCounts(*counts) for overridden, *counts in rows}
        return found.get(True, OutcomeCounts()), found.get(False, OutcomeCounts())

    def _query_managers(self, review_date):
        """Per approver: approvals approved / rejected in the period; the approved orders' invoices."""
        rows = self.env.execute_query(
            SQL(
                """
                WITH decided AS (
                    SELECT appr.approver_id, appr.state, appr.order_id
                      FROM credit_approval appr
                     WHERE appr.company_id = %(company)s
                       AND appr.state IN ('approved', 'rejected')
                       AND appr.approver_id IS NOT NULL
                       AND appr.decision_date >= %(start)s AND appr.decision_date < %(stop)s
                ), approved_moves AS (
                    SELECT DISTINCT decided.approver_id, line.move_id
                      FROM decided
                      JOIN sale_order_line sol ON sol.order_id = decided.order_id
                      JOIN sale_order_line_invoice_rel rel ON rel.order_line_id = sol.id
                      JOIN account_move_line line ON line.id = rel.invoice_line_id
                      JOIN account_move move ON move.id = line.move_id
                     WHERE decided.state = 'approved'
                       AND move.move_type = 'out_invoice'
                       AND move.state = 'posted'
                ), outcome AS (%(outcome)s),
                decisions AS (
                    SELECT approver_id,
                           COUNT(*) FILTER (WHERE state = 'approved') AS approved,
                           COUNT(*) FILTER (WHERE state = 'rejected') AS rejected
                      FROM decided
                  GROUP BY approver_id
                ), results AS (
                    SELECT approved_moves.approver_id, %(counts)s
                      FROM approved_moves
                      JOIN outcome ON outcome.move_id = approved_moves.move_id
                  GROUP BY approved_moves.approver_id
                )
                SELECT decisions.approver_id, decisions.approved, decisions.rejected,
                       results.count, results.late, results.written_off_90, results.written_off_180
                  FROM decisions
             LEFT JOIN results ON results.approver_id = decisions.approver_id
              ORDER BY decisions.approver_id
                """,
                company=self.company_id.id,
                start=datetime.combine(self.date_from, time.min),
                stop=datetime.combine(self.date_to + timedelta(days=1), time.min),
                outcome=self._outcome_sql(SQL("SELECT move_id FROM approved_moves"), review_date),
                counts=SQL(
                    "COUNT(outcome.move_id) AS count,"
                    " COUNT(outcome.move_id) FILTER (WHERE outcome.late) AS late,"
                    " COUNT(outcome.move_id) FILTER (WHERE outcome.written_off_90) AS written_off_90,"
                    " COUNT(outcome.move_id) FILTER (WHERE outcome.written_off_180) AS written_off_180"
                ),
            )
        )
        return [
            (approver_id, approved, rejected, OutcomeCounts(*(value or 0 for value in counts)))
            for approver_id, approved, rejected, *counts in rows
        ]

    # ------------------------------------------------------------
    # PRIVATE: rendering (form, PDF, XLSX share these values)
    # ------------------------------------------------------------

    def _report_values(self):
        """The stored result with labels in the reader's language and shares formatted."""
        self.ensure_one()
        result = self.result or {}
        user_names = {
            user.id: user.name
            for user in self.env["res.users"]
            .sudo()
            .browse([line["user_id"] for line in result.get("managers", [])])
            .exists()
        }
        return {
            "review": self,
            "result": result,
            "pct": self._format_share,
            "ratio": self._format_ratio,
            "user_names": user_names,
            "period": self.env._(
                "%(start)s to %(end)s",
                start=format_date(self.env, self.date_from),
                end=format_date(self.env, self.date_to),
            ),
            "review_date": format_date(self.env, self.review_date),
            "write_off_days": WRITE_OFF_DAYS,
        }

    @staticmethod
    def _format_share(value):
        return "-" if value is None else f"{value * 100:.1f}%"

    @staticmethod
    def _format_ratio(value):
        return "-" if value is None else f"{value:.3f}"

    def _xlsx_filename(self):
        return self.env._(
            "Policy Effectiveness %(company)s %(start)s %(end)s.xlsx",
            company=self.company_id.name,
            start=self.date_from,
            end=self.date_to,
        )

    def _xlsx_content(self):
        """One sheet per table: Discrimination, Grades, Overrides, Managers (shares as % formats)."""
        values = self._report_values()
        result = values["result"]
        _ = self.env._
        buffer = io.BytesIO()
        workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
        bold = workbook.add_format({"bold": True})
        percent = workbook.add_format({"num_format": "0.0%"})
        ratio = workbook.add_format({"num_format": "0.000"})

        def write_table(sheet, header, rows, formats):
            sheet.write_row(0, 0, header, bold)
            for row_index, row in enumerate(rows, start=1):
                for col, value in enumerate(row):
                    if value is None:
                        sheet.write_blank(row_index, col, None)
                    else:
                        sheet.write(row_index, col, value, formats.get(col))
            sheet.freeze_panes(1, 0)
            sheet.autofilter(0, 0, max(len(rows), 1), len(header) - 1)
            sheet.set_column(0, len(header) - 1, 16)

        counts_header = [
            self.env._("Invoices"),
            self.env._("Late"),
            self.env._("Late Share"),
            self.env._("Written Off %(days)s d", days=WRITE_OFF_DAYS[0]),
            self.env._("Written Off %(days)s d Share", days=WRITE_OFF_DAYS[0]),
            self.env._("Written Off %(days)s d", days=WRITE_OFF_DAYS[1]),
            self.env._("Written Off %(days)s d Share", days=WRITE_OFF_DAYS[1]),
        ]

        def counts_row(counts):
            return [
                counts["invoices"],
                counts["late"],
                counts["late_share"],
                counts["written_off_90"],
                counts["written_off_90_share"],
                counts["written_off_180"],
                counts["written_off_180_share"],
            ]

        disc = result["discrimination"]
        sheet = workbook.add_worksheet(self.env._("Discrimination"))
        write_table(
            sheet,
            [
                self.env._("Company"),
                self.env._("Ratings From"),
                self.env._("Ratings To"),
                self.env._("Late Beyond (days)"),
                self.env._("Horizon (days)"),
                self.env._("Review Date"),
                self.env._("Ratings"),
                self.env._("Ratings With Invoices"),
                self.env._("Customers Late"),
                self.env._("AUC"),
                self.env._("Gini"),
            ],
            [
                [
                    self.company_id.name,
                    str(self.date_from),
                    str(self.date_to),
                    self.late_days,
                    self.horizon_days,
                    str(self.review_date),
                    disc["ratings"],
                    disc["with_invoices"],
                    disc["late"],
                    disc["auc"],
                    disc["gini"],
                ]
            ],
            {9: ratio, 10: ratio},
        )
        # counts_row puts shares at offsets 2, 4 and 6
        share_cols = {2, 4, 6}
        sheet = workbook.add_worksheet(self.env._("Grades"))
        write_table(
            sheet,
            [self.env._("Grade"), self.env._("Ratings"), *counts_header, self.env._("Breaks Monotonicity")],
            [
                [
                    line["grade"],
                    line["ratings"],
                    *counts_row(line),
                    self.env._("Yes") if line["breaks"] else self.env._("No"),
                ]
                for line in result["grades"]
            ],
            {col + 2: percent for col in share_cols},
        )
        sheet = workbook.add_worksheet(self.env._("Overrides"))
        overrides = result["overrides"]
        write_table(
            sheet,
            [self.env._("Invoices Of"), *counts_header],
            [
                [self.env._("Orders Confirmed Under an Override"), *counts_row(overrides["overridden"])],
                [self.env._("All Other Invoices"), *counts_row(overrides["rest"])],
            ],
            {col + 1: percent for col in share_cols},
        )
        sheet = workbook.add_worksheet(self.env._("Managers"))
        write_table(
            sheet,
            [self.env._("Manager"), self.env._("Approved"), self.env._("Rejected"), *counts_header],
            [
                [
                    values["user_names"].get(line["user_id"], str(line["user_id"])),
                    line["approved"],
                    line["rejected"],
                    *counts_row(line),
                ]
                for line in result["managers"]
            ],
            {col + 3: percent for col in share_cols},
        )
        if "model" in result:
            header, rows, formats = self._xlsx_model_table(ratio)
            write_table(workbook.add_worksheet(self.env._("Model vs Scorecard")), header, rows, formats)
        workbook.close()
        return buffer.getvalue()
