import logging

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, split_every

from .cron_batch import commit_cron_batch

_logger = logging.getLogger(__name__)


class CreditRatingEngine(models.AbstractModel):
    """Rates customers in batches (信用评级): gathers every factor with one grouped
    query per metric group for the whole batch, scores each customer with the
    policy core, and writes the ratings and profiles in bulk.

    Amounts are in the company currency: partial reconciliations, balances and
    signed totals are stored in it; financial statements in another currency
    are converted at the rating date.

    This file holds the entry points (access checks, the run split into batches, the
    daily cron); ``credit_rating_engine_batch.py`` rates one batch (scores, inserts the
    ratings, creates and updates the profiles) and ``credit_rating_engine_facts.py``
    gathers the customers' facts (the grouped queries).
    """

    _name = "credit.rating.engine"
    _description = "Credit Rating Engine"

    #: Customers gathered and written together (one query per metric group, one INSERT, one UPDATE);
    #: the daily cron commits each batch.
    _batch_size = 2000
    #: Customers rated by one call of the daily cron, per company (the cron calls itself again for more).
    _cron_batch_limit = 20000

    # ------------------------------------------------------------
    # PUBLIC ENTRY POINTS
    # ------------------------------------------------------------

    @api.model
    def _check_rating_rights(self):
        if not self.env.su and not self.env.user.has_group("sale_credit_control.group_credit_manager"):
            raise AccessError(self.env._("Only credit managers can rate customers."))

    @api.model
    def _check_rating_company(self, company):
        """Refuse to rate in a company the calling user may not work in (superuser and cron excepted).

        The ratings and profiles are written by raw SQL, which no record rule guards:
        this is the company check they would otherwise get.
        """
        if not company:
            raise UserError(self.env._("Choose the company to rate customers in."))
        if not self.env.su and company not in self.env.user.company_ids:
            raise AccessError(
                self.env._(
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
                self.env._(
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
            raise UserError(self.env._("No credit scorecard applies to %(company)s.", company=company.name))
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
        for batch in batches:
            rating_ids += self._rate_batch(batch, company, as_of, trigger, context)
            if len(batches) > 1:
                self.env.invalidate_all()  # let the memory of the batch go
        logged = context.pop("decision_log", [])
        self.env["credit.decision.log"]._log_ratings(
            company,
            [vals for vals_list, _ids in logged for vals in vals_list],
            [rating_id for _vals, ids in logged for rating_id in ids],
        )
        return self.env["credit.rating"].browse(rating_ids)

    # ------------------------------------------------------------
    # CRON
    # ------------------------------------------------------------

    @api.model
    def _cron_rate_due(self):
        """Rate customers whose review is due or who were never rated, a bounded number per
        company and call (the cron calls itself again while some remain).

        By batches of ``_batch_size`` customers, each committed (ratings, profiles, decision
        log) when the cron runs it: a rated customer is not due any more, so a run that
        stops halfway (crash, time-out) is taken up by the next one with the customers
        left, never a committed batch again. Memory stays flat: only ids are kept.
        """
        today = fields.Date.context_today(self)
        companies = self.env["res.company"].sudo().search([("credit_control_enabled", "=", True)], order="id")
        plan = [
            (company, *self._due_partner_ids(company, today, self._cron_batch_limit)) for company in companies
        ]
        remaining = sum(len(partner_ids) + more for _company, partner_ids, more in plan)
        done = 0
        for company, partner_ids, _more in plan:
            for batch in split_every(self._batch_size, partner_ids, list):
                self.sudo()._rate_partners(
                    self.env["res.partner"].browse(batch), company, as_of=today, trigger="cron"
                )
                done, remaining = done + len(batch), remaining - len(batch)
                commit_cron_batch(self.env, done, remaining)
            if partner_ids:
                _logger.info("Credit rating cron: %s customers of %s rated", len(partner_ids), company.name)
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
