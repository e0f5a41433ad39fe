from ast import literal_eval

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.osv import expression
from odoo.tools import format_date


class CreditRatingRun(models.TransientModel):
    """Rate a batch of customers at once: a selection, or every customer matching a filter.

    Only in one of the user's active companies, and only customers shared with that
    company or belonging to it.
    """

    _name = "credit.rating.run"
    _description = "Rate Customers"
    _check_company_auto = True

    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        domain="[('id', 'in', allowed_company_ids)]",
    )
    date = fields.Date(string="Rate As Of", required=True, default=fields.Date.context_today)
    target = fields.Selection(
        [("selection", "Selected Customers"), ("domain", "Customers Matching a Filter")],
        string="Customers to Rate",
        required=True,
        default="domain",
    )
    partner_ids = fields.Many2many("res.partner", string="Customers", check_company=True)
    partner_domain = fields.Char(string="Filter", default="[('customer_rank', '>', 0)]")
    partner_count = fields.Integer(compute="_compute_partner_count", string="Customers Found")

    @api.depends("date")
    def _compute_display_name(self):
        for wizard in self:
            wizard.display_name = self.env._(
                "Rate Customers as of %(date)s",
                date=format_date(self.env, wizard.date) if wizard.date else "",
            )

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        active_model = self.env.context.get("active_model")
        active_ids = self.env.context.get("active_ids") or []
        partners = self.env["res.partner"]
        if active_model == "res.partner" and active_ids:
            partners = self.env["res.partner"].browse(active_ids)
        elif active_model == "credit.profile" and active_ids:
            partners = self.env["credit.profile"].browse(active_ids).partner_id
        if partners:
            values["target"] = "selection"
            values["partner_ids"] = [fields.Command.set(partners.commercial_partner_id.ids)]
        return values

    @api.depends("target", "partner_ids", "partner_domain")
    def _compute_partner_count(self):
        for wizard in self:
            if wizard.target == "selection":
                wizard.partner_count = len(wizard.partner_ids.commercial_partner_id)
                continue
            try:
                # one grouped query, however many customers match
                [(count,)] = (
                    self.env["res.partner"]
                    .with_company(wizard.company_id)
                    ._read_group(wizard._partner_domain(), [], ["commercial_partner_id:count_distinct"])
                )
            except (UserError, ValueError):  # a filter being typed
                count = 0
            wizard.partner_count = count

    def _partner_domain(self):
        try:
            domain = literal_eval(self.partner_domain or "[]")
        except (ValueError, SyntaxError) as error:
            raise UserError(self.env._("The customer filter is not valid: %(error)s", error=error)) from error
        if not isinstance(domain, list):
            raise UserError(self.env._("The customer filter must be a list of conditions."))
        # Customers of other companies are never rated in this one.
        return expression.AND([domain, self.env["res.partner"]._check_company_domain(self.company_id)])

    def _check_run_company(self):
        """The company must be one of the user's active companies (the engine writes by raw SQL)."""
        self.ensure_one()
        if not self.env.su and self.company_id not in self.env.companies:
            raise AccessError(
                self.env._(
                    "You cannot rate customers in %(company)s: it is not one of your active companies.",
                    company=self.company_id.sudo().name,
                )
            )

    def _partners(self):
        """The commercial partners to rate.

        A filter skips the customers of other companies; a selection that holds one is
        refused by the engine.
        """
        self.ensure_one()
        if self.target == "selection":
            return self.partner_ids.commercial_partner_id
        partners = (
            self.env["res.partner"]
            .with_company(self.company_id)
            .search(self._partner_domain())
            .commercial_partner_id
        )
        foreign = self.env["credit.rating.engine"]._partners_of_other_companies(partners.ids, self.company_id)
        return partners - foreign

    def action_run(self):
        self.ensure_one()
        engine = self.env["credit.rating.engine"]
        engine._check_rating_rights()
        self._check_run_company()
        if self.date > fields.Date.context_today(self):
            raise UserError(self.env._("Customers cannot be rated as of a future date."))
        partners = self._partners()
        if not partners:
            raise UserError(self.env._("No customer to rate: select customers or widen the filter."))
        if self.target == "selection":
            engine._check_partners_company(self.partner_ids.ids, self.company_id)
        ratings = engine._rate_partners(partners, self.company_id, as_of=self.date, trigger="batch")
        action = self.env["ir.actions.act_window"]._for_xml_id("sale_credit_control.credit_rating_action")
        action["domain"] = [("id", "in", ratings.ids)]
        action["context"] = {"search_default_group_grade": 1}
        return action
