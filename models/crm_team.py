from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL, ormcache


class CrmTeam(models.Model):
    """A sales team's credit budget (销售团队授信): the exposure its customers may carry together.

    The team's exposure is what its documents commit customers to: open receivables of its
    invoices and the uninvoiced part of its confirmed orders, in the company currency at
    today's rate. A rule checks confirmations against the budget.
    """

    _inherit = "crm.team"

    credit_budget = fields.Monetary(
        currency_field="currency_id",
        tracking=True,
        help="The most the team's customers may owe at once for its invoices and confirmed orders "
        "(company currency). 0: no budget.",
    )
    credit_exposure = fields.Monetary(
        compute="_compute_credit_exposure",
        currency_field="currency_id",
        help="Open receivables of the team's invoices plus the uninvoiced part of its confirmed orders.",
    )
    credit_budget_available = fields.Monetary(
        compute="_compute_credit_exposure", string="Budget Available", currency_field="currency_id"
    )

    @api.depends_context("company")
    @api.depends("credit_budget")
    def _compute_credit_exposure(self):
        today = fields.Date.context_today(self)
        for company, teams in self.grouped(lambda team: team.company_id or self.env.company).items():
            exposures = teams._credit_exposures(company, today)
            for team in teams:
                team.credit_exposure = exposures.get(team.id, 0.0)
                team.credit_budget_available = (
                    team.credit_budget - team.credit_exposure if team.credit_budget else 0.0
                )

    def write(self, vals):
        if (
            "credit_budget" in vals
            and not self.env.su
            and not self.env.user.has_group("sale_credit_control.group_credit_manager")
        ):
            raise AccessError(self.env._("Only credit managers can change a sales team's credit budget."))
        if "credit_budget" in vals:
            self.env.registry.clear_cache()  # _credit_budget_team_ids
        return super().write(vals)

    @api.model_create_multi
    def create(self, vals_list):
        if any(vals.get("credit_budget") for vals in vals_list):
            self.env.registry.clear_cache()  # _credit_budget_team_ids
        return super().create(vals_list)

    @api.model
    @ormcache()
    def _credit_budget_team_ids(self):
        """Ids of the teams with a credit budget (cached, cleared when a budget changes):
        checking an order of a team without one reads no team."""
        teams = self.sudo().with_context(active_test=False).search([("credit_budget", ">", 0)])
        return frozenset(teams.ids)

    def _credit_exposures(self, company, check_date, exclude_order_ids=()):
        """``{team id: exposure}`` in ``company``'s currency at ``check_date``: two grouped
        queries whatever the number of teams and documents."""
        team_ids = tuple(self.ids) or (0,)
        profile = self.env["credit.profile"]
        orders = profile._query_order_commitments(
            SQL("so.team_id"), SQL("so.team_id IN %s", team_ids), company, tuple(exclude_order_ids) or (0,)
        )
        receivables = self._credit_query_receivables(team_ids, company)
        convert = profile._converter(company, check_date)
        return {
            team_id: convert(orders.get(team_id, {})) + convert(receivables.get(team_id, {}))
            for team_id in self.ids
        }

    def _credit_query_receivables(self, team_ids, company):
        """Open receivables of the teams' posted invoices and credit notes, per currency."""
        self.env["account.move"].flush_model(["team_id"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT move.team_id, aml.currency_id, SUM(aml.amount_residual_currency)
                  FROM account_move_line aml
                  JOIN account_move move ON move.id = aml.move_id
                  JOIN account_account account ON account.id = aml.account_id
                 WHERE move.team_id IN %(teams)s
                   AND %(open_receivable)s
              GROUP BY move.team_id, aml.currency_id
                """,
                teams=team_ids,
                open_receivable=self.env["credit.profile"]._open_receivable_condition(company),
            )
        )
        result = {}
        for team_id, currency_id, amount in rows:
            result.setdefault(team_id, {})[currency_id] = amount or 0.0
        return result
