import json
import logging
import math
from contextlib import contextmanager
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, split_every

from ..credit_policy.behaviour import TREND_WINDOW_DAYS, PaymentAggregates, PaymentBehaviour
from ..credit_policy.country import cap_recommendation
from ..credit_policy.factors import factor_values, financial_ratios, rating_trend
from ..credit_policy.grades import recommended_limit
from ..credit_policy.schedule import next_review_date
from ..credit_policy.scoring import score

_logger = logging.getLogger(__name__)

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


class CreditRatingEngine(models.AbstractModel):
    """Rates customers in batches (信用评级): gathers every factor with one grouped
    query per metric group for the whole batch, scores each customer with the
    policy core, and writes the ratings and profiles in bulk.

    Amounts are in the company currency: partial reconciliations, balances and
    signed totals are stored in it; financial statements in another currency
    are converted at the rating date.
    """

    _name = "credit.rating.engine"
    _description = "Credit Rating Engine"

    #: Customers gathered and written together (one query per metric group, one INSERT, one UPDATE).
    _batch_size = 5000
    #: Paid invoices older than this many days before the rating date no longer count.
    _lookback_days = 730
    #: DSO and sales volume look back over this many days.
    _sales_period_days = 365
    #: Customers rated by one run of the daily cron, per company (the cron calls itself again for more).
    _cron_batch_limit = 20000

    # ------------------------------------------------------------
    # PUBLIC ENTRY POINTS
    # ------------------------------------------------------------

    @api.model
    def _check_rating_rights(self):
        if not self.env.su and not self.env.user.has_group("sale_credit_control.group_credit_manager"):
            raise AccessError(_("Only credit managers can rate customers."))

    @api.model
    def _check_rating_company(self, company):
        """Refuse to rate in a company the calling user may not work in (superuser and cron excepted).

        The ratings and profiles are written by raw SQL, which no record rule guards:
        this is the company check they would otherwise get.
        """
        if not company:
            raise UserError(_("Choose the company to rate customers in."))
        if not self.env.su and company not in self.env.user.company_ids:
            raise AccessError(
                _(
                    "You cannot rate customers in %(company)s: it is not one of your companies.",
                    company=company.sudo().name,
                )
            )

    @api.model
    def _check_partners_company(self, partner_ids, company):
        """Refuse partners that belong to another company than ``company`` (or one of its parents).

        A customer of another company (``company_id`` set to a different company) is
        never rated in ``company``: its rating would be written for a customer the
        company does not share. One query, whatever the batch size.
        """
        strangers = self._partners_of_other_companies(partner_ids, company, limit=5)
        if strangers:
            raise UserError(
                _(
                    "These customers belong to another company and cannot be rated in %(company)s: "
                    "%(partners)s.",
                    company=company.sudo().name,
                    partners=", ".join(
                        f"{partner.display_name} ({partner.company_id.name})" for partner in strangers
                    ),
                )
            )

    @api.model
    def _partners_of_other_companies(self, partner_ids, company, limit=None):
        """The partners of ``partner_ids`` that belong to a company other than ``company`` or its
        parents (as superuser): Odoo's own company rule for partners (``check_company``)."""
        allowed = [int(parent) for parent in company.sudo().parent_path.split("/")[:-1]]
        return (
            self.env["res.partner"]
            .sudo()
            .with_context(active_test=False)
            .search(
                [
                    ("id", "in", list(partner_ids)),
                    ("company_id", "!=", False),
                    ("company_id", "not in", allowed),
                ],
                limit=limit,
            )
        )

    @api.model
    def _rate_partners(self, partners, company, as_of=None, trigger="manual"):
        """Rate the commercial partners of ``partners`` in ``company`` as of ``as_of`` (default today).

        Returns the new ``credit.rating`` records. Each batch of customers costs a
        fixed number of queries, whatever its size and the customers' history: three
        for the payment behaviour, one each for the financial statements, bureau
        reports and current profiles, one INSERT of the ratings, one INSERT of the
        missing profiles (after one made by the ORM) and one UPDATE of the profiles.
        Access: credit managers, in one of their companies, for customers shared with
        ``company`` or belonging to it (the ratings themselves are written as superuser,
        nobody may create or change them directly).
        """
        self._check_rating_rights()
        self._check_rating_company(company)
        all_partners = partners | partners.commercial_partner_id
        self._check_partners_company(all_partners.ids, company)
        as_of = as_of or fields.Date.context_today(self)
        scorecard = self.env["credit.scorecard"].sudo()._for_company(company)
        if not scorecard:
            raise UserError(_("No credit scorecard applies to %(company)s.", company=company.name))
        # Money amounts of the scorecard (sales volume bands, fixed caps) in the company currency.
        context = {
            "scorecard": scorecard,
            "card": scorecard._to_policy(company, as_of),
            "table": scorecard._grade_table(company, as_of),
        }
        context["grades"] = {grade.code: grade.id for grade in scorecard.grade_ids}
        partner_ids = sorted(set(partners.commercial_partner_id.ids))
        rating_ids = []
        batches = list(split_every(self._batch_size, partner_ids, list))
        inserted = 0  # rows added to the profile and rating tables since the planner last counted them
        with self._without_jit():
            for index, batch in enumerate(batches):
                if index and self._refresh_statistics(inserted):
                    inserted = 0
                rating_ids += self._rate_batch(batch, company, as_of, trigger, context)
                inserted += len(batch)
                if len(batches) > 1:
                    self.env.invalidate_all()  # let the memory of the batch go
        logged = context.pop("decision_log", [])
        self.env["credit.decision.log"]._log_ratings(
            company,
            [vals for vals_list, _ids in logged for vals in vals_list],
            [rating_id for _vals, ids in logged for rating_id in ids],
        )
        return self.env["credit.rating"].browse(rating_ids)

    @api.model
    def _refresh_statistics(self, inserted):
        """Between two batches of a run: update PostgreSQL's statistics of the profile and
        rating tables when the previous batches added many rows they do not count yet.

        Otherwise, in a young database (statistics taken while the tables were empty),
        the planner believes the tables still empty and joins them by scanning one for
        every row of the other: seconds per batch at 20,000 ratings, minutes at 100,000.
        Only the join columns are analysed; rows inserted by this transaction count.
        Returns whether the statistics were refreshed.
        """
        rows = self.env.execute_query(
            SQL(
                "SELECT GREATEST(MIN(reltuples), 0) FROM pg_class WHERE relname IN %s AND relkind = 'r'",
                ("credit_profile", "credit_rating"),
            )
        )
        known = rows[0][0] or 0
        if inserted <= known / 2:
            return False
        self.env.cr.execute(SQL("ANALYZE credit_profile (partner_id, company_id, rating_id)"))
        self.env.cr.execute(SQL("ANALYZE credit_rating (id, partner_id)"))
        return True

    @contextmanager
    def _without_jit(self):
        """Run the batch queries without PostgreSQL's JIT compilation.

        The grouped queries of a batch are estimated as costly (thousands of
        customers), so PostgreSQL compiles them first, which takes longer (about
        1.5 s per query) than running them (0.1 to 0.4 s for 5,000 customers).
        The setting is local to the transaction and restored afterwards.
        """
        self.env.cr.execute(SQL("SELECT current_setting('jit', true)"))
        previous = self.env.cr.fetchone()[0]
        if previous != "on":
            yield
            return
        self.env.cr.execute(SQL("SET LOCAL jit = off"))
        try:
            yield
        finally:
            self.env.cr.execute(SQL("SET LOCAL jit = on"))

    @api.model
    def _cron_rate_due(self):
        """Rate customers whose review is due or who were never rated, a bounded batch per company."""
        today = fields.Date.context_today(self)
        companies = self.env["res.company"].sudo().search([("credit_control_enabled", "=", True)])
        done = remaining = 0
        for company in companies:
            partner_ids, more = self._due_partner_ids(company, today, self._cron_batch_limit)
            if partner_ids:
                self.sudo()._rate_partners(
                    self.env["res.partner"].browse(partner_ids), company, as_of=today, trigger="cron"
                )
                _logger.info("Credit rating cron: %s customers of %s rated", len(partner_ids), company.name)
            done += len(partner_ids)
            remaining += more
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        return done

    @api.model
    def _due_partner_ids(self, company, today, limit):
        """Commercial partners of ``company`` to rate: review due, or never rated though invoiced.

        Customers belonging to another company are left out (see ``_check_partners_company``).

        Returns ``(ids, how many more are due)``; profiles without a review date
        and customers never rated come first, then the oldest review dates.
        """
        self.env["credit.profile"].flush_model(["partner_id", "company_id", "rating_id", "review_date"])
        self.env["account.move"].flush_model(["commercial_partner_id", "company_id", "move_type", "state"])
        self.env["res.partner"].flush_model(["active", "company_id"])
        rows = self.env.execute_query(
            SQL(
                """
                WITH candidates AS (
                    SELECT profile.partner_id, profile.review_date, profile.rating_id IS NULL AS never_rated
                      FROM credit_profile profile
                     WHERE profile.company_id = %(company)s
                       AND (profile.rating_id IS NULL OR profile.review_date IS NULL
                            OR profile.review_date <= %(today)s)
                    UNION
                    SELECT DISTINCT move.commercial_partner_id, NULL::date, TRUE
                      FROM account_move move
                     WHERE move.company_id = %(company)s
                       AND move.move_type = 'out_invoice'
                       AND move.state = 'posted'
                       AND NOT EXISTS (
                           SELECT 1 FROM credit_profile profile
                            WHERE profile.partner_id = move.commercial_partner_id
                              AND profile.company_id = %(company)s)
                )
                SELECT candidates.partner_id
                  FROM candidates
                  JOIN res_partner partner ON partner.id = candidates.partner_id
                 WHERE partner.active
                   AND (partner.company_id IS NULL OR partner.company_id IN %(allowed)s)
              ORDER BY candidates.never_rated DESC, candidates.review_date NULLS FIRST, candidates.partner_id
                """,
                company=company.id,
                today=today,
                allowed=tuple(int(parent) for parent in company.sudo().parent_path.split("/")[:-1]),
            )
        )
        ids = [row[0] for row in rows]
        return ids[:limit], max(0, len(ids) - limit)

    # ------------------------------------------------------------
    # ONE BATCH
    # ------------------------------------------------------------

    @api.model
    def _rate_batch(self, partner_ids, company, as_of, trigger, context):
        country_risks = self._query_country_risks(partner_ids, company)
        facts = self._customer_facts(partner_ids, company, as_of, country_risks=country_risks)
        profiles = self._profiles(partner_ids, company)
        card, table, grades = context["card"], context["table"], context["grades"]
        scorecard = context["scorecard"]
        convert = self.env["credit.profile"]._converter(company, as_of)
        review_dates = {}  # months -> next review date
        vals_list, reviews = [], []
        for partner_id in partner_ids:
            customer = facts[partner_id]
            result = score(card, customer["values"])
            rounded = round(result.score, 2)
            grade = table.grade_for(rounded)
            previous_code = profiles.get(partner_id, (None, None))[1]
            limit = recommended_limit(
                grade,
                revenue=None if customer["revenue"] is None else convert(customer["revenue"]),
                equity=None if customer["equity"] is None else convert(customer["equity"]),
            )
            # The country's cap is one more cap on the recommendation (国家风险).
            country = country_risks.get(partner_id)
            limit, country_capped = cap_recommendation(limit, country.limit_cap if country else None)
            if grade.review_months not in review_dates:
                review_dates[grade.review_months] = next_review_date(as_of, grade.review_months)
            vals_list.append(
                {
                    "partner_id": partner_id,
                    "company_id": company.id,
                    "date": as_of,
                    "scorecard_id": scorecard.id,
                    "score": rounded,
                    "grade_id": grades.get(grade.code),
                    "grade_code": grade.code,
                    "previous_grade_code": previous_code or None,
                    "trend": rating_trend(table, previous_code, grade.code),
                    "recommended_limit": limit or 0.0,
                    "has_recommendation": limit is not None,
                    "country_id": country.country_id if country else None,
                    "country_risk_class": country.risk_class if country else None,
                    "country_limit_cap": country.limit_cap if country else None,
                    "country_cap_applied": country_capped,
                    "breakdown": [self._breakdown_line(line) for line in result.lines],
                    "trigger": trigger,
                    "user_id": self.env.uid,
                }
            )
            reviews.append(review_dates[grade.review_months])
        rating_ids = self._insert_ratings(vals_list)
        # Logged once for the whole run (one INSERT), so the company's log is locked only at its end.
        context.setdefault("decision_log", []).append((vals_list, rating_ids))
        missing = [partner_id for partner_id in partner_ids if partner_id not in profiles]
        if missing:
            created = self._create_profiles(missing, company)
            profiles.update({partner_id: (profile_id, None) for partner_id, profile_id in created.items()})
        self._update_profiles([profiles[partner_id][0] for partner_id in partner_ids], rating_ids, reviews)
        # A new review date may lift the "review expired" rule: re-check the customers' held quotations.
        self.env["sale.order"]._credit_reevaluate_partners(
            self.env["res.partner"].browse(partner_ids), company
        )
        return rating_ids

    @api.model
    def _breakdown_line(self, line):
        value = line.value
        if value is not None:
            value = float(value)
            if not math.isfinite(value):
                value = None
        return {
            "code": line.code,
            "value": value,
            "points": line.points,
            "weight": line.weight,
            "contribution": line.contribution,
            "status": line.status,
        }

    @api.model
    def _profiles(self, partner_ids, company):
        """``{partner_id: (profile_id, current grade code)}`` of the existing profiles."""
        self.env["credit.profile"].flush_model(["partner_id", "company_id", "rating_id"])
        self.env["credit.rating"].flush_model(["grade_code"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT profile.partner_id, profile.id, rating.grade_code
                  FROM credit_profile profile
             LEFT JOIN credit_rating rating ON rating.id = profile.rating_id
                 WHERE profile.company_id = %s AND profile.partner_id IN %s
                """,
                company.id,
                tuple(partner_ids),
            )
        )
        return {partner_id: (profile_id, grade_code) for partner_id, profile_id, grade_code in rows}

    @api.model
    def _insert_ratings(self, vals_list):
        """Insert the ratings of a batch in one statement; returns their ids in the order of ``vals_list``.

        Ratings are immutable records written by this engine only, so they are
        inserted directly (one ``INSERT ... SELECT FROM unnest(column arrays)``):
        the ORM's ``create()`` costs about 2 ms per rating (defaults, caches,
        conversions), which alone would cap a batch run at 500 customers per second.
        The values are converted like the ORM does (Json as jsonb, empty as NULL).
        """
        Rating = self.env["credit.rating"]
        names = list(vals_list[0])
        arrays = []
        for name in names:
            field = Rating._fields[name]
            values = [vals[name] for vals in vals_list]
            if field.type == "json":
                values = [None if value is None else json.dumps(value) for value in values]
            elif field.type in ("many2one", "char", "selection"):
                values = [value or None for value in values]
            arrays.append(SQL("%s::%s[]", values, SQL(field.column_type[1])))
        now = self.env.cr.now()
        rows = self.env.execute_query(
            SQL(
                """
                INSERT INTO credit_rating (%(columns)s, create_uid, create_date, write_uid, write_date)
                SELECT new.*, %(uid)s, %(now)s, %(uid)s, %(now)s FROM unnest(%(arrays)s) AS new
                RETURNING id, partner_id
                """,
                columns=SQL(", ").join(SQL.identifier(name) for name in names),
                arrays=SQL(", ").join(arrays),
                uid=self.env.uid,
                now=now,
            )
        )
        ids = {partner_id: rating_id for rating_id, partner_id in rows}
        return [ids[vals["partner_id"]] for vals in vals_list]

    @api.model
    def _create_profiles(self, partner_ids, company):
        """Create the missing credit profiles of ``partner_ids``; returns ``{partner_id: profile_id}``.

        The first profile is created by the ORM, so that every default, precomputed
        value and creation rule applies; the others are copies of its row with their
        own partner, inserted in one statement (the ORM would take about 2 ms per
        profile). When a stored computed field of the profile depends on the
        partner, copies would be wrong and every profile goes through the ORM.
        """
        Profile = (
            self.env["credit.profile"]
            .sudo()
            .with_company(company)
            .with_context(tracking_disable=True, mail_create_nolog=True, mail_create_nosubscribe=True)
        )
        if self._profile_depends_on_partner():
            profiles = Profile.create(
                [{"partner_id": partner_id, "company_id": company.id} for partner_id in partner_ids]
            )
            return {profile.partner_id.id: profile.id for profile in profiles}
        first = Profile.create({"partner_id": partner_ids[0], "company_id": company.id})
        result = {partner_ids[0]: first.id}
        if len(partner_ids) == 1:
            return result
        first.flush_recordset()
        copied = [
            column
            for column in self._table_columns("credit_profile")
            if column not in ("id", "partner_id", "create_uid", "create_date", "write_uid", "write_date")
        ]
        now = self.env.cr.now()
        rows = self.env.execute_query(
            SQL(
                """
                INSERT INTO credit_profile
                       (partner_id, %(columns)s, create_uid, create_date, write_uid, write_date)
                SELECT new.partner_id, %(source)s, %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM credit_profile source, unnest(%(partners)s::int[]) AS new(partner_id)
                 WHERE source.id = %(first)s
             RETURNING partner_id, id
                """,
                columns=SQL(", ").join(SQL.identifier(column) for column in copied),
                source=SQL(", ").join(SQL.identifier("source", column) for column in copied),
                partners=partner_ids[1:],
                first=first.id,
                uid=self.env.uid,
                now=now,
            )
        )
        result.update(rows)
        self.env["res.partner"].invalidate_model(["credit_profile_ids", "credit_profile_id"])
        return result

    @api.model
    def _profile_depends_on_partner(self):
        Profile = self.env["credit.profile"]
        for field in Profile._fields.values():
            if field.store and (field.compute or field.related) and field.name != "partner_id":
                depends = field.get_depends(Profile)[0]
                if any(path.split(".")[0] == "partner_id" for path in depends):
                    return True
        return False

    @api.model
    def _table_columns(self, table):
        rows = self.env.execute_query(
            SQL(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_name = %s ORDER BY ordinal_position",
                table,
            )
        )
        return [column for (column,) in rows]

    @api.model
    def _update_profiles(self, profile_ids, rating_ids, review_dates):
        """Point each profile at its new rating and set its next review, in one UPDATE."""
        if not profile_ids:
            return
        self.env["credit.profile"].flush_model(["rating_id", "review_date"])
        self.env.cr.execute(
            SQL(
                """
                UPDATE credit_profile profile
                   SET rating_id = new.rating_id, review_date = new.review_date,
                       write_uid = %(uid)s, write_date = %(now)s
                  FROM unnest(%(profiles)s::int[], %(ratings)s::int[], %(reviews)s::date[])
                       AS new(profile_id, rating_id, review_date)
                 WHERE profile.id = new.profile_id
                """,
                uid=self.env.uid,
                now=self.env.cr.now(),
                profiles=profile_ids,
                ratings=rating_ids,
                reviews=review_dates,
            )
        )
        self.env["credit.profile"].invalidate_model(
            ["rating_id", "rating_ids", "review_date", "write_uid", "write_date"]
        )

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
