"""Late-payment models (付款预测模型) as records: trained on the company's own invoices,
validated on a later period, used only once a credit manager activates one."""

import logging
from datetime import timedelta

from dateutil.relativedelta import relativedelta
from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, format_date
from odoo.tools.misc import formatLang

from ..credit_policy import payment_model as core
from .cron_batch import commit_cron_batch

_logger = logging.getLogger(__name__)

MODEL_STATES = [("draft", "Draft"), ("active", "Active"), ("superseded", "Superseded")]
MANAGER_GROUP = "sale_credit_control.group_credit_manager"
PROFILE_PREDICTION_FIELDS = [
    "predicted_late_share",
    "predicted_late_share_known",
    "predicted_late_share_previous",
    "predicted_late_share_date",
]


class CreditPaymentModel(models.Model):
    """A logistic model of late payment (``credit_policy.payment_model``) fitted to the paid and
    overdue customer invoices of one company, with its validation on the invoices dated after
    ``split_date``. One model per company is active at a time; it scores the open invoices
    (``account.move.credit_late_probability``) and the customers (``credit.profile``
    ``predicted_late_share``)."""

    _name = "credit.payment.model"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _description = "Late-Payment Model"
    _order = "trained_on desc, id desc"
    _check_company_auto = True
    _sql_constraints = [
        (
            "split_in_window",
            "CHECK(split_date > date_from AND split_date <= date_to)",
            "The split date must lie inside the training window.",
        ),
        (
            "late_beyond_days_positive",
            "CHECK(late_beyond_days >= 0)",
            "The days beyond the due date cannot be negative.",
        ),
    ]

    #: Fewer rows than this on either side of the split make no model worth using.
    _min_training_rows = 50
    _min_validation_rows = 20
    #: Calibration table groups (deciles).
    _calibration_bins = 10

    name = fields.Char(string="Label", help="Optional: a word on what sets this model apart.")
    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, index=True, default=lambda self: self.env.company
    )
    state = fields.Selection(
        MODEL_STATES, required=True, default="draft", readonly=True, tracking=True, copy=False
    )
    date_from = fields.Date(string="Invoices From", required=True, readonly=True)
    date_to = fields.Date(string="Invoices To", required=True, readonly=True)
    split_date = fields.Date(
        required=True,
        readonly=True,
        help="Trained on the invoices dated and due before this date; validated on those dated on or "
        "after it.",
    )
    late_beyond_days = fields.Integer(
        string="Late Beyond (days)",
        readonly=True,
        aggregator=False,
        help="What the model predicts: 0, paid after the due date; N, paid more than N days after it "
        "(or still open by then).",
    )
    penalty = fields.Float(
        readonly=True, aggregator=False, help="L2 penalty on the standardised coefficients."
    )
    feature_ids = fields.Many2many("credit.payment.feature", string="Features", readonly=True)
    model_data = fields.Json(readonly=True, copy=False)
    training_size = fields.Integer(string="Training Invoices", readonly=True, aggregator=False)
    late_count = fields.Integer(string="Late (Training)", readonly=True, aggregator=False)
    base_late_rate = fields.Float(string="Late Rate (Training)", readonly=True, aggregator=False)
    validation_size = fields.Integer(string="Validation Invoices", readonly=True, aggregator=False)
    validation_late_count = fields.Integer(string="Late (Validation)", readonly=True, aggregator=False)
    validation_auc = fields.Float(
        string="Validation AUC",
        readonly=True,
        aggregator=False,
        help="How well the model ranks the later invoices: 1 perfect, 0.5 no better than chance.",
    )
    validation_brier = fields.Float(
        string="Validation Brier Score",
        readonly=True,
        aggregator=False,
        help="Mean squared error of the predicted probabilities on the later invoices (0 best).",
    )
    validation_log_loss = fields.Float(readonly=True, aggregator=False)
    calibration = fields.Json(string="Calibration Data", readonly=True, copy=False)
    calibration_html = fields.Html(compute="_compute_tables", sanitize=False, string="Calibration")
    coefficient_html = fields.Html(compute="_compute_tables", sanitize=False, string="Coefficients")
    trained_by = fields.Many2one("res.users", readonly=True, default=lambda self: self.env.user)
    trained_on = fields.Datetime(readonly=True, default=fields.Datetime.now)
    activated_by = fields.Many2one("res.users", readonly=True, tracking=True, copy=False)
    activated_on = fields.Datetime(readonly=True, copy=False)
    invoice_count = fields.Integer(compute="_compute_invoice_count", string="Scored Invoices")

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends("trained_on", "name")
    def _compute_display_name(self):
        for model in self:
            day = format_date(self.env, model.trained_on) if model.trained_on else ""
            label = self.env._("Late-payment model %(date)s", date=day)
            model.display_name = f"{label} ({model.name})" if model.name else label

    def _compute_invoice_count(self):
        counts = dict(
            self.env["account.move"]._read_group(
                [("credit_late_model_id", "in", self.ids)], ["credit_late_model_id"], ["__count"]
            )
        )
        for model in self:
            model.invoice_count = counts.get(model, 0)

    @api.depends("calibration", "model_data", "feature_ids")
    def _compute_tables(self):
        for model in self:
            model.calibration_html = model._calibration_table_html()
            model.coefficient_html = model._coefficient_table_html()

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    @api.ondelete(at_uninstall=False)
    def _unlink_except_active(self):
        active = self.filtered(lambda model: model.state == "active")
        if active:
            raise UserError(
                self.env._(
                    "%(model)s is in use: activate another model before deleting it.",
                    model=active[0].display_name,
                )
            )

    # ------------------------------------------------------------
    # TRAINING
    # ------------------------------------------------------------

    @api.model
    def _training_defaults(self, company, today=None):
        """The window, split and settings a new model uses unless the credit manager changes them:
        invoices of the last 24 months, validated on the last 6, plain lateness, penalty 1."""
        today = today or fields.Date.context_today(self)
        return {
            "company_id": company.id,
            "date_from": today - relativedelta(months=24),
            "date_to": today,
            "split_date": today - relativedelta(months=6),
            "late_beyond_days": 0,
            "penalty": 1.0,
            "feature_ids": self.env["credit.payment.feature"]._default_features(),
        }

    @api.model
    def _train_model(
        self, company, date_from, date_to, split_date, late_beyond_days=0, penalty=1.0, features=None
    ):
        """Fit a model to ``company``'s invoices dated in ``[date_from, date_to]`` and validate it
        on those dated on or after ``split_date``; returns the new draft model.

        Training rows: invoices dated before the split and due (plus ``late_beyond_days``)
        before it, so their outcome was known then; validation rows: invoices dated from the
        split on whose outcome is known today (paid, or open past due). Features of each
        invoice as of its own invoice date (``credit.payment.features``).
        """
        features = (
            features if features is not None else self.env["credit.payment.feature"]._default_features()
        )
        self._check_training_input(
            company, date_from, date_to, split_date, late_beyond_days, penalty, features
        )
        codes = features.sorted(lambda feature: (feature.sequence, feature.id)).mapped("code")
        rows = self.env["credit.payment.features"]._invoice_rows(
            company, date_from, date_to, late_beyond_days
        )
        label_key = "late_beyond" if late_beyond_days else "late"
        rows = [row for row in rows if row[label_key] is not None]
        if not rows:
            raise UserError(
                self.env._(
                    "No customer invoice of %(company)s dated from %(start)s to %(end)s is paid or past due: "
                    "nothing to learn from.",
                    company=company.name,
                    start=format_date(self.env, date_from),
                    end=format_date(self.env, date_to),
                )
            )
        limit = split_date - timedelta(days=late_beyond_days)
        training = [row for row in rows if row["invoice_date"] < split_date and row["due_date"] < limit]
        validation = [row for row in rows if row["invoice_date"] >= split_date]
        self._check_rows(training, validation, label_key, split_date)
        fitted = core.fit_payment_model(
            [row["features"] for row in training],
            [row[label_key] for row in training],
            features=codes,
            penalty=penalty,
        )
        checked = core.validate_model(
            fitted,
            [row["features"] for row in validation],
            [row[label_key] for row in validation],
            bins=self._calibration_bins,
        )
        return self.create(
            {
                "company_id": company.id,
                "date_from": date_from,
                "date_to": date_to,
                "split_date": split_date,
                "late_beyond_days": late_beyond_days,
                "penalty": penalty,
                "feature_ids": [fields.Command.set(features.ids)],
                **self._prepare_fit_vals(fitted, checked),
            }
        )

    @api.model
    def _prepare_fit_vals(self, fitted, checked):
        """The stored figures of a fitted core model and its validation."""
        validation = checked.to_dict()
        return {
            "model_data": fitted.to_dict(),
            "training_size": fitted.training_size,
            "late_count": fitted.late_count,
            "base_late_rate": fitted.base_late_rate,
            "validation_size": checked.size,
            "validation_late_count": checked.late_count,
            "validation_auc": checked.auc,
            "validation_brier": checked.brier,
            "validation_log_loss": checked.log_loss,
            "calibration": validation["calibration"],
        }

    @api.model
    def _check_training_input(
        self, company, date_from, date_to, split_date, late_beyond_days, penalty, features
    ):
        if not self.env.su and not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(self.env._("Only credit managers can train late-payment models."))
        if not self.env.su and company not in self.env.user.company_ids:
            raise AccessError(
                self.env._("You cannot train a model for %(company)s.", company=company.sudo().name)
            )
        if not (date_from and date_to and split_date) or date_from >= date_to:
            raise UserError(self.env._("The training window must start before it ends."))
        if not date_from < split_date <= date_to:
            raise UserError(
                self.env._(
                    "The split date %(split)s must lie inside the window %(start)s – %(end)s: the model "
                    "learns from the invoices before it and is checked on those after it.",
                    split=format_date(self.env, split_date),
                    start=format_date(self.env, date_from),
                    end=format_date(self.env, date_to),
                )
            )
        if late_beyond_days < 0:
            raise UserError(self.env._("The days beyond the due date cannot be negative."))
        if penalty < 0:
            raise UserError(self.env._("The penalty cannot be negative."))
        if not features:
            raise UserError(self.env._("Choose at least one feature for the model."))

    @api.model
    def _check_rows(self, training, validation, label_key, split_date):
        """Refuse to fit on too few invoices, or on invoices all late or all on time."""
        split = format_date(self.env, split_date)
        if len(training) < self._min_training_rows:
            raise UserError(
                self.env._(
                    "Only %(count)s invoices dated and due before %(split)s have a known outcome; a model "
                    "needs at least %(minimum)s. Widen the window or move the split date later.",
                    count=len(training),
                    split=split,
                    minimum=self._min_training_rows,
                )
            )
        if len(validation) < self._min_validation_rows:
            raise UserError(
                self.env._(
                    "Only %(count)s invoices dated from %(split)s on have a known outcome; the validation "
                    "needs at least %(minimum)s. Move the split date earlier.",
                    count=len(validation),
                    split=split,
                    minimum=self._min_validation_rows,
                )
            )
        self._check_both_outcomes(training, label_key, is_training=True)
        self._check_both_outcomes(validation, label_key, is_training=False)

    @api.model
    def _check_both_outcomes(self, rows, label_key, is_training):
        late = sum(1 for row in rows if row[label_key])
        if 0 < late < len(rows):
            return
        count = len(rows)
        if is_training and late:
            message = self.env._("All %(count)s training invoices were paid late", count=count)
        elif is_training:
            message = self.env._("All %(count)s training invoices were paid on time", count=count)
        elif late:
            message = self.env._("All %(count)s validation invoices were paid late", count=count)
        else:
            message = self.env._("All %(count)s validation invoices were paid on time", count=count)
        raise UserError(
            self.env._(
                "%(fact)s: a model needs late and on-time invoices to learn and check the difference.",
                fact=message,
            )
        )

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_activate(self):
        """Use this model for its company from now on; the active one becomes superseded (kept
        for comparison). Scores the open invoices and the customers at once."""
        self.ensure_one()
        if not self.env.su and not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(self.env._("Only credit managers can activate a late-payment model."))
        if self.state == "active":
            raise UserError(self.env._("%(model)s is already active.", model=self.display_name))
        if not self.model_data:
            raise UserError(self.env._("%(model)s has not been trained.", model=self.display_name))
        previous = self.search([("company_id", "=", self.company_id.id), ("state", "=", "active")])
        previous.write({"state": "superseded"})
        self.write({"state": "active", "activated_by": self.env.uid, "activated_on": fields.Datetime.now()})
        self.sudo()._refresh_predictions(new_model=True)
        return True

    def action_view_invoices(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sale_credit_control.account_move_likely_late_action"
        )
        action["domain"] = [("credit_late_model_id", "=", self.id)]
        action["context"] = {"create": False}
        return action

    # ------------------------------------------------------------
    # PREDICTION
    # ------------------------------------------------------------

    @api.model
    def _active_model(self, company):
        """The active model of ``company`` (an empty recordset when none is)."""
        return self.search([("company_id", "=", company.id), ("state", "=", "active")], limit=1)

    def _core_model(self):
        self.ensure_one()
        return core.PaymentModel.from_dict(self.model_data)

    def _company_invoices(self, moves):
        return moves.filtered(
            lambda move: (
                move.company_id == self.company_id
                and move.move_type == "out_invoice"
                and move.state == "posted"
            )
        )

    def _predict_invoices(self, moves):
        """``{move_id: probability}`` of the posted customer invoices ``moves`` of the model's
        company, features as of today (payments up to and including today)."""
        if not self:
            return {}
        moves = self._company_invoices(moves)
        features = self.env["credit.payment.features"]._invoice_features(
            moves, as_of=fields.Date.context_today(self)
        )
        return self._predict_features(features)

    def _predict_invoices_at_invoice_date(self, moves):
        """``{move_id: probability}`` as the model would have said on each invoice's own date
        (features from the payments before it)."""
        if not self:
            return {}
        features = self.env["credit.payment.features"]._invoice_features(self._company_invoices(moves))
        return self._predict_features(features)

    def _predict_customers(self, partner_ids, as_of):
        """``{commercial_partner_id: probability or None}``: the probability that a typical next
        invoice of each customer (``core.customer_row``) is paid late, from the payments up to and
        including ``as_of``. ``None`` for a customer without any payment in the look-back, and for
        every customer when there is no model (empty recordset)."""
        commercial_ids = self.env["res.partner"].browse(partner_ids).commercial_partner_id.ids
        if not self:
            return dict.fromkeys(commercial_ids)
        self.ensure_one()
        features = self.env["credit.payment.features"]._customer_features(
            commercial_ids, self.company_id, as_of
        )
        fitted = self._core_model()
        result = {}
        for partner_id in commercial_ids:
            values = features.get(partner_id)
            if not values or (not values["paid_count"] and values["late_share"] is None):
                result[partner_id] = None
            else:
                result[partner_id] = fitted.predict_one(core.customer_row(values))
        return result

    def _predict_features(self, features):
        self.ensure_one()
        fitted = self._core_model()
        return {key: fitted.predict_one(values) for key, values in features.items()}

    # ------------------------------------------------------------
    # STORED PREDICTIONS
    # ------------------------------------------------------------

    def _open_invoices(self):
        self.ensure_one()
        return self.env["account.move"].search(
            [
                ("company_id", "=", self.company_id.id),
                ("move_type", "=", "out_invoice"),
                ("state", "=", "posted"),
                ("payment_state", "in", ("not_paid", "partial")),
            ]
        )

    def _store_invoice_predictions(self, moves):
        """Write this model's probability on ``moves`` (one UPDATE for the batch)."""
        self.ensure_one()
        probabilities = self._predict_invoices(moves)
        if not probabilities:
            return
        self.env["account.move"].flush_model(["credit_late_probability", "credit_late_model_id"])
        self.env.cr.execute(
            SQL(
                """
                UPDATE account_move move
                   SET credit_late_probability = score.probability, credit_late_model_id = %(model)s
                  FROM unnest(%(ids)s::integer[], %(probabilities)s::float[]) AS score(id, probability)
                 WHERE move.id = score.id
                """,
                model=self.id,
                ids=list(probabilities),
                probabilities=list(probabilities.values()),
            )
        )
        self.env["account.move"].browse(list(probabilities)).invalidate_recordset(
            ["credit_late_probability", "credit_late_model_id"]
        )

    def _store_customer_predictions(self, profiles=None, new_model=False):
        """Each credit profile of the company gets its customer's predicted late share as of today;
        the value it had moves to ``predicted_late_share_previous``.

        With ``new_model`` (a model just activated) the previous value is the new one: the jump
        rule compares two predictions of the same model, so changing models raises no alert."""
        self.ensure_one()
        Profile = self.env["credit.profile"]
        if profiles is None:
            profiles = Profile.search([("company_id", "=", self.company_id.id)])
        if not profiles:
            return
        today = fields.Date.context_today(self)
        shares = self._predict_customers(profiles.partner_id.ids, today)
        Profile.flush_model(PROFILE_PREDICTION_FIELDS)
        self.env.cr.execute(
            SQL(
                """
                UPDATE credit_profile profile
                   SET predicted_late_share_previous = CASE WHEN %(new_model)s THEN score.share
                                                            ELSE profile.predicted_late_share END,
                       predicted_late_share = score.share,
                       predicted_late_share_known = score.share IS NOT NULL,
                       predicted_late_share_date = %(today)s
                  FROM unnest(%(ids)s::integer[], %(shares)s::float[]) AS score(id, share)
                 WHERE profile.id = score.id
                """,
                today=today,
                new_model=new_model,
                ids=profiles.ids,
                shares=[shares.get(profile.partner_id.commercial_partner_id.id) for profile in profiles],
            )
        )
        profiles.invalidate_recordset(PROFILE_PREDICTION_FIELDS)

    def _refresh_predictions(self, new_model=False):
        """Score the company's open invoices and its customers with this model."""
        self.ensure_one()
        self._store_invoice_predictions(self._open_invoices())
        self._store_customer_predictions(new_model=new_model)

    # ------------------------------------------------------------
    # SCHEDULED
    # ------------------------------------------------------------

    @api.model
    def _cron_refresh_predictions(self):
        """Nightly: each company's active model scores its open invoices and customers again."""
        models_ = self.sudo().search([("state", "=", "active")], order="company_id")
        for done, model in enumerate(models_, start=1):
            model._refresh_predictions()
            commit_cron_batch(self.env, done, len(models_) - done)

    @api.model
    def _cron_retrain(self):
        """Monthly: a new draft model per company with credit control, with the default settings,
        and an activity for the responsible credit manager to review it. Never activates."""
        companies = self.env["res.company"].sudo().search([("credit_control_enabled", "=", True)], order="id")
        for done, company in enumerate(companies, start=1):
            Model = self.sudo().with_company(company)
            defaults = Model._training_defaults(company)
            try:
                with self.env.cr.savepoint():
                    model = Model._train_model(
                        company,
                        defaults["date_from"],
                        defaults["date_to"],
                        defaults["split_date"],
                        defaults["late_beyond_days"],
                        defaults["penalty"],
                        defaults["feature_ids"],
                    )
            except UserError as error:
                _logger.info("No late-payment model retrained for %s: %s", company.name, error)
                continue
            model._schedule_review_activity()
            commit_cron_batch(self.env, done, len(companies) - done)

    def _schedule_review_activity(self):
        self.ensure_one()
        user = self.env["res.company"]._credit_manager_users(self.company_id).sorted("id")[:1]
        if not user:
            return
        self.activity_schedule(
            "mail.mail_activity_data_todo",
            user_id=user.id,
            summary=self.env._("Review the retrained late-payment model"),
            note=self.env._(
                "Validation AUC %(auc)s on %(count)s later invoices; activate it if it does better than the "
                "active model.",
                auc=formatLang(self.env, self.validation_auc, digits=3),
                count=self.validation_size,
            ),
        )

    # ------------------------------------------------------------
    # TABLES (HTML)
    # ------------------------------------------------------------

    def _percent(self, value):
        return f"{formatLang(self.env, value * 100, digits=1)} %" if value is not None else ""

    @staticmethod
    def _html_table(headers, rows):
        head = Markup("").join(Markup("<th>%s</th>") % header for header in headers)
        body = Markup("").join(
            Markup("<tr>%s</tr>") % Markup("").join(Markup("<td>%s</td>") % cell for cell in row)
            for row in rows
        )
        return Markup(
            '<table class="table table-sm o_credit_payment_model_table"><thead><tr>%s</tr></thead>'
            "<tbody>%s</tbody></table>"
        ) % (head, body)

    def _calibration_table_html(self):
        if not self.calibration:
            return False
        headers = (
            self.env._("Group"),
            self.env._("Invoices"),
            self.env._("Late"),
            self.env._("Predicted"),
            self.env._("Observed"),
            self.env._("Predictions From"),
            self.env._("Predictions To"),
        )
        rows = [
            (
                item["index"] + 1,
                item["count"],
                item["late_count"],
                self._percent(item["predicted_mean"]),
                self._percent(item["observed_share"]),
                self._percent(item["lowest"]),
                self._percent(item["highest"]),
            )
            for item in self.calibration
        ]
        return self._html_table(headers, rows)

    def _coefficient_table_html(self):
        if not self.model_data:
            return False
        fitted = self._core_model()
        names = {feature.code: feature.name for feature in self.feature_ids}
        _intercept, slopes = fitted.raw_coefficients()
        rows = []
        for column, coefficient, mean in zip(fitted.columns, fitted.coefficients, fitted.means, strict=True):
            if column.endswith(core.MISSING_SUFFIX):
                code = column[: -len(core.MISSING_SUFFIX)]
                label = self.env._("%(feature)s unknown", feature=names.get(code, code))
            else:
                label = names.get(column, column)
            rows.append(
                (
                    escape(label),
                    formatLang(self.env, coefficient, digits=3),
                    formatLang(self.env, slopes[column], digits=4),
                    formatLang(self.env, mean, digits=2),
                )
            )
        headers = (
            self.env._("Feature"),
            self.env._("Weight (standardised)"),
            self.env._("Per unit"),
            self.env._("Training mean"),
        )
        return self._html_table(headers, rows)
