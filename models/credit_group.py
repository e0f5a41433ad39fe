from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import formatLang

from ..credit_policy.groups import member_shares


class CreditGroup(models.Model):
    """A credit group (集团授信): commercial partners of one corporate family, or any named set of
    customers, sharing a group limit in one company.

    The group limit is checked in addition to each member's own limit: the group's exposure is
    the sum of its members' exposure (open receivables, confirmed uninvoiced orders and the other
    exposure parts, as for one customer) and a confirmation that would take it beyond the limit
    triggers the ``group_limit`` rule. A customer belongs to at most one group per company.
    """

    _name = "credit.group"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _description = "Credit Group"
    _order = "name, id"
    _check_company_auto = True
    _sql_constraints = [
        ("credit_limit_positive", "CHECK(credit_limit >= 0)", "A credit group's limit cannot be negative."),
    ]

    name = fields.Char(required=True, tracking=True)
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company, tracking=True
    )
    currency_id = fields.Many2one(related="company_id.currency_id", string="Currency")
    credit_limit = fields.Monetary(
        string="Group Limit",
        currency_field="currency_id",
        tracking=True,
        help="The most the group's members may owe the company together (company currency), checked "
        "in addition to each member's own limit. 0: no group limit checked.",
    )
    partner_ids = fields.Many2many(
        "res.partner",
        "credit_group_partner_rel",
        "group_id",
        "partner_id",
        string="Members",
        check_company=True,
        domain="[('is_company', '=', True)]",
        help="The commercial partners (companies) sharing the group limit.",
    )
    member_count = fields.Integer(compute="_compute_member_count", string="Members Count")
    exposure_amount = fields.Monetary(
        compute="_compute_exposure",
        string="Group Exposure",
        currency_field="currency_id",
        help="The sum of the members' exposure: open receivables, confirmed uninvoiced orders and the "
        "other exposure parts, at today's rate.",
    )
    available_amount = fields.Monetary(
        compute="_compute_exposure", string="Group Available", currency_field="currency_id"
    )
    member_exposure_html = fields.Html(
        compute="_compute_exposure", sanitize=False, string="Members' Exposure"
    )

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends("partner_ids")
    def _compute_member_count(self):
        for group in self:
            group.member_count = len(group.partner_ids)

    @api.depends_context("company")
    @api.depends("partner_ids", "company_id", "credit_limit")
    def _compute_exposure(self):
        exposures = self._credit_member_exposures(fields.Date.context_today(self))
        for group in self:
            total, shares = member_shares(exposures.get(group.id, {}))
            group.exposure_amount = total
            group.available_amount = group.credit_limit - total if group.credit_limit else 0.0
            group.member_exposure_html = group._member_exposure_html(exposures.get(group.id, {}), shares)

    def _member_exposure_html(self, exposures, shares):
        """The members with their exposure and share of the group's, as a small table."""
        self.ensure_one()
        if not exposures:
            return False
        money = self._format_amount
        head = Markup("<tr><th>%s</th><th class='text-end'>%s</th><th class='text-end'>%s</th></tr>") % (
            _("Member"),
            _("Exposure"),
            _("Share"),
        )
        partners = self.env["res.partner"].browse(list(exposures)).sudo()
        rows = Markup("").join(
            Markup("<tr><td>%s</td><td class='text-end'>%s</td><td class='text-end'>%s</td></tr>")
            % (partner.display_name, money(exposures[partner.id]), f"{shares[partner.id] * 100:.1f} %")
            for partner in partners
        )
        return Markup("<table class='table table-sm mb-0'>%s%s</table>") % (head, rows)

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains("partner_ids", "company_id")
    def _check_partner_ids(self):
        for group in self:
            contacts = group.partner_ids.filtered(lambda partner: partner.commercial_partner_id != partner)
            if contacts:
                raise ValidationError(
                    _(
                        "Only commercial partners (companies, not their contacts or addresses) can be "
                        "members of credit group %(group)s: %(partners)s.",
                        group=group.name,
                        partners=", ".join(contacts.mapped("display_name")),
                    )
                )
            if not group.partner_ids:
                continue
            others = self.sudo().search(
                [
                    ("id", "!=", group.id),
                    ("company_id", "=", group.company_id.id),
                    ("partner_ids", "in", group.partner_ids.ids),
                ],
                limit=1,
            )
            if others:
                shared = group.partner_ids & others.partner_ids
                raise ValidationError(
                    _(
                        "A customer belongs to at most one credit group per company: %(partners)s already "
                        "in credit group %(other)s of %(company)s.",
                        partners=", ".join(shared.mapped("display_name")),
                        other=others.name,
                        company=group.company_id.name,
                    )
                )

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    @api.model
    def _credit_group_of(self, partner, company):
        """The credit group with a limit that ``partner`` (a commercial partner) belongs to in
        ``company``, or an empty recordset: one query."""
        return self.sudo().search(
            [("partner_ids", "in", partner.ids), ("company_id", "=", company.id), ("credit_limit", ">", 0)],
            limit=1,
        )

    def _credit_member_exposures(self, check_date, exclude_order_ids=()):
        """``{group id: {member id: exposure}}`` in each group's company currency at ``check_date``.

        One :meth:`credit.profile._exposure_figures` call per company for all members of the
        groups: a constant number of grouped queries whatever the number of members.
        """
        profile = self.env["credit.profile"]
        result = {}
        for company, groups in self.sudo().grouped("company_id").items():
            figures = profile._exposure_figures(groups.partner_ids, company, check_date, exclude_order_ids)
            for group in groups:
                result[group.id] = {
                    partner.id: figures[partner.id]["exposure"].total for partner in group.partner_ids
                }
        return result

    def _format_amount(self, amount):
        return formatLang(self.env, amount, currency_obj=self.currency_id)
