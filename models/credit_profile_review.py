"""Scheduled credit reviews and the customer's responsible credit manager."""

import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.osv import expression
from odoo.tools import format_date

from ..credit_policy.schedule import REVIEW_DUE_SOON, REVIEW_OK, REVIEW_OVERDUE, review_due
from .credit_profile import REVIEW_STATES
from .cron_batch import commit_cron_batch

_logger = logging.getLogger(__name__)
# Profiles per committed batch of the nightly review job.
REVIEW_BATCH = 1000


class CreditProfile(models.Model):
    _inherit = "credit.profile"  # pylint: disable=consider-merging-classes-inherited  # split by topic

    # ------------------------------------------------------------
    # REVIEWS
    # ------------------------------------------------------------

    @api.depends("company_id")
    def _compute_credit_manager_id(self):
        for profile in self:
            if not profile.credit_manager_id:
                profile.credit_manager_id = profile.company_id.credit_manager_id

    @api.depends("review_date", "company_id.credit_review_lead_days")
    def _compute_review_state(self):
        today = fields.Date.context_today(self)
        for profile in self:
            profile.review_state = review_due(
                profile.review_date or None, today, profile.company_id.credit_review_lead_days
            )

    def _search_review_state(self, operator, value):
        if operator in ("=", "!="):
            values = {value}
        elif operator in ("in", "not in"):
            values = set(value)
        else:
            raise NotImplementedError(self.env._("Unsupported search on Review Status."))
        if operator in ("!=", "not in"):
            values = {state for state, _label in REVIEW_STATES} - values
        today = fields.Date.context_today(self)
        companies = self.env["res.company"].sudo().search([])  # pylint: disable=no-search-all  # a few companies
        domains = []
        if REVIEW_OVERDUE in values:
            domains.append([("review_date", "<", today)])
        for company in companies:
            last_ok = today + timedelta(days=company.credit_review_lead_days)
            if REVIEW_DUE_SOON in values:
                domains.append(
                    [
                        ("company_id", "=", company.id),
                        ("review_date", ">=", today),
                        ("review_date", "<=", last_ok),
                    ]
                )
            if REVIEW_OK in values:
                domains.append([("company_id", "=", company.id), ("review_date", ">", last_ok)])
        if REVIEW_OK in values:
            domains.append([("review_date", "=", False)])
        return expression.OR(domains) if domains else expression.FALSE_DOMAIN

    def _credit_responsible_user(self):
        """Who acts on this customer's reviews and alerts: the profile's credit manager, else the
        company's responsible credit manager, else the first credit manager of the company."""
        self.ensure_one()
        for user in (self.credit_manager_id, self.company_id.credit_manager_id):
            if user and user.active:
                return user
        return self.env["res.company"]._credit_manager_users(self.company_id).sorted("id")[:1]

    @api.model
    def _cron_schedule_reviews(self, batch_size=REVIEW_BATCH):
        """Schedule one review activity per review date that is due soon (or already overdue).

        By batches of profiles in id order, each committed when the cron runs it: a run that
        stops halfway is taken up by the next one, which skips the profiles whose activity
        for their review date exists (``review_activity_date``). Returns the profiles given
        an activity (as ids only: memory stays flat)."""
        domain = [("review_state", "in", (REVIEW_DUE_SOON, REVIEW_OVERDUE))]
        profiles = self.sudo()
        scheduled_ids, last_id = [], 0
        while True:
            batch = profiles.search(domain + [("id", ">", last_id)], order="id", limit=batch_size)
            if not batch:
                break
            last_id = batch[-1].id
            todo = batch.filtered(lambda profile: profile.review_activity_date != profile.review_date)
            scheduled_ids += todo._schedule_review_activities().ids
            commit_cron_batch(self.env, len(batch), 0 if len(batch) < batch_size else 1)
        return self.browse(scheduled_ids)

    def _schedule_review_activities(self):
        """One review activity each, created together; returns the profiles that got one."""
        activity_type = self.env.ref("sale_credit_control.mail_activity_type_credit_review")
        model_id = self.env["ir.model"]._get_id(self._name)
        vals_list, scheduled = [], self.browse()
        for profile in self:
            user = profile._credit_responsible_user()
            if not user:
                _logger.warning(
                    "No credit manager for the review of %s: no activity scheduled.", profile.display_name
                )
                continue
            vals_list.append(
                {
                    "activity_type_id": activity_type.id,
                    "res_model_id": model_id,
                    "res_id": profile.id,
                    "automated": True,
                    "date_deadline": profile.review_date,
                    "user_id": user.id,
                    "summary": self.env._(
                        "Credit review due on %(date)s", date=format_date(self.env, profile.review_date)
                    ),
                    "note": self.env._(
                        "Review the credit of %(partner)s: rating, limit %(limit)s, exposure %(exposure)s.",
                        partner=profile.partner_id.display_name,
                        limit=profile._format_amount(profile.credit_limit),
                        exposure=profile._format_amount(profile.exposure_amount),
                    ),
                }
            )
            scheduled |= profile
        # One INSERT; no "assigned to you" e-mail per activity (the nightly batch would send thousands).
        self.env["mail.activity"].sudo().with_context(mail_activity_quick_update=True).create(vals_list)
        for review_date, profiles in scheduled.grouped("review_date").items():
            profiles.write({"review_activity_date": review_date})
        return scheduled
