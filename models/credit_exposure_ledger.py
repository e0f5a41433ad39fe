"""The exposure ledger: each customer's exposure kept as stored totals, per company, currency
and part, so a credit check reads a few rows instead of the customer's history."""

import logging
from collections import defaultdict

from odoo import api, fields, models
from odoo.tools import SQL, format_date

_logger = logging.getLogger(__name__)

LEDGER_PARTS = [
    ("receivables", "Open Receivables"),
    ("uninvoiced_orders", "Confirmed Uninvoiced Orders"),
]
# The models whose rows the ledger's triggers read: flushed before the ledger is read, so what
# the ORM holds in memory has reached the tables (and the ledger) first.
LEDGER_SOURCE_MODELS = (
    "res.partner",
    "uom.uom",
    "account.account",
    "account.move",
    "account.move.line",
    "sale.order",
    "sale.order.line",
)


def add_receivable_row(figures, currency_id, residual, overdue, oldest_due):
    """Add one currency's open receivables of a customer to its ``figures`` (``residual`` and
    ``overdue`` per currency, the ``oldest_due`` date over all of them)."""
    figures["residual"][currency_id] = residual or 0.0
    figures["overdue"][currency_id] = overdue or 0.0
    if oldest_due and (not figures["oldest_due"] or oldest_due < figures["oldest_due"]):
        figures["oldest_due"] = oldest_due


class CreditExposureLedger(models.Model):
    """Stored exposure totals, written in the same transaction as the documents that change them.

    As SAP's credit management keeps a customer's credit exposure as totals updated by every
    document, database triggers (``credit_exposure_ledger_triggers.py``) add to these rows what
    each change of a journal item, an order, an order line or an invoice does to the open
    receivables and to the confirmed uninvoiced orders. The open receivables are kept per
    due date (the overdue figures of any check date are sums of rows); the orders per line in
    ``credit.exposure.order.line``. The figures equal what ``credit.profile``'s source
    queries compute from the documents (``_query_receivables``, ``_query_uninvoiced_orders``):
    :meth:`_verify` recomputes them, reports any drift and repairs it (daily cron).
    """

    _name = "credit.exposure.ledger"
    _description = "Credit Exposure Ledger"
    _log_access = False
    _order = "company_id, partner_id, part, date_maturity"

    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, readonly=True, ondelete="cascade"
    )
    company_id = fields.Many2one("res.company", required=True, readonly=True, ondelete="cascade")
    currency_id = fields.Many2one("res.currency", required=True, readonly=True)
    part = fields.Selection(LEDGER_PARTS, required=True, readonly=True)
    date_maturity = fields.Date(
        string="Due Date", readonly=True, help="Open receivables: the items' due date."
    )
    amount = fields.Monetary(currency_field="currency_id", readonly=True)
    debit_amount = fields.Monetary(
        string="Amount Owed",
        currency_field="currency_id",
        readonly=True,
        help="Open receivables: the sum of the items the customer owes (credit notes and advance "
        "payments left out), the overdue amount once the due date has passed.",
    )
    debit_count = fields.Integer(string="Items Owed", readonly=True)

    @api.depends("partner_id.name", "part", "date_maturity")
    def _compute_display_name(self):
        parts = dict(self._fields["part"]._description_selection(self.env))
        for row in self:
            name = f"{row.partner_id.name or ''} - {parts.get(row.part, '')}"
            if row.date_maturity:
                name = self.env._(
                    "%(name)s due %(date)s", name=name, date=format_date(self.env, row.date_maturity)
                )
            row.display_name = name

    def init(self):
        result = super().init()
        self.env.cr.execute(
            SQL(
                "CREATE UNIQUE INDEX IF NOT EXISTS credit_exposure_ledger_key ON credit_exposure_ledger"
                " (partner_id, company_id, currency_id, part, COALESCE(date_maturity, '-infinity'::date))"
            )
        )
        return result

    # ------------------------------------------------------------
    # READING
    # ------------------------------------------------------------

    @api.model
    def _flush_sources(self):
        for model in LEDGER_SOURCE_MODELS:
            self.env[model].flush_model()

    @api.model
    def _read_figures(self, partner_ids, company, check_date, covered, exclude_order_ids=()):
        """The ledger's figures of commercial ``partner_ids`` in ``company`` at ``check_date``, in
        one query: ``{partner_id: {"residual", "overdue", "uninvoiced_orders": {currency_id:
        amount}, "oldest_due": date}}``. ``covered`` is the SQL relation of the overdue items
        repayment plans cover (``credit.repayment.plan._credit_covered_overdue_sql``); the
        commitments of the confirmed orders ``exclude_order_ids`` are left out."""
        self._flush_sources()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT ledger.partner_id,
                       ledger.currency_id,
                       ledger.part,
                       SUM(ledger.amount),
                       SUM(ledger.debit_amount) FILTER (WHERE ledger.date_maturity < %(date)s)
                           - COALESCE(SUM(covered.residual), 0),
                       MIN(ledger.date_maturity) FILTER (
                           WHERE ledger.date_maturity < %(date)s
                             AND ledger.debit_count > COALESCE(covered.lines, 0))
                  FROM credit_exposure_ledger ledger
             LEFT JOIN %(covered)s covered
                    ON ledger.part = 'receivables'
                   AND ledger.date_maturity < %(date)s
                   AND covered.partner_id = ledger.partner_id
                   AND covered.currency_id = ledger.currency_id
                   AND covered.due = ledger.date_maturity
                 WHERE ledger.partner_id IN %(partners)s
                   AND ledger.company_id = %(company)s
              GROUP BY ledger.partner_id, ledger.currency_id, ledger.part
             UNION ALL
                SELECT line.partner_id, line.currency_id, 'uninvoiced_orders', -SUM(line.amount), NULL, NULL
                  FROM credit_exposure_order_line line
                 WHERE line.order_id IN %(excluded)s
                   AND line.partner_id IN %(partners)s
                   AND line.company_id = %(company)s
              GROUP BY line.partner_id, line.currency_id
                """,
                date=check_date,
                covered=covered,
                partners=tuple(partner_ids) or (0,),
                company=company.id,
                excluded=tuple(exclude_order_ids) or (0,),
            )
        )
        result = defaultdict(
            lambda: {"residual": {}, "overdue": {}, "uninvoiced_orders": {}, "oldest_due": None}
        )
        for partner_id, currency_id, part, amount, overdue, oldest_due in rows:
            figures = result[partner_id]
            if part == "uninvoiced_orders":
                orders = figures["uninvoiced_orders"]
                orders[currency_id] = orders.get(currency_id, 0.0) + (amount or 0.0)
                continue
            add_receivable_row(figures, currency_id, amount, overdue, oldest_due)
        return result

    # ------------------------------------------------------------
    # VERIFYING AND REPAIRING
    # ------------------------------------------------------------

    @api.model
    def _cron_verify(self):
        """Daily: recompute the ledger from the documents, report and repair any drift."""
        self._verify(repair=True)

    @api.model
    def _verify(self, repair=False):
        """Compare the ledger with the figures recomputed from the documents; with ``repair``,
        replace it by them. Returns ``{"ledger": rows differing, "order_lines": rows differing}``.

        The tables are locked against the triggers of other transactions for the duration, so
        no change lands between the recomputation and the repair."""
        self._flush_sources()
        self.env.cr.execute(
            SQL("LOCK TABLE credit_exposure_ledger, credit_exposure_order_line IN SHARE ROW EXCLUSIVE MODE")
        )
        drift = {
            "order_lines": self._compare(
                "credit_exposure_order_line", self._order_lines_source_sql(), ("order_line_id",)
            ),
            "ledger": self._compare(
                "credit_exposure_ledger",
                self._ledger_source_sql(),
                ("partner_id", "company_id", "currency_id", "part", "date_maturity"),
            ),
        }
        if any(drift.values()):
            _logger.warning(
                "Credit exposure ledger: %(ledger)s total rows and %(order_lines)s order-line rows differ "
                "from the documents%(repair)s",
                dict(drift, repair="; repaired" if repair else ""),
            )
        if repair:
            self._rebuild()
        return drift

    def _compare(self, table, source, key):
        """How many rows of ``table`` differ from the rows of the ``source`` query (its columns
        in the table's order, zero amounts left out), matched on the ``key`` columns."""
        columns = self._columns_of(table)
        # Equalities (a FULL JOIN needs them); the due date of order rows is empty.
        match = SQL(" AND ").join(
            SQL(
                "COALESCE(%s, '-infinity'::date) = COALESCE(%s, '-infinity'::date)"
                if name == "date_maturity"
                else "%s = %s",
                SQL.identifier("stored", name),
                SQL.identifier("fresh", name),
            )
            for name in key
        )
        rows = self.env.execute_query(
            SQL(
                """
                SELECT COUNT(*)
                  FROM (SELECT %(columns)s FROM %(table)s WHERE %(nonzero)s) stored
             FULL JOIN (%(source)s) fresh (%(columns)s) ON %(match)s
                 WHERE stored IS NULL OR fresh IS NULL OR (%(stored)s) IS DISTINCT FROM (%(fresh)s)
                """,
                columns=SQL(", ").join(SQL.identifier(name) for name in columns),
                table=SQL.identifier(table),
                nonzero=self._nonzero_condition(table),
                source=source,
                match=match,
                stored=SQL(", ").join(SQL.identifier("stored", name) for name in columns),
                fresh=SQL(", ").join(SQL.identifier("fresh", name) for name in columns),
            )
        )
        return rows[0][0]

    @api.model
    def _columns_of(self, table):
        if table == "credit_exposure_order_line":
            return ("order_line_id", "order_id", "partner_id", "company_id", "currency_id", "amount")
        return (
            "partner_id",
            "company_id",
            "currency_id",
            "part",
            "date_maturity",
            "amount",
            "debit_amount",
            "debit_count",
        )

    @api.model
    def _nonzero_condition(self, table):
        if table == "credit_exposure_order_line":
            return SQL("amount <> 0")
        return SQL("(amount <> 0 OR debit_amount <> 0 OR debit_count <> 0)")

    @api.model
    def _rebuild(self):
        """Replace the ledger by the figures recomputed from the documents."""
        for table, source in (
            ("credit_exposure_order_line", self._order_lines_source_sql()),
            ("credit_exposure_ledger", self._ledger_source_sql()),
        ):
            columns = SQL(", ").join(SQL.identifier(name) for name in self._columns_of(table))
            self.env.cr.execute(SQL("DELETE FROM %s", SQL.identifier(table)))
            self.env.cr.execute(SQL("INSERT INTO %s (%s) %s", SQL.identifier(table), columns, source))

    @api.model
    def _order_lines_source_sql(self):
        """The commitment of every confirmed order line, recomputed (the columns of
        ``credit_exposure_order_line``)."""
        return self._order_line_commitments_sql(SQL("TRUE"))

    @api.model
    def _order_line_commitments_sql(self, line_condition):
        """``(order_line_id, order_id, partner_id, company_id, currency_id, amount)`` of the
        confirmed order lines matching ``line_condition`` (on ``sol``) that commit their customer
        to something: ``credit.profile._order_commitments_sql``, the one definition, per line."""
        commitments = self.env["credit.profile"]._order_commitments_sql(SQL("sol.id"), line_condition)
        return SQL(
            """
            SELECT commitment.key_id, sol.order_id, customer.commercial_partner_id,
                   commitment.company_id, commitment.currency_id, commitment.amount
              FROM (%s) commitment
              JOIN sale_order_line sol ON sol.id = commitment.key_id
              JOIN sale_order so ON so.id = sol.order_id
              JOIN res_partner customer ON customer.id = so.partner_invoice_id
             WHERE commitment.amount <> 0
            """,
            commitments,
        )

    @api.model
    def _ledger_source_sql(self):
        """Every ledger row recomputed from the documents (the columns of ``credit_exposure_ledger``)."""
        return SQL(
            """
            SELECT partner.commercial_partner_id, aml.company_id, aml.currency_id, 'receivables',
                   aml.date_maturity, SUM(aml.amount_residual_currency),
                   SUM(GREATEST(aml.amount_residual_currency, 0)),
                   COUNT(*) FILTER (WHERE aml.amount_residual_currency > 0)
              FROM account_move_line aml
              JOIN res_partner partner ON partner.id = aml.partner_id
              JOIN account_account account ON account.id = aml.account_id
             WHERE %(open_item)s
          GROUP BY partner.commercial_partner_id, aml.company_id, aml.currency_id, aml.date_maturity
            UNION ALL
            SELECT line.partner_id, line.company_id, line.currency_id, 'uninvoiced_orders', NULL,
                   SUM(line.amount), 0, 0
              FROM (%(lines)s) line (order_line_id, order_id, partner_id, company_id, currency_id, amount)
          GROUP BY line.partner_id, line.company_id, line.currency_id
            HAVING SUM(line.amount) <> 0
            """,
            open_item=self.env["credit.profile"]._open_receivable_item_sql(),
            lines=self._order_lines_source_sql(),
        )
