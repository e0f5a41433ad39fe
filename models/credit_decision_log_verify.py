from odoo import api, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from ..credit_policy.decision_log import (
    BREAK_CONTENT,
    BREAK_LINK,
    BREAK_MISSING,
    CONTENT_FIELDS,
    verify_chain,
)
from .credit_alert import DECISION_LOG_BROKEN
from .credit_decision_log import _logger  # the log's own logger, as before the split

# Rows read at a time when verifying a chain.
VERIFY_BATCH = 10000


class CreditDecisionLogVerify(models.Model):
    """Verifying the credit decision log: each company's chain is read in sequence order and
    checked link by link (``credit_policy.decision_log.verify_chain``), on demand
    (``action_verify``) and daily (``_cron_verify``, which raises a credit alert where a
    chain is broken)."""

    _inherit = "credit.decision.log"  # pylint: disable=consider-merging-classes-inherited  # split by topic

    # ------------------------------------------------------------
    # VERIFY
    # ------------------------------------------------------------

    @api.model
    def _chain_rows(self, company_id):
        """The company's records in sequence order, read ``VERIFY_BATCH`` at a time."""
        names = ["id", *CONTENT_FIELDS, "previous_hash", "hash"]
        last = 0
        while True:
            rows = self.env.execute_query_dict(
                SQL(
                    "SELECT %s FROM credit_decision_log WHERE company_id = %s AND sequence > %s"
                    " ORDER BY sequence LIMIT %s",
                    SQL(", ").join(SQL.identifier(name) for name in names),
                    company_id,
                    last,
                    VERIFY_BATCH,
                )
            )
            yield from rows
            if len(rows) < VERIFY_BATCH:
                return
            last = rows[-1]["sequence"]

    @api.model
    def _verify_company(self, company):
        """``(first break or None, number of records, last record's hash)`` of ``company``'s chain."""
        state = {"count": 0, "hash": ""}

        def counted(rows):
            for row in rows:
                state["count"] += 1
                state["hash"] = row["hash"]
                yield row

        broken = verify_chain(counted(self._chain_rows(company.id)))
        return broken, state["count"], state["hash"]

    @api.model
    def _break_message(self, company, broken):
        reasons = {
            BREAK_MISSING: self.env._(
                "records before it are missing (deleted): the previous position is %(expected)s"
            ),
            BREAK_LINK: self.env._(
                "its previous hash is not the hash of the record before it (records were changed, "
                "inserted or reordered)"
            ),
            BREAK_CONTENT: self.env._(
                "its content no longer gives its hash: it was changed after it was written"
            ),
        }
        reason = reasons.get(
            broken.reason,
            self.env._("its position is not the next one (expected %(expected)s): records were reordered"),
        ) % {
            "expected": broken.expected_sequence - 1
            if broken.reason == BREAK_MISSING
            else broken.expected_sequence
        }
        return self.env._(
            "The credit decision log of %(company)s is broken at record #%(sequence)s (id %(id)s): "
            "%(reason)s.",
            company=company.name,
            sequence=broken.sequence,
            id=broken.record_id,
            reason=reason,
        )

    def _check_verify_rights(self):
        user = self.env.user
        if not (
            self.env.su
            or user.has_group("sale_credit_control.group_credit_manager")
            or user.has_group("sale_credit_control.group_credit_auditor")
        ):
            raise AccessError(
                self.env._("Only credit managers and auditors can verify the credit decision log.")
            )

    def action_verify(self):
        """Verify the chains of the selected records' companies (none selected: the user's
        companies) and say where the first one breaks."""
        self._check_verify_rights()
        companies = self.company_id or self.env.companies
        lines, broken_any = [], False
        for company in companies.sorted("id"):
            broken, count, last_hash = self._verify_company(company)
            if broken:
                broken_any = True
                lines.append(self._break_message(company, broken))
            else:
                lines.append(
                    self.env._(
                        "%(company)s: %(count)s records, the chain is intact (last hash %(hash)s).",
                        company=company.name,
                        count=count,
                        hash=last_hash or "-",
                    )
                )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Credit Decision Log"),
                "message": "\n".join(lines),
                "type": "danger" if broken_any else "success",
                "sticky": broken_any,
            },
        }

    @api.model
    def _cron_verify(self):
        """Verify every company's chain; a broken one is logged as an error and raised as a
        credit alert with an activity for each of the company's credit managers (once per
        break while the alert is open). Returns ``{company: break}`` of the broken chains."""
        company_ids = [
            row[0]
            for row in self.env.execute_query(SQL("SELECT DISTINCT company_id FROM credit_decision_log"))
        ]
        broken_chains = {}
        for company in self.env["res.company"].sudo().browse(company_ids).sorted("id"):
            broken, _count, _hash = self._verify_company(company)
            if broken:
                broken_chains[company] = broken
                message = self._break_message(company, broken)
                _logger.error(message)
                self._raise_broken_alert(company, broken, message)
        return broken_chains

    @api.model
    def _raise_broken_alert(self, company, broken, message):
        Alert = self.env["credit.alert"].sudo()
        key = f"{DECISION_LOG_BROKEN}:{company.id}:{broken.record_id}:{broken.reason}"
        existing = Alert.search([("dedup_key", "=", key), ("state", "in", ("new", "acknowledged"))], limit=1)
        if existing:
            return existing
        managers = self.env["res.company"]._credit_manager_users(company)
        if company.credit_manager_id:
            group = self.env.ref("sale_credit_control.group_credit_manager").sudo()
            managers |= group.users.filtered(
                lambda user: company in user.company_ids and not user.share and user.active
            )
        alert = Alert.with_context(mail_create_nolog=True).create(
            {
                "alert_type": DECISION_LOG_BROKEN,
                "severity": "critical",
                "partner_id": company.partner_id.id,
                "company_id": company.id,
                "user_id": managers[:1].id,
                "figures": {
                    "record_id": broken.record_id,
                    "sequence": broken.sequence,
                    "expected_sequence": broken.expected_sequence,
                    "reason": broken.reason,
                },
                "recorded_message": message,
                "dedup_key": key,
            }
        )
        alert._schedule_activities()
        for user in managers[1:]:
            alert.activity_schedule(
                "sale_credit_control.mail_activity_type_credit_alert",
                user_id=user.id,
                summary=self.env._("Credit decision log broken: %(company)s", company=company.name),
                note=message,
            )
        return alert
