from datetime import timedelta

from odoo import api, models
from odoo.tools import SQL

from ..credit_policy.behaviour import TREND_WINDOW_DAYS, PaymentAggregates, PaymentBehaviour
from ..credit_policy.factors import factor_values
from .credit_financial_statement import STATEMENT_FIGURES


class CreditRatingEngineFacts(models.AbstractModel):
    """The facts the scorecard rates a batch of customers on, gathered set-based: one
    grouped query per metric group (payments, open items, balances, statements, bureau
    scores, countries) for the whole batch, whatever its size and the customers' history."""

    _inherit = "credit.rating.engine"  # pylint: disable=consider-merging-classes-inherited  # split by topic

    #: Paid invoices older than this many days before the rating date no longer count.
    _lookback_days = 730
    #: DSO and sales volume look back over this many days.
    _sales_period_days = 365

    # ------------------------------------------------------------
    # FACTS (set-based)
    # ------------------------------------------------------------

    @api.model
    def _customer_facts(self, partner_ids, company, as_of, country_risks=None, predict_late=False):
        """Everything the scorecard needs about commercial ``partner_ids`` in ``company`` as of ``as_of``.

        ``country_risks`` (``{partner_id: CountryRisk}``, see ``_query_country_risks``) gives the
        country risk factor its value, the class of the customer's country; without it, or for a
        customer whose country has no class, the factor is missing.

        ``predict_late`` (for a scorecard that scores the predicted late share): the company's
        active late-payment model predicts each customer's late share as of ``as_of``; without
        it (no cost) or without an active model, the factor is missing.

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
        predicted = self._query_predicted_late_shares(partner_ids, company, as_of) if predict_late else {}
        result = {}
        for partner_id in partner_ids:
            paid_row = paid.get(partner_id, {})
            open_row = open_items.get(partner_id, {})
            balance_row = balances.get(partner_id, {})
            oldest_due = open_row.get("oldest_due")
            first_invoice_date = balance_row.get("first_invoice_date")
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
                history_days=(as_of - first_invoice_date).days if first_invoice_date else None,
                recent_paid=paid_row.get("recent_paid", 0.0),
                recent_late=paid_row.get("recent_late", 0.0),
                previous_paid=paid_row.get("previous_paid", 0.0),
                previous_late=paid_row.get("previous_late", 0.0),
            )
            behaviour = PaymentBehaviour.from_aggregates(aggregates)
            statement = statements.get(partner_id)
            ratios = self.env["credit.financial.statement"]._ratios_of(statement) if statement else None
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
                predicted_late_share=predicted.get(partner_id),
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
                "currency_id",
                "amount_residual",
                "amount_residual_currency",
            ]
        )
        self.env["account.move"].flush_model(["move_type", "state", "invoice_date", "company_id"])
        self.env["account.partial.reconcile"].flush_model(
            [
                "debit_move_id",
                "credit_move_id",
                "amount",
                "debit_amount_currency",
                "credit_amount_currency",
                "max_date",
            ]
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
    def _open_receivable_items_as_of_sql(self, partner_ids, company, as_of):
        """``FROM … WHERE …`` of the open receivable items (``aml``, with ``partner`` and
        ``account``) of commercial ``partner_ids`` in ``company`` as they stood at ``as_of``.

        The items are the credit check's and the profile's (``credit.profile``
        ``_open_receivable_condition``: every open receivable journal item, invoices, credit
        notes and unallocated payments alike), the condition read on each item as of that date:
        booked by then, its residuals rebuilt by undoing the partial reconciliations dated after
        it (``max_date``, as the overdue trend does), reconciled only if it is now and nothing
        of it was reconciled after. As of today they are the check's items and residuals.
        """
        self._flush_accounting()
        return SQL(
            """
              FROM (
                SELECT item.id, item.move_id, item.partner_id, item.company_id, item.account_id,
                       item.parent_state, item.currency_id, item.date, item.date_maturity,
                       item.amount_residual + COALESCE(later.amount, 0) AS amount_residual,
                       item.amount_residual_currency + COALESCE(later.amount_currency, 0)
                           AS amount_residual_currency,
                       item.reconciled AND later.amount IS NULL AS reconciled
                  FROM account_move_line item
                  LEFT JOIN LATERAL (
                    SELECT SUM(CASE WHEN part.debit_move_id = item.id THEN part.amount
                                    ELSE -part.amount END) AS amount,
                           SUM(CASE WHEN part.debit_move_id = item.id THEN part.debit_amount_currency
                                    ELSE -part.credit_amount_currency END) AS amount_currency
                      FROM account_partial_reconcile part
                     WHERE (part.debit_move_id = item.id OR part.credit_move_id = item.id)
                       AND part.max_date > %(as_of)s
                  ) later ON TRUE
                 WHERE item.date <= %(as_of)s
              ) aml
              JOIN res_partner partner ON partner.id = aml.partner_id
              JOIN account_account account ON account.id = aml.account_id
             WHERE partner.commercial_partner_id IN %(partners)s
               AND %(open)s
            """,
            as_of=as_of,
            partners=partner_ids,
            open=self.env["credit.profile"]._open_receivable_condition(company),
        )

    @api.model
    def _query_open_items(self, partner_ids, company, as_of):
        """Open and overdue receivables at ``as_of`` of commercial ``partner_ids``, in the company
        currency at the rate of ``as_of``: the credit check's figures, as of that date.

        Sums the residuals of the open receivable items as they stood then
        (``_open_receivable_items_as_of_sql``) per currency; an item is overdue when it is
        still owed (residual above 0) and its due date is before ``as_of``. ``oldest_due`` is
        the earliest such due date.
        """
        rows = self.env.execute_query(
            SQL(
                """
                SELECT partner.commercial_partner_id,
                       aml.currency_id,
                       SUM(aml.amount_residual_currency),
                       COALESCE(SUM(aml.amount_residual_currency) FILTER (
                           WHERE aml.date_maturity < %(as_of)s AND aml.amount_residual_currency > 0), 0),
                       MIN(aml.date_maturity) FILTER (
                           WHERE aml.date_maturity < %(as_of)s AND aml.amount_residual_currency > 0)
                %(items)s
              GROUP BY 1, 2
                """,
                as_of=as_of,
                items=self._open_receivable_items_as_of_sql(partner_ids, company, as_of),
            )
        )
        per_partner = {}
        for partner_id, currency_id, residual, overdue, oldest_due in rows:
            amounts = per_partner.setdefault(partner_id, {"open": {}, "overdue": {}, "oldest_due": None})
            amounts["open"][currency_id] = residual
            amounts["overdue"][currency_id] = overdue
            if oldest_due and (not amounts["oldest_due"] or oldest_due < amounts["oldest_due"]):
                amounts["oldest_due"] = oldest_due
        convert = self.env["credit.profile"]._converter(company, as_of)
        return {
            partner_id: {
                # Credits (credit notes, unallocated payments) net the open amount, never below 0.
                "open_amount": max(0.0, convert(amounts["open"])),
                "overdue_amount": convert(amounts["overdue"]),
                "oldest_due": amounts["oldest_due"],
            }
            for partner_id, amounts in per_partner.items()
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
    def _query_predicted_late_shares(self, partner_ids, company, as_of):
        """``{partner_id: probability or None}``: the company's active late-payment model's
        predicted late share of each customer's next typical invoice, from its payments up to
        ``as_of``; ``{}`` when the company has no active model."""
        partner_ids = [partner_id for partner_id in partner_ids if partner_id]
        model = self.env["credit.payment.model"].sudo()._active_model(company) if partner_ids else None
        if not model:
            return {}
        return model._predict_customers(partner_ids, as_of)

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
