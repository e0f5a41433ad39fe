from datetime import timedelta

from odoo import api, models
from odoo.tools import SQL

from ..credit_policy.behaviour import TREND_WINDOW_DAYS, PaymentAggregates, PaymentBehaviour
from ..credit_policy.factors import factor_values, financial_ratios

#: Statement figures read for the ratios and the recommended limit.
STATEMENT_FIGURES = (
    "revenue",
    "total_assets",
    "total_liabilities",
    "current_assets",
    "current_liabilities",
    "equity",
    "net_profit",
)


class CreditRatingEngineFacts(models.AbstractModel):
    """The facts the scorecard rates a batch of customers on, gathered set-based: one
    grouped query per metric group (payments, open items, balances, statements, bureau
    scores, countries) for the whole batch, whatever its size and the customers' history."""

    _inherit = "credit.rating.engine"

    #: Paid invoices older than this many days before the rating date no longer count.
    _lookback_days = 730
    #: DSO and sales volume look back over this many days.
    _sales_period_days = 365

    # ------------------------------------------------------------
    # FACTS (set-based)
    # ------------------------------------------------------------

    @api.model
    def _customer_facts(self, partner_ids, company, as_of, country_risks=None):
        """Everything the scorecard needs about commercial ``partner_ids`` in ``company`` as of ``as_of``.

        ``country_risks`` (``{partner_id: CountryRisk}``, see ``_query_country_risks``) gives the
        country risk factor its value, the class of the customer's country; without it, or for a
        customer whose country has no class, the factor is missing.

        Returns ``{partner_id: {"aggregates", "behaviour", "values", "open_amount",
        "first_invoice_date", "sales_volume", "relationship_years", "has_statement",
        "revenue", "equity", "recent_late_share", "previous_late_share"}}``;
        ``revenue`` and ``equity`` are ``{currency_id: amount}`` for the converter.
        """
        partner_ids = tuple(partner_ids) or (0,)
        paid = self._query_paid(partner_ids, company, as_of)
        open_items = self._query_open_items(partner_ids, company, as_of)
        balances = self._query_balances(partner_ids, company, as_of)
        statements = self._query_statements(partner_ids, company, as_of)
        bureau = self._query_bureau_scores(partner_ids, company, as_of)
        result = {}
        for partner_id in partner_ids:
            paid_row = paid.get(partner_id, {})
            open_row = open_items.get(partner_id, {})
            balance_row = balances.get(partner_id, {})
            oldest_due = open_row.get("oldest_due")
            aggregates = PaymentAggregates(
                paid_amount=paid_row.get("paid_amount", 0.0),
                amount_days_late=paid_row.get("amount_days_late", 0.0),
                late_amount=paid_row.get("late_amount", 0.0),
                max_days_late=paid_row.get("max_days_late", 0),
                overdue_amount=open_row.get("overdue_amount", 0.0),
                max_days_overdue=(as_of - oldest_due).days if oldest_due else 0,
                receivables=balance_row.get("receivables", 0.0),
                sales_in_period=max(0.0, balance_row.get("sales", 0.0)),
                period_days=self._sales_period_days,
                recent_paid=paid_row.get("recent_paid", 0.0),
                recent_late=paid_row.get("recent_late", 0.0),
                previous_paid=paid_row.get("previous_paid", 0.0),
                previous_late=paid_row.get("previous_late", 0.0),
            )
            behaviour = PaymentBehaviour.from_aggregates(aggregates)
            statement = statements.get(partner_id)
            ratios = (
                financial_ratios(**{name: statement[name] for name in STATEMENT_FIGURES})
                if statement
                else None
            )
            first_invoice_date = balance_row.get("first_invoice_date")
            sales_volume = max(0.0, balance_row.get("sales", 0.0))
            values = factor_values(
                behaviour,
                open_amount=open_row.get("open_amount", 0.0),
                first_invoice_date=first_invoice_date,
                as_of=as_of,
                sales_volume=sales_volume,
                ratios=ratios,
                bureau_score=bureau.get(partner_id),
                country_risk=country_risks[partner_id].risk_class
                if country_risks and partner_id in country_risks
                else None,
            )
            currency_id = statement["currency_id"] if statement else None
            result[partner_id] = {
                "aggregates": aggregates,
                "behaviour": behaviour,
                "values": values,
                "open_amount": open_row.get("open_amount", 0.0),
                "first_invoice_date": first_invoice_date,
                "sales_volume": sales_volume,
                "has_statement": bool(statement),
                "revenue": self._figure(statement, "revenue", currency_id),
                "equity": self._figure(statement, "equity", currency_id),
                "recent_late_share": self._share(aggregates.recent_late, aggregates.recent_paid),
                "previous_late_share": self._share(aggregates.previous_late, aggregates.previous_paid),
            }
        return result

    @staticmethod
    def _figure(statement, name, currency_id):
        """``{currency_id: amount}`` for the converter, or ``None`` when the figure is missing."""
        if not statement or statement[name] is None:
            return None
        return {currency_id: statement[name]}

    @staticmethod
    def _share(part, whole):
        return part / whole if whole else None

    def _receivable_lines_sql(self):
        """FROM/WHERE fragment shared by the behaviour queries: posted receivable lines of the batch."""
        return SQL(
            """
                  JOIN account_move move ON move.id = aml.move_id
                  JOIN account_account account ON account.id = aml.account_id
                  JOIN res_partner partner ON partner.id = aml.partner_id
            """
        )

    def _flush_accounting(self):
        self.env["account.move.line"].flush_model(
            [
                "move_id",
                "partner_id",
                "company_id",
                "account_id",
                "balance",
                "date",
                "date_maturity",
                "parent_state",
                "reconciled",
            ]
        )
        self.env["account.move"].flush_model(["move_type", "state", "invoice_date", "company_id"])
        self.env["account.partial.reconcile"].flush_model(
            ["debit_move_id", "credit_move_id", "amount", "max_date"]
        )
        self.env["account.account"].flush_model(["account_type"])
        self.env["res.partner"].flush_model(["commercial_partner_id"])

    @api.model
    def _query_paid(self, partner_ids, company, as_of):
        """Payments of invoices by ``as_of`` (over the look-back), amount-weighted by partial reconciliation.

        Each partial reconciliation between an invoice's receivable line (debit side)
        and a payment or other credit (not a credit note) pays ``amount`` on
        ``max_date``; it is late by ``max_date - date_maturity`` days when positive.
        """
        self._flush_accounting()
        recent = as_of - timedelta(days=TREND_WINDOW_DAYS)
        previous = as_of - timedelta(days=2 * TREND_WINDOW_DAYS)
        rows = self.env.execute_query(
            SQL(
                """
                SELECT partner.commercial_partner_id,
                       SUM(part.amount),
                       SUM(part.amount * GREATEST(part.max_date - aml.date_maturity, 0)),
                       COALESCE(SUM(part.amount) FILTER (WHERE part.max_date > aml.date_maturity), 0),
                       COALESCE(MAX(part.max_date - aml.date_maturity), 0),
                       COALESCE(SUM(part.amount) FILTER (WHERE part.max_date > %(recent)s), 0),
                       COALESCE(SUM(part.amount) FILTER (
                           WHERE part.max_date > %(recent)s AND part.max_date > aml.date_maturity), 0),
                       COALESCE(SUM(part.amount) FILTER (
                           WHERE part.max_date > %(previous)s AND part.max_date <= %(recent)s), 0),
                       COALESCE(SUM(part.amount) FILTER (
                           WHERE part.max_date > %(previous)s AND part.max_date <= %(recent)s
                             AND part.max_date > aml.date_maturity), 0)
                  FROM account_partial_reconcile part
                  JOIN account_move_line aml ON aml.id = part.debit_move_id
                  %(lines)s
                  JOIN account_move_line counterpart ON counterpart.id = part.credit_move_id
                  JOIN account_move counter_move ON counter_move.id = counterpart.move_id
                 WHERE partner.commercial_partner_id IN %(partners)s
                   AND aml.company_id = %(company)s
                   AND account.account_type = 'asset_receivable'
                   AND move.move_type = 'out_invoice'
                   AND aml.parent_state = 'posted'
                   AND counter_move.move_type != 'out_refund'
                   AND part.max_date <= %(as_of)s
                   AND part.max_date > %(since)s
              GROUP BY partner.commercial_partner_id
                """,
                lines=self._receivable_lines_sql(),
                partners=partner_ids,
                company=company.id,
                as_of=as_of,
                since=as_of - timedelta(days=self._lookback_days),
                recent=recent,
                previous=previous,
            )
        )
        keys = (
            "paid_amount",
            "amount_days_late",
            "late_amount",
            "max_days_late",
            "recent_paid",
            "recent_late",
            "previous_paid",
            "previous_late",
        )
        result = {}
        for partner_id, *figures in rows:
            row = dict(zip(keys, figures, strict=True))
            row["max_days_late"] = max(0, int(row["max_days_late"] or 0))
            result[partner_id] = row
        return result

    @api.model
    def _query_open_items(self, partner_ids, company, as_of):
        """Invoice amounts still open at ``as_of``: invoiced by then, not settled by then.

        An invoice's receivable line is open by its amount minus the partial
        reconciliations dated on or before ``as_of``; it is overdue when its due
        date is before ``as_of``. Lines fully reconciled by ``as_of`` are skipped early.
        """
        self._flush_accounting()
        rows = self.env.execute_query(
            SQL(
                """
                WITH open_lines AS (
                    SELECT partner.commercial_partner_id AS partner_id,
                           aml.date_maturity,
                           aml.balance - COALESCE((
                               SELECT SUM(part.amount) FROM account_partial_reconcile part
                                WHERE part.debit_move_id = aml.id AND part.max_date <= %(as_of)s), 0)
                               AS open_amount
                      FROM account_move_line aml
                      %(lines)s
                     WHERE partner.commercial_partner_id IN %(partners)s
                       AND aml.company_id = %(company)s
                       AND account.account_type = 'asset_receivable'
                       AND move.move_type = 'out_invoice'
                       AND aml.parent_state = 'posted'
                       AND aml.balance > 0
                       AND aml.date <= %(as_of)s
                       AND (aml.reconciled IS NOT TRUE OR EXISTS (
                           SELECT 1 FROM account_partial_reconcile later
                            WHERE later.debit_move_id = aml.id AND later.max_date > %(as_of)s))
                )
                SELECT partner_id,
                       SUM(open_amount),
                       COALESCE(SUM(open_amount) FILTER (WHERE date_maturity < %(as_of)s), 0),
                       MIN(date_maturity) FILTER (WHERE date_maturity < %(as_of)s)
                  FROM open_lines
                 WHERE open_amount > 0
              GROUP BY partner_id
                """,
                lines=self._receivable_lines_sql(),
                partners=partner_ids,
                company=company.id,
                as_of=as_of,
            )
        )
        return {
            partner_id: {"open_amount": open_amount, "overdue_amount": overdue, "oldest_due": oldest_due}
            for partner_id, open_amount, overdue, oldest_due in rows
        }

    @api.model
    def _query_balances(self, partner_ids, company, as_of):
        """Receivable balance at ``as_of`` (for DSO), invoiced sales of the period and first invoice date."""
        self._flush_accounting()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT partner.commercial_partner_id,
                       SUM(aml.balance),
                       COALESCE(SUM(aml.balance) FILTER (
                           WHERE move.move_type IN ('out_invoice', 'out_refund')
                             AND aml.date > %(period_start)s), 0),
                       MIN(aml.date) FILTER (WHERE move.move_type = 'out_invoice')
                  FROM account_move_line aml
                  %(lines)s
                 WHERE partner.commercial_partner_id IN %(partners)s
                   AND aml.company_id = %(company)s
                   AND account.account_type = 'asset_receivable'
                   AND aml.parent_state = 'posted'
                   AND aml.date <= %(as_of)s
              GROUP BY partner.commercial_partner_id
                """,
                lines=self._receivable_lines_sql(),
                partners=partner_ids,
                company=company.id,
                as_of=as_of,
                period_start=as_of - timedelta(days=self._sales_period_days),
            )
        )
        return {
            partner_id: {"receivables": receivables, "sales": sales, "first_invoice_date": first}
            for partner_id, receivables, sales, first in rows
        }

    @api.model
    def _query_statements(self, partner_ids, company, as_of):
        """The latest financial statement of each customer whose period ended by ``as_of``."""
        self.env["credit.financial.statement"].flush_model(
            ["partner_id", "company_id", "currency_id", "period_end", *STATEMENT_FIGURES]
        )
        columns = SQL(", ").join(SQL.identifier("statement", name) for name in STATEMENT_FIGURES)
        rows = self.env.execute_query_dict(
            SQL(
                """
                SELECT DISTINCT ON (statement.partner_id)
                       statement.partner_id, statement.currency_id, %(columns)s
                  FROM credit_financial_statement statement
                 WHERE statement.company_id = %(company)s
                   AND statement.partner_id IN %(partners)s
                   AND statement.period_end <= %(as_of)s
              ORDER BY statement.partner_id, statement.period_end DESC, statement.id DESC
                """,
                columns=columns,
                company=company.id,
                partners=partner_ids,
                as_of=as_of,
            )
        )
        return {row["partner_id"]: row for row in rows}

    @api.model
    def _query_country_risks(self, partner_ids, company):
        """``{partner_id: CountryRisk}``: the country risk row of each customer's country in
        ``company`` (customers whose country has no active row are left out).

        The company's table comes from the registry cache; the customers' countries take one
        query for the batch, none when the company has no country risk rows.
        """
        table = self.env["credit.country.risk"].sudo()._country_risk_table(company.id)
        if not table or not partner_ids:
            return {}
        self.env["res.partner"].flush_model(["country_id"])
        rows = self.env.execute_query(
            SQL(
                "SELECT id, country_id FROM res_partner WHERE id IN %s AND country_id IN %s",
                tuple(partner_ids),
                tuple(table),
            )
        )
        return {partner_id: table[country_id] for partner_id, country_id in rows}

    @api.model
    def _query_bureau_scores(self, partner_ids, company, as_of):
        """The score of each customer's latest bureau report dated by ``as_of`` (``None``: no score)."""
        self.env["credit.bureau.report"].flush_model(["partner_id", "company_id", "report_date", "score"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT DISTINCT ON (report.partner_id) report.partner_id, report.score
                  FROM credit_bureau_report report
                 WHERE report.company_id = %(company)s
                   AND report.partner_id IN %(partners)s
                   AND report.report_date <= %(as_of)s
              ORDER BY report.partner_id, report.report_date DESC, report.id DESC
                """,
                company=company.id,
                partners=partner_ids,
                as_of=as_of,
            )
        )
        return dict(rows)
