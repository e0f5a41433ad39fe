from odoo import api, models
from odoo.tools import SQL, format_date

from ..credit_policy.decision_log import amount_text
from .credit_decision_log import _logger  # the log's own logger, as before the split
from .writer_language import in_writer_language

# Credit check results that are decisions: a block, or a block let through (approval, bypass
# right, Odoo amending a confirmed order). Passing and warning checks are not logged.
CHECK_EVENTS = {
    "blocked": "check_blocked",
    "held_online": "check_blocked",
    "approved": "check_overridden",
    "bypassed": "check_overridden",
    "system_amended": "check_overridden",
}
# Settings history rows that are decisions.
LIMIT_FIELDS = ("credit_limit", "default_credit_limit")


class CreditDecisionLogEntries(models.Model):
    """What the credit decision log records: one entry builder per kind of decision
    (credit checks, override decisions, settings changes, ratings), each appending its
    entries with ``_append_batch``.

    The summary and payload written here are part of each record's hash: a change to
    their text or keys changes what new records hash to (existing records keep theirs).
    """

    _inherit = "credit.decision.log"  # pylint: disable=consider-merging-classes-inherited  # split by topic

    # ------------------------------------------------------------
    # HELPERS
    # ------------------------------------------------------------

    @api.model
    def _money(self, amount, currency):
        """An amount as the summaries write it: as every credit message shows money
        (``res.company._credit_format_money``). The summary is hashed as written: records written
        before keep their text and their hash."""
        return self.env["res.company"]._credit_format_money(amount, currency)

    @api.model
    def _prepare_entry_vals(self, source, event, user, summary, payload):
        """The ``_append_batch`` entry of the decision recorded by ``source`` (a check, an
        approval or a settings history row: a record with ``company_id`` and ``partner_id``)."""
        return {
            "company_id": source.company_id.id,
            "event": event,
            "partner_id": source.partner_id.id,
            "user_id": user.id,
            "res_model": source._name,
            "res_id": source.id,
            "summary": summary,
            "payload": payload,
        }

    # ------------------------------------------------------------
    # ENTRY BUILDERS
    # ------------------------------------------------------------

    @api.model
    def _log_checks(self, checks, wait=True):
        """Log the blocked and overridden ``credit.check`` records among ``checks``."""
        self = in_writer_language(self)  # noqa: PLW0642 - one language for the words and the figures
        checks = checks.filtered(lambda check: check.result in CHECK_EVENTS)
        if not checks:
            return self.browse()
        results = dict(checks._fields["result"]._description_selection(self.env))
        entries = []
        for check in checks.sudo():
            currency = check.company_id.currency_id
            entries.append(
                self._prepare_entry_vals(
                    check,
                    CHECK_EVENTS[check.result],
                    check.user_id,
                    summary=self.env._(
                        "%(order)s of %(partner)s, %(result)s for %(user)s: order %(amount)s, exposure "
                        "%(before)s to %(after)s, credit limit %(limit)s.\n%(reasons)s",
                        order=check.order_id.name or "-",
                        partner=check.partner_id.display_name,
                        result=results[check.result],
                        user=check.user_id.name,
                        amount=self._money(check.order_amount, currency),
                        before=self._money(check.exposure_before, currency),
                        after=self._money(check.exposure_after, currency),
                        limit=self._money(check.credit_limit, currency),
                        reasons=check.reasons or "",
                    ),
                    payload={
                        "result": check.result,
                        "order_id": check.order_id.id or None,
                        "order": check.order_id.name or None,
                        "currency": currency.name,
                        "order_amount": amount_text(check.order_amount),
                        "exposure_before": amount_text(check.exposure_before),
                        "exposure_after": amount_text(check.exposure_after),
                        "credit_limit": amount_text(check.credit_limit),
                        "reasons": check.reasons or "",
                    },
                )
            )
        return self._append_batch(entries, wait=wait)

    @api.model
    def _log_checks_outlasting(self, checks, main_cr):
        """Log blocked ``checks`` written through a second cursor (``credit.check``'s
        ``_record_outlasting_rollback``) while ``main_cr`` waits for it.

        The main transaction may hold the company's chain lock (it logged a decision
        earlier, e.g. an order of the same batch passed by approval): waiting for it here
        would wait for ever. The lock is only tried; when it is taken, the entries are
        appended once the main transaction has ended (committed or rolled back), in a
        cursor of their own.
        """
        if self._log_checks(checks, wait=False) is not False:
            return True
        registry, uid, context, check_ids = (
            self.env.registry,
            self.env.uid,
            dict(self.env.context),
            checks.ids,
        )

        def append_later():
            try:
                with registry.cursor() as cr:
                    env = api.Environment(cr, uid, context, su=True)
                    logged = env["credit.decision.log"].search_count(
                        [("res_model", "=", "credit.check"), ("res_id", "in", check_ids)]
                    )
                    todo = env["credit.check"].browse(check_ids).exists()
                    if todo and not logged:
                        env["credit.decision.log"]._log_checks(todo)
            except Exception:  # noqa: BLE001 - after the request: nothing to give the error to
                _logger.exception(
                    "Blocked credit checks %s could not be added to the decision log.", check_ids
                )

        main_cr.postcommit.add(append_later)
        main_cr.postrollback.add(append_later)
        return False

    @api.model
    def _log_approvals(self, approvals):
        """Log the decided (approved or rejected) ``credit.approval`` records among ``approvals``."""
        self = in_writer_language(self)  # noqa: PLW0642 - one language for the words and the figures
        approvals = approvals.sudo().filtered(lambda approval: approval.state in ("approved", "rejected"))
        entries = []
        for approval in approvals:
            approved = approval.state == "approved"
            approver = approval.approver_id or self.env.user
            # Named in both summaries.
            names = {
                "approval": approval.name,
                "order": approval.order_id.name,
                "partner": approval.partner_id.display_name,
                "user": approver.name,
                "requester": approval.requested_by_id.name,
                "total": self._money(approval.snapshot_order_amount, approval.order_currency_id),
                "reason": approval.decision_reason or "",
            }
            if approved:
                summary = self.env._(
                    "Override %(approval)s of %(order)s for %(partner)s approved by %(user)s up to %(amount)s"
                    " until %(date)s (requested by %(requester)s: order %(total)s, exposure after %(after)s, "
                    "credit limit %(limit)s).\n%(reason)s",
                    **names,
                    amount=self._money(approval.approved_amount, approval.order_currency_id),
                    date=format_date(self.env, approval.valid_until)
                    if approval.valid_until
                    else self.env._("no end date"),
                    after=self._money(approval.snapshot_exposure_after, approval.company_id.currency_id),
                    limit=self._money(approval.snapshot_limit, approval.company_id.currency_id),
                )
            else:
                summary = self.env._(
                    "Override %(approval)s of %(order)s for %(partner)s rejected by %(user)s (requested by "
                    "%(requester)s: order %(total)s): %(reason)s",
                    **names,
                )
            entries.append(
                self._prepare_entry_vals(
                    approval,
                    "approval_approved" if approved else "approval_rejected",
                    approver,
                    summary,
                    payload={
                        "approval": approval.name,
                        "state": approval.state,
                        "order_id": approval.order_id.id,
                        "order": approval.order_id.name,
                        "requested_by_id": approval.requested_by_id.id,
                        "order_currency": approval.order_currency_id.name,
                        "approved_amount": amount_text(approval.approved_amount) if approved else None,
                        "valid_until": approval.valid_until or None,
                        "snapshot_order_amount": amount_text(approval.snapshot_order_amount),
                        "snapshot_limit": amount_text(approval.snapshot_limit),
                        "snapshot_exposure_before": amount_text(approval.snapshot_exposure_before),
                        "snapshot_exposure_after": amount_text(approval.snapshot_exposure_after),
                        "blocking_codes": approval.blocking_codes or "",
                        "decision_reason": approval.decision_reason or "",
                    },
                )
            )
        return self._append_batch(entries)

    @api.model
    def _log_setting_changes(self, rows):
        """Log the limit changes and holds among ``credit.limit.history`` ``rows``."""
        self = in_writer_language(self)  # noqa: PLW0642 - one language for the words and the figures
        rows = rows.filtered(lambda row: row.field_name in LIMIT_FIELDS or row.field_name == "on_hold")
        entries = []
        for row in rows.sudo():
            partner = row.partner_id.display_name or row.company_id.name
            if row.field_name == "on_hold":
                held = row.new_value == "True"
                event = "hold_set" if held else "hold_released"
                if held:
                    summary = self.env._("%(partner)s put on credit hold by %(user)s: %(reason)s")
                else:
                    summary = self.env._("Credit hold of %(partner)s released by %(user)s: %(reason)s")
                summary = summary % {"partner": partner, "user": row.user_id.name, "reason": row.reason or ""}
            else:
                event = "limit_changed"
                old = row.old_limit_amount if row.old_limit_currency_id else _as_float(row.old_value)
                new = row.new_limit_amount if row.new_limit_currency_id else _as_float(row.new_value)
                company_currency = row.company_id.currency_id
                summary = self.env._(
                    "%(what)s changed from %(old)s to %(new)s by %(user)s: %(reason)s",
                    what=self.env._("Credit limit of %(partner)s", partner=partner)
                    if row.field_name == "credit_limit"
                    else self.env._("Default credit limit of %(company)s", company=row.company_id.name),
                    old=self._money(old, row.old_limit_currency_id or company_currency),
                    new=self._money(new, row.new_limit_currency_id or company_currency),
                    user=row.user_id.name,
                    reason=row.reason or "",
                )
            entries.append(
                self._prepare_entry_vals(
                    row,
                    event,
                    row.user_id,
                    summary,
                    payload={
                        "setting": row.field_name,
                        "old_value": row.old_value or "",
                        "new_value": row.new_value or "",
                        "old_limit_currency": row.old_limit_currency_id.name or None,
                        "old_limit_amount": amount_text(row.old_limit_amount)
                        if row.old_limit_currency_id
                        else None,
                        "new_limit_currency": row.new_limit_currency_id.name or None,
                        "new_limit_amount": amount_text(row.new_limit_amount)
                        if row.new_limit_currency_id
                        else None,
                        "reason": row.reason or "",
                    },
                )
            )
        return self._append_batch(entries)

    @api.model
    def _log_ratings(self, company, vals_list, rating_ids):
        """Log a run's ratings of ``company`` (the engine's ``vals_list`` and the ids of the
        rows it inserted): one query for the customers' names, one INSERT."""
        self = in_writer_language(self)  # noqa: PLW0642 - one language for the words and the figures
        if not rating_ids:
            return self.browse()
        names = dict(
            self.env.execute_query(
                SQL(
                    "SELECT id, COALESCE(complete_name, name) FROM res_partner WHERE id IN %s",
                    tuple({vals["partner_id"] for vals in vals_list}),
                )
            )
        )
        currency = company.currency_id
        entries = []
        for vals, rating_id in zip(vals_list, rating_ids, strict=True):
            has_limit = vals.get("has_recommendation")
            entries.append(
                {
                    "company_id": company.id,
                    "event": "rating",
                    "partner_id": vals["partner_id"],
                    "user_id": vals.get("user_id"),
                    "res_model": "credit.rating",
                    "res_id": rating_id,
                    "summary": self.env._(
                        "%(partner)s rated %(grade)s (score %(score)s, previous grade %(previous)s) as of "
                        "%(date)s: recommended limit %(limit)s.",
                        partner=names.get(vals["partner_id"], ""),
                        grade=vals["grade_code"],
                        score=format(vals["score"], ".2f"),
                        previous=vals.get("previous_grade_code") or self.env._("none"),
                        date=format_date(self.env, vals["date"]),
                        limit=self._money(vals["recommended_limit"], currency)
                        if has_limit
                        else self.env._("none"),
                    ),
                    "payload": {
                        "grade": vals["grade_code"],
                        "score": amount_text(vals["score"]),
                        "previous_grade": vals.get("previous_grade_code") or None,
                        "date": vals["date"],
                        "scorecard_id": vals.get("scorecard_id"),
                        "recommended_limit": amount_text(vals["recommended_limit"]) if has_limit else None,
                        "currency": currency.name,
                        "country_cap_applied": bool(vals.get("country_cap_applied")),
                        "trigger": vals.get("trigger"),
                    },
                }
            )
        return self._append_batch(entries)

    @api.model
    def _log_rating_records(self, ratings):
        """Log ``credit.rating`` records created through the ORM (the engine logs its own)."""
        self = in_writer_language(self)  # noqa: PLW0642 - one language for the words and the figures
        fields_ = [
            "partner_id",
            "grade_code",
            "score",
            "previous_grade_code",
            "date",
            "has_recommendation",
            "recommended_limit",
            "scorecard_id",
            "country_cap_applied",
            "trigger",
            "user_id",
        ]
        logs = self.browse()
        for company, company_ratings in ratings.sudo().grouped("company_id").items():
            vals_list = [
                {name: rating[name].id if name.endswith("_id") else rating[name] for name in fields_}
                for rating in company_ratings
            ]
            logs |= self._log_ratings(company, vals_list, company_ratings.ids)
        return logs


def _as_float(value):
    try:
        return float(value or 0.0)
    except ValueError:
        return 0.0
