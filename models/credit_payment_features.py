"""Training and scoring data of the late-payment model, set-based.

The features of many *targets* at once: a target is an invoice or a customer with its own
as-of date ``D``; its features count the customer's payments dated ``D - 730 <= date < D``
(strictly before ``D``), the rating engine's ``_query_paid`` figures as of ``D - 1 day``. The
same grouped query serves invoices as of their own invoice date (training, "what the model
would have said"), open invoices as of today and customers as of a date: one query for the
whole batch, never one per invoice.
"""

from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

from ..credit_policy.behaviour import (
    TREND_WINDOW_DAYS,
    late_share,
    late_share_trend,
    weighted_days_beyond_terms,
)
from ..credit_policy.payment_model import Invoice, label_late

# How an invoice was sent, as a feature: 1.0 electronically, 0.0 on paper, None unknown.
DELIVERY_VALUES = {"electronic": 1.0, "paper": 0.0}


class CreditPaymentFeatures(models.AbstractModel):
    _name = "credit.payment.features"
    _description = "Late-Payment Model Features"

    # ------------------------------------------------------------
    # TARGETS (SQL giving key, partner_id, as_of, amount, term_days, electronic)
    # ------------------------------------------------------------

    @api.model
    def _invoice_condition(self, company, *, move_ids=None, date_from=None, date_to=None):
        """WHERE condition on ``move``: the posted customer invoices of ``company`` (among
        ``move_ids`` when given) dated in ``[date_from, date_to]``."""
        conditions = [
            SQL("move.company_id = %s", company.id),
            SQL("move.move_type = 'out_invoice'"),
            SQL("move.state = 'posted'"),
            SQL("move.amount_total_signed > 0"),
        ]
        if move_ids is not None:
            conditions.append(SQL("move.id = ANY(%s)", list(move_ids)))
        if date_from:
            conditions.append(SQL("move.invoice_date >= %s", date_from))
        if date_to:
            conditions.append(SQL("move.invoice_date <= %s", date_to))
        return SQL(" AND ").join(conditions)

    @api.model
    def _invoice_targets_sql(self, condition, as_of=None):
        """Invoices matching ``condition`` as targets, each as of its own invoice date, or as of
        ``as_of`` (features from payments strictly before it) when given."""
        return SQL(
            """
            SELECT move.id AS key,
                   partner.commercial_partner_id AS partner_id,
                   COALESCE(%(as_of)s::date, move.invoice_date) AS as_of,
                   move.amount_total_signed AS amount,
                   move.invoice_date_due - move.invoice_date AS term_days,
                   CASE move.credit_invoice_delivery WHEN 'electronic' THEN %(electronic)s
                                                     WHEN 'paper' THEN %(paper)s END AS electronic
              FROM account_move move
              JOIN res_partner partner ON partner.id = move.partner_id
             WHERE %(condition)s
            """,
            as_of=as_of,
            electronic=DELIVERY_VALUES["electronic"],
            paper=DELIVERY_VALUES["paper"],
            condition=condition,
        )

    @api.model
    def _customer_targets_sql(self, partner_ids, as_of):
        """Commercial ``partner_ids`` as targets (key = partner id) as of ``as_of``, no invoice figures."""
        return SQL(
            """
            SELECT key, key AS partner_id, %(as_of)s::date AS as_of, NULL::numeric AS amount,
                   NULL::integer AS term_days, NULL::float AS electronic
              FROM unnest(%(partners)s::integer[]) AS key
            """,
            as_of=as_of,
            partners=list(partner_ids),
        )

    # ------------------------------------------------------------
    # FEATURES
    # ------------------------------------------------------------

    @api.model
    def _lookback_days(self):
        return self.env["credit.rating.engine"]._lookback_days

    @api.model
    def _query_features(self, targets, company):
        """``{key: features}`` of every target of ``targets`` (SQL from ``_*_targets_sql``).

        Payments are partial reconciliations of the customer's invoice receivables with
        payments or other credits, not credit notes (as the rating engine counts them); paid
        invoices are those whose receivable is fully reconciled (not reversed), settled on the
        date of their last reconciliation. Amounts are in the company currency.

        Each window's sum is read off running sums per customer (payments and window bounds
        sorted by date): one sort of the batch, whatever the customers' history, rather than
        joining every target to every payment of its customer.
        """
        # Partners first: the exposure ledger's triggers read their commercial partner when the
        # journal items are written.
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        self.env["credit.rating.engine"]._flush_accounting()
        self.env["account.move"].flush_model(
            [
                "partner_id",
                "amount_total_signed",
                "invoice_date_due",
                "payment_state",
                "credit_invoice_delivery",
            ]
        )
        rows = self.env.execute_query_dict(
            SQL(
                """
                WITH target AS MATERIALIZED (%(targets)s),
                receivable AS MATERIALIZED (
                    SELECT aml.id, aml.move_id, aml.date_maturity, aml.reconciled,
                           partner.commercial_partner_id AS partner_id
                      FROM account_move_line aml
                      JOIN account_move move ON move.id = aml.move_id
                      JOIN account_account account ON account.id = aml.account_id
                      JOIN res_partner partner ON partner.id = aml.partner_id
                     WHERE aml.company_id = %(company)s
                       AND account.account_type = 'asset_receivable'
                       AND move.move_type = 'out_invoice'
                       AND aml.parent_state = 'posted'
                       AND partner.commercial_partner_id IN (SELECT partner_id FROM target)
                ),
                payment AS (
                    SELECT receivable.partner_id, part.max_date AS day, part.amount,
                           part.amount * GREATEST(part.max_date - receivable.date_maturity, 0)
                               AS amount_days_late,
                           CASE WHEN part.max_date > receivable.date_maturity THEN part.amount ELSE 0 END
                               AS late_amount
                      FROM account_partial_reconcile part
                      JOIN receivable ON receivable.id = part.debit_move_id
                      JOIN account_move_line counterpart ON counterpart.id = part.credit_move_id
                      JOIN account_move counter_move ON counter_move.id = counterpart.move_id
                     WHERE counter_move.move_type != 'out_refund'
                ),
                paid_invoice AS (
                    SELECT settled.partner_id, settled.settle_date AS day,
                           (settled.settle_date > move.invoice_date_due)::integer AS late_count,
                           settled.settle_date - move.invoice_date AS days_to_pay,
                           move.amount_total_signed AS amount
                      FROM (
                        SELECT receivable.move_id, MIN(receivable.partner_id) AS partner_id,
                               MAX(part.max_date) AS settle_date
                          FROM receivable
                          LEFT JOIN account_partial_reconcile part ON part.debit_move_id = receivable.id
                      GROUP BY receivable.move_id
                        HAVING bool_and(receivable.reconciled) AND MAX(part.max_date) IS NOT NULL
                      ) settled
                      JOIN account_move move ON move.id = settled.move_id
                     WHERE move.payment_state != 'reversed'
                ),
                -- The bounds of each target's windows: as_of (kind 0), the trend's two 90-day
                -- windows (1, 2) and the look-back (3). A running sum per customer read at a bound
                -- counts what was paid strictly before it; a window's sum is the difference of two.
                bound AS (
                    SELECT target.key, target.partner_id, bound.kind, target.as_of - bound.days AS day
                      FROM target
                CROSS JOIN (VALUES (0, 0), (1, %(trend)s), (2, 2 * %(trend)s), (3, %(lookback)s))
                           AS bound(kind, days)
                ),
                payment_running AS (
                    SELECT key, kind, item,
                           SUM(amount) OVER running AS paid,
                           SUM(amount_days_late) OVER running AS amount_days_late,
                           SUM(late_amount) OVER running AS late
                      FROM (SELECT partner_id, day, 1 AS item, NULL::integer AS key, NULL::integer AS kind,
                                   amount, amount_days_late, late_amount
                              FROM payment
                         UNION ALL
                            SELECT partner_id, day, 0, key, kind, 0, 0, 0 FROM bound) event
                    WINDOW running AS (PARTITION BY partner_id ORDER BY day, item ROWS UNBOUNDED PRECEDING)
                ),
                paid_amounts AS (
                    SELECT key,
                           MAX(paid) FILTER (WHERE kind = 0) - MAX(paid) FILTER (WHERE kind = 3)
                               AS paid_amount,
                           MAX(amount_days_late) FILTER (WHERE kind = 0)
                               - MAX(amount_days_late) FILTER (WHERE kind = 3) AS amount_days_late,
                           MAX(late) FILTER (WHERE kind = 0) - MAX(late) FILTER (WHERE kind = 3)
                               AS late_amount,
                           MAX(paid) FILTER (WHERE kind = 0) - MAX(paid) FILTER (WHERE kind = 1)
                               AS recent_paid,
                           MAX(late) FILTER (WHERE kind = 0) - MAX(late) FILTER (WHERE kind = 1)
                               AS recent_late,
                           MAX(paid) FILTER (WHERE kind = 1) - MAX(paid) FILTER (WHERE kind = 2)
                               AS previous_paid,
                           MAX(late) FILTER (WHERE kind = 1) - MAX(late) FILTER (WHERE kind = 2)
                               AS previous_late
                      FROM payment_running
                     WHERE item = 0
                  GROUP BY key
                ),
                invoice_running AS (
                    SELECT key, kind, item,
                           SUM(paid_count) OVER running AS paid_count,
                           SUM(late_count) OVER running AS late_count,
                           SUM(days_to_pay) OVER running AS days_to_pay,
                           SUM(amount) OVER running AS amount
                      FROM (SELECT partner_id, day, 1 AS item, NULL::integer AS key, NULL::integer AS kind,
                                   1 AS paid_count, late_count, days_to_pay, amount
                              FROM paid_invoice
                         UNION ALL
                            SELECT partner_id, day, 0, key, kind, 0, 0, 0, 0 FROM bound WHERE kind IN (0, 3)
                           ) event
                    WINDOW running AS (PARTITION BY partner_id ORDER BY day, item ROWS UNBOUNDED PRECEDING)
                ),
                paid_counts AS (
                    SELECT key,
                           MAX(paid_count) FILTER (WHERE kind = 0) - MAX(paid_count) FILTER (WHERE kind = 3)
                               AS paid_count,
                           MAX(late_count) FILTER (WHERE kind = 0) - MAX(late_count) FILTER (WHERE kind = 3)
                               AS late_count,
                           MAX(days_to_pay) FILTER (WHERE kind = 0)
                               - MAX(days_to_pay) FILTER (WHERE kind = 3) AS days_to_pay,
                           MAX(amount) FILTER (WHERE kind = 0) - MAX(amount) FILTER (WHERE kind = 3)
                               AS amount
                      FROM invoice_running
                     WHERE item = 0
                  GROUP BY key
                )
                SELECT target.key, target.partner_id, target.as_of, target.amount, target.term_days,
                       target.electronic, paid_amounts.paid_amount, paid_amounts.amount_days_late,
                       paid_amounts.late_amount, paid_amounts.recent_paid, paid_amounts.recent_late,
                       paid_amounts.previous_paid, paid_amounts.previous_late, paid_counts.paid_count,
                       paid_counts.late_count,
                       paid_counts.days_to_pay::numeric / NULLIF(paid_counts.paid_count, 0)
                           AS avg_days_to_pay,
                       paid_counts.amount / NULLIF(paid_counts.paid_count, 0) AS average_amount
                  FROM target
             LEFT JOIN paid_amounts ON paid_amounts.key = target.key
             LEFT JOIN paid_counts ON paid_counts.key = target.key
                """,
                targets=targets,
                company=company.id,
                trend=TREND_WINDOW_DAYS,
                lookback=self._lookback_days(),
            )
        )
        return {row["key"]: self._features_of(row) for row in rows}

    @api.model
    def _features_of(self, row):
        """The core's features (``credit_policy.payment_model.build_features``) from one row of sums."""
        paid = float(row["paid_amount"] or 0.0)
        late = float(row["late_amount"] or 0.0)
        count = row["paid_count"] or 0
        average = float(row["average_amount"]) if row["average_amount"] else None
        amount = float(row["amount"]) if row["amount"] is not None else None
        return {
            "late_share": late_share(paid, min(late, paid)),
            "late_count_share": row["late_count"] / count if count else None,
            "weighted_days_late": weighted_days_beyond_terms(paid, float(row["amount_days_late"] or 0.0)),
            "avg_days_to_pay": float(row["avg_days_to_pay"]) if count else None,
            "late_share_trend": late_share_trend(
                float(row["recent_paid"] or 0.0),
                float(row["recent_late"] or 0.0),
                float(row["previous_paid"] or 0.0),
                float(row["previous_late"] or 0.0),
            ),
            "paid_count": count,
            "amount_ratio": amount / average if amount is not None and average else None,
            "term_days": row["term_days"],
            "electronic": row["electronic"],
        }

    # ------------------------------------------------------------
    # OUTCOMES (labels)
    # ------------------------------------------------------------

    @api.model
    def _query_outcomes(self, condition):
        """``{move_id: (partner_id, invoice_date, due_date, amount, settle_date or None)}`` of the invoices
        matching ``condition``; ``settle_date`` when fully paid (its last reconciliation), none
        while open. Reversed invoices (cancelled by a credit note) have no outcome: left out."""
        rows = self.env.execute_query(
            SQL(
                """
                SELECT move.id, partner.commercial_partner_id, move.invoice_date, move.invoice_date_due,
                       move.amount_total_signed,
                       CASE WHEN bool_and(aml.reconciled) THEN MAX(part.max_date) END
                  FROM account_move move
                  JOIN res_partner partner ON partner.id = move.partner_id
                  JOIN account_move_line aml ON aml.move_id = move.id
                  JOIN account_account account ON account.id = aml.account_id
                  LEFT JOIN account_partial_reconcile part ON part.debit_move_id = aml.id
                 WHERE %(condition)s
                   AND account.account_type = 'asset_receivable'
                   AND move.payment_state != 'reversed'
              GROUP BY move.id, partner.commercial_partner_id
                """,
                condition=condition,
            )
        )
        return {move_id: rest for move_id, *rest in rows}

    @api.model
    def _labels(self, invoice_date, due_date, amount, settle_date, late_beyond_days, known_on):
        """``(late, late_beyond)`` as known on ``known_on`` (payments of that day included):
        late when paid after the due date or still open past it, ``None`` while unknown."""
        invoice = Invoice(
            invoice_date=invoice_date, due_date=due_date, amount=abs(float(amount)), paid_date=settle_date
        )
        as_of = known_on + timedelta(days=1)
        return label_late(invoice, 0, as_of=as_of), label_late(invoice, late_beyond_days, as_of=as_of)

    # ------------------------------------------------------------
    # ROWS FOR THE MODEL
    # ------------------------------------------------------------

    @api.model
    def _invoice_rows(self, company, date_from, date_to, late_beyond_days=0, known_on=None):
        """The customer invoices of ``company`` dated in ``[date_from, date_to]`` whose outcome is
        known on ``known_on`` (default today): paid, or open and past due.

        Each row: ``{"move_id", "partner_id", "invoice_date", "due_date", "settle_date",
        "features", "late", "late_beyond"}``, features as of its own invoice date (only payments
        dated before it); ``late_beyond`` is ``None`` while it may still be paid within
        ``late_beyond_days`` days of its due date. Sorted by invoice date, then id.
        """
        known_on = known_on or fields.Date.context_today(self)
        condition = self._invoice_condition(company, date_from=date_from, date_to=date_to)
        outcomes = self._query_outcomes(condition)
        features = self._query_features(self._invoice_targets_sql(condition), company)
        rows = []
        for move_id, (partner_id, invoice_date, due_date, amount, settle_date) in outcomes.items():
            late, late_beyond = self._labels(
                invoice_date, due_date, amount, settle_date, late_beyond_days, known_on
            )
            if late is None:
                continue  # neither paid nor due yet: outcome unknown
            rows.append(
                {
                    "move_id": move_id,
                    "partner_id": partner_id,
                    "invoice_date": invoice_date,
                    "due_date": due_date,
                    "settle_date": settle_date,
                    "features": features[move_id],
                    "late": late,
                    "late_beyond": late_beyond,
                }
            )
        rows.sort(key=lambda row: (row["invoice_date"], row["move_id"]))
        return rows

    @api.model
    def _invoice_features(self, moves, as_of=None):
        """``{move_id: features}`` of the posted customer invoices ``moves`` (one company), as of
        each invoice's own date, or with the payments up to and including ``as_of`` when given."""
        if not moves:
            return {}
        condition = self._invoice_condition(moves.company_id, move_ids=moves.ids)
        start = as_of + timedelta(days=1) if as_of else None
        return self._query_features(self._invoice_targets_sql(condition, start), moves.company_id)

    @api.model
    def _customer_features(self, partner_ids, company, as_of):
        """``{partner_id: features}`` of commercial ``partner_ids`` with the payments up to and
        including ``as_of`` (the rating engine's ``_customer_facts(as_of=...)``); no invoice
        figures (``amount_ratio``, ``term_days``, ``electronic`` are ``None``)."""
        targets = self._customer_targets_sql(partner_ids, as_of + timedelta(days=1))
        return self._query_features(targets, company)
