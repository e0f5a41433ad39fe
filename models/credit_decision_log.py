import logging
from collections import defaultdict

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..credit_policy.decision_log import (
    BREAK_CONTENT,
    BREAK_LINK,
    BREAK_MISSING,
    CONTENT_FIELDS,
    canonical_json,
    link,
    verify_chain,
)
from .credit_alert import DECISION_LOG_BROKEN

_logger = logging.getLogger(__name__)

EVENTS = [
    ("check_blocked", "Check Blocked"),
    ("check_overridden", "Check Overridden"),
    ("approval_approved", "Override Approved"),
    ("approval_rejected", "Override Rejected"),
    ("limit_changed", "Limit Changed"),
    ("hold_set", "Hold Set"),
    ("hold_released", "Hold Released"),
    ("rating", "Rating"),
]
# First key of the transaction-level advisory lock serialising one company's appends
# (the second key is the company id).
LOCK_NAMESPACE = 0x5CCD1061
# Rows read at a time when verifying a chain.
VERIFY_BATCH = 10000
# Columns written by ``_append_batch`` with their PostgreSQL array types.
INSERT_COLUMNS = (
    ("company_id", "int4"),
    ("sequence", "int4"),
    ("date", "timestamp"),
    ("user_id", "int4"),
    ("event", "varchar"),
    ("partner_id", "int4"),
    ("res_model", "varchar"),
    ("res_id", "int4"),
    ("summary", "text"),
    ("payload", "text"),
    ("previous_hash", "varchar"),
    ("hash", "varchar"),
)


class CreditDecisionLog(models.Model):
    """An append-only, hash-chained log of the credit decisions of a company.

    Every record carries the SHA-256 of the previous record of its company and of its own
    content (``credit_policy.decision_log``). Records are appended by ``_append_batch``
    only (one INSERT per batch, under a per-company advisory lock); the ORM refuses to
    create, change or delete them, for administrators and the superuser too. A change made
    in SQL is found by ``action_verify`` and the daily ``_cron_verify``.

    What is logged for each kind of decision (the entry builders ``_log_*``) is in
    ``credit_decision_log_entries.py``.
    """

    _name = "credit.decision.log"
    _description = "Credit Decision Log"
    _order = "date desc, sequence desc, id desc"
    _check_company_auto = True
    _rec_name = "sequence"

    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True, ondelete="restrict")
    sequence = fields.Integer(required=True, readonly=True, help="Position in the company's log: 1, 2, 3...")
    date = fields.Datetime(required=True, readonly=True, index=True)
    user_id = fields.Many2one("res.users", string="By", required=True, readonly=True, ondelete="restrict")
    event = fields.Selection(EVENTS, required=True, readonly=True, index=True)
    partner_id = fields.Many2one(
        "res.partner", string="Customer", readonly=True, index=True, ondelete="restrict", check_company=True
    )
    res_model = fields.Char(string="Source Model", readonly=True)
    res_id = fields.Many2oneReference(string="Source Record", model_field="res_model", readonly=True)
    reference = fields.Reference(
        selection="_selection_reference", compute="_compute_reference", string="Source Document"
    )
    summary = fields.Text(readonly=True)
    payload = fields.Text(
        readonly=True, help="The decision's figures as canonical JSON (amounts as exact text)."
    )
    previous_hash = fields.Char(
        readonly=True, help="SHA-256 of the previous record of the company (empty: first)."
    )
    hash = fields.Char(readonly=True, help="SHA-256 of the previous hash and this record's content.")

    _sql_constraints = [
        (
            "company_sequence_uniq",
            "unique (company_id, sequence)",
            "A decision log position is used once per company.",
        ),
    ]

    def init(self):
        self.env.cr.execute(
            SQL(
                "CREATE INDEX IF NOT EXISTS credit_decision_log_res_idx"
                " ON credit_decision_log (res_model, res_id)"
            )
        )

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.model
    def _selection_reference(self):
        return [
            ("credit.check", _("Credit Check")),
            ("credit.approval", _("Credit Override Approval")),
            ("credit.limit.history", _("Credit Settings History")),
            ("credit.rating", _("Credit Rating")),
        ]

    @api.depends("res_model", "res_id")
    def _compute_reference(self):
        models_ = {model for model, _label in self._selection_reference()}
        for record in self:
            if record.res_model in models_ and record.res_id:
                source = self.env[record.res_model].sudo().browse(record.res_id).exists()
                record.reference = f"{record.res_model},{source.id}" if source else False
            else:
                record.reference = False

    @api.depends("sequence", "event")
    def _compute_display_name(self):
        events = dict(self._fields["event"]._description_selection(self.env))
        for record in self:
            record.display_name = f"#{record.sequence} {events.get(record.event, '')}".strip()

    # ------------------------------------------------------------
    # CRUD: append only
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        raise UserError(
            _("The credit decision log is written by the application only; records cannot be created.")
        )

    def write(self, vals):
        raise UserError(
            _("The credit decision log cannot be changed: its records are kept as they were written.")
        )

    def unlink(self):
        raise UserError(
            _("The credit decision log cannot be deleted: its records are kept as they were written.")
        )

    def copy(self, default=None):
        raise UserError(
            _("The credit decision log is written by the application only; records cannot be copied.")
        )

    # ------------------------------------------------------------
    # APPEND
    # ------------------------------------------------------------

    @api.model
    def _lock_chains(self, company_ids, wait=True):
        """Take the transaction-level lock of each company's chain (in id order: no deadlock
        between two batches of several companies). ``wait=False``: try only; returns whether
        every lock was taken."""
        for company_id in sorted(company_ids):
            if wait:
                self.env.cr.execute(SQL("SELECT pg_advisory_xact_lock(%s, %s)", LOCK_NAMESPACE, company_id))
                continue
            self.env.cr.execute(SQL("SELECT pg_try_advisory_xact_lock(%s, %s)", LOCK_NAMESPACE, company_id))
            if not self.env.cr.fetchone()[0]:
                return False
        return True

    @api.model
    def _append_batch(self, entries, wait=True):
        """Append ``entries`` to their companies' logs in one INSERT; returns the new records.

        An entry: ``company_id``, ``event``, ``partner_id``, ``res_model``, ``res_id``,
        ``summary``, ``payload`` (a dict, stored as canonical JSON), optionally ``user_id``
        (default: the current user). The company's chain is locked for the rest of the
        transaction (``pg_advisory_xact_lock``): concurrent appends wait. Under Odoo's
        REPEATABLE READ a transaction whose snapshot predates another's append cannot see
        it; its INSERT then meets the other's position (``ON CONFLICT DO NOTHING`` on an
        invisible row) and fails with a serialization error, which Odoo retries: the chain
        never forks. ``wait=False``: returns ``False`` without writing when a chain is locked.
        """
        if not entries:
            return self.browse()
        by_company = defaultdict(list)
        for entry in entries:
            by_company[entry["company_id"]].append(entry)
        if not self._lock_chains(by_company, wait=wait):
            return False
        heads = dict.fromkeys(by_company)
        rows = self.env.execute_query(
            SQL(
                "SELECT DISTINCT ON (company_id) company_id, sequence, hash FROM credit_decision_log"
                " WHERE company_id IN %s ORDER BY company_id, sequence DESC",
                tuple(by_company),
            )
        )
        for company_id, sequence, digest in rows:
            heads[company_id] = (sequence, digest or "")
        now = fields.Datetime.now()
        columns = {name: [] for name, _type in INSERT_COLUMNS}
        for company_id, company_entries in by_company.items():
            contents = [
                {
                    "company_id": company_id,
                    "date": now,
                    "user_id": entry.get("user_id") or self.env.uid,
                    "event": entry["event"],
                    "partner_id": entry.get("partner_id") or None,
                    "res_model": entry.get("res_model") or None,
                    "res_id": entry.get("res_id") or None,
                    "summary": entry.get("summary") or "",
                    "payload": canonical_json(entry.get("payload") or {}),
                }
                for entry in company_entries
            ]
            for content, (sequence, previous, digest) in zip(
                contents, link(heads[company_id], contents), strict=True
            ):
                content.update(sequence=sequence, previous_hash=previous, hash=digest)
                for name, _type in INSERT_COLUMNS:
                    columns[name].append(content[name])
        arrays = SQL(", ").join(
            SQL("%s::%s[]", columns[name], SQL(pg_type)) for name, pg_type in INSERT_COLUMNS
        )
        inserted = self.env.execute_query(
            SQL(
                """
                INSERT INTO credit_decision_log (%(columns)s, create_uid, create_date, write_uid, write_date)
                SELECT new.*, %(uid)s, %(now)s, %(uid)s, %(now)s FROM unnest(%(arrays)s) AS new
                ON CONFLICT (company_id, sequence) DO NOTHING
                RETURNING id
                """,
                columns=SQL(", ").join(SQL.identifier(name) for name, _type in INSERT_COLUMNS),
                arrays=arrays,
                uid=self.env.uid,
                now=now,
            )
        )
        if len(inserted) != len(columns["sequence"]):
            # Only possible outside REPEATABLE READ: never write a forked chain.
            raise UserError(_("The credit decision log changed while it was written; try again."))
        return self.browse([row[0] for row in inserted])

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
            BREAK_MISSING: _(
                "records before it are missing (deleted): the previous position is %(expected)s"
            ),
            BREAK_LINK: _(
                "its previous hash is not the hash of the record before it (records were changed, "
                "inserted or reordered)"
            ),
            BREAK_CONTENT: _("its content no longer gives its hash: it was changed after it was written"),
        }
        reason = reasons.get(
            broken.reason,
            _("its position is not the next one (expected %(expected)s): records were reordered"),
        ) % {
            "expected": broken.expected_sequence - 1
            if broken.reason == BREAK_MISSING
            else broken.expected_sequence
        }
        return _(
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
            raise AccessError(_("Only credit managers and auditors can verify the credit decision log."))

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
                    _(
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
                "title": _("Credit Decision Log"),
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
                "message": message,
                "dedup_key": key,
            }
        )
        alert._schedule_activities()
        for user in managers[1:]:
            alert.activity_schedule(
                "sale_credit_control.mail_activity_type_credit_alert",
                user_id=user.id,
                summary=_("Credit decision log broken: %(company)s", company=company.name),
                note=message,
            )
        return alert
