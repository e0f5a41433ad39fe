"""The exposure of customers as set-based SQL: receivables, order commitments, drafts."""

from collections import defaultdict

from odoo import api, models
from odoo.tools import SQL

from ..credit_policy.budgets import BUDGET_RULES
from ..credit_policy.decision import RULES
from ..credit_policy.exposure import CORE_PARTS, Exposure
from ..credit_policy.groups import GROUP_RULES
from ..credit_policy.insurance import INSURANCE_RULES
from ..credit_policy.terms import TERM_RULES
from .credit_exposure_ledger import LEDGER_PARTS, add_receivable_row

# Partial indexes init() creates on other modules' tables for the exposure queries
# (dropped by the uninstall hook).
EXPOSURE_INDEXES = (
    "account_move_line_credit_open_partner_idx",
    "sale_order_credit_confirmed_invoice_partner_idx",
)


class CreditProfile(models.Model):
    _inherit = "credit.profile"  # pylint: disable=consider-merging-classes-inherited  # split by topic

    # ------------------------------------------------------------
    # EXPOSURE (set-based)
    # ------------------------------------------------------------

    def init(self):
        result = super().init()
        # Partial covering indexes for the exposure queries below: they hold the open
        # items only, so a check reads the customer's open documents (index-only scan)
        # and not their whole history. Their predicates repeat the queries' conditions.
        self.env.cr.execute(
            SQL(
                """
                CREATE INDEX IF NOT EXISTS account_move_line_credit_open_partner_idx
                    ON account_move_line (partner_id)
                    INCLUDE (account_id, company_id, currency_id, amount_residual_currency, date_maturity)
                 WHERE parent_state = 'posted' AND reconciled IS NOT TRUE AND amount_residual_currency <> 0
                """
            )
        )
        self.env.cr.execute(
            SQL(
                """
                CREATE INDEX IF NOT EXISTS sale_order_credit_confirmed_invoice_partner_idx
                    ON sale_order (partner_invoice_id, company_id)
                 WHERE state = 'sale'
                """
            )
        )
        return result

    @api.model
    def _exposure_figures(self, partners, company, check_date, exclude_order_ids=()):
        """Exposure parts, capacity parts and overdue figures of commercial ``partners`` in ``company``.

        A constant number of grouped queries, whatever the customers' history: the open
        receivables and the confirmed uninvoiced orders from the exposure ledger (one query on
        a few stored rows per customer), then one query per further part of
        :meth:`_credit_exposure_parts` and of :meth:`_credit_capacity_parts`, each summed per
        currency and converted to the company currency at ``check_date``.
        Returns ``{partner_id: {"exposure": Exposure, "capacity_parts", "overdue_amount", "overdue_days"}}``.
        """
        partner_ids = tuple(partners.ids) or (0,)
        excluded = tuple(exclude_order_ids) or (0,)
        covered = self.env["credit.repayment.plan"]._credit_covered_overdue_sql(
            partner_ids, company, check_date
        )
        ledger = (
            self.env["credit.exposure.ledger"]
            .sudo()
            ._read_figures(partner_ids, company, check_date, covered, excluded)
        )
        exposure_parts = [
            (code, query(partner_ids, company, check_date, excluded))
            for code, query in self._credit_exposure_parts(company)
        ]
        capacity_parts = [
            (code, query(partner_ids, company, check_date))
            for code, query in self._credit_capacity_parts(company)
        ]
        convert = self._converter(company, check_date)
        result = {}
        for partner_id in partners.ids:
            own = ledger.get(partner_id, {})
            oldest_due = own.get("oldest_due")
            parts = {code: convert(amounts.get(partner_id, {})) for code, amounts in exposure_parts}
            parts["uninvoiced_orders"] = convert(own.get("uninvoiced_orders", {}))
            core = {code: parts.pop(code, 0.0) for code in CORE_PARTS if code != "receivables"}
            result[partner_id] = {
                "exposure": Exposure(
                    receivables=convert(own.get("residual", {})), other_parts=tuple(parts.items()), **core
                ),
                # Parts adding nothing (no guarantee...) are left out: no "plus 0.00" in messages.
                "capacity_parts": tuple(
                    (code, amount)
                    for code, amount in (
                        (code, convert(amounts.get(partner_id, {}))) for code, amounts in capacity_parts
                    )
                    if amount
                ),
                "overdue_amount": convert(own.get("overdue", {})),
                "overdue_days": (check_date - oldest_due).days if oldest_due else 0,
            }
        return result

    @api.model
    def _credit_exposure_parts(self, company):
        """The exposure parts beyond the exposure ledger's (open receivables and confirmed
        uninvoiced orders), as ``[(code, query)]``.

        The extension point for what a customer owes or will owe (OCA's
        ``_risk_field_list``): each ``query(partner_ids, company, check_date,
        exclude_order_ids)`` returns ``{partner_id: {currency_id: amount}}`` from one
        grouped query. An add-on appends ``(code, self._query_its_part)`` and names the
        part in :meth:`_credit_part_labels`; the check, the blocked message and the profile
        then count and show it.
        """
        parts = []
        if company.credit_count_draft_invoices:
            parts.append(("draft_invoices", self._query_draft_invoices))
        return parts

    @api.model
    def _credit_exposure_part_codes(self, company):
        """The codes of every exposure part of ``company``, in the order they are shown."""
        ledger_parts = [code for code, _label in LEDGER_PARTS]
        return ledger_parts + [code for code, _query in self._credit_exposure_parts(company)]

    @api.model
    def _credit_capacity_parts(self, company):
        """What adds to a checked limit (e.g. guarantees), as ``[(code, query)]``; each
        ``query(partner_ids, company, check_date)`` returns ``{partner_id: {currency_id: amount}}``
        from one grouped query. Here: ``secured``, by active guarantees valid on the check date."""
        return [("secured", self.env["credit.guarantee"]._query_secured_capacity)]

    @api.model
    def _credit_part_labels(self):
        """``{part code: label}`` of the exposure and capacity parts, as people read them."""
        return {
            "receivables": self.env._("open receivables"),
            "uninvoiced_orders": self.env._("confirmed uninvoiced orders"),
            "draft_invoices": self.env._("draft invoices"),
            "secured": self.env._("secured by guarantees"),
        }

    @api.model
    def _credit_rules(self):
        """The rules the check runs (policy-core functions of facts and policy); an add-on
        returns ``super()._credit_rules() + (its_rule,)`` and renders its reason in
        :meth:`_credit_reason_texts`."""
        return RULES + TERM_RULES + BUDGET_RULES + GROUP_RULES + INSURANCE_RULES

    @api.model
    def _converter(self, company, check_date):
        """A function summing ``{currency_id: amount}`` into ``company``'s currency at ``check_date``."""
        company_currency = company.currency_id

        def convert(amounts_by_currency):
            total = 0.0
            for currency_id, amount in amounts_by_currency.items():
                if not amount:
                    continue
                currency = self.env["res.currency"].browse(currency_id)
                if currency == company_currency:
                    total += amount
                else:
                    total += currency._convert(amount, company_currency, company, check_date, round=False)
            return total

        return convert

    @api.model
    def _open_receivable_item_sql(self, item=SQL("aml"), account_type=SQL("account.account_type")):
        """Where a journal item ``item`` (its account's type ``account_type``) is an open
        receivable: the one definition of the items every receivable figure of the add-on sums,
        and the exposure ledger's triggers count."""
        return SQL(
            "%(type)s = 'asset_receivable' AND %(item)s.parent_state = 'posted'"
            " AND %(item)s.reconciled IS NOT TRUE AND %(item)s.amount_residual_currency <> 0",
            type=account_type,
            item=item,
        )

    @api.model
    def _open_receivable_condition(self, company):
        """Where a journal item ``aml`` (its account joined as ``account``) is an open receivable
        of ``company``. Flushes them."""
        self.env["account.move.line"].flush_model(
            [
                "partner_id",
                "company_id",
                "account_id",
                "parent_state",
                "reconciled",
                "amount_residual_currency",
                "currency_id",
                "date_maturity",
                "move_id",
            ]
        )
        self.env["account.account"].flush_model(["account_type"])
        return SQL("aml.company_id = %s AND %s", company.id, self._open_receivable_item_sql())

    @api.model
    def _open_receivable_lines_sql(self, partner_ids, company):
        """``FROM … WHERE …`` of the open receivable items (``aml``, with ``partner`` and
        ``account``) of the commercial partners ``partner_ids`` in ``company``: the lines the
        receivables figure and the aging both sum. Flushes them."""
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        return SQL(
            """
              FROM account_move_line aml
              JOIN res_partner partner ON partner.id = aml.partner_id
              JOIN account_account account ON account.id = aml.account_id
             WHERE partner.commercial_partner_id IN %s
               AND %s
            """,
            partner_ids,
            self._open_receivable_condition(company),
        )

    def _query_receivables(self, partner_ids, company, check_date):
        """The open receivables, overdue amounts and oldest due dates of commercial
        ``partner_ids`` recomputed from their journal items: what the exposure ledger's
        receivables must equal (``credit.exposure.ledger._verify``, the tests)."""
        # Overdue lines that running repayment plans cover (grouped like ``line`` below) leave the
        # overdue figures, not the residual: the inner scan stays on the open-items index alone
        # and no query is added, whatever the number of plans.
        covered = self.env["credit.repayment.plan"]._credit_covered_overdue_sql(
            partner_ids, company, check_date
        )
        rows = self.env.execute_query(
            SQL(
                """
                SELECT line.partner_id,
                       line.currency_id,
                       SUM(line.residual),
                       SUM(line.overdue) - COALESCE(SUM(covered.residual), 0),
                       MIN(line.due) FILTER (WHERE line.lines > COALESCE(covered.lines, 0))
                  FROM (
                    SELECT partner.commercial_partner_id AS partner_id,
                           aml.currency_id,
                           CASE WHEN aml.date_maturity < %(date)s AND aml.amount_residual_currency > 0
                                THEN aml.date_maturity END AS due,
                           SUM(aml.amount_residual_currency) AS residual,
                           SUM(aml.amount_residual_currency) FILTER (
                               WHERE aml.date_maturity < %(date)s
                                 AND aml.amount_residual_currency > 0) AS overdue,
                           COUNT(*) FILTER (
                               WHERE aml.date_maturity < %(date)s
                                 AND aml.amount_residual_currency > 0) AS lines
                    %(open_lines)s
                  GROUP BY 1, 2, 3
                  ) line
             LEFT JOIN %(covered)s covered
                    ON covered.partner_id = line.partner_id
                   AND covered.currency_id = line.currency_id
                   AND covered.due = line.due
              GROUP BY line.partner_id, line.currency_id
                """,
                date=check_date,
                open_lines=self._open_receivable_lines_sql(partner_ids, company),
                covered=covered,
            )
        )
        result = defaultdict(lambda: {"residual": {}, "overdue": {}, "oldest_due": None})
        for partner_id, currency_id, residual, overdue, oldest_due in rows:
            add_receivable_row(result[partner_id], currency_id, residual, overdue, oldest_due)
        return result

    @api.model
    def _query_uninvoiced_orders(
        self, partner_ids, company, check_date, exclude_order_ids, only_order_ids=None
    ):
        """What confirmed orders still commit the customer to, taxes included, per order currency.

        For each line of a confirmed order invoiced to the customer: the quantity the
        customer is committed to (the ordered quantity, or the delivered one when more was
        delivered) less the quantity on posted invoices and credit notes, at the line's
        tax-included unit price, whatever the product's invoicing policy. A down payment
        line counts minus what its posted invoices carry: that part is a receivable already.
        Draft invoices of an order do not reduce it (they are no receivable yet). The
        customer is the invoice address's commercial partner, as for the receivables.
        """
        return self._query_order_commitments(
            SQL("customer.commercial_partner_id"),
            SQL("customer.commercial_partner_id IN %s", partner_ids),
            company,
            exclude_order_ids,
            only_order_ids,
        )

    @api.model
    def _query_order_commitments(self, key, condition, company, exclude_order_ids, only_order_ids=None):
        """The uninvoiced commitments of confirmed orders (see ``_query_uninvoiced_orders``),
        grouped by the SQL expression ``key`` over the orders matching ``condition``
        (``so`` is the order, ``customer`` its invoice address).
        Returns ``{key: {currency_id: amount}}``."""
        in_company = SQL("(%s) AND so.company_id = %s", condition, company.id)
        rows = self.env.execute_query(
            self._order_commitments_sql(key, in_company, exclude_order_ids, only_order_ids)
        )
        result = defaultdict(dict)
        for key_id, _company_id, currency_id, amount in rows:
            result[key_id][currency_id] = amount or 0.0
        return result

    @api.model
    def _order_commitments_sql(self, key, condition, exclude_order_ids=(0,), only_order_ids=None):
        """The query of :meth:`_query_order_commitments`, rows ``(key_id, company_id, currency_id,
        amount)`` of the confirmed orders matching ``condition`` (any company): the one definition
        of the uninvoiced-orders figure, also read by the ``credit.exposure.report`` view. Flushes."""
        self.env["sale.order"].flush_model(
            ["partner_invoice_id", "team_id", "company_id", "state", "currency_id"]
        )
        self.env["sale.order.line"].flush_model(
            [
                "order_id",
                "display_type",
                "is_downpayment",
                "product_uom_qty",
                "qty_delivered",
                "price_total",
                "price_unit",
                "discount",
                "product_uom",
            ]
        )
        self.env["account.move"].flush_model(["state", "move_type"])
        self.env["account.move.line"].flush_model(["move_id", "quantity", "price_total", "product_uom_id"])
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        only_orders = SQL("AND so.id IN %s", tuple(only_order_ids)) if only_order_ids else SQL()
        return SQL(
            """
            WITH line AS (
                SELECT %(key)s AS key_id,
                       so.company_id,
                       so.currency_id,
                       sol.id,
                       sol.is_downpayment,
                       sol.product_uom,
                       CASE WHEN sol.product_uom_qty >= 0
                            THEN GREATEST(sol.product_uom_qty, COALESCE(sol.qty_delivered, 0))
                            ELSE LEAST(sol.product_uom_qty, COALESCE(sol.qty_delivered, 0))
                       END AS committed_qty,
                       CASE WHEN sol.product_uom_qty <> 0
                            THEN sol.price_total / sol.product_uom_qty
                            ELSE sol.price_unit * (1 - COALESCE(sol.discount, 0) / 100.0)
                       END AS unit_price
                  FROM sale_order so
                  JOIN res_partner customer ON customer.id = so.partner_invoice_id
                  JOIN sale_order_line sol ON sol.order_id = so.id
                 WHERE %(condition)s
                   AND so.state = 'sale'
                   AND sol.display_type IS NULL
                   AND so.id NOT IN %(excluded)s
                   %(only_orders)s
            ),
            invoiced AS (
                SELECT rel.order_line_id,
                       SUM(CASE WHEN move.move_type = 'out_refund' THEN -1 ELSE 1 END
                           * aml.quantity
                           * COALESCE(line_uom.factor / NULLIF(aml_uom.factor, 0), 1)) AS qty,
                       SUM(CASE WHEN move.move_type = 'out_refund' THEN -1 ELSE 1 END
                           * aml.price_total) AS amount
                  FROM sale_order_line_invoice_rel rel
                  JOIN line ON line.id = rel.order_line_id
                  JOIN account_move_line aml ON aml.id = rel.invoice_line_id
                  JOIN account_move move ON move.id = aml.move_id
             LEFT JOIN uom_uom aml_uom ON aml_uom.id = aml.product_uom_id
             LEFT JOIN uom_uom line_uom ON line_uom.id = line.product_uom
                 WHERE move.state = 'posted'
                   AND move.move_type IN ('out_invoice', 'out_refund')
              GROUP BY rel.order_line_id
            )
            SELECT line.key_id,
                   line.company_id,
                   line.currency_id,
                   SUM(CASE
                       WHEN line.is_downpayment THEN -COALESCE(invoiced.amount, 0)
                       WHEN line.committed_qty >= 0
                       THEN GREATEST(line.committed_qty - COALESCE(invoiced.qty, 0), 0) * line.unit_price
                       ELSE LEAST(line.committed_qty - COALESCE(invoiced.qty, 0), 0) * line.unit_price
                   END) AS amount
              FROM line
         LEFT JOIN invoiced ON invoiced.order_line_id = line.id
          GROUP BY line.key_id, line.company_id, line.currency_id
            """,
            key=key,
            condition=condition,
            excluded=tuple(exclude_order_ids) or (0,),
            only_orders=only_orders,
        )

    @api.model
    def _query_draft_invoices(self, partner_ids, company, check_date=None, exclude_order_ids=()):
        """Draft customer invoices and credit notes, without the lines that come from orders
        (those are still counted in the orders' uninvoiced amount)."""
        self.env["account.move"].flush_model(
            ["commercial_partner_id", "company_id", "state", "move_type", "currency_id"]
        )
        self.env["account.move.line"].flush_model(["move_id", "display_type", "price_total"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT move.commercial_partner_id,
                       move.currency_id,
                       SUM(CASE WHEN move.move_type = 'out_refund' THEN -line.price_total
                                ELSE line.price_total END)
                  FROM account_move_line line
                  JOIN account_move move ON move.id = line.move_id
                 WHERE move.commercial_partner_id IN %(partners)s
                   AND move.company_id = %(company)s
                   AND move.state = 'draft'
                   AND move.move_type IN ('out_invoice', 'out_refund')
                   AND line.display_type = 'product'
                   AND NOT EXISTS (
                       SELECT 1 FROM sale_order_line_invoice_rel rel WHERE rel.invoice_line_id = line.id)
              GROUP BY move.commercial_partner_id, move.currency_id
                """,
                partners=partner_ids,
                company=company.id,
            )
        )
        result = defaultdict(dict)
        for partner_id, currency_id, amount in rows:
            result[partner_id][currency_id] = amount or 0.0
        return result
