from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.osv import expression
from odoo.tools import formatLang, ormcache

from ..credit_policy.groups import member_shares

# Changes that may let a member's held quotation pass (or stop a ready one).
REEVALUATE_FIELDS = {"credit_limit", "partner_ids", "parent_partner_id", "active", "company_id"}


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
    parent_partner_id = fields.Many2one(
        "res.partner",
        string="Parent Company",
        tracking=True,
        check_company=True,
        domain="[('is_company', '=', True)]",
        help="The corporate family's parent: it and every company under it (subsidiaries, and "
        "theirs) are members, in addition to those listed. Empty: only the listed members.",
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

    @api.depends("partner_ids", "parent_partner_id")
    def _compute_member_count(self):
        for group in self:
            group.member_count = len(group._credit_members())

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
            self.env._("Member"),
            self.env._("Exposure"),
            self.env._("Share"),
        )
        partners = self.env["res.partner"].browse(list(exposures)).sudo()
        rows = Markup("").join(
            Markup("<tr><td>%s</td><td class='text-end'>%s</td><td class='text-end'>%s</td></tr>")
            % (
                partner.display_name,
                money(exposures[partner.id]),
                f"{formatLang(self.env, shares[partner.id] * 100, digits=1)}%",
            )
            for partner in partners
        )
        return Markup("<table class='table table-sm mb-0'>%s%s</table>") % (head, rows)

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains("partner_ids", "company_id", "parent_partner_id")
    def _check_partner_ids(self):
        for group in self:
            contacts = group.partner_ids.filtered(lambda partner: partner.commercial_partner_id != partner)
            if contacts:
                raise ValidationError(
                    self.env._(
                        "Only commercial partners (companies, not their contacts or addresses) can be "
                        "members of credit group %(group)s: %(partners)s.",
                        group=group.name,
                        partners=", ".join(contacts.mapped("display_name")),
                    )
                )
            members = group._credit_members()
            if not members:
                continue
            others = self.sudo().search([("id", "!=", group.id), ("company_id", "=", group.company_id.id)])
            for other in others:
                shared = members & other._credit_members()
                if shared:
                    raise ValidationError(
                        self.env._(
                            "A customer belongs to at most one credit group per company: %(partners)s "
                            "already in credit group %(other)s of %(company)s.",
                            partners=", ".join(shared.mapped("display_name")),
                            other=other.name,
                            company=group.company_id.name,
                        )
                    )

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        groups = super().create(vals_list)
        self.env.registry.clear_cache()  # _credit_companies_with_limits
        groups._reevaluate_held_orders()
        return groups

    def write(self, vals):
        if {"active", "company_id", "credit_limit"}.intersection(vals):
            self.env.registry.clear_cache()  # _credit_companies_with_limits
        if not REEVALUATE_FIELDS.intersection(vals):
            return super().write(vals)
        before = {group: group._credit_members() for group in self}
        result = super().write(vals)
        for group in self:
            group._reevaluate_held_orders(before[group])
        return result

    def unlink(self):
        members = {group: (group._credit_members(), group.company_id) for group in self}
        result = super().unlink()
        self.env.registry.clear_cache()  # _credit_companies_with_limits
        for partners, company in members.values():
            self.env["sale.order"]._credit_reevaluate_partners(partners, company)
        return result

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    @api.model
    def _credit_group_of(self, partner, company):
        """The credit group with a limit that ``partner`` (a commercial partner) belongs to in
        ``company``, or an empty recordset: one query, none in a company without such groups."""
        if company.id not in self._credit_companies_with_limits():
            return self.browse()
        return self._credit_groups_of(partner, company, [("credit_limit", ">", 0)])[:1]

    @api.model
    @ormcache()
    def _credit_companies_with_limits(self):
        """Ids of the companies having an active credit group with a limit (cached, cleared
        when a group is created, deleted, archived or its limit or company changes)."""
        groups = self.sudo().search([("credit_limit", ">", 0)])
        return frozenset(groups.company_id.ids)

    @api.model
    def _credit_groups_of(self, partners, companies, domain=()):
        """The groups of ``companies`` that ``partners`` (commercial partners) belong to, by name
        or by family: one query (their ancestors are read from the partners' ``parent_id``,
        usually already in cache)."""
        ancestors = partners.sudo()
        while ancestors.parent_id - ancestors:
            ancestors |= ancestors.parent_id
        return self.sudo().search(
            expression.AND(
                [
                    ["|", ("partner_ids", "in", partners.ids), ("parent_partner_id", "in", ancestors.ids)],
                    [("company_id", "in", companies.ids)],
                    list(domain),
                ]
            )
        )

    def _credit_members(self):
        """The commercial partners sharing this group's limit: the listed ones and, with a parent
        company, the parent and every company under it."""
        self.ensure_one()
        members = self.sudo().partner_ids
        if self.parent_partner_id:
            members |= (
                self.env["res.partner"]
                .sudo()
                .search([("id", "child_of", self.parent_partner_id.id), ("is_company", "=", True)])
            )
        return members

    def _reevaluate_held_orders(self, former_members=None):
        """Held quotations of the members (present and former) may pass or stop now."""
        for group in self:
            partners = group._credit_members() | (former_members or self.env["res.partner"])
            self.env["sale.order"]._credit_reevaluate_partners(partners, group.company_id)

    def _credit_member_exposures(self, check_date, exclude_order_ids=()):
        """``{group id: {member id: exposure}}`` in each group's company currency at ``check_date``.

        One :meth:`credit.profile._exposure_figures` call per company for all members of the
        groups: a constant number of grouped queries whatever the number of members.
        """
        profile = self.env["credit.profile"]
        result = {}
        for company, groups in self.sudo().grouped("company_id").items():
            members = {group: group._credit_members() for group in groups}
            all_members = self.env["res.partner"].union(*members.values())
            figures = profile._exposure_figures(all_members, company, check_date, exclude_order_ids)
            for group in groups:
                result[group.id] = {
                    partner.id: figures[partner.id]["exposure"].total for partner in members[group]
                }
        return result

    def _format_amount(self, amount):
        return self.env["res.company"]._credit_format_money(amount, self.currency_id)
