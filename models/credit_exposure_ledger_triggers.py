"""The database triggers that keep the exposure ledger in step with the documents.

They are statement-level triggers with transition tables: one set-based statement per change,
whatever the number of rows an ORM flush writes. Their SQL is rendered from the same
definitions the source queries use (``credit.profile._open_receivable_item_sql`` and
``_order_commitments_sql``), so the ledger and the recomputation cannot disagree on what counts.
"""

from odoo import api, models
from odoo.tools import SQL
from odoo.tools.sql import table_exists

# The columns of a journal item its open-receivable figures depend on.
RECEIVABLE_ITEM_COLUMNS = (
    "partner_id",
    "account_id",
    "company_id",
    "currency_id",
    "date_maturity",
    "parent_state",
    "reconciled",
    "amount_residual_currency",
)
# The columns of an invoice line an order line's commitment depends on.
INVOICE_LINE_COLUMNS = ("move_id", "quantity", "price_total", "product_uom_id")
ORDER_LINE_COLUMNS = (
    "order_id",
    "display_type",
    "is_downpayment",
    "product_uom_qty",
    "qty_delivered",
    "price_total",
    "price_unit",
    "discount",
    "product_uom",
)
ORDER_COLUMNS = ("state", "partner_invoice_id", "company_id", "currency_id")
# (table, trigger function, events): one trigger per event, as transition tables require.
LEDGER_TRIGGERS = (
    ("account_move_line", "credit_exposure_aml_changed", ("INSERT", "UPDATE", "DELETE")),
    ("sale_order_line", "credit_exposure_sol_changed", ("INSERT", "UPDATE", "DELETE")),
    ("sale_order_line_invoice_rel", "credit_exposure_rel_changed", ("INSERT", "DELETE")),
    ("sale_order", "credit_exposure_so_changed", ("UPDATE",)),
    ("account_move", "credit_exposure_move_changed", ("UPDATE",)),
    ("res_partner", "credit_exposure_partner_changed", ("UPDATE",)),
    ("account_account", "credit_exposure_account_changed", ("UPDATE",)),
    ("uom_uom", "credit_exposure_uom_changed", ("UPDATE",)),
)
# The triggers run the same few statements with other row ids on every change: planning the
# order commitments for each call would cost more (milliseconds) than running them. The
# setting holds inside these functions only, for their own statements.
GENERIC_PLANS = SQL("SET plan_cache_mode = force_generic_plan")
LEDGER_FUNCTIONS = tuple(function for _table, function, _events in LEDGER_TRIGGERS) + (
    "credit_exposure_refresh_order_lines",
)


def _changed(columns, old="o", new="n"):
    """SQL: the row ``old`` differs from ``new`` in one of ``columns``."""
    return SQL(
        "(%s) IS DISTINCT FROM (%s)",
        SQL(", ").join(SQL.identifier(old, column) for column in columns),
        SQL(", ").join(SQL.identifier(new, column) for column in columns),
    )


def _updated_rows(columns):
    """SQL: the ids of the rows an UPDATE changed in one of ``columns`` (transition tables)."""
    return SQL("SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE %s", _changed(columns))


class CreditExposureLedger(models.Model):
    _inherit = "credit.exposure.ledger"

    def init(self):
        result = super().init()
        # The registry initializes models in no set order: whichever of the two tables comes
        # second installs the triggers and builds the ledger (credit.exposure.order.line's init).
        if table_exists(self.env.cr, "credit_exposure_order_line"):
            self._install_triggers()
        return result

    @api.model
    def _install_triggers(self):
        """(Re)create the trigger functions and triggers, and build the ledger from the documents."""
        cr = self.env.cr
        cr.execute(self._refresh_function_sql())
        for table, function, events in LEDGER_TRIGGERS:
            cr.execute(self._trigger_function_sql(function, getattr(self, f"_{function}_body")()))
            for event in events:
                name = SQL.identifier(f"{function}_{event.lower()}")
                cr.execute(SQL("DROP TRIGGER IF EXISTS %s ON %s", name, SQL.identifier(table)))
                cr.execute(
                    SQL(
                        "CREATE TRIGGER %s AFTER %s ON %s REFERENCING %s"
                        " FOR EACH STATEMENT EXECUTE FUNCTION %s()",
                        name,
                        SQL(event),
                        SQL.identifier(table),
                        SQL(
                            {
                                "INSERT": "NEW TABLE AS new_rows",
                                "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
                                "DELETE": "OLD TABLE AS old_rows",
                            }[event]
                        ),
                        SQL.identifier(function),
                    )
                )
        # Installed or updated: the ledger starts from the documents (the triggers keep it from here).
        self._rebuild()

    # ------------------------------------------------------------
    # SQL RENDERING
    # ------------------------------------------------------------

    def _render(self, sql):
        """``sql`` as plain text with its parameters inlined, for a function body."""
        return self.env.cr.mogrify(sql.code, sql.params).decode()

    def _trigger_function_sql(self, function, body):
        return SQL(
            "CREATE OR REPLACE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql %s AS %s",
            SQL.identifier(function),
            GENERIC_PLANS,
            f"BEGIN\n{self._render(body)}\nRETURN NULL;\nEND",
        )

    def _refresh_function_sql(self):
        """``credit_exposure_refresh_order_lines(affected integer[])``: recompute the commitment of
        the order lines ``affected``, store it per line and add its change to the ledger."""
        body = SQL(
            """
            BEGIN
            IF affected IS NULL OR cardinality(affected) = 0 THEN
                RETURN;
            END IF;
            WITH fresh (order_line_id, order_id, partner_id, company_id, currency_id, amount) AS (%(fresh)s),
            stored AS (
                SELECT * FROM credit_exposure_order_line WHERE order_line_id = ANY(affected)
            ),
            removed AS (
                DELETE FROM credit_exposure_order_line line
                 WHERE line.order_line_id = ANY(affected)
                   AND line.order_line_id NOT IN (SELECT order_line_id FROM fresh)
            ),
            kept AS (
                INSERT INTO credit_exposure_order_line AS line
                       (order_line_id, order_id, partner_id, company_id, currency_id, amount)
                SELECT order_line_id, order_id, partner_id, company_id, currency_id, amount FROM fresh
                    ON CONFLICT (order_line_id) DO UPDATE
                   SET order_id = EXCLUDED.order_id, partner_id = EXCLUDED.partner_id,
                       company_id = EXCLUDED.company_id, currency_id = EXCLUDED.currency_id,
                       amount = EXCLUDED.amount
            ),
            delta AS (
                SELECT partner_id, company_id, currency_id, SUM(amount) AS amount
                  FROM (SELECT partner_id, company_id, currency_id, -amount AS amount FROM stored
                        UNION ALL
                        SELECT partner_id, company_id, currency_id, amount FROM fresh) change
              GROUP BY partner_id, company_id, currency_id
                HAVING SUM(amount) <> 0
            )
            INSERT INTO credit_exposure_ledger AS ledger
                   (partner_id, company_id, currency_id, part, date_maturity,
                    amount, debit_amount, debit_count)
            SELECT partner_id, company_id, currency_id, 'uninvoiced_orders', NULL, amount, 0, 0 FROM delta
                ON CONFLICT (partner_id, company_id, currency_id, part,
                             COALESCE(date_maturity, '-infinity'::date))
                DO UPDATE SET amount = ledger.amount + EXCLUDED.amount;
            END
            """,
            fresh=self._order_line_commitments_sql(SQL("sol.id = ANY(affected)")),
        )
        return SQL(
            "CREATE OR REPLACE FUNCTION credit_exposure_refresh_order_lines(affected integer[])"
            " RETURNS void LANGUAGE plpgsql %s AS %s",
            GENERIC_PLANS,
            self._render(body),
        )

    def _receivable_delta_sql(self, items):
        """Add to the ledger what the journal items ``items`` change: a relation of ``(sign,
        commercial_partner_id, account_type, company_id, currency_id, date_maturity, parent_state,
        reconciled, amount_residual_currency)``, -1 for a row as it was, +1 as it is."""
        return SQL(
            """
            INSERT INTO credit_exposure_ledger AS ledger
                   (partner_id, company_id, currency_id, part, date_maturity,
                    amount, debit_amount, debit_count)
            SELECT aml.commercial_partner_id, aml.company_id, aml.currency_id, 'receivables',
                   aml.date_maturity,
                   SUM(aml.sign * aml.amount_residual_currency),
                   SUM(aml.sign * GREATEST(aml.amount_residual_currency, 0)),
                   SUM(aml.sign * (aml.amount_residual_currency > 0)::integer)
              FROM (%(items)s) aml
             WHERE %(open_item)s
          GROUP BY aml.commercial_partner_id, aml.company_id, aml.currency_id, aml.date_maturity
            HAVING SUM(aml.sign * aml.amount_residual_currency) <> 0
                OR SUM(aml.sign * GREATEST(aml.amount_residual_currency, 0)) <> 0
                OR SUM(aml.sign * (aml.amount_residual_currency > 0)::integer) <> 0
                ON CONFLICT (partner_id, company_id, currency_id, part,
                             COALESCE(date_maturity, '-infinity'::date))
                DO UPDATE SET amount = ledger.amount + EXCLUDED.amount,
                              debit_amount = ledger.debit_amount + EXCLUDED.debit_amount,
                              debit_count = ledger.debit_count + EXCLUDED.debit_count;
            """,
            items=items,
            open_item=self.env["credit.profile"]._open_receivable_item_sql(
                account_type=SQL("aml.account_type")
            ),
        )

    @api.model
    def _items_of(
        self,
        sign,
        rows,
        partner=SQL("partner.commercial_partner_id"),
        account_type=SQL("account.account_type"),
    ):
        """SQL: the ``items`` relation of :meth:`_receivable_delta_sql` for journal item ``rows``
        (a FROM clause naming them ``t``, joinable to ``partner`` and ``account``).

        Items whose partner has no commercial partner in the database yet are left out: Odoo may
        write a new partner's computed commercial partner after the items of its invoice (one
        flush, models in any order); the partner trigger counts them when it is written."""
        return SQL(
            """
            SELECT %(sign)s AS sign, %(partner)s AS commercial_partner_id, %(account_type)s AS account_type,
                   t.company_id, t.currency_id, t.date_maturity, t.parent_state, t.reconciled,
                   t.amount_residual_currency
              FROM %(rows)s
              JOIN res_partner partner ON partner.id = t.partner_id
              JOIN account_account account ON account.id = t.account_id
             WHERE %(partner)s IS NOT NULL
            """,
            sign=sign,
            partner=partner,
            account_type=account_type,
            rows=rows,
        )

    @staticmethod
    def _refresh(lines):
        """SQL: refresh the commitments of the order lines of the query ``lines``."""
        return SQL("PERFORM credit_exposure_refresh_order_lines(ARRAY(%s));", lines)

    @staticmethod
    def _by_operation(insert=None, update=None, delete=None):
        """A trigger body running the statement of the operation that fired it."""
        branches = [
            (op, sql) for op, sql in (("INSERT", insert), ("UPDATE", update), ("DELETE", delete)) if sql
        ]
        return SQL(
            "%s\nEND IF;",
            SQL("\n").join(
                SQL("%s TG_OP = %s THEN %s", SQL("IF" if index == 0 else "ELSIF"), op, sql)
                for index, (op, sql) in enumerate(branches)
            ),
        )

    # ------------------------------------------------------------
    # TRIGGER BODIES (one per table)
    # ------------------------------------------------------------

    def _credit_exposure_aml_changed_body(self):
        """Journal items: their open-receivable figures; and the commitments of the order lines
        an invoice line belongs to when its quantity, amount, unit or move changes (lines added
        to or removed from an order line are the invoice relation's trigger's)."""
        changed = SQL(
            "(SELECT o.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE %s) t",
            _changed(RECEIVABLE_ITEM_COLUMNS),
        )
        changed_new = SQL(
            "(SELECT n.* FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE %s) t",
            _changed(RECEIVABLE_ITEM_COLUMNS),
        )
        return self._by_operation(
            insert=self._receivable_delta_sql(self._items_of(SQL("1"), SQL("new_rows t"))),
            update=SQL(
                "%s %s",
                self._receivable_delta_sql(
                    SQL(
                        "%s UNION ALL %s",
                        self._items_of(SQL("-1"), changed),
                        self._items_of(SQL("1"), changed_new),
                    )
                ),
                self._refresh(
                    SQL(
                        "SELECT rel.order_line_id FROM sale_order_line_invoice_rel rel"
                        " WHERE rel.invoice_line_id IN (%s)",
                        _updated_rows(INVOICE_LINE_COLUMNS),
                    )
                ),
            ),
            delete=self._receivable_delta_sql(self._items_of(SQL("-1"), SQL("old_rows t"))),
        )

    def _credit_exposure_sol_changed_body(self):
        return self._by_operation(
            insert=self._refresh(SQL("SELECT id FROM new_rows")),
            update=self._refresh(_updated_rows(ORDER_LINE_COLUMNS)),
            delete=self._refresh(SQL("SELECT id FROM old_rows")),
        )

    def _credit_exposure_rel_changed_body(self):
        return self._by_operation(
            insert=self._refresh(SQL("SELECT order_line_id FROM new_rows")),
            delete=self._refresh(SQL("SELECT order_line_id FROM old_rows")),
        )

    def _credit_exposure_so_changed_body(self):
        return self._by_operation(
            update=self._refresh(
                SQL(
                    "SELECT sol.id FROM sale_order_line sol WHERE sol.order_id IN (%s)",
                    _updated_rows(ORDER_COLUMNS),
                )
            )
        )

    def _credit_exposure_move_changed_body(self):
        """A posted, reset or cancelled invoice changes what its order lines still commit to."""
        return self._by_operation(
            update=self._refresh(
                SQL(
                    """SELECT rel.order_line_id
                         FROM account_move_line aml
                         JOIN sale_order_line_invoice_rel rel ON rel.invoice_line_id = aml.id
                        WHERE aml.move_id IN (%s)""",
                    _updated_rows(("state", "move_type")),
                )
            )
        )

    def _credit_exposure_partner_changed_body(self):
        """A contact moved to another company: its items and orders move to the new customer."""
        moved = SQL("old_rows o JOIN new_rows n ON n.id = o.id AND %s", _changed(("commercial_partner_id",)))
        items = SQL(
            "(SELECT aml.*, o.commercial_partner_id AS old_customer, n.commercial_partner_id AS new_customer"
            " FROM %s JOIN account_move_line aml ON aml.partner_id = n.id) t",
            moved,
        )
        return self._by_operation(
            update=SQL(
                "%s %s",
                self._receivable_delta_sql(
                    SQL(
                        "%s UNION ALL %s",
                        self._items_of(SQL("-1"), items, partner=SQL("t.old_customer")),
                        self._items_of(SQL("1"), items, partner=SQL("t.new_customer")),
                    )
                ),
                self._refresh(
                    SQL(
                        "SELECT sol.id FROM %s JOIN sale_order so ON so.partner_invoice_id = n.id"
                        " JOIN sale_order_line sol ON sol.order_id = so.id",
                        moved,
                    )
                ),
            )
        )

    def _credit_exposure_account_changed_body(self):
        """An account that becomes (or stops being) a receivable account brings (or takes) its items."""
        retyped = SQL("old_rows o JOIN new_rows n ON n.id = o.id AND %s", _changed(("account_type",)))
        items = SQL(
            "(SELECT aml.*, o.account_type AS old_type, n.account_type AS new_type"
            " FROM %s JOIN account_move_line aml ON aml.account_id = n.id) t",
            retyped,
        )
        return self._by_operation(
            update=self._receivable_delta_sql(
                SQL(
                    "%s UNION ALL %s",
                    self._items_of(SQL("-1"), items, account_type=SQL("t.old_type")),
                    self._items_of(SQL("1"), items, account_type=SQL("t.new_type")),
                )
            )
        )

    def _credit_exposure_uom_changed_body(self):
        """A unit's factor converts invoiced quantities into ordered ones."""
        return self._by_operation(
            update=self._refresh(
                SQL(
                    """SELECT sol.id FROM sale_order_line sol WHERE sol.product_uom IN (%(uoms)s)
                       UNION
                       SELECT rel.order_line_id
                         FROM account_move_line aml
                         JOIN sale_order_line_invoice_rel rel ON rel.invoice_line_id = aml.id
                        WHERE aml.product_uom_id IN (%(uoms)s)""",
                    uoms=_updated_rows(("factor",)),
                )
            )
        )
