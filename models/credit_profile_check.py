"""The credit check of an order against the profile: lookup and lock, facts, decision."""

import math
from dataclasses import replace

from psycopg2 import errors as pg_errors

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..credit_policy.decision import CreditFacts, evaluate


class CreditProfile(models.Model):
    _inherit = "credit.profile"  # pylint: disable=consider-merging-classes-inherited  # split by topic

    @api.model
    def _get_or_create(self, partner, company):
        """The profile of ``partner``'s commercial partner in ``company``, created when missing."""
        commercial = partner.commercial_partner_id
        profile = self.sudo().search([("partner_id", "=", commercial.id), ("company_id", "=", company.id)])
        if not profile:
            try:
                with self.env.cr.savepoint():
                    profile = (
                        self.sudo()
                        .with_company(company)
                        .create({"partner_id": commercial.id, "company_id": company.id})
                    )
            except pg_errors.UniqueViolation:
                # A concurrent transaction created it after this one's snapshot was taken
                # (two first checks of a new customer at once). Under REPEATABLE READ the
                # same insert with ON CONFLICT fails with a serialization error, which Odoo
                # retries with a fresh snapshot, where the search above finds the profile.
                self.env.cr.execute(
                    SQL(
                        "INSERT INTO credit_profile (partner_id, company_id, mode) VALUES (%s, %s, 'limit')"
                        " ON CONFLICT (partner_id, company_id) DO NOTHING",
                        commercial.id,
                        company.id,
                    ),
                    log_exceptions=False,
                )
                raise  # only reached outside REPEATABLE READ
        return profile

    @api.model
    def _get_locked_for_check(self, partner, company, order=None):
        """The profile of ``partner``'s commercial partner in ``company``, locked for a credit
        check (see :meth:`_lock_for_check`): one UPDATE finds and locks an existing profile and
        returns its row (and ``order``'s online payments) for the check to read."""
        commercial = partner.commercial_partner_id
        profile = self.sudo().browse(
            row[0]
            for row in self._execute_check_lock(
                SQL("profile.partner_id = %s AND profile.company_id = %s", commercial.id, company.id),
                company=company,
                order=order,
            )
        )
        if not profile:
            profile = self._get_or_create(commercial, company)
            profile._lock_for_check()
        return profile

    def _lock_for_check(self):
        """Serialize credit checks of one customer in one company.

        Updating the profile row makes a concurrent check of the same customer wait
        for this transaction; under Odoo's REPEATABLE READ isolation the waiting
        transaction then fails with a serialization error and is retried by Odoo
        with a fresh snapshot, in which it sees the order confirmed here.
        """
        self.ensure_one()
        self._execute_check_lock(SQL("profile.id = %s", self.id))

    @api.model
    def _execute_check_lock(self, condition, company=None, order=None):
        """Lock the profiles matching ``condition`` (on ``profile``), stamping their last check;
        returns their ids.

        The UPDATE also returns what the check reads next: the profiles' stored columns, their
        customer's limit in ``company`` and the ids of ``order``'s online payments. They go
        into the ORM cache as a read would put them, so one statement does the work of four."""
        self.flush_model()
        columns = self._check_lock_columns()
        partners = self.env["res.partner"].sudo().with_company(company)
        limit = partners._field_to_sql("partner", "credit_limit") if company else SQL("NULL")
        payments = (
            SQL(
                "ARRAY(SELECT transaction_id FROM sale_order_transaction_rel WHERE sale_order_id = %s)",
                order.id,
            )
            if order
            else SQL("NULL")
        )
        self.env.cr.execute(
            SQL(
                """UPDATE credit_profile profile SET last_check_date = %s
                     FROM res_partner partner
                    WHERE partner.id = profile.partner_id AND %s
                RETURNING profile.id, %s, %s, %s""",
                fields.Datetime.now(),
                condition,
                SQL(", ").join(SQL.identifier("profile", field.name) for field in columns),
                limit,
                payments,
            ),
            # The serialization error of a concurrent check is expected and retried: not an error log.
            log_exceptions=False,
        )
        rows = self.env.cr.fetchall()
        self.invalidate_model(["last_check_date"])
        if rows:
            ids, *values, limits, order_payments = zip(*rows, strict=True)
            profiles = self.browse(ids)
            for field, column_values in zip(columns, values, strict=True):
                self.env.cache.insert_missing(profiles, field, column_values)
            if company:
                customers = partners.browse(values[columns.index(self._fields["partner_id"])])
                self.env.cache.insert_missing(customers, partners._fields["credit_limit"], limits)
            if order:
                payment_ids = tuple(order_payments[0] or ())
                self.env.cache.insert_missing(order, order._fields["transaction_ids"], [payment_ids])
        return rows

    @api.model
    def _check_lock_columns(self):
        """The profile's plain stored columns (what a read of the profile would fetch)."""
        return [
            field
            for name, field in self._fields.items()
            if field.store
            and field.column_type
            and field.prefetch is True
            and not field.translate
            and not field.company_dependent
            and name not in ("id", "last_check_date")
        ]

    def _evaluate(
        self, check_date, order_amount, current_exposure, exclude_order_ids=(), pending_orders=0.0, order=None
    ):
        """The policy decision for a new commitment of this customer.

        ``order_amount`` is the order total and ``current_exposure`` the part of it
        that adds to the exposure (not prepaid), both in company currency.
        ``pending_orders`` are orders confirmed in the same batch before this one:
        not confirmed yet, so no query sees them, but already committed to.
        Returns ``(decision, facts)``.
        """
        self.ensure_one()
        figures = self._exposure_figures(
            self.partner_id, self.company_id, check_date, exclude_order_ids=exclude_order_ids
        )[self.partner_id.id]
        exposure = figures["exposure"]
        limit = self._credit_limit_on(check_date)
        self._check_settings_usable(limit)
        facts = CreditFacts(
            exposure=replace(
                exposure,
                uninvoiced_orders=exposure.uninvoiced_orders + pending_orders,
                current_order=current_exposure,
            ),
            capacity_parts=figures["capacity_parts"],
            check_date=check_date,
            mode=self.mode,
            limit=limit,
            tolerance_percent=self.tolerance_percent,
            order_amount=order_amount,
            on_hold=self.on_hold,
            hold_reason=self.hold_reason or "",
            overdue_amount=figures["overdue_amount"],
            overdue_days=figures["overdue_days"],
            limit_valid_until=self.limit_valid_until or None,
            review_date=self.review_date or None,
            extra=self._credit_order_facts(order, check_date) if order else {},
            limit_currency=self.limit_currency_id.name or "",
            limit_amount_currency=self.limit_amount_currency if self.limit_currency_id else 0.0,
        )
        return evaluate(facts, self.company_id._credit_policy(), self._credit_rules()), facts

    def _check_settings_usable(self, limit):
        """A clear error naming the customer and the figure when its credit settings cannot be
        checked (a negative or non-finite limit or tolerance, e.g. imported or written in SQL),
        instead of the policy core's ``ValueError``."""
        self.ensure_one()
        settings = (
            (self.env._("Credit Limit"), limit, self._format_amount),
            (self.env._("Tolerance (%)"), self.tolerance_percent, str),
        )
        for label, value, show in settings:
            if not math.isfinite(value) or value < 0:
                raise UserError(
                    self.env._(
                        "The credit of %(partner)s in %(company)s cannot be checked: its %(setting)s is "
                        "%(value)s, and it must be a number of at least 0. A credit manager corrects it on "
                        "the customer's credit profile.",
                        partner=self.partner_id.display_name,
                        company=self.company_id.name,
                        setting=label,
                        value=show(value),
                    )
                )

    def _credit_order_facts(self, order, check_date):
        """Facts about ``order`` for the rules beyond the core ones (``CreditFacts.extra``):
        its payment term and what was paid for it, against the customer's grade."""
        self.ensure_one()
        grade = self.rating_id.grade_id
        facts = {
            "paid_amount": order._credit_to_company_currency(order._credit_paid_online_amount(), check_date)
        }
        if grade:
            facts.update(
                grade=grade.code,
                max_term_days=grade.payment_term_days,
                term_days=order.payment_term_id._credit_longest_days(),
                deposit_percent=grade.deposit_percent,
            )
        # The deposit of the customer's country (its risk class), with or without a grade.
        country_risks = self.env["credit.country.risk"].sudo()
        facts.update(country_risks._credit_deposit_facts(self.partner_id, self.company_id))
        facts.update(self._credit_insurance_facts(check_date))
        team = order.team_id.sudo()
        if team.id in self.env["crm.team"]._credit_budget_team_ids():
            facts.update(
                team=team.name,
                team_budget=team.credit_budget,
                team_exposure=team._credit_exposures(
                    order.company_id, check_date, exclude_order_ids=order._credit_batch_ids()
                )[team.id],
            )
        facts.update(self._credit_group_facts(order, check_date))
        return facts

    def _credit_group_facts(self, order, check_date):
        """The customer's credit group facts: one lookup query when it is in no group with a limit."""
        group = self.env["credit.group"]._credit_group_of(self.partner_id, self.company_id)
        if not group:
            return {}
        exposures = group._credit_member_exposures(check_date, exclude_order_ids=order._credit_batch_ids())
        return {
            "group": group.name,
            "group_limit": group.credit_limit,
            "group_exposure": sum(exposures[group.id].values()),
        }

    def _credit_insurance_facts(self, check_date):
        """The customer's insured limit, where its company requires credit insurance (one grouped
        query then; none otherwise): 0 without a valid cover."""
        self.ensure_one()
        if not self.company_id.credit_insurance_required:
            return {}
        covers = self.env["credit.insurance.cover"].sudo()
        limits, insurers = covers._insured_covers(self.partner_id.ids, self.company_id, check_date).get(
            self.partner_id.id, ([], "")
        )
        return {
            "insurance_required": True,
            "insured_limit": sum(limit for limit, _coverage in limits),
            "insurers": insurers,
        }
