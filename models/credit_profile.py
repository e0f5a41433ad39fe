from collections import defaultdict

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.tools import SQL, format_date, formatLang

from ..credit_policy.decision import CreditFacts, evaluate
from ..credit_policy.exposure import Exposure

# Settings whose changes go to the limit history, with how to show their values.
AUDITED_FIELDS = ("mode", "tolerance_percent", "on_hold", "limit_valid_until")


class CreditProfile(models.Model):
    """The credit profile of one commercial partner in one company.

    The limit itself stays Odoo's own company-dependent ``res.partner.credit_limit``
    (0 means "no limit checked"); the profile adds the explicit cash-only mode,
    the hold, the tolerance, validity and review dates, and computes the exposure.
    Its row is also the lock taken while an order for the customer is checked.
    """

    _name = "credit.profile"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _description = "Customer Credit Profile"
    _order = "partner_id, company_id"
    _rec_name = "partner_id"
    _check_company_auto = True
    _sql_constraints = [
        (
            "partner_company_uniq",
            "unique(partner_id, company_id)",
            "A customer has one credit profile per company.",
        ),
        ("tolerance_positive", "CHECK(tolerance_percent >= 0)", "The tolerance cannot be negative."),
    ]

    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        ondelete="cascade",
        tracking=True,
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company, readonly=True
    )
    currency_id = fields.Many2one(related="company_id.currency_id", string="Currency")
    mode = fields.Selection(
        [("limit", "Credit Limit"), ("cash", "Cash Only")],
        string="Credit Mode",
        default="limit",
        required=True,
        tracking=True,
        help="Credit Limit: orders are checked against the limit (a limit of 0 means no limit is checked). "
        "Cash Only: no credit at all, every order must be paid before confirmation.",
    )
    credit_limit = fields.Monetary(
        compute="_compute_credit_limit",
        inverse="_inverse_credit_limit",
        help="Odoo's credit limit of the customer in this company. 0: no limit checked.",
    )
    limit_checked = fields.Boolean(compute="_compute_credit_limit", string="Limit Checked")
    tolerance_percent = fields.Float(
        string="Tolerance (%)",
        default=lambda self: self.env.company.credit_default_tolerance,
        tracking=True,
        help="Exposure up to this share above the limit only raises a warning.",
    )
    limit_valid_until = fields.Date(tracking=True, help="After this date the limit rule treats the limit as expired.")
    review_date = fields.Date(string="Next Review", tracking=True)
    on_hold = fields.Boolean(string="On Credit Hold", readonly=True, tracking=True)
    hold_reason = fields.Text(readonly=True)
    hold_user_id = fields.Many2one("res.users", string="Held By", readonly=True)
    hold_date = fields.Datetime(string="Held Since", readonly=True)
    last_check_date = fields.Datetime(readonly=True, help="Last time an order of this customer was checked.")

    receivable_amount = fields.Monetary(compute="_compute_exposure", string="Open Receivables")
    uninvoiced_order_amount = fields.Monetary(compute="_compute_exposure", string="Confirmed Uninvoiced Orders")
    draft_invoice_amount = fields.Monetary(compute="_compute_exposure", string="Draft Invoices")
    exposure_amount = fields.Monetary(compute="_compute_exposure", string="Exposure")
    available_amount = fields.Monetary(compute="_compute_exposure", string="Available Credit")
    utilization = fields.Float(compute="_compute_exposure", string="Utilization (%)")
    overdue_amount = fields.Monetary(compute="_compute_exposure", string="Overdue Amount")
    overdue_days = fields.Integer(compute="_compute_exposure", string="Oldest Days Overdue")
    credit_state = fields.Selection(
        [
            ("no_limit", "No Limit Checked"),
            ("ok", "Within Limit"),
            ("over_limit", "Over Limit"),
            ("cash", "Cash Only"),
            ("on_hold", "On Hold"),
        ],
        compute="_compute_exposure",
        string="Credit Status",
    )
    rating_id = fields.Many2one("credit.rating", string="Current Rating", readonly=True, index=True)
    grade_code = fields.Char(related="rating_id.grade_code", string="Grade")
    score = fields.Float(related="rating_id.score", string="Score")
    rating_trend = fields.Selection(related="rating_id.trend", string="Rating Trend")
    recommended_limit = fields.Monetary(related="rating_id.recommended_limit", string="Recommended Limit")
    is_over_limit = fields.Boolean(
        compute="_compute_exposure", search="_search_is_over_limit", string="Over Limit"
    )
    history_ids = fields.One2many("credit.limit.history", "profile_id", string="History")
    approval_ids = fields.One2many("credit.approval", compute="_compute_approval_ids", string="Approvals")
    check_ids = fields.One2many("credit.check", compute="_compute_approval_ids", string="Checks")

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends("partner_id", "company_id")
    def _compute_credit_limit(self):
        for profile in self:
            limit = profile.partner_id.sudo().with_company(profile.company_id).credit_limit
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
        self.receivable_amount = exposure.receivables
        self.uninvoiced_order_amount = exposure.uninvoiced_orders
        self.draft_invoice_amount = exposure.draft_invoices
        self.exposure_amount = exposure.total
        self.available_amount = exposure.available(limit) if limit else 0.0
        self.utilization = (exposure.utilization(limit) or 0.0) * 100
        self.overdue_amount = figures["overdue_amount"]
        self.overdue_days = figures["overdue_days"]
        self.is_over_limit = bool(limit) and self.mode == "limit" and exposure.total > limit
        if self.on_hold:
            self.credit_state = "on_hold"
        elif self.mode == "cash":
            self.credit_state = "cash"
        elif not limit:
            self.credit_state = "no_limit"
        else:
            self.credit_state = "over_limit" if exposure.total > limit else "ok"

    def _search_is_over_limit(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise NotImplementedError(_("Unsupported search on Over Limit."))
        candidates = self.search([("mode", "=", "limit")])
        over = candidates.filtered("is_over_limit")
        wanted = value if operator == "=" else not value
        return [("id", "in" if wanted else "not in", over.ids)]

    def _compute_approval_ids(self):
        for profile in self:
            domain = [
                ("partner_id", "=", profile.partner_id.id),
                ("company_id", "=", profile.company_id.id),
            ]
            profile.approval_ids = self.env["credit.approval"].search(domain)
            profile.check_ids = self.env["credit.check"].search(domain, limit=50)

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains("partner_id")
    def _check_commercial_partner(self):
        for profile in self:
            if profile.partner_id != profile.partner_id.commercial_partner_id:
                raise ValidationError(
                    _(
                        "Credit profiles belong to the company, not to a contact or address: "
                        "use %(commercial)s instead of %(partner)s.",
                        commercial=profile.partner_id.commercial_partner_id.display_name,
                        partner=profile.partner_id.display_name,
                    )
                )

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    def write(self, vals):
        audited = [name for name in AUDITED_FIELDS if name in vals]
        old_values = {profile: {name: profile[name] for name in audited} for profile in self}
        result = super().write(vals)
        reason = self.env.context.get("credit_change_reason") or _("Edited on the credit profile")
        history = self.env["credit.limit.history"]
        for profile in self:
            for name in audited:
                if old_values[profile][name] != profile[name]:
                    history._record(profile, name, old_values[profile][name], profile[name], reason)
        return result

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_release_hold(self):
        self._check_credit_manager()
        for profile in self.filtered("on_hold"):
            profile.with_context(credit_change_reason=_("Hold released")).write(
                {"on_hold": False, "hold_reason": False, "hold_user_id": False, "hold_date": False}
            )
            profile.message_post(body=_("Credit hold released by %(user)s.", user=self.env.user.name))
        return True

    def action_view_orders(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("sale.action_orders")
        action["domain"] = [
            ("partner_id", "child_of", self.partner_id.id),
            ("company_id", "=", self.company_id.id),
        ]
        return action

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _put_on_hold(self, reason):
        """Stop new confirmations for these customers, recording who and why."""
        self._check_credit_manager()
        self.with_context(credit_change_reason=reason).write(
            {
                "on_hold": True,
                "hold_reason": reason,
                "hold_user_id": self.env.user.id,
                "hold_date": fields.Datetime.now(),
            }
        )
        for profile in self:
            profile.message_post(body=_("Put on credit hold by %(user)s: %(reason)s", user=self.env.user.name, reason=reason))

    def _check_credit_manager(self):
        if not self.env.su and not self.env.user.has_group("sale_credit_control.group_credit_manager"):
            raise AccessError(_("Only credit managers can change credit holds and limits."))

    @api.model
    def _get_or_create(self, partner, company):
        """The profile of ``partner``'s commercial partner in ``company``, created when missing."""
        commercial = partner.commercial_partner_id
        profile = self.sudo().search([("partner_id", "=", commercial.id), ("company_id", "=", company.id)])
        if not profile:
            profile = self.sudo().with_company(company).create(
                {"partner_id": commercial.id, "company_id": company.id}
            )
        return profile

    def _lock_for_check(self):
        """Serialize credit checks of one customer in one company.

        Updating the profile row makes a concurrent check of the same customer wait
        for this transaction; under Odoo's REPEATABLE READ isolation the waiting
        transaction then fails with a serialization error and is retried by Odoo
        with a fresh snapshot, in which it sees the order confirmed here.
        """
        self.ensure_one()
        self.env.cr.execute(
            SQL(
                "UPDATE credit_profile SET last_check_date = %s WHERE id = %s",
                fields.Datetime.now(),
                self.id,
            )
        )
        self.invalidate_recordset(["last_check_date"])

    def _evaluate(self, check_date, order_amount, current_exposure, exclude_order_ids=()):
        """The policy decision for a new commitment of this customer.

        ``order_amount`` is the order total and ``current_exposure`` the part of it
        that adds to the exposure (not prepaid), both in company currency.
        Returns ``(decision, facts)``.
        """
        self.ensure_one()
        figures = self._exposure_figures(
            self.partner_id, self.company_id, check_date, exclude_order_ids=exclude_order_ids
        )[self.partner_id.id]
        exposure = figures["exposure"]
        facts = CreditFacts(
            exposure=Exposure(
                receivables=exposure.receivables,
                uninvoiced_orders=exposure.uninvoiced_orders,
                draft_invoices=exposure.draft_invoices,
                current_order=current_exposure,
            ),
            check_date=check_date,
            mode=self.mode,
            limit=self.credit_limit,
            tolerance_percent=self.tolerance_percent,
            order_amount=order_amount,
            on_hold=self.on_hold,
            hold_reason=self.hold_reason or "",
            overdue_amount=figures["overdue_amount"],
            overdue_days=figures["overdue_days"],
            limit_valid_until=self.limit_valid_until or None,
            review_date=self.review_date or None,
        )
        return evaluate(facts, self.company_id._credit_policy()), facts

    def _explain(self, decision, facts, reasons=None):
        """Translated lines explaining ``reasons`` (default: all of the decision's), with figures."""
        self.ensure_one()
        lines = [self._explain_reason(reason) for reason in (reasons or decision.reasons)]
        lines.append(
            _(
                "Amounts in %(currency)s; other currencies converted at the rate of %(date)s.",
                currency=self.currency_id.name,
                date=format_date(self.env, facts.check_date),
            )
        )
        return lines

    def _explain_reason(self, reason):
        money = self._format_amount
        fig = reason.figures
        if reason.code == "cash_only":
            return _(
                "%(partner)s is a cash-only customer: the order must be paid in advance (unpaid: %(amount)s).",
                partner=self.partner_id.display_name,
                amount=money(fig["order_amount"]),
            )
        if reason.code == "on_hold":
            return _(
                "%(partner)s is on credit hold: %(reason)s",
                partner=self.partner_id.display_name,
                reason=fig["hold_reason"] or _("no reason given"),
            )
        if reason.code in ("limit_exceeded", "limit_tolerance"):
            template = (
                _("Credit limit exceeded within the tolerance of %(tolerance)s%% (ceiling %(ceiling)s).")
                if reason.code == "limit_tolerance"
                else _("Credit limit exceeded (tolerance %(tolerance)s%%, ceiling %(ceiling)s).")
            )
            head = template % {"tolerance": fig["tolerance_percent"], "ceiling": money(fig["ceiling"])}
            return head + " " + _(
                "Limit: %(limit)s. Exposure before this order: %(before)s (open receivables %(receivables)s, "
                "confirmed uninvoiced orders %(orders)s, draft invoices %(drafts)s). This order: %(order)s. "
                "Exposure after this order: %(after)s. Available credit: %(available)s.",
                limit=money(fig["limit"]),
                before=money(fig["exposure_before"]),
                receivables=money(fig["receivables"]),
                orders=money(fig["uninvoiced_orders"]),
                drafts=money(fig["draft_invoices"]),
                order=money(fig["order_amount"]),
                after=money(fig["exposure_after"]),
                available=money(fig["available"]),
            )
        if reason.code == "overdue":
            return _(
                "Overdue receivables: %(amount)s, the oldest %(days)s days past due "
                "(allowed: %(allowed_days)s days, %(allowed_amount)s).",
                amount=money(fig["overdue_amount"]),
                days=fig["overdue_days"],
                allowed_days=fig["allowed_days"],
                allowed_amount=money(fig["allowed_amount"]),
            )
        if reason.code == "limit_expired":
            return _("The credit limit expired on %(date)s.", date=format_date(self.env, fig["date"]))
        if reason.code == "review_overdue":
            return _("The credit review was due on %(date)s.", date=format_date(self.env, fig["date"]))
        if reason.code == "max_order":
            return _(
                "The order amount %(amount)s is above the maximum of %(maximum)s for a single order.",
                amount=money(fig["order_amount"]),
                maximum=money(fig["max_order_amount"]),
            )
        return reason.code

    def _format_amount(self, amount):
        return formatLang(self.env, amount, currency_obj=self.company_id.currency_id)

    # ------------------------------------------------------------
    # EXPOSURE (set-based)
    # ------------------------------------------------------------

    @api.model
    def _exposure_figures(self, partners, company, check_date, exclude_order_ids=()):
        """Exposure parts and overdue figures of commercial ``partners`` in ``company``.

        A constant number of grouped queries, whatever the customers' history:
        open receivables, uninvoiced confirmed orders and (if the company counts
        them) draft invoices not coming from orders, each summed per currency
        and converted to the company currency at ``check_date``.
        Returns ``{partner_id: {"exposure": Exposure, "overdue_amount", "overdue_days"}}``.
        """
        partner_ids = tuple(partners.ids) or (0,)
        receivables = self._query_receivables(partner_ids, company, check_date)
        orders = self._query_uninvoiced_orders(partner_ids, company, tuple(exclude_order_ids) or (0,))
        drafts = (
            self._query_draft_invoices(partner_ids, company)
            if company.credit_count_draft_invoices
            else {}
        )
        convert = self._converter(company, check_date)
        result = {}
        for partner_id in partners.ids:
            rec = receivables.get(partner_id, {})
            oldest_due = rec.get("oldest_due")
            result[partner_id] = {
                "exposure": Exposure(
                    receivables=convert(rec.get("residual", {})),
                    uninvoiced_orders=convert(orders.get(partner_id, {})),
                    draft_invoices=convert(drafts.get(partner_id, {})),
                ),
                "overdue_amount": convert(rec.get("overdue", {})),
                "overdue_days": (check_date - oldest_due).days if oldest_due else 0,
            }
        return result

    @api.model
    def _converter(self, company, check_date):
        """A function summing ``{currency_id: amount}`` into ``company``'s currency at ``check_date``."""
        company_currency = company.currency_id

        def convert(amounts_by_currency):
            total = 0.0
            for currency_id, amount in amounts_by_currency.items():
                if not amount:
                    continue
                currency = self.env["res.currency"].browse(currency_id)
                if currency == company_currency:
                    total += amount
                else:
                    total += currency._convert(amount, company_currency, company, check_date, round=False)
            return total

        return convert

    @api.model
    def _query_receivables(self, partner_ids, company, check_date):
        self.env["account.move.line"].flush_model(
            ["partner_id", "company_id", "account_id", "parent_state", "reconciled",
             "amount_residual_currency", "currency_id", "date_maturity"]
        )
        self.env["account.account"].flush_model(["account_type"])
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT partner.commercial_partner_id,
                       aml.currency_id,
                       SUM(aml.amount_residual_currency),
                       SUM(aml.amount_residual_currency) FILTER (
                           WHERE aml.date_maturity < %(date)s AND aml.amount_residual_currency > 0),
                       MIN(aml.date_maturity) FILTER (
                           WHERE aml.date_maturity < %(date)s AND aml.amount_residual_currency > 0)
                  FROM account_move_line aml
                  JOIN res_partner partner ON partner.id = aml.partner_id
                  JOIN account_account account ON account.id = aml.account_id
                 WHERE partner.commercial_partner_id IN %(partners)s
                   AND aml.company_id = %(company)s
                   AND account.account_type = 'asset_receivable'
                   AND aml.parent_state = 'posted'
                   AND aml.reconciled IS NOT TRUE
              GROUP BY partner.commercial_partner_id, aml.currency_id
                """,
                date=check_date,
                partners=partner_ids,
                company=company.id,
            )
        )
        result = defaultdict(lambda: {"residual": {}, "overdue": {}, "oldest_due": None})
        for partner_id, currency_id, residual, overdue, oldest_due in rows:
            figures = result[partner_id]
            figures["residual"][currency_id] = residual or 0.0
            figures["overdue"][currency_id] = overdue or 0.0
            if oldest_due and (not figures["oldest_due"] or oldest_due < figures["oldest_due"]):
                figures["oldest_due"] = oldest_due
        return result

    @api.model
    def _query_uninvoiced_orders(self, partner_ids, company, exclude_order_ids, only_order_ids=None):
        """Not-yet-invoiced part of confirmed orders, taxes included, per order currency.

        Uses Odoo's own stored ``untaxed_amount_to_invoice`` (which already
        deducts posted invoices and credit notes, and follows the products'
        invoicing policy), scaled by each line's tax-included/untaxed ratio.
        """
        self.env["sale.order.line"].flush_model(
            ["order_partner_id", "company_id", "state", "currency_id", "untaxed_amount_to_invoice",
             "price_total", "price_subtotal", "order_id"]
        )
        only_orders = SQL("AND line.order_id IN %s", tuple(only_order_ids)) if only_order_ids else SQL()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT partner.commercial_partner_id,
                       line.currency_id,
                       SUM(CASE WHEN line.price_subtotal <> 0
                                THEN line.untaxed_amount_to_invoice * line.price_total / line.price_subtotal
                                ELSE line.untaxed_amount_to_invoice END)
                  FROM sale_order_line line
                  JOIN res_partner partner ON partner.id = line.order_partner_id
                 WHERE partner.commercial_partner_id IN %(partners)s
                   AND line.company_id = %(company)s
                   AND line.state = 'sale'
                   AND line.untaxed_amount_to_invoice <> 0
                   AND line.order_id NOT IN %(excluded)s
                   %(only_orders)s
              GROUP BY partner.commercial_partner_id, line.currency_id
                """,
                partners=partner_ids,
                company=company.id,
                excluded=exclude_order_ids,
                only_orders=only_orders,
            )
        )
        result = defaultdict(dict)
        for partner_id, currency_id, amount in rows:
            result[partner_id][currency_id] = amount or 0.0
        return result

    @api.model
    def _query_draft_invoices(self, partner_ids, company):
        """Draft customer invoices and credit notes, without the lines that come from orders
        (those are still counted in the orders' uninvoiced amount)."""
        self.env["account.move"].flush_model(["commercial_partner_id", "company_id", "state", "move_type", "currency_id"])
        self.env["account.move.line"].flush_model(["move_id", "display_type", "price_total"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT move.commercial_partner_id,
                       move.currency_id,
                       SUM(CASE WHEN move.move_type = 'out_refund' THEN -line.price_total ELSE line.price_total END)
                  FROM account_move_line line
                  JOIN account_move move ON move.id = line.move_id
                 WHERE move.commercial_partner_id IN %(partners)s
                   AND move.company_id = %(company)s
                   AND move.state = 'draft'
                   AND move.move_type IN ('out_invoice', 'out_refund')
                   AND line.display_type = 'product'
                   AND NOT EXISTS (
                       SELECT 1 FROM sale_order_line_invoice_rel rel WHERE rel.invoice_line_id = line.id)
              GROUP BY move.commercial_partner_id, move.currency_id
                """,
                partners=partner_ids,
                company=company.id,
            )
        )
        result = defaultdict(dict)
        for partner_id, currency_id, amount in rows:
            result[partner_id][currency_id] = amount or 0.0
        return result
