"""Computed figures of the credit profile: limit, exposure, group, insurance, payment behaviour."""

from markupsafe import Markup

from odoo import api, fields, models

from ..credit_policy.groups import member_shares
from ..credit_policy.insurance import insured_split


class CreditProfile(models.Model):
    _inherit = "credit.profile"  # pylint: disable=consider-merging-classes-inherited  # split by topic

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends(
        "partner_id",
        "company_id",
        "partner_id.credit_limit",
        "mode",
        "limit_currency_id",
        "limit_amount_currency",
    )
    def _compute_credit_limit(self):
        rates = {}
        for company, profiles in self.grouped("company_id").items():
            # Only the limit: a plain read would fetch every prefetched column of the partners.
            profiles.partner_id.sudo().with_company(company).fetch(["credit_limit"])
            currencies = profiles.limit_currency_id
            if currencies:
                # (Today only then: it may read the user's time zone, a query a check need not make.)
                today = fields.Date.context_today(self)
                rates[company] = self._credit_limit_rates(currencies, company, today)
        for profile in self:
            limit = profile.partner_id.sudo().with_company(profile.company_id).credit_limit
            if profile.limit_currency_id:
                # Today's conversion; without a rate, the last one kept on the customer.
                rate = rates[profile.company_id].get(profile.limit_currency_id.id)
                limit = profile.limit_amount_currency * rate if rate else limit
            profile.credit_limit = limit
            profile.limit_checked = profile.mode == "limit" and bool(limit)

    def _inverse_credit_limit(self):
        for profile in self:
            profile.partner_id.with_company(profile.company_id).credit_limit = profile.credit_limit

    @api.depends_context("company")
    @api.depends("partner_id", "company_id", "mode", "on_hold")
    def _compute_exposure(self):
        today = fields.Date.context_today(self)
        for company, profiles in self.grouped("company_id").items():
            figures = self._exposure_figures(profiles.partner_id, company, today)
            for profile in profiles:
                profile._set_exposure_fields(figures[profile.partner_id.id])

    def _set_exposure_fields(self, figures):
        exposure = figures["exposure"]
        limit = self.credit_limit
        capacity = limit + sum(amount for _code, amount in figures["capacity_parts"]) if limit else 0.0
        self.receivable_amount = exposure.receivables
        self.uninvoiced_order_amount = exposure.uninvoiced_orders
        self.draft_invoice_amount = exposure.draft_invoices
        self.exposure_amount = exposure.total
        self.capacity_amount = capacity
        self.other_parts_html = self._other_parts_html(exposure.other_parts, figures["capacity_parts"])
        self.available_amount = capacity - exposure.total if limit else 0.0
        self.utilization = exposure.total / capacity * 100 if capacity else 0.0
        self.overdue_amount = figures["overdue_amount"]
        self.overdue_days = figures["overdue_days"]
        self.is_over_limit = bool(limit) and self.mode == "limit" and exposure.total > capacity
        if self.on_hold:
            self.credit_state = "on_hold"
        elif self.mode == "cash":
            self.credit_state = "cash"
        elif not limit:
            self.credit_state = "no_limit"
        else:
            self.credit_state = "over_limit" if exposure.total > capacity else "ok"

    def _other_parts_html(self, exposure_parts, capacity_parts):
        """The exposure parts and capacity parts that add-ons contribute, as a small table."""
        if not exposure_parts and not capacity_parts:
            return False
        labels = self._credit_part_labels()
        exposure_label, capacity_label = (
            self.env._("Exposure: %(part)s"),
            self.env._("Adds to the limit: %(part)s"),
        )
        rows = [
            (exposure_label % {"part": labels.get(code, code)}, amount) for code, amount in exposure_parts
        ]
        rows += [
            (capacity_label % {"part": labels.get(code, code)}, amount) for code, amount in capacity_parts
        ]
        return Markup("<table class='table table-sm mb-0'>%s</table>") % Markup("").join(
            Markup("<tr><td>%s</td><td class='text-end'>%s</td></tr>") % (label, self._format_amount(amount))
            for label, amount in rows
        )

    @api.depends_context("company")
    @api.depends("partner_id", "company_id")
    def _compute_credit_group(self):
        groups = self.env["credit.group"]._credit_groups_of(self.partner_id, self.company_id)
        exposures = groups._credit_member_exposures(fields.Date.context_today(self))
        group_of = {
            (partner_id, group.company_id.id): group for group in groups for partner_id in exposures[group.id]
        }
        for profile in self:
            group = group_of.get((profile.partner_id.id, profile.company_id.id), groups.browse())
            total, shares = member_shares(exposures.get(group.id, {}))
            profile.credit_group_id = group.id
            profile.group_limit = group.credit_limit
            profile.group_exposure_amount = total
            profile.group_available_amount = group.credit_limit - total if group.credit_limit else 0.0
            profile.group_share = shares.get(profile.partner_id.id, 0.0)

    def _search_is_over_limit(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise NotImplementedError(self.env._("Unsupported search on Over Limit."))
        candidates = self.search([("mode", "=", "limit")])
        over = candidates.filtered("is_over_limit")
        wanted = value if operator == "=" else not value
        return [("id", "in" if wanted else "not in", over.ids)]

    @api.depends_context("company")
    @api.depends("partner_id", "company_id", "mode", "on_hold")
    def _compute_insured_exposure(self):
        today = fields.Date.context_today(self)
        covers = self.env["credit.insurance.cover"].sudo()
        for company, profiles in self.grouped("company_id").items():
            insured_by_partner = covers._insured_covers(profiles.partner_id.ids, company, today)
            for profile in profiles:
                limits, _insurers = insured_by_partner.get(profile.partner_id.id, ([], ""))
                insured, uninsured = insured_split(profile.exposure_amount, limits)
                profile.insured_exposure_amount = insured
                profile.uninsured_exposure_amount = uninsured

    def _compute_approval_ids(self):
        for profile in self:
            domain = [
                ("partner_id", "=", profile.partner_id.id),
                ("company_id", "=", profile.company_id.id),
            ]
            profile.approval_ids = self.env["credit.approval"].search(domain)
            profile.check_ids = self.env["credit.check"].search(domain, limit=50)

    def _compute_credit_information(self):
        models_by_field = {
            "rating_ids": "credit.rating",
            "financial_statement_ids": "credit.financial.statement",
            "bureau_report_ids": "credit.bureau.report",
            "bank_reference_ids": "credit.bank.reference",
        }
        for profile in self:
            domain = [
                ("partner_id", "=", profile.partner_id._origin.id),
                ("company_id", "=", profile.company_id._origin.id),
            ]
            for field_name, model_name in models_by_field.items():
                profile[field_name] = self.env[model_name].search(domain, limit=100)

    @api.depends_context("company")
    @api.depends("partner_id", "company_id")
    def _compute_payment_behaviour(self):
        today = fields.Date.context_today(self)
        engine = self.env["credit.rating.engine"]
        for company, profiles in self.grouped("company_id").items():
            partner_ids = [
                profile.partner_id._origin.id for profile in profiles if profile.partner_id._origin
            ]
            facts = engine._customer_facts(partner_ids, company, today) if company and partner_ids else {}
            for profile in profiles:
                profile._set_behaviour_fields(facts.get(profile.partner_id._origin.id))

    def _set_behaviour_fields(self, facts):
        behaviour = facts and facts["behaviour"]
        values = facts["values"] if facts else {}
        self.behaviour_has_history = bool(facts and facts["first_invoice_date"])
        self.behaviour_has_payments = values.get("late_share") is not None
        self.behaviour_late_share = values.get("late_share") or 0.0
        self.behaviour_weighted_days_late = values.get("weighted_days_late") or 0.0
        self.behaviour_max_days_late = values.get("max_days_late") or 0
        self.behaviour_max_days_overdue = behaviour.max_days_overdue if behaviour else 0
        self.behaviour_overdue_ratio = values.get("overdue_ratio") or 0.0
        self.behaviour_has_dso = values.get("dso") is not None
        self.behaviour_dso = values["dso"] if self.behaviour_has_dso else False
        self.behaviour_recent_late_share = (facts and facts["recent_late_share"]) or 0.0
        self.behaviour_previous_late_share = (facts and facts["previous_late_share"]) or 0.0
        self.behaviour_late_share_trend = values.get("late_share_trend") or 0.0
        self.behaviour_first_invoice_date = facts and facts["first_invoice_date"]
        self.behaviour_relationship_years = values.get("relationship_years") or 0.0
        self.behaviour_sales_volume = facts["sales_volume"] if facts else 0.0
