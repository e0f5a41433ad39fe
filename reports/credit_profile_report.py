from collections import defaultdict
from datetime import datetime, time

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.tools import SQL, formatLang

# Ratings in the history section, newest first.
RATING_HISTORY_SIZE = 8
# Limit history, approvals and alerts of this many months before the report date.
ACTIVITY_MONTHS = 12
# Quotations held by the credit check (as the Held Orders list).
HELD_ORDER_STATES = ("blocked", "rejected", "pending", "ready")


class ReportCreditProfile(models.AbstractModel):
    """The customer credit report: one credit profile per document.

    Everything a document shows is read here for all printed profiles at once (a fixed
    number of queries whatever the number of profiles and of their open items), with the
    printing user's rights: only who may read the credit profile prints it.
    """

    _name = "report.sale_credit_control.report_credit_profile"
    _description = "Customer Credit Report"

    @api.model
    def _get_report_values(self, docids, data=None):
        profiles = self.env["credit.profile"].browse(docids)
        profiles.check_access("read")
        report_date = fields.Date.context_today(self)
        since = report_date - relativedelta(months=ACTIVITY_MONTHS)
        agings = profiles._credit_aging(report_date)
        ratings = self._latest_ratings(profiles)
        histories = self._by_profile(
            profiles, "credit.limit.history", [("date", ">=", datetime.combine(since, time.min))]
        )
        approvals = self._by_profile(
            profiles, "credit.approval", [("request_date", ">=", datetime.combine(since, time.min))]
        )
        alerts = self._by_profile(
            profiles, "credit.alert", [("date", ">=", datetime.combine(since, time.min))]
        )
        can_read_orders = self.env["sale.order"].has_access("read")
        held_orders = self._held_orders(profiles) if can_read_orders else {}
        factor_labels = dict(
            self.env["credit.scorecard.factor"]._fields["code"]._description_selection(self.env)
        )
        empty = {
            "credit.rating": self.env["credit.rating"],
            "credit.limit.history": self.env["credit.limit.history"],
            "credit.approval": self.env["credit.approval"],
            "credit.alert": self.env["credit.alert"],
            "sale.order": self.env["sale.order"],
        }
        sections = {}
        for profile in profiles:
            aging = agings[profile.id]
            sections[profile.id] = {
                "aging": aging,
                "aging_rows": [(self._aging_label(bucket), bucket) for bucket in aging.buckets],
                "factors": self._factor_rows(profile.rating_id, factor_labels),
                "ratings": ratings.get(profile.id, empty["credit.rating"]),
                "histories": histories.get(profile.id, empty["credit.limit.history"]),
                "approvals": approvals.get(profile.id, empty["credit.approval"]),
                "alerts": alerts.get(profile.id, empty["credit.alert"]),
                "held_orders": held_orders.get(profile.id, empty["sale.order"]),
            }
        return {
            "doc_ids": docids,
            "doc_model": "credit.profile",
            "docs": profiles,
            "report_date": report_date,
            "since": since,
            "sections": sections,
            "can_read_orders": can_read_orders,
            "show_group": self.env.su
            or self.env.user.has_groups(
                "sale_credit_control.group_credit_manager,sale_credit_control.group_credit_auditor"
            ),
        }

    # ------------------------------------------------------------
    # PRIVATE
    # ------------------------------------------------------------

    @api.model
    def _aging_label(self, bucket):
        if not bucket.is_due:
            return self.env._("Not Due")
        if bucket.last_day is None:
            return self.env._("Over %(days)s Days", days=bucket.first_day - 1)
        return self.env._("%(first)s-%(last)s Days", first=bucket.first_day, last=bucket.last_day)

    @api.model
    def _factor_rows(self, rating, factor_labels):
        """The rating's breakdown as the report prints it: one row per factor."""
        rows = []
        for line in rating.breakdown or []:
            value = line.get("value")
            if value is None:
                shown = self.env._("missing")
            else:
                # in the factor's unit, as on the rating's screen (a percentage, days, an amount)
                shown = self.env["credit.scorecard.factor"]._format_value(
                    line.get("code"), value, rating.currency_id
                )
            rows.append(
                {
                    "code": line.get("code"),
                    "label": factor_labels.get(line.get("code"), line.get("code")),
                    "value": shown,
                    "points": formatLang(self.env, line.get("points") or 0.0, digits=1),
                    "weight": f"{(line.get('weight') or 0.0):.0%}",
                    "contribution": formatLang(self.env, line.get("contribution") or 0.0, digits=1),
                    "status": line.get("status"),
                }
            )
        return rows

    @api.model
    def _by_profile(self, profiles, model_name, domain):
        """Records of ``model_name`` of the profiles' customers and companies matching
        ``domain``, one search, as ``{profile id: records}`` (newest first)."""
        records = self.env[model_name].search(
            [
                ("partner_id", "in", profiles.partner_id.ids),
                ("company_id", "in", profiles.company_id.ids),
                *domain,
            ]
        )
        return self._group(profiles, records, lambda record: (record.partner_id.id, record.company_id.id))

    @api.model
    def _group(self, profiles, records, key):
        by_key = defaultdict(list)
        for record in records:
            by_key[key(record)].append(record.id)
        # browse() keeps the whole search as prefetch set: one read for all documents.
        return {
            profile.id: records.browse(by_key[(profile.partner_id.id, profile.company_id.id)])
            for profile in profiles
        }

    @api.model
    def _latest_ratings(self, profiles):
        """The last ``RATING_HISTORY_SIZE`` ratings of each profile, newest first."""
        self.env["credit.rating"].flush_model(["partner_id", "company_id", "date"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT id
                  FROM (
                    SELECT id,
                           row_number() OVER (
                               PARTITION BY partner_id, company_id ORDER BY date DESC, id DESC
                           ) AS rank
                      FROM credit_rating
                     WHERE partner_id IN %(partners)s
                       AND company_id IN %(companies)s
                  ) rating
                 WHERE rank <= %(size)s
                """,
                partners=tuple(profiles.partner_id.ids) or (0,),
                companies=tuple(profiles.company_id.ids) or (0,),
                size=RATING_HISTORY_SIZE,
            )
        )
        # Searched again by id: the user's access rules apply to what the query found.
        ratings = self.env["credit.rating"].search([("id", "in", [row[0] for row in rows])])
        return self._group(profiles, ratings, lambda rating: (rating.partner_id.id, rating.company_id.id))

    @api.model
    def _held_orders(self, profiles):
        """Quotations held by the credit check, per profile (the customer is the invoice
        address's commercial partner, as for the exposure)."""
        orders = self.env["sale.order"].search(
            [
                ("partner_invoice_id.commercial_partner_id", "in", profiles.partner_id.ids),
                ("company_id", "in", profiles.company_id.ids),
                ("state", "in", ("draft", "sent")),
                ("credit_check_state", "in", HELD_ORDER_STATES),
            ],
            order="date_order desc, id desc",
        )
        return self._group(
            profiles,
            orders,
            lambda order: (order.partner_invoice_id.commercial_partner_id.id, order.company_id.id),
        )
