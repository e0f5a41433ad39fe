from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL, format_date

from ..credit_policy.repayment import (
    AMOUNT_NOT_POSITIVE,
    BEFORE_START,
    NO_INSTALMENT,
    PLAN_BROKEN,
    PLAN_CANCELLED,
    PLAN_COMPLETED,
    PLAN_DRAFT,
    PLAN_LATE,
    PLAN_ON_TRACK,
    PLAN_STATES,
    RUNNING_STATES,
    SUM_MISMATCH,
    TOTAL_NOT_POSITIVE,
    Instalment,
    plan_status,
    validate_instalments,
)

# Set in the cursor cache (no RPC caller can set it) while the plan's workflow or its
# progress update writes the fields below.
STATE_CHANGE_KEY = "sale_credit_control.repayment_plan_state_change"
# Written only by the buttons and the progress update.
WORKFLOW_FIELDS = {
    "state",
    "state_user_id",
    "state_date",
    "confirmed_by_id",
    "confirmed_date",
    "cancelled_by_id",
    "cancelled_date",
    "amount_paid",
    "next_due_date",
    "grace_end_date",
    "alert_id",
}
# What was agreed: fixed once the plan is confirmed.
TERMS_FIELDS = {"partner_id", "company_id", "date_start", "invoice_ids", "amount_total", "instalment_ids"}
MANAGER_GROUP = "sale_credit_control.group_credit_manager"
CREDIT_FILE_READERS = "sale_credit_control.group_credit_manager,sale_credit_control.group_credit_auditor"


class CreditRepaymentPlan(models.Model):
    """A repayment plan (还款计划) for a customer's overdue invoices, paid back in instalments.

    Its progress is what was reconciled with the covered invoices' receivable lines since
    the plan's start (payments, credit notes), allocated to the instalments in date order
    (``credit_policy.repayment``). While it runs (on track, or late within the company's
    grace days) and the company says so, the invoices it covers do not trigger the overdue
    rule: ``credit.profile._query_receivables`` leaves them out of the overdue figures (not
    out of the exposure). An instalment unpaid beyond the grace days breaks the plan: an
    alert is raised and, if the company says so, the customer is put on hold.
    """

    _name = "credit.repayment.plan"
    _inherit = ["mail.thread", "mail.activity.mixin", "credit.validity.mixin"]
    _description = "Repayment Plan"
    _order = "date_start desc, id desc"
    _check_company_auto = True

    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        tracking=True,
        check_company=True,
        domain="['|', ('is_company', '=', True), ('parent_id', '=', False)]",
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company, tracking=True
    )
    currency_id = fields.Many2one(related="company_id.currency_id", string="Currency")
    date_start = fields.Date(
        string="Start Date",
        required=True,
        default=fields.Date.context_today,
        tracking=True,
        help="Payments reconciled with the covered invoices from this date on count towards the plan.",
    )
    invoice_ids = fields.Many2many(
        "account.move",
        "credit_repayment_plan_invoice_rel",
        "plan_id",
        "move_id",
        string="Covered Invoices",
        check_company=True,
        domain="[('move_type', '=', 'out_invoice'), ('state', '=', 'posted'), "
        "('commercial_partner_id', '=', partner_id), ('payment_state', 'in', ('not_paid', 'partial'))]",
        help="The customer's overdue invoices the plan pays back.",
    )
    amount_total = fields.Monetary(
        string="Plan Total",
        compute="_compute_amount_total",
        store=True,
        readonly=False,
        precompute=True,
        tracking=True,
        help="What the instalments pay back. Default: the open amount of the covered invoices.",
    )
    instalment_ids = fields.One2many(
        "credit.repayment.instalment", "plan_id", string="Instalments", copy=True
    )
    amount_paid = fields.Monetary(
        string="Paid",
        readonly=True,
        copy=False,
        help="Reconciled with the covered invoices since the start date (payments, credit notes).",
    )
    amount_remaining = fields.Monetary(compute="_compute_progress", string="Remaining")
    progress = fields.Float(compute="_compute_progress", string="Progress (%)", aggregator=False)
    state = fields.Selection(
        list(PLAN_STATES),
        string="Status",
        required=True,
        default=PLAN_DRAFT,
        readonly=True,
        copy=False,
        index=True,
        tracking=True,
    )
    next_due_date = fields.Date(
        readonly=True,
        copy=False,
        help="Due date of the earliest instalment not fully paid.",
    )
    grace_end_date = fields.Date(
        string="Grace Ends",
        readonly=True,
        copy=False,
        help="The plan breaks the day after this date unless the earliest unpaid instalment is paid by then "
        "(its due date plus the company's grace days). "
        "Until then its invoices do not trigger the overdue rule.",
    )
    state_user_id = fields.Many2one("res.users", string="Status Changed By", readonly=True, copy=False)
    state_date = fields.Datetime(string="Status Changed On", readonly=True, copy=False)
    confirmed_by_id = fields.Many2one("res.users", readonly=True, copy=False)
    confirmed_date = fields.Datetime(string="Confirmed On", readonly=True, copy=False)
    cancelled_by_id = fields.Many2one("res.users", readonly=True, copy=False)
    cancelled_date = fields.Datetime(string="Cancelled On", readonly=True, copy=False)
    alert_id = fields.Many2one(
        "credit.alert",
        readonly=True,
        copy=False,
        groups=CREDIT_FILE_READERS,
        check_company=True,
    )
    note = fields.Text(help="What was agreed with the customer, and with whom.")

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends("invoice_ids")
    def _compute_amount_total(self):
        """The open amount of the covered invoices, while the plan is a draft (a confirmed plan
        keeps what was agreed; payments lower the invoices' open amount, not the plan)."""
        for plan in self:
            if plan.state == PLAN_DRAFT:
                plan.amount_total = sum(plan.invoice_ids.mapped("amount_residual_signed"))
            else:
                plan.amount_total = plan.amount_total

    @api.depends("amount_total", "amount_paid")
    def _compute_progress(self):
        for plan in self:
            plan.amount_remaining = max(plan.amount_total - plan.amount_paid, 0.0)
            plan.progress = (
                min(plan.amount_paid / plan.amount_total * 100.0, 100.0) if plan.amount_total else 0.0
            )

    @api.depends("partner_id", "date_start")
    def _compute_display_name(self):
        for plan in self:
            plan.display_name = self.env._(
                "Repayment plan of %(partner)s from %(date)s",
                partner=plan.partner_id.display_name or "",
                date=format_date(self.env, plan.date_start),
            )

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains("partner_id")
    def _check_commercial_partner(self):
        self._credit_check_commercial_partner()

    @api.constrains("invoice_ids", "partner_id", "company_id")
    def _check_invoices(self):
        for plan in self:
            for invoice in plan.invoice_ids:
                if (
                    invoice.move_type != "out_invoice"
                    or invoice.state != "posted"
                    or invoice.commercial_partner_id != plan.partner_id
                    or invoice.company_id != plan.company_id
                ):
                    raise ValidationError(
                        self.env._(
                            "Covered Invoices: %(invoice)s is not a posted customer invoice "
                            "of %(partner)s in %(company)s.",
                            invoice=invoice.display_name,
                            partner=plan.partner_id.display_name,
                            company=plan.company_id.name,
                        )
                    )

    @api.constrains("amount_total", "instalment_ids", "date_start")
    def _check_instalments(self):
        """Instalments, once there are any, sum to the plan total (and a plan is confirmed
        only with instalments: :meth:`action_confirm`)."""
        for plan in self.filtered("instalment_ids"):
            plan._raise_instalment_problems()

    def _raise_instalment_problems(self):
        self.ensure_one()
        currency = self.currency_id
        problems = validate_instalments(
            self.amount_total,
            [Instalment(instalment.date_due, instalment.amount) for instalment in self.instalment_ids],
            self.date_start,
            digits=currency.decimal_places,
        )
        if problems:
            raise ValidationError(self._problem_text(*problems[0]))

    def _problem_text(self, code, figures):
        money = self._format_amount
        plan = self.display_name
        if code == SUM_MISMATCH:
            return self.env._(
                "Instalments: the instalments of %(plan)s sum to %(instalments)s, not to the plan total of "
                "%(total)s (difference %(difference)s). Change an instalment or the plan total.",
                plan=plan,
                instalments=money(figures["instalments_total"]),
                total=money(figures["total"]),
                difference=money(figures["difference"]),
            )
        if code == TOTAL_NOT_POSITIVE:
            return self.env._(
                "Plan Total: %(plan)s must pay back a positive amount, not %(total)s.",
                plan=plan,
                total=money(figures["total"]),
            )
        if code == NO_INSTALMENT:
            return self.env._("Instalments: %(plan)s has no instalment.", plan=plan)
        if code == AMOUNT_NOT_POSITIVE:
            return self.env._(
                "Instalments: the instalment due on %(date)s must be a positive amount, not %(amount)s.",
                date=format_date(self.env, figures["due_date"]),
                amount=money(figures["amount"]),
            )
        if code == BEFORE_START:
            return self.env._(
                "Instalments: the instalment due on %(date)s is before the plan's start date %(start)s.",
                date=format_date(self.env, figures["due_date"]),
                start=format_date(self.env, figures["start_date"]),
            )
        return code

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("state", PLAN_DRAFT) != PLAN_DRAFT or any(
                vals.get(name) for name in WORKFLOW_FIELDS - {"state"}
            ):
                raise UserError(
                    self.env._("A repayment plan is created as a draft; a credit manager then confirms it.")
                )
        return super().create(vals_list)

    def write(self, vals):
        changing_state = self.env.cr.cache.get(STATE_CHANGE_KEY)
        if not changing_state and WORKFLOW_FIELDS & vals.keys():
            raise UserError(
                self.env._(
                    "The status and progress of a repayment plan change only through its buttons and the "
                    "payments reconciled with its invoices."
                )
            )
        if not changing_state and TERMS_FIELDS & vals.keys():
            self._check_draft_instalments()
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_only_drafts(self):
        if any(plan.state not in (PLAN_DRAFT, PLAN_CANCELLED) for plan in self):
            raise UserError(
                self.env._("Only draft or cancelled repayment plans can be deleted; cancel a running one.")
            )

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_confirm(self):
        """Confirm the plan (a credit manager's decision): from now on it runs on its payments."""
        self._check_credit_manager()
        self._check_state(PLAN_DRAFT)
        today = fields.Date.context_today(self)
        for plan in self:
            plan._check_confirmable(today)
        now = fields.Datetime.now()
        self._change_state(PLAN_ON_TRACK, {"confirmed_by_id": self.env.uid, "confirmed_date": now})
        # The plan may start late (payments since its start) or already be completed.
        self._update_progress(today, reevaluate=False)
        broken = self.filtered(lambda plan: plan.state == PLAN_BROKEN)
        if broken:
            raise UserError(
                self.env._(
                    "%(plan)s would be broken at once: its instalment due on %(date)s is unpaid beyond the "
                    "grace days. Move the instalments' dates.",
                    plan=broken[0].display_name,
                    date=format_date(self.env, broken[0].next_due_date),
                )
            )
        self._reevaluate_held_orders()
        return True

    def action_cancel(self):
        self._check_credit_manager()
        self._check_state(PLAN_DRAFT, PLAN_ON_TRACK, PLAN_LATE, PLAN_BROKEN)
        self._change_state(
            PLAN_CANCELLED, {"cancelled_by_id": self.env.uid, "cancelled_date": fields.Datetime.now()}
        )
        self._reevaluate_held_orders()
        return True

    def action_update_progress(self):
        """Recompute the progress from the reconciled payments now (the daily cron does it too)."""
        self._check_credit_manager()
        self._check_state(*RUNNING_STATES)
        self._update_progress(fields.Date.context_today(self))
        return True

    def action_open_invoices(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("account.action_move_out_invoice_type")
        action["domain"] = [("id", "in", self.invoice_ids.ids)]
        action["context"] = {"create": False}
        return action

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    @api.model
    def _cron_update_plans(self):
        """Re-evaluate every running plan as of today: late, broken or completed by date and payments."""
        plans = self.sudo().search([("state", "in", RUNNING_STATES)])
        plans._update_progress(fields.Date.context_today(self))
        return plans

    @api.model
    def _credit_update_for_moves(self, moves):
        """Payments were reconciled with ``moves``: update the running plans covering them (one search).
        Called from ``account.partial.reconcile.create`` before the held quotations are re-evaluated."""
        if not moves:
            return self.browse()
        plans = self.sudo().search([("state", "in", RUNNING_STATES), ("invoice_ids", "in", moves.ids)])
        # The caller re-evaluates the customers' held quotations after this update.
        plans._update_progress(fields.Date.context_today(self), reevaluate=False)
        return plans

    def _update_progress(self, today, reevaluate=True):
        """Allocate what was paid on each running plan to its instalments and move it to the state
        the policy core gives as of ``today``. A plan that breaks raises an alert (and a hold)."""
        plans = self.filtered(lambda plan: plan.state in RUNNING_STATES)
        if not plans:
            return
        paid = plans._query_paid()
        changed = self.browse()
        broken = {}
        self.env.cr.cache[STATE_CHANGE_KEY] = True
        try:
            for plan in plans:
                instalments = plan.instalment_ids.sorted(
                    lambda instalment: (instalment.date_due, instalment.id)
                )
                status = plan_status(
                    [Instalment(instalment.date_due, instalment.amount) for instalment in instalments],
                    paid.get(plan.id, 0.0),
                    today,
                    plan.company_id.credit_repayment_grace_days,
                    digits=plan.currency_id.decimal_places,
                )
                for instalment, share in zip(instalments, status.paid_per_instalment, strict=True):
                    if plan.currency_id.compare_amounts(instalment.amount_paid, share):
                        instalment.amount_paid = share
                plan.write(
                    {
                        "amount_paid": status.paid,
                        "next_due_date": status.first_unpaid_due or False,
                        "grace_end_date": status.grace_end or False,
                    }
                )
                if status.state != plan.state:
                    plan._change_state(status.state, {}, plan._state_change_message(status))
                    changed |= plan
                    if status.state == PLAN_BROKEN:
                        broken[plan] = status
        finally:
            self.env.cr.cache.pop(STATE_CHANGE_KEY, None)
        if broken:
            self._on_broken(broken)
        if reevaluate:
            changed._reevaluate_held_orders()

    def _query_paid(self):
        """``{plan id: amount}`` reconciled (company currency) with the receivable lines of each plan's
        invoices, on or after the plan's start date: one grouped query."""
        self.flush_model(["invoice_ids", "date_start"])
        self.env["account.move.line"].flush_model(["move_id", "account_id"])
        self.env["account.account"].flush_model(["account_type"])
        self.env["account.partial.reconcile"].flush_model(["debit_move_id", "amount", "max_date"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT plan.id, SUM(partial.amount)
                  FROM credit_repayment_plan plan
                  JOIN credit_repayment_plan_invoice_rel rel ON rel.plan_id = plan.id
                  JOIN account_move_line aml ON aml.move_id = rel.move_id
                  JOIN account_account account ON account.id = aml.account_id
                  JOIN account_partial_reconcile partial ON partial.debit_move_id = aml.id
                 WHERE plan.id IN %(plans)s
                   AND account.account_type = 'asset_receivable'
                   AND partial.max_date >= plan.date_start
              GROUP BY plan.id
                """,
                plans=tuple(self.ids) or (0,),
            )
        )
        return {plan_id: amount or 0.0 for plan_id, amount in rows}

    @api.model
    def _credit_covered_overdue_sql(self, partner_ids, company, check_date):
        """The overdue open receivable lines that running repayment plans cover on ``check_date``, as
        an SQL relation ``(partner_id, currency_id, due, lines, residual)`` grouped by commercial
        partner, currency and due date, for ``credit.profile._query_receivables`` to leave out of the
        overdue figures. Empty when ``company`` does not let plans suspend the overdue rule.

        A plan covers its invoices while it runs (on track, or late) and its grace has not ended
        on the check date: a plan the cron has not marked broken yet protects nothing either.
        The lines are those the receivables query counts as overdue, so the subtraction is exact.
        """
        if not company.credit_repayment_excludes_overdue:
            return SQL(
                "(SELECT NULL::integer AS partner_id, NULL::integer AS currency_id, NULL::date AS due, "
                "0 AS lines, 0.0 AS residual WHERE FALSE)"
            )
        self.flush_model(["partner_id", "company_id", "state", "grace_end_date", "invoice_ids"])
        return SQL(
            """
            (SELECT partner.commercial_partner_id AS partner_id,
                    aml.currency_id,
                    aml.date_maturity AS due,
                    COUNT(*) AS lines,
                    SUM(aml.amount_residual_currency) AS residual
               FROM account_move_line aml
               JOIN res_partner partner ON partner.id = aml.partner_id
               JOIN account_account account ON account.id = aml.account_id
              WHERE aml.move_id IN (
                        SELECT rel.move_id
                          FROM credit_repayment_plan plan
                          JOIN credit_repayment_plan_invoice_rel rel ON rel.plan_id = plan.id
                         WHERE plan.partner_id IN %(partners)s
                           AND plan.company_id = %(company)s
                           AND plan.state IN %(states)s
                           AND plan.grace_end_date >= %(date)s)
                AND partner.commercial_partner_id IN %(partners)s
                AND %(open_receivable)s
                AND aml.amount_residual_currency > 0
                AND aml.date_maturity < %(date)s
           GROUP BY partner.commercial_partner_id, aml.currency_id, aml.date_maturity)
            """,
            partners=tuple(partner_ids),
            company=company.id,
            states=RUNNING_STATES,
            date=check_date,
            open_receivable=self.env["credit.profile"]._open_receivable_condition(company),
        )

    def _check_confirmable(self, today):
        """Refuse to confirm a plan that is not complete or whose invoices are not open overdue
        invoices of the customer, or already in another running plan."""
        self.ensure_one()
        if not self.instalment_ids:
            raise UserError(self._problem_text(NO_INSTALMENT, {}))
        self._raise_instalment_problems()
        if not self.invoice_ids:
            raise UserError(
                self.env._(
                    "Covered Invoices: choose the overdue invoices %(plan)s pays back.",
                    plan=self.display_name,
                )
            )
        for invoice in self.invoice_ids:
            if invoice.currency_id.is_zero(invoice.amount_residual) or not (
                invoice.invoice_date_due and invoice.invoice_date_due < today
            ):
                raise UserError(
                    self.env._(
                        "Covered Invoices: %(invoice)s is not overdue with an open amount "
                        "(due %(date)s, open %(residual)s): a repayment plan pays back overdue debt.",
                        invoice=invoice.display_name,
                        date=format_date(self.env, invoice.invoice_date_due),
                        residual=self.env["res.company"]._credit_format_money(
                            invoice.amount_residual, invoice.currency_id
                        ),
                    )
                )
        other = self.sudo().search(
            [
                ("id", "!=", self.id),
                ("state", "in", RUNNING_STATES),
                ("invoice_ids", "in", self.invoice_ids.ids),
            ],
            limit=1,
        )
        if other:
            raise UserError(
                self.env._(
                    "Covered Invoices: %(invoices)s already in %(other)s.",
                    invoices=", ".join((other.invoice_ids & self.invoice_ids).mapped("display_name")),
                    other=other.display_name,
                )
            )

    def _check_draft_instalments(self):
        running = self.filtered(lambda plan: plan.state != PLAN_DRAFT)
        if running:
            raise UserError(
                self.env._(
                    "%(plan)s is no longer a draft: "
                    "its customer, invoices, total, start date and instalments are what was agreed. "
                    "Cancel it and agree a new plan instead.",
                    plan=running[0].display_name,
                )
            )

    def _change_state(self, new_state, vals, message=None):
        """Move to ``new_state`` with ``vals``, recording who and when (the tracked state shows the
        change in the chatter; ``message`` says why when the change is automatic)."""
        key_was_set = self.env.cr.cache.get(STATE_CHANGE_KEY)
        self.env.cr.cache[STATE_CHANGE_KEY] = True
        try:
            self.write(
                dict(vals, state=new_state, state_user_id=self.env.uid, state_date=fields.Datetime.now())
            )
        finally:
            if not key_was_set:
                self.env.cr.cache.pop(STATE_CHANGE_KEY, None)
        if message:
            for plan in self:
                plan.message_post(body=message)

    def _state_change_message(self, status):
        """Why the progress update moved the plan to ``status.state``, with the figures."""
        self.ensure_one()
        money = self._format_amount
        figures = {
            "paid": money(status.paid),
            "total": money(self.amount_total),
            "date": format_date(self.env, status.first_unpaid_due) if status.first_unpaid_due else "",
            "grace_end": format_date(self.env, status.grace_end) if status.grace_end else "",
            "grace": self.company_id.credit_repayment_grace_days,
        }
        texts = {
            PLAN_ON_TRACK: self.env._(
                "Repayment plan on track: %(paid)s of %(total)s paid, next instalment due on %(date)s."
            ),
            PLAN_LATE: self.env._(
                "Repayment plan late: the instalment due on %(date)s is not fully paid "
                "(%(paid)s of %(total)s paid); it breaks after %(grace_end)s (%(grace)s grace days)."
            ),
            PLAN_BROKEN: self.env._(
                "Repayment plan broken: the instalment due on %(date)s is still not fully paid "
                "after %(grace)s grace days (%(paid)s of %(total)s paid)."
            ),
            PLAN_COMPLETED: self.env._("Repayment plan completed: %(paid)s of %(total)s paid."),
        }
        return texts[status.state] % figures

    @api.model
    def _on_broken(self, statuses):
        """Raise an alert for each broken plan of ``statuses`` ``{plan: PlanStatus}`` and, where the
        company says so, put the customer on hold through the profile's hold (who, when, why)."""
        Alert = self.env["credit.alert"]
        plans = self.browse().union(*statuses)
        for company, company_plans in plans.grouped("company_id").items():
            profiles = Alert._profiles_by_partner(company, set(company_plans.partner_id.ids))
            for plan in company_plans:
                profile = profiles[plan.partner_id.id]
                message = plan._state_change_message(statuses[plan])
                alert = Alert._raise_repayment_broken_alert(
                    profile,
                    plan,
                    {
                        "plan_id": plan.id,
                        "due_date": plan.next_due_date,
                        "grace_end": plan.grace_end_date,
                        "amount_total": plan.amount_total,
                        "amount_paid": plan.amount_paid,
                    },
                    self.env._("%(plan)s: %(message)s", plan=plan.display_name, message=message),
                )
                self.env.cr.cache[STATE_CHANGE_KEY] = True
                try:
                    plan.sudo().write({"alert_id": alert.id})
                finally:
                    self.env.cr.cache.pop(STATE_CHANGE_KEY, None)
                if company.credit_repayment_hold_on_broken and not profile.on_hold:
                    profile.sudo()._put_on_hold(
                        self.env._(
                            "Repayment plan broken (alert %(alert)s): %(message)s",
                            alert=alert.name,
                            message=message,
                        )
                    )
                    alert.sudo().hold_applied = True

    def _check_credit_manager(self):
        if not self.env.su and not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(
                self.env._("Only credit managers can confirm, cancel or update repayment plans.")
            )

    def _format_amount(self, amount):
        currency = self.currency_id or self.env.company.currency_id
        return self.env["res.company"]._credit_format_money(amount, currency)
