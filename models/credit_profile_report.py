"""The customer credit report and its aging of open receivables."""

from collections import defaultdict

from odoo import api, fields, models
from odoo.tools import SQL

from ..credit_policy.aging import aging_from_sums, first_days


class CreditProfile(models.Model):
    _inherit = "credit.profile"  # pylint: disable=consider-merging-classes-inherited  # split by topic

    # ------------------------------------------------------------
    # REPORTS
    # ------------------------------------------------------------

    def action_print_credit_report(self):
        """The customer credit report (PDF) of these profiles."""
        self.check_access("read")
        return self.env.ref("sale_credit_control.credit_profile_report").report_action(self)

    def _credit_aging(self, report_date=None):
        """The aging of each profile's open receivables on ``report_date`` (default today), in the
        buckets of its company (``res.company.credit_aging_edges``).

        The open items are those of the receivables figure (:meth:`_query_receivables`: posted,
        unreconciled lines of receivable accounts of the commercial partner in the company),
        credit notes and unapplied payments included, each in the bucket of its due date (not
        due without one). One grouped query per company sums them per bucket and currency; the
        sums are converted to the company currency at ``report_date``, so the buckets add up to
        the open receivables. Returns ``{profile id: credit_policy.aging.Aging}``.
        """
        report_date = report_date or fields.Date.context_today(self)
        result = {}
        for company, profiles in self.grouped("company_id").items():
            edges = company._credit_aging_edges()
            partner_ids = tuple(profiles.partner_id.ids) or (0,)
            sums = self._query_aging(partner_ids, company, report_date, edges)
            convert = self._converter(company, report_date)
            for profile in profiles:
                buckets = sums.get(profile.partner_id.id, {})
                result[profile.id] = aging_from_sums(
                    {index: convert(amounts) for index, amounts in buckets.items()}, edges
                )
        return result

    @api.model
    def _query_aging(self, partner_ids, company, report_date, edges):
        """``{partner_id: {bucket index: {currency_id: residual}}}`` of the commercial partners'
        open receivable items in ``company`` on ``report_date``; the bucket index is
        ``credit_policy.aging.bucket_index`` of the days past due, computed by the database."""
        rows = self.env.execute_query(
            SQL(
                """
                SELECT partner.commercial_partner_id,
                       CASE WHEN aml.date_maturity IS NULL OR aml.date_maturity >= %(date)s THEN 0
                            ELSE 1 + width_bucket(%(date)s - aml.date_maturity, %(thresholds)s::int[])
                       END AS bucket,
                       aml.currency_id,
                       SUM(aml.amount_residual_currency)
                %(open_lines)s
              GROUP BY 1, 2, 3
                """,
                date=report_date,
                thresholds=first_days(edges),
                open_lines=self._open_receivable_lines_sql(partner_ids, company),
            )
        )
        result = defaultdict(lambda: defaultdict(dict))
        for partner_id, bucket, currency_id, residual in rows:
            result[partner_id][bucket][currency_id] = residual or 0.0
        return result
