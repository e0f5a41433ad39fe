import logging
import math
from datetime import datetime, time, timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.tools import SQL, formatLang, split_every

from ..credit_policy.grades import default_grade_table
from ..credit_policy.warnings import RULE_TYPES as CORE_RULE_TYPES
from ..credit_policy.warnings import SEVERITIES as CORE_SEVERITIES
from ..credit_policy.warnings import (
    bureau_drop_signal,
    downgrade_signal,
    expiring_signal,
    guarantee_event,
    guarantee_expiring_signal,
    order_spike_signal,
    overdue_signal,
    predicted_late_jump_signal,
    rate_move_signal,
    utilization_signal,
)
from .cron_batch import commit_cron_batch

_logger = logging.getLogger(__name__)

# Labels of the signals and severities; the codes and their order are the policy core's
# (``credit_policy.warnings``), which evaluates them.
RULE_TYPE_LABELS = {
    "overdue_new": "Overdue Beyond N Days",
    "utilization": "Utilization Above X %",
    "downgrade": "Grade Downgrade",
    "bureau_drop": "Bureau Score Drop",
    "order_spike": "Order Spike",
    "limit_expiring": "Limit Expiring",
    "review_expiring": "Review Expiring",
    "guarantee_expiring": "Guarantee Expiring",
    "rate_move": "Over the Limit by a Rate Move",
    "predicted_late_jump": "Predicted Late Share Jump",
}
RULE_TYPES = [(code, RULE_TYPE_LABELS[code]) for code in CORE_RULE_TYPES]
SEVERITY_LABELS = {"critical": "Critical", "high": "High", "medium": "Medium", "low": "Low"}
# Most severe first: the alert kanban shows its columns in this order.
SEVERITIES = [(code, SEVERITY_LABELS[code]) for code in reversed(CORE_SEVERITIES)]
# ``resume_partner_id`` of a rule whose run is over for its ``resume_company_id`` (PostgreSQL's largest int4).
ALL_CUSTOMERS = 2**31 - 1


class CreditWarningRule(models.Model):
    """An early-warning rule (风险预警规则): a signal, its thresholds, the alert's severity.

    A rule without company applies to every company that checks credit; the daily
    cron evaluates the rules over the customers of each company, a batch of customers
    at a time (see ``_cron_evaluate``).

    Its minimum amount is money in the rule's currency (by default its company's):
    evaluated for a company with another currency, it is converted into that
    company's currency at the evaluation date, so a rule shared by a USD and a EUR
    company means the same money in both. Days, percentages, points and factors
    have no currency; a rule that applies to every company needs a currency only
    when it has a minimum amount.
    """

    _name = "credit.warning.rule"
    _description = "Credit Early-Warning Rule"
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", index=True, help="Empty: applies to every company.")
    currency_id = fields.Many2one(
        "res.currency",
        compute="_compute_currency_id",
        store=True,
        readonly=False,
        precompute=True,
        help="Currency of the minimum amount; converted into each company's currency at the evaluation date.",
    )
    rule_type = fields.Selection(RULE_TYPES, string="Signal", required=True, default="overdue_new")
    severity = fields.Selection(SEVERITIES, required=True, default="medium")
    auto_hold = fields.Boolean(
        string="Put Customer on Hold",
        help="When the rule raises an alert, put the customer on credit hold at once "
        "(the reason names the alert).",
    )
    threshold_days = fields.Integer(
        aggregator=False,
        string="Days",
        default=30,
        help="Overdue: days past due beyond which the rule fires. "
        "Order spike: length of the period compared. "
        "Limit/review/guarantee expiring: days ahead. "
        "Downgrade/bureau drop: only ratings or reports of the last N days (0: any). "
        "Predicted late share jump: only predictions of the last N days (0: any). "
        "Rate move: today's rate is compared with the rate of N days before.",
    )
    threshold_percent = fields.Float(aggregator=False, string="Utilization Above (%)", default=80.0)
    threshold_points = fields.Float(
        aggregator=False,
        string="Score Drop (points)",
        default=10.0,
        help="Bureau score drop: on the bureau's 0-100 scale. Predicted late share jump: the rise in "
        "percentage points of the customer's predicted late share since the previous prediction.",
    )
    threshold_grades = fields.Integer(
        aggregator=False, string="Grades Down", default=1, help="Downgrade by at least this many grades."
    )
    threshold_factor = fields.Float(
        aggregator=False,
        string="Factor",
        default=2.0,
        help="Orders of the period above this multiple of the customer's average.",
    )
    threshold_amount = fields.Float(
        aggregator=False,
        string="Minimum Amount",
        help="In the rule's currency (converted into the company's at the evaluation date): smaller overdue "
        "amounts or order volumes raise no alert.",
    )
    history_days = fields.Integer(
        aggregator=False,
        string="History (days)",
        default=365,
        help="Order spike: the history the customer's average is taken over.",
    )
    description = fields.Char(compute="_compute_description", string="Condition")
    # Where the daily run stands while it is under way (cleared when it ends): on ``resume_date``,
    # the customers of the companies before ``resume_company_id`` (by id) and those of that company
    # up to commercial partner id ``resume_partner_id`` are evaluated and committed.
    resume_date = fields.Date(readonly=True, copy=False)
    resume_company_id = fields.Many2one("res.company", readonly=True, copy=False)
    resume_partner_id = fields.Integer(aggregator=False, readonly=True, copy=False)
    alert_ids = fields.One2many("credit.alert", "rule_id", string="Alerts")
    alert_count = fields.Integer(compute="_compute_alert_count")

    _sql_constraints = [
        (
            "thresholds_positive",
            "CHECK(threshold_days >= 0 AND threshold_percent >= 0 AND threshold_points >= 0 "
            "AND threshold_grades >= 0 AND threshold_factor >= 0 AND threshold_amount >= 0 "
            "AND history_days >= 0)",
            "Warning rule thresholds cannot be negative.",
        ),
    ]

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends("company_id")
    def _compute_currency_id(self):
        for rule in self:
            rule.currency_id = rule.company_id.currency_id or rule.currency_id or self.env.company.currency_id

    @api.depends(
        "rule_type",
        "currency_id",
        "company_id",
        "threshold_days",
        "threshold_percent",
        "threshold_points",
        "threshold_grades",
        "threshold_factor",
        "threshold_amount",
        "history_days",
    )
    def _compute_description(self):
        _ = self.env._
        for rule in self:
            days = rule.threshold_days
            number = rule._format_threshold_number
            rule.description = {
                "overdue_new": self.env._(
                    "Overdue more than %(days)s days, above %(amount)s",
                    days=days,
                    amount=rule._format_threshold_amount(),
                )
                if rule.threshold_amount
                else self.env._("Overdue more than %(days)s days, any amount", days=days),
                "utilization": self.env._(
                    "Exposure above %(percent)s%% of the limit", percent=number(rule.threshold_percent)
                ),
                "downgrade": self.env._(
                    "Latest rating %(grades)s grade(s) down or more", grades=rule.threshold_grades
                ),
                "bureau_drop": self.env._(
                    "Latest bureau score %(points)s points or more below the previous one",
                    points=number(rule.threshold_points),
                ),
                "order_spike": self.env._(
                    "Orders of the last %(days)s days above %(factor)s x "
                    "the average of the last %(history)s days",
                    days=days,
                    factor=number(rule.threshold_factor),
                    history=rule.history_days,
                ),
                "limit_expiring": self.env._("Limit valid until within %(days)s days", days=days),
                "review_expiring": self.env._("Review date within %(days)s days", days=days),
                "guarantee_expiring": self.env._("Active guarantee ending within %(days)s days", days=days),
                "rate_move": self.env._(
                    "Over a foreign-currency limit at today's rate, within it at the rate of %(days)s days "
                    "before",
                    days=days,
                ),
                "predicted_late_jump": self.env._(
                    "Predicted late share up %(points)s percentage points or more since the previous "
                    "prediction",
                    points=number(rule.threshold_points),
                ),
            }.get(rule.rule_type, "")

    def _compute_alert_count(self):
        counts = dict(
            self.env["credit.alert"]._read_group([("rule_id", "in", self.ids)], ["rule_id"], ["__count"])
        )
        for rule in self:
            rule.alert_count = counts.get(rule, 0)

    def _format_threshold_amount(self):
        """The minimum amount in its currency (a number where the rule has none yet)."""
        return self.env["res.company"]._credit_format_money(self.threshold_amount, self._amount_currency())

    def _format_threshold_number(self, value):
        """A percentage, a number of points or a factor in the reader's notation, with the
        decimals it has (up to two): ``80``, ``2.5``, ``1,000``."""
        digits = next((digits for digits in (0, 1) if round(value, digits) == value), 2)
        return formatLang(self.env, value, digits=digits)

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains("company_id", "currency_id", "threshold_amount")
    def _check_amount_currency(self):
        for rule in self:
            if rule.threshold_amount and not rule._amount_currency():
                raise ValidationError(
                    self.env._(
                        "Rule %(rule)s applies to every company and has a minimum amount of %(amount)s: "
                        "set its currency, or its company, so that each company converts the amount into "
                        "its own currency.",
                        rule=rule.name,
                        amount=rule._format_threshold_amount(),
                    )
                )

    @api.constrains("rule_type", "threshold_days", "history_days", "threshold_factor")
    def _check_order_spike(self):
        for rule in self.filtered(lambda r: r.rule_type == "order_spike"):
            if rule.threshold_days < 1 or rule.history_days < rule.threshold_days:
                raise ValidationError(
                    self.env._(
                        "Rule %(rule)s: the order spike period must be at least one day and no longer than "
                        "the history.",
                        rule=rule.name,
                    )
                )

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _amount_currency(self):
        """The currency of the minimum amount (the rule's own, else its company's)."""
        self.ensure_one()
        return self.currency_id or self.company_id.currency_id

    def _threshold_amount_in(self, company, date):
        """The minimum amount in ``company``'s currency at ``date``."""
        self.ensure_one()
        currency = self._amount_currency()
        if not self.threshold_amount or not currency or currency == company.currency_id:
            return self.threshold_amount
        return currency._convert(self.threshold_amount, company.currency_id, company, date)

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_view_alerts(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("sale_credit_control.credit_alert_action")
        action["domain"] = [("rule_id", "=", self.id)]
        action["context"] = {"search_default_open": 1}
        return action

    # ------------------------------------------------------------
    # EVALUATION (set-based, one batch of customers at a time)
    # ------------------------------------------------------------

    #: Customers (credit profiles) evaluated together: one set of grouped queries, one commit.
    _batch_size = 2000

    @api.model
    def _cron_evaluate(self):
        """Daily: evaluate every active rule for every company that checks credit.

        Companies by id, their customers by commercial partner id, in batches of
        ``_batch_size`` credit profiles. Run by the cron, each batch is committed with
        the rules' position (``resume_*``) and reported to the cron: a run that stops
        halfway (crash, timeout) is taken up again by the cron after the last committed
        batch, so no batch is evaluated twice (the alerts' keys would refuse duplicates
        anyway). Memory stays flat: the cache is emptied after each batch.
        """
        today = fields.Date.context_today(self)
        rules = self.sudo().search([])  # pylint: disable=no-search-all  # a handful of rules, all evaluated
        companies = self.env["res.company"].sudo().search([("credit_control_enabled", "=", True)], order="id")
        plan = []
        for company in companies:
            company_rules = rules.filtered_domain(
                ["|", ("company_id", "=", False), ("company_id", "=", company.id)]
            )
            if company_rules:
                done_up_to = {rule: rule._evaluated_up_to(company, today) for rule in company_rules}
                customer_ids = self._customer_ids(company, min(done_up_to.values()))
                plan.append((company, company_rules, done_up_to, customer_ids))
        remaining = sum(len(customer_ids) for *_rest, customer_ids in plan)
        done = 0
        alert_ids = []
        for company, company_rules, done_up_to, customer_ids in plan:
            for low, high, count in self._batch_ranges(min(done_up_to.values()), customer_ids):
                alerts = company_rules._evaluate_company(company, today, (low, high), done_up_to)
                alert_ids += alerts.ids
                company_rules.write(
                    {
                        "resume_date": today,
                        "resume_company_id": company.id,
                        "resume_partner_id": high or ALL_CUSTOMERS,
                    }
                )
                done, remaining = done + count, remaining - count
                self._commit_batch(done, remaining)
        rules.write({"resume_date": False, "resume_company_id": False, "resume_partner_id": 0})
        self.env["ir.cron"]._notify_progress(done=done, remaining=0)
        return self.env["credit.alert"].browse(alert_ids)

    def _evaluated_up_to(self, company, today):
        """The last customer (commercial partner id) of ``company`` this rule was evaluated for
        by today's run so far: 0 when none, ``ALL_CUSTOMERS`` when all."""
        self.ensure_one()
        if self.resume_date != today or not self.resume_company_id:
            return 0
        if self.resume_company_id.id > company.id:
            return ALL_CUSTOMERS
        if self.resume_company_id == company:
            return self.resume_partner_id
        return 0

    @api.model
    def _customer_ids(self, company, after):
        """Commercial partner ids of the credit profiles of ``company`` above ``after``, in order."""
        self.env["credit.profile"].flush_model(["partner_id", "company_id"])
        rows = self.env.execute_query(
            SQL(
                "SELECT partner_id FROM credit_profile"
                " WHERE company_id = %s AND partner_id > %s ORDER BY partner_id",
                company.id,
                after,
            )
        )
        return [partner_id for (partner_id,) in rows]

    @api.model
    def _batch_ranges(self, after, customer_ids):
        """``(low, high, profiles)``: consecutive ranges of commercial partner ids (low, high] that
        cover every id above ``after``, each holding at most ``_batch_size`` profiles. The last
        range is open (``high`` None): customers without a profile (ratings, orders) count too."""
        if after >= ALL_CUSTOMERS:
            return
        batches = list(split_every(self._batch_size, customer_ids, list)) or [[]]
        low = after
        for index, batch in enumerate(batches):
            high = None if index == len(batches) - 1 else batch[-1]
            yield low, high, len(batch)
            low = high

    @api.model
    def _commit_batch(self, done, remaining):
        """Run by the cron (not by hand, not in a test): commit the batch and report the progress.
        Always: write the batch and let its records go."""
        commit_cron_batch(self.env, done, remaining)

    def _evaluate_company(self, company, today=None, partner_range=(0, None), done_up_to=None):
        """Raise the alerts of these rules for the customers of ``company``; return the new alerts.

        Only customers whose commercial partner id is in ``partner_range`` (low, high]
        (high None: no upper bound), and for each rule above ``done_up_to[rule]``.
        Each rule type gathers its figures for those customers in a few grouped queries
        (shared through ``cache``); the policy core decides.
        """
        today = today or fields.Date.context_today(self)
        cache = {"range": partner_range}
        done_up_to = done_up_to or {}
        signals = []
        for rule in self.sudo():
            after = done_up_to.get(rule, 0)
            if after >= (partner_range[1] or ALL_CUSTOMERS):
                continue  # done for this batch by the run that stopped halfway
            for partner_id, event, figures in getattr(rule, f"_signals_{rule.rule_type}")(
                company, today, cache
            ):
                if partner_id > after:
                    signals.append((rule, partner_id, event, figures))
        return self.env["credit.alert"]._raise_alerts(company, signals)

    @api.model
    def _range_sql(self, column, cache):
        """SQL condition: ``column`` (a commercial partner id) in the batch's range of ``cache``."""
        low, high = cache.get("range", (0, None))
        if high is None:
            return SQL("%s > %s", column, low)
        return SQL("%s > %s AND %s <= %s", column, low, column, high)

    @api.model
    def _range_domain(self, field_name, cache):
        """Domain: ``field_name`` (a commercial partner) in the batch's range of ``cache``."""
        low, high = cache.get("range", (0, None))
        # (not ("partner_id", ">", 0): the ORM reads a Many2one's 0 as False, i.e. NULL)
        domain = [(field_name, ">", low)] if low else []
        return domain + ([(field_name, "<=", high)] if high is not None else [])

    # One method per rule type: yields (commercial partner id, event or None, figures).

    def _signals_overdue_new(self, company, today, cache):
        profiles, figures = self._company_exposure(company, today, cache)
        currency = company.currency_id
        min_amount = self._threshold_amount_in(company, today)
        for profile in profiles:
            partner_figures = figures[profile.partner_id.id]
            signal = overdue_signal(
                currency.round(partner_figures["overdue_amount"]),
                partner_figures["overdue_days"],
                self.threshold_days,
                min_amount,
            )
            if signal:
                yield profile.partner_id.id, None, signal

    def _signals_utilization(self, company, today, cache):
        profiles, figures = self._company_exposure(company, today, cache)
        currency = company.currency_id
        limits = cache.get("limits")
        if limits is None:
            # The profile's limit: a limit set in another currency converted at today's rate.
            limits = cache["limits"] = {profile.partner_id.id: profile.credit_limit for profile in profiles}
        for profile in profiles.filtered(lambda p: p.mode == "limit"):
            partner_id = profile.partner_id.id
            limit = limits.get(partner_id) or 0.0
            if not math.isfinite(limit) or limit < 0:
                # Stored bad (SQL, an old import): skip and report it, the other customers go on.
                _logger.warning(
                    "Warning rule %s skips %s: its credit limit %s is not a number of at least 0.",
                    self.display_name,
                    profile.partner_id.display_name,
                    limit,
                )
                continue
            signal = utilization_signal(
                currency.round(figures[partner_id]["exposure"].total),
                limit,
                self.threshold_percent,
                secured=sum(amount for _code, amount in figures[partner_id]["capacity_parts"]),
            )
            if signal:
                yield partner_id, None, signal

    def _signals_downgrade(self, company, today, cache):
        rows = self.env.execute_query(
            SQL(
                """
                SELECT DISTINCT ON (partner.commercial_partner_id)
                       partner.commercial_partner_id, rating.id, rating.date, rating.grade_code,
                       rating.previous_grade_code, rating.scorecard_id
                  FROM credit_rating rating
                  JOIN res_partner partner ON partner.id = rating.partner_id
                 WHERE rating.company_id = %s AND %s
              ORDER BY partner.commercial_partner_id, rating.date DESC, rating.id DESC
                """,
                company.id,
                self._range_sql(SQL.identifier("partner", "commercial_partner_id"), cache),
            )
        )
        rankings = {}
        since = today - timedelta(days=self.threshold_days) if self.threshold_days else None
        for partner_id, rating_id, rating_date, grade, previous, scorecard_id in rows:
            if since and rating_date < since:
                continue
            if scorecard_id not in rankings:
                rankings[scorecard_id] = self._grade_ranking(scorecard_id)
            signal = downgrade_signal(previous, grade, rankings[scorecard_id], self.threshold_grades)
            if signal:
                yield partner_id, rating_id, dict(signal, rating_date=rating_date)

    @api.model
    def _grade_ranking(self, scorecard_id):
        """Grade codes of a scorecard, best first (the default table's when it has none)."""
        grades = self.env["credit.scorecard"].sudo().browse(scorecard_id).grade_ids if scorecard_id else None
        if grades:
            return grades.sorted(lambda grade: grade.min_score, reverse=True).mapped("code")
        return [grade.code for grade in default_grade_table()]

    def _signals_bureau_drop(self, company, today, cache):
        self.env["credit.bureau.report"].flush_model(["partner_id", "company_id", "report_date", "score"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT partner_id, id, report_date, score, agency
                  FROM (
                        SELECT partner.commercial_partner_id AS partner_id, report.id, report.report_date,
                               report.score, report.agency,
                               ROW_NUMBER() OVER (
                                   PARTITION BY partner.commercial_partner_id
                                   ORDER BY report.report_date DESC, report.id DESC
                               ) AS rank
                          FROM credit_bureau_report report
                          JOIN res_partner partner ON partner.id = report.partner_id
                         WHERE report.company_id = %s AND %s
                       ) ranked
                 WHERE rank <= 2
              ORDER BY partner_id, rank
                """,
                company.id,
                self._range_sql(SQL.identifier("partner", "commercial_partner_id"), cache),
            )
        )
        latest = {}
        previous = {}
        for partner_id, report_id, report_date, score, agency in rows:
            (previous if partner_id in latest else latest)[partner_id] = (
                report_id,
                report_date,
                score or 0.0,
                agency,
            )
        since = today - timedelta(days=self.threshold_days) if self.threshold_days else None
        for partner_id, (report_id, report_date, score, agency) in latest.items():
            if partner_id not in previous or (since and report_date < since):
                continue
            _previous_id, previous_date, previous_score, previous_agency = previous[partner_id]
            signal = bureau_drop_signal(previous_score, score, self.threshold_points)
            if signal:
                yield (
                    partner_id,
                    report_id,
                    dict(
                        signal,
                        report_date=report_date,
                        agency=agency,
                        previous_date=previous_date,
                        previous_agency=previous_agency,
                    ),
                )

    def _signals_order_spike(self, company, today, cache):
        period = self.threshold_days
        recent_start = datetime.combine(today - timedelta(days=period), time.min)
        history_start = recent_start - timedelta(days=self.history_days)
        self.env["sale.order"].flush_model(
            ["partner_id", "company_id", "state", "date_order", "amount_total", "currency_rate"]
        )
        rows = self.env.execute_query(
            SQL(
                """
                SELECT partner.commercial_partner_id,
                       SUM(so.amount_total / COALESCE(NULLIF(so.currency_rate, 0), 1))
                           FILTER (WHERE so.date_order >= %(recent)s),
                       SUM(so.amount_total / COALESCE(NULLIF(so.currency_rate, 0), 1))
                           FILTER (WHERE so.date_order >= %(history)s AND so.date_order < %(recent)s),
                       MIN(so.date_order)
                  FROM sale_order so
                  JOIN res_partner partner ON partner.id = so.partner_id
                 WHERE so.company_id = %(company)s
                   AND so.state = 'sale'
                   AND %(in_batch)s
              GROUP BY partner.commercial_partner_id
                HAVING SUM(so.amount_total) FILTER (WHERE so.date_order >= %(recent)s) > 0
                """,
                recent=recent_start,
                history=history_start,
                company=company.id,
                in_batch=self._range_sql(SQL.identifier("partner", "commercial_partner_id"), cache),
            )
        )
        currency = company.currency_id
        min_amount = self._threshold_amount_in(company, today)
        for partner_id, recent, history, first_order in rows:
            history_days = min(self.history_days, max((recent_start - first_order).days, 0))
            signal = order_spike_signal(
                currency.round(recent or 0.0),
                currency.round(history or 0.0),
                history_days,
                period,
                self.threshold_factor,
                min_amount,
            )
            if signal:
                yield partner_id, None, signal

    def _signals_limit_expiring(self, company, today, cache):
        yield from self._signals_expiring(company, today, "limit_valid_until", cache)

    def _signals_review_expiring(self, company, today, cache):
        yield from self._signals_expiring(company, today, "review_date", cache)

    def _signals_expiring(self, company, today, date_field, cache):
        last = today + timedelta(days=self.threshold_days)
        profiles = (
            self.env["credit.profile"]
            .sudo()
            .search(
                [("company_id", "=", company.id), (date_field, ">=", today), (date_field, "<=", last)]
                + self._range_domain("partner_id", cache)
            )
        )
        for profile in profiles:
            signal = expiring_signal(profile[date_field], today, self.threshold_days)
            if signal:
                yield profile.partner_id.id, signal["date"].isoformat(), signal

    def _signals_guarantee_expiring(self, company, today, cache):
        """Active guarantees of ``company`` ending today or within N days: one alert per guarantee
        and end date, with the secured capacity the customer loses after it (company currency,
        today's rate). One query for the guarantees, one rate per foreign currency."""
        last = today + timedelta(days=self.threshold_days)
        guarantees = (
            self.env["credit.guarantee"]
            .sudo()
            .search_fetch(
                [
                    ("company_id", "=", company.id),
                    ("state", "=", "active"),
                    ("valid_to", ">=", today),
                    ("valid_to", "<=", last),
                    *self._range_domain("partner_id", cache),
                ],
                [
                    "partner_id",
                    "guarantee_type",
                    "reference",
                    "amount",
                    "currency_id",
                    "coverage_percent",
                    "secured_amount",
                    "valid_to",
                ],
                order="valid_to, id",
            )
        )
        currency = company.currency_id
        rates = {
            other: self.env["res.currency"]._get_conversion_rate(other, currency, company, today)
            for other in guarantees.currency_id - currency
        }
        for guarantee in guarantees:
            secured = currency.round(guarantee.secured_amount * rates.get(guarantee.currency_id, 1.0))
            signal = guarantee_expiring_signal(guarantee.valid_to, today, self.threshold_days, secured)
            if signal:
                yield (
                    guarantee.partner_id.id,
                    guarantee_event(guarantee.id, guarantee.valid_to),
                    dict(
                        signal,
                        guarantee_id=guarantee.id,
                        guarantee=guarantee.display_name,
                        reference=guarantee.reference or "",
                        amount=guarantee.amount,
                        currency_id=guarantee.currency_id.id,
                        coverage_percent=guarantee.coverage_percent,
                    ),
                )

    def _signals_rate_move(self, company, today, cache):
        """Customers whose limit is set in another currency, over it at today's rate and within it
        at the rate of N days before (at least one), at the same exposure: only the rate moved them
        over. Two rate queries (today, the reference date); a currency without both rates is skipped."""
        profiles, figures = self._company_exposure(company, today, cache)
        foreign = profiles.filtered(
            lambda p: p.mode == "limit" and p.limit_currency_id and p.limit_amount_currency
        )
        if not foreign:
            return
        reference_date = today - timedelta(days=max(self.threshold_days, 1))
        Profile = self.env["credit.profile"]
        rates_now = Profile._credit_limit_rates(foreign.limit_currency_id, company, today)
        rates_before = Profile._credit_limit_rates(foreign.limit_currency_id, company, reference_date)
        currency = company.currency_id
        for profile in foreign:
            rate_now = rates_now.get(profile.limit_currency_id.id)
            rate_before = rates_before.get(profile.limit_currency_id.id)
            if not rate_now or not rate_before:
                continue
            partner_figures = figures[profile.partner_id.id]
            signal = rate_move_signal(
                currency.round(partner_figures["exposure"].total),
                profile.limit_amount_currency,
                rate_before,
                rate_now,
                sum(amount for _code, amount in partner_figures["capacity_parts"]),
            )
            if signal:
                yield (
                    profile.partner_id.id,
                    None,
                    dict(
                        signal,
                        limit_currency_id=profile.limit_currency_id.id,
                        rate_date=today,
                        reference_date=reference_date,
                    ),
                )

    def _signals_predicted_late_jump(self, company, today, cache):
        """Customers whose predicted late share (the active late-payment model's, kept on the credit
        profile) rose by N percentage points or more since the previous prediction: one alert per
        prediction (its date is the event). One query for the batch."""
        self.env["credit.profile"].flush_model(
            [
                "partner_id",
                "company_id",
                "predicted_late_share",
                "predicted_late_share_previous",
                "predicted_late_share_date",
            ]
        )
        since = today - timedelta(days=self.threshold_days) if self.threshold_days else None
        rows = self.env.execute_query(
            SQL(
                """
                SELECT profile.partner_id, profile.predicted_late_share_previous,
                       profile.predicted_late_share, profile.predicted_late_share_date
                  FROM credit_profile profile
                 WHERE profile.company_id = %(company)s
                   AND profile.predicted_late_share_date IS NOT NULL
                   AND profile.predicted_late_share_previous IS NOT NULL
                   AND profile.predicted_late_share > profile.predicted_late_share_previous
                   AND profile.predicted_late_share_previous >= 0 AND profile.predicted_late_share <= 1
                   AND (%(since)s::date IS NULL OR profile.predicted_late_share_date >= %(since)s::date)
                   AND %(in_batch)s
              ORDER BY profile.partner_id
                """,
                company=company.id,
                since=since,
                in_batch=self._range_sql(SQL.identifier("profile", "partner_id"), cache),
            )
        )
        for partner_id, previous, share, prediction_date in rows:
            signal = predicted_late_jump_signal(previous, share, self.threshold_points)
            if signal:
                yield partner_id, prediction_date.isoformat(), dict(signal, prediction_date=prediction_date)

    @api.model
    def _company_exposure(self, company, today, cache):
        """The credit profiles of ``company`` in the batch and their exposure figures, computed once
        per batch."""
        if "exposure" not in cache:
            profiles = (
                self.env["credit.profile"]
                .sudo()
                .search([("company_id", "=", company.id)] + self._range_domain("partner_id", cache))
            )
            cache["exposure"] = (profiles, profiles._exposure_figures(profiles.partner_id, company, today))
        return cache["exposure"]

    # ------------------------------------------------------------
    # RUN NOW (from the rule's form or list)
    # ------------------------------------------------------------

    def action_run_now(self):
        """Evaluate these rules at once for every customer of the companies they apply to (the
        user's companies that check credit) and tell how many alerts they raised."""
        if not self.env.su and not self.env.user.has_group("sale_credit_control.group_credit_manager"):
            raise AccessError(self.env._("Only credit managers can run warning rules."))
        today = fields.Date.context_today(self)
        companies = self.env.user.company_ids.filtered("credit_control_enabled")
        alerts = self.env["credit.alert"]
        for company in companies.sorted("id"):
            rules = self.filtered_domain(["|", ("company_id", "=", False), ("company_id", "=", company.id)])
            if rules:
                alerts |= rules._evaluate_company(company, today)
        if alerts:
            message = self.env._("%(count)s new alert(s) raised.", count=len(alerts))
        else:
            message = self.env._("No new alert: no customer crosses the thresholds, or its alert is open.")
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Warning rules evaluated"),
                "message": message,
                "type": "success" if alerts else "info",
                "sticky": False,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }
