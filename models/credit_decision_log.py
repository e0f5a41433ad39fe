import logging
from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..credit_policy.decision_log import canonical_json, link

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
    ``credit_decision_log_entries.py``; how a chain is verified, in ``credit_decision_log_verify.py``.
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
            ("credit.check", self.env._("Credit Check")),
            ("credit.approval", self.env._("Credit Override Approval")),
            ("credit.limit.history", self.env._("Credit Settings History")),
            ("credit.rating", self.env._("Credit Rating")),
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
    def create(self, vals_list):  # pylint: disable=method-required-super  # append only: no ORM creation
        raise UserError(
            self.env._(
                "The credit decision log is written by the application only; records cannot be created."
            )
        )

    def write(self, vals):  # pylint: disable=method-required-super  # append only: never rewritten
        raise UserError(
            self.env._(
                "The credit decision log cannot be changed: its records are kept as they were written."
            )
        )

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(
            self.env._(
                "The credit decision log cannot be deleted: its records are kept as they were written."
            )
        )

    def copy(self, default=None):  # pylint: disable=method-required-super  # append only: no copies
        raise UserError(
            self.env._(
                "The credit decision log is written by the application only; records cannot be copied."
            )
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
            raise UserError(self.env._("The credit decision log changed while it was written; try again."))
        return self.browse([row[0] for row in inserted])
