from datetime import date

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL, format_date, formatLang

from ..credit_policy.warnings import alert_key, needs_alert
from .credit_warning_rule import RULE_TYPES, SEVERITIES
from .recorded_text_columns import keep_recorded_text
from .writer_language import in_writer_language

OPEN_STATES = ("new", "acknowledged")
# Raised by the confirmation hooks, not by a rule: Odoo grew a confirmed order the check blocks.
ORDER_AMENDED = "order_amended"
# Raised by a repayment plan that breaks (an instalment unpaid beyond the grace days), not by a rule.
REPAYMENT_BROKEN = "repayment_broken"
# Raised by the daily verification of the credit decision log (credit.decision.log), not by a rule.
DECISION_LOG_BROKEN = "decision_log_broken"
ACTIVITY_TYPE = "sale_credit_control.mail_activity_type_credit_alert"


class CreditAlert(models.Model):
    """An early warning raised by a rule (风险预警): what crossed which threshold, with its figures.

    Alerts are created by the daily rule evaluation only; credit managers acknowledge
    and resolve them, nothing resolves them by itself. While an alert is open no
    second alert is raised for the same rule, customer and event.
    """

    _name = "credit.alert"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _description = "Credit Alert"
    _order = "date desc, id desc"
    _check_company_auto = True

    name = fields.Char(string="Reference", readonly=True, copy=False, default=lambda self: self.env._("New"))
    rule_id = fields.Many2one(
        "credit.warning.rule",
        readonly=True,
        index=True,
        ondelete="set null",
        check_company=True,
    )
    alert_type = fields.Selection(
        RULE_TYPES
        + [
            (ORDER_AMENDED, "Order Amended by Odoo"),
            (REPAYMENT_BROKEN, "Repayment Plan Broken"),
            (DECISION_LOG_BROKEN, "Decision Log Broken"),
        ],
        string="Signal",
        required=True,
        readonly=True,
        index=True,
    )
    severity = fields.Selection(
        SEVERITIES, required=True, readonly=True, index=True, group_expand="_group_expand_severity"
    )
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, readonly=True, index=True, check_company=True
    )
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    profile_id = fields.Many2one(
        "credit.profile",
        string="Credit Profile",
        readonly=True,
        index=True,
        check_company=True,
        ondelete="cascade",
    )
    user_id = fields.Many2one(
        "res.users", string="Responsible", readonly=True, tracking=True, check_company=True
    )
    figures = fields.Json(readonly=True, help="The figures that crossed the rule's threshold.")
    message = fields.Text(
        compute="_compute_message",
        help="What crossed which threshold, in your language, from the figures the rule recorded.",
    )
    recorded_message = fields.Text(
        readonly=True, help="Text recorded when the alert was raised, for alerts not rendered from figures."
    )
    state = fields.Selection(
        [("new", "New"), ("acknowledged", "Acknowledged"), ("resolved", "Resolved")],
        default="new",
        required=True,
        readonly=True,
        tracking=True,
        index=True,
    )
    date = fields.Datetime(default=fields.Datetime.now, required=True, readonly=True)
    acknowledged_by_id = fields.Many2one("res.users", readonly=True)
    acknowledged_date = fields.Datetime(readonly=True)
    resolved_by_id = fields.Many2one("res.users", readonly=True)
    resolved_date = fields.Datetime(readonly=True)
    resolution_note = fields.Text(tracking=True)
    hold_applied = fields.Boolean(
        string="Put on Hold", readonly=True, help="The alert put the customer on hold."
    )
    dedup_key = fields.Char(readonly=True, index=True, copy=False)

    def init(self):
        # The database itself refuses a second open alert for the same condition.
        self.env.cr.execute(
            SQL(
                "CREATE UNIQUE INDEX IF NOT EXISTS credit_alert_open_dedup_key_uniq"
                " ON credit_alert (dedup_key) WHERE state IN ('new', 'acknowledged')"
            )
        )

    def _auto_init(self):
        # The message was stored as text in the column "message" (the language of whoever raised the
        # alert); that text is kept as recorded for the alerts that have no rule to render it.
        keep_recorded_text(self.env.cr, self._table, "message", "recorded_message")
        return super()._auto_init()

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends("alert_type", "rule_id", "figures", "recorded_message")
    @api.depends_context("lang")
    def _compute_message(self):
        """Rule alerts are rendered from their figures in the reader's language; the others (order
        amended, repayment broken, decision log) show the text recorded when they were raised."""
        renderer = in_writer_language(self.browse())
        for alert in self:
            profile = alert.profile_id.sudo().with_env(renderer.sudo().env)
            if alert.rule_id and alert.figures and profile:
                alert.message = renderer._render_message(profile, alert.alert_type, alert.figures)
            else:
                alert.message = alert.recorded_message

    @api.model
    def _group_expand_severity(self, values, domain):
        return [key for key, _label in SEVERITIES]

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            vals["name"] = self.env["ir.sequence"].sudo().next_by_code("credit.alert") or self.env._("New")
        return super().create(vals_list)

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_acknowledge(self):
        self._check_credit_manager()
        alerts = self.filtered(lambda alert: alert.state == "new")
        alerts.write(
            {
                "state": "acknowledged",
                "acknowledged_by_id": self.env.uid,
                "acknowledged_date": fields.Datetime.now(),
            }
        )
        return True

    def action_resolve(self):
        self._check_credit_manager()
        alerts = self.filtered(lambda alert: alert.state in OPEN_STATES)
        now = fields.Datetime.now()
        for alert in alerts:
            vals = {"state": "resolved", "resolved_by_id": self.env.uid, "resolved_date": now}
            if alert.state == "new":
                vals.update(acknowledged_by_id=self.env.uid, acknowledged_date=now)
            alert.write(vals)
        alerts.sudo().activity_feedback(
            [ACTIVITY_TYPE], feedback=self.env._("Alert resolved by %s.", self.env.user.name)
        )
        return True

    def action_open_profile(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "credit.profile",
            "res_id": self.profile_id.id,
            "view_mode": "form",
        }

    def _check_credit_manager(self):
        if not self.env.su and not self.env.user.has_group("sale_credit_control.group_credit_manager"):
            raise AccessError(self.env._("Only credit managers can acknowledge or resolve credit alerts."))

    # ------------------------------------------------------------
    # RAISING (called by the rule evaluation)
    # ------------------------------------------------------------

    @api.model
    def _raise_alerts(self, company, signals):
        """Create the alerts of ``signals`` [(rule, partner id, event, figures)] for ``company``.

        Skips every signal that an open alert already covers (and every event already
        alerted), schedules an activity for each customer's responsible manager and
        puts customers on hold where the rule says so. Returns the new alerts.
        """
        keyed = [
            (alert_key(rule.id, partner_id, rule.rule_type, event), rule, partner_id, figures)
            for rule, partner_id, event, figures in signals
        ]
        if keyed:
            # Customers of another company get no alert here (their figures do not belong to it).
            foreign = self.env["credit.rating.engine"]._partners_of_other_companies(
                {partner_id for _key, _rule, partner_id, _figures in keyed}, company
            )
            keyed = [item for item in keyed if item[2] not in foreign.ids]
        if not keyed:
            return self.browse()
        existing = self.sudo().search_read(
            [("dedup_key", "in", [key for key, *_rest in keyed])], ["dedup_key", "state"]
        )
        open_keys = {row["dedup_key"] for row in existing if row["state"] in OPEN_STATES}
        known_keys = {row["dedup_key"] for row in existing}
        todo = []
        for key, rule, partner_id, figures in keyed:
            if needs_alert(key, rule.rule_type, open_keys, known_keys):
                todo.append((key, rule, partner_id, figures))
                open_keys.add(key)
                known_keys.add(key)
        if not todo:
            return self.browse()
        profiles = self._profiles_by_partner(company, {partner_id for _key, _rule, partner_id, _f in todo})
        vals_list = []
        for key, rule, partner_id, figures in todo:
            profile = profiles[partner_id]
            vals_list.append(
                {
                    "rule_id": rule.id,
                    "alert_type": rule.rule_type,
                    "severity": rule.severity,
                    "partner_id": partner_id,
                    "company_id": company.id,
                    "profile_id": profile.id,
                    "user_id": self._responsible_in(profile, company).id,
                    "figures": _jsonable(self._figures_to_record(profile, rule.rule_type, figures)),
                    "dedup_key": key,
                }
            )
        # A batch raises thousands of alerts: no chatter message, follower or "assigned to you"
        # e-mail per alert; the responsible managers follow them through their activities.
        created = self.sudo().with_context(tracking_disable=True).create(vals_list)
        alerts = self.sudo().browse(created.ids)
        alerts._schedule_activities(notify=False)
        alerts._apply_auto_hold()
        return alerts

    @api.model
    def _responsible_in(self, profile, company):
        """The profile's responsible user if they work in ``company``, else the first credit
        manager who does (an alert is assigned to someone who can open it)."""
        user = profile._credit_responsible_user()
        if not user or company in user.company_ids:
            return user
        members = self.env.ref("sale_credit_control.group_credit_manager").sudo().users
        return members.filtered(
            lambda member: company in member.company_ids and not member.share and member.active
        ).sorted("id")[:1]

    @api.model
    def _raise_order_amended_alert(self, profile, order, message):
        """Alert the customer's credit manager that Odoo itself (a re-invoiced cost, a delivery
        charge) grew ``order`` although the credit check blocks it."""
        key = f"{ORDER_AMENDED}:{order.id}:{order.amount_total}"
        existing = self.sudo().search([("dedup_key", "=", key), ("state", "in", OPEN_STATES)], limit=1)
        if existing:
            return existing
        alert = (
            self.sudo()
            .with_context(mail_create_nolog=True)
            .create(
                {
                    "alert_type": ORDER_AMENDED,
                    "severity": "high",
                    "partner_id": profile.partner_id.id,
                    "company_id": profile.company_id.id,
                    "profile_id": profile.id,
                    "user_id": self._responsible_in(profile, profile.company_id).id,
                    "figures": {"order_id": order.id, "amount_total": order.amount_total},
                    "recorded_message": message,
                    "dedup_key": key,
                }
            )
        )
        alert._schedule_activities()
        return alert

    @api.model
    def _raise_repayment_broken_alert(self, profile, plan, figures, message):
        """Alert the customer's credit manager that ``plan`` broke (once per plan)."""
        key = f"{REPAYMENT_BROKEN}:{plan.id}"
        existing = self.sudo().search([("dedup_key", "=", key), ("state", "in", OPEN_STATES)], limit=1)
        if existing:
            return existing
        alert = (
            self.sudo()
            .with_context(mail_create_nolog=True)
            .create(
                {
                    "alert_type": REPAYMENT_BROKEN,
                    "severity": "high",
                    "partner_id": profile.partner_id.id,
                    "company_id": profile.company_id.id,
                    "profile_id": profile.id,
                    "user_id": self._responsible_in(profile, profile.company_id).id,
                    "figures": _jsonable(figures),
                    "recorded_message": message,
                    "dedup_key": key,
                }
            )
        )
        alert._schedule_activities()
        return alert

    @api.model
    def _figures_to_record(self, profile, rule_type, figures):
        """The figures the message is rendered from later: what the rendering would otherwise read
        from the profile as it is then is recorded as it is now."""
        if rule_type == "limit_expiring" and "limit" not in figures:
            return dict(figures, limit=profile.credit_limit)
        return figures

    @api.model
    def _render_message(self, profile, rule_type, figures):
        """A readable sentence with the figures of a ``rule_type`` alert on ``profile``'s customer."""
        money = profile._format_amount
        partner = profile.partner_id.display_name
        if rule_type == "overdue_new" and not figures.get("min_amount"):
            return self.env._(
                "%(partner)s has %(amount)s overdue, the oldest %(days)s days past due (rule: more than "
                "%(min_days)s days).",
                partner=partner,
                amount=money(figures["overdue_amount"]),
                days=figures["overdue_days"],
                min_days=figures["min_days"],
            )
        if rule_type == "overdue_new":
            return self.env._(
                "%(partner)s has %(amount)s overdue, the oldest %(days)s days past due (rule: more than "
                "%(min_days)s days, above %(min_amount)s).",
                partner=partner,
                amount=money(figures["overdue_amount"]),
                days=figures["overdue_days"],
                min_days=figures["min_days"],
                min_amount=money(figures["min_amount"]),
            )
        if rule_type == "utilization" and figures.get("secured"):
            return self.env._(
                "%(partner)s uses %(utilization)s%% of its credit capacity: exposure %(exposure)s, capacity "
                "%(capacity)s (limit %(limit)s plus %(secured)s secured) (rule: above %(threshold)s%%).",
                partner=partner,
                utilization=formatLang(self.env, figures["utilization"], digits=1),
                exposure=money(figures["exposure"]),
                capacity=money(figures["capacity"]),
                limit=money(figures["limit"]),
                secured=money(figures["secured"]),
                threshold=formatLang(self.env, figures["threshold_percent"], digits=1),
            )
        if rule_type == "utilization":
            return self.env._(
                "%(partner)s uses %(utilization)s%% of its credit limit: "
                "exposure %(exposure)s, limit %(limit)s (rule: above %(threshold)s%%).",
                partner=partner,
                utilization=formatLang(self.env, figures["utilization"], digits=1),
                exposure=money(figures["exposure"]),
                limit=money(figures["limit"]),
                threshold=formatLang(self.env, figures["threshold_percent"], digits=1),
            )
        if rule_type == "downgrade":
            return self.env._(
                "%(partner)s was downgraded from %(previous)s to %(grade)s "
                "(%(notches)s grade(s) down) by the rating of %(date)s.",
                partner=partner,
                previous=figures["previous_grade"],
                grade=figures["grade"],
                notches=figures["notches"],
                date=format_date(self.env, figures["rating_date"]),
            )
        if rule_type == "bureau_drop":
            return self.env._(
                "The bureau score of %(partner)s dropped by %(drop)s points, "
                "from %(previous)s (%(previous_agency)s, %(previous_date)s) "
                "to %(score)s (%(agency)s, %(date)s) (rule: %(min_points)s points or more).",
                partner=partner,
                drop=formatLang(self.env, figures["drop"], digits=1),
                previous=formatLang(self.env, figures["previous_score"], digits=1),
                previous_agency=figures["previous_agency"],
                previous_date=format_date(self.env, figures["previous_date"]),
                score=formatLang(self.env, figures["score"], digits=1),
                agency=figures["agency"],
                date=format_date(self.env, figures["report_date"]),
                min_points=formatLang(self.env, figures["min_points"], digits=1),
            )
        if rule_type == "order_spike":
            return self.env._(
                "%(partner)s ordered %(recent)s in the last %(days)s days, %(ratio)s times its average of "
                "%(average)s per %(days)s days over the previous %(history)s days "
                "(rule: above %(factor)s times).",
                partner=partner,
                recent=money(figures["recent_amount"]),
                days=figures["period_days"],
                ratio=formatLang(self.env, figures["ratio"], digits=1),
                average=money(figures["average_amount"]),
                history=figures["history_days"],
                factor=formatLang(self.env, figures["factor"], digits=1),
            )
        if rule_type == "limit_expiring":
            return self.env._(
                "The credit limit of %(partner)s (%(limit)s) expires on %(date)s, in %(days)s days.",
                partner=partner,
                limit=money(figures.get("limit", profile.credit_limit)),
                date=format_date(self.env, figures["date"]),
                days=figures["days_left"],
            )
        if rule_type == "review_expiring":
            return self.env._(
                "The credit review of %(partner)s is due on %(date)s, in %(days)s days.",
                partner=partner,
                date=format_date(self.env, figures["date"]),
                days=figures["days_left"],
            )
        if rule_type == "guarantee_expiring":
            return self.env._(
                "The guarantee %(guarantee)s (reference %(reference)s, %(amount)s at %(coverage)s%% "
                "coverage) ends on %(date)s, in %(days)s days: from the day after, %(partner)s loses "
                "%(secured)s of secured capacity.",
                guarantee=figures["guarantee"],
                reference=figures["reference"] or "-",
                amount=self.env["res.company"]._credit_format_money(
                    figures["amount"], self.env["res.currency"].browse(figures["currency_id"])
                ),
                coverage=formatLang(self.env, figures["coverage_percent"], digits=1),
                date=format_date(self.env, figures["date"]),
                days=figures["days_left"],
                partner=partner,
                secured=money(figures["secured_amount"]),
            )
        if rule_type == "rate_move":
            return profile._text_rate_move(figures)
        if rule_type == "predicted_late_jump":
            return self.env._(
                "The predicted late share of %(partner)s rose from %(previous)s%% to %(share)s%% "
                "(%(rise)s percentage points) with the prediction of %(date)s (rule: %(min_points)s "
                "points or more).",
                partner=partner,
                previous=formatLang(self.env, figures["previous_share"] * 100, digits=1),
                share=formatLang(self.env, figures["share"] * 100, digits=1),
                rise=formatLang(self.env, figures["rise_points"], digits=1),
                date=format_date(self.env, figures["prediction_date"]),
                min_points=formatLang(self.env, figures["min_points"], digits=1),
            )
        return rule_type

    @api.model
    def _profiles_by_partner(self, company, partner_ids):
        """``{partner id: credit profile}`` in ``company``, creating the missing ones in one go."""
        Profile = self.env["credit.profile"].sudo().with_company(company)
        profiles = Profile.search([("partner_id", "in", list(partner_ids)), ("company_id", "=", company.id)])
        missing = set(partner_ids) - set(profiles.partner_id.ids)
        if missing:
            profiles |= Profile.create([{"partner_id": pid, "company_id": company.id} for pid in missing])
        return {profile.partner_id.id: profile for profile in profiles}

    def _schedule_activities(self, notify=True):
        """An activity on each alert for its responsible user; with ``notify`` False (the nightly
        batch), no e-mail per activity: it is in the user's activities."""
        activity_type = self.env.ref(ACTIVITY_TYPE)
        model_id = self.env["ir.model"]._get_id(self._name)
        today = fields.Date.context_today(self)
        severities = dict(self._fields["severity"]._description_selection(self.env))
        vals_list = [
            {
                "activity_type_id": activity_type.id,
                "res_model_id": model_id,
                "res_id": alert.id,
                "user_id": alert.user_id.id,
                "date_deadline": today,
                "summary": self.env._(
                    "%(severity)s credit alert: %(partner)s",
                    severity=severities[alert.severity],
                    partner=alert.partner_id.display_name,
                ),
                "note": alert.message,
                "automated": True,
            }
            for alert in self
            if alert.user_id
        ]
        self.env["mail.activity"].sudo().with_context(mail_activity_quick_update=not notify).create(vals_list)

    def _apply_auto_hold(self):
        """Put the customers of alerts whose rule says so on hold, as superuser, naming the alert."""
        to_hold = self.filtered(lambda alert: alert.rule_id.auto_hold and not alert.profile_id.on_hold)
        for profile, alerts in to_hold.grouped("profile_id").items():
            reason = self.env._(
                "Early warning %(alerts)s: %(message)s",
                alerts=", ".join(alerts.mapped("name")),
                message=" ".join(alerts.mapped("message")),
            )
            profile.sudo()._put_on_hold(reason)
            alerts.sudo().write({"hold_applied": True})


def _jsonable(figures):
    return {key: value.isoformat() if isinstance(value, date) else value for key, value in figures.items()}
