"""The hash chain of the credit decision log (pure Python, never imports Odoo).

Each record of a company's log carries the SHA-256 of the previous record of the same
company (``previous_hash``, empty for the first) and its own ``hash``: the SHA-256 of
``previous_hash`` followed by the canonical JSON of its content (sequence, company, date,
user, event, customer, source document, summary and payload). Changing, deleting,
inserting or reordering a record breaks the chain at the first record concerned;
``verify_chain`` names it.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

GENESIS_HASH = ""
#: The content a record's hash covers, besides the previous record's hash.
CONTENT_FIELDS = (
    "sequence",
    "company_id",
    "date",
    "user_id",
    "event",
    "partner_id",
    "res_model",
    "res_id",
    "summary",
    "payload",
)
_ID_FIELDS = ("sequence", "company_id", "user_id", "partner_id", "res_id")

#: Why a record breaks the chain.
BREAK_MISSING = "missing"  # its sequence skips numbers: records before it were deleted
BREAK_ORDER = "order"  # its sequence is not the next one (repeated or out of order)
BREAK_LINK = "link"  # its previous hash is not the hash of the record before it
BREAK_CONTENT = "content"  # its content no longer gives its hash: it was changed


@dataclass(frozen=True)
class ChainBreak:
    """The first record where a chain is broken, and why."""

    record_id: object
    sequence: int
    expected_sequence: int
    reason: str


def amount_text(value):
    """An amount as the string of its exact value (``None`` stays ``None``).

    A float is written as the shortest text that reads back as the same float
    (``repr``), a ``Decimal`` as is: the payload never rounds an amount.
    """
    if value is None or value is False:
        return None
    if isinstance(value, bool):
        raise TypeError("an amount cannot be a boolean")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not an amount: {value!r}")


def _default(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return date_text(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not serialisable in a decision log payload: {value!r}")


def canonical_json(value):
    """The one JSON text of ``value``: sorted keys, no spaces, UTF-8 characters kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)


def date_text(value):
    """A record's date as hashed: ``YYYY-MM-DD HH:MM:SS`` (UTC, whole seconds)."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, str):
        return value[:19]
    raise TypeError(f"not a date and time: {value!r}")


def content_text(content):
    """The canonical JSON of a record's content (``content`` maps ``CONTENT_FIELDS``)."""
    data = {}
    for name in CONTENT_FIELDS:
        value = content.get(name)
        if value is False:
            value = None
        if name in _ID_FIELDS and value is not None:
            value = int(value)
        elif name == "date":
            value = date_text(value)
        elif value is not None:
            value = str(value)
        data[name] = value
    return canonical_json(data)


def record_hash(previous_hash, content):
    """Hex SHA-256 of the previous record's hash followed by this record's canonical content."""
    text = (previous_hash or GENESIS_HASH) + content_text(content)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def link(head, contents):
    """Chain new records after ``head`` (``(sequence, hash)`` of the last record, or ``None``).

    ``contents``: the new records' content without ``sequence``. Returns one
    ``(sequence, previous_hash, hash)`` per record, in order.
    """
    sequence, previous = head or (0, GENESIS_HASH)
    chained = []
    for content in contents:
        sequence += 1
        digest = record_hash(previous, {**content, "sequence": sequence})
        chained.append((sequence, previous, digest))
        previous = digest
    return chained


def verify_chain(records, head=None):
    """The first break of a company's chain, or ``None`` when it is intact.

    ``records``: mappings with ``id``, ``previous_hash``, ``hash`` and the content
    fields, in stored sequence order (any iterable: records are read one by one).
    ``head``: ``(sequence, hash)`` of the last record already verified before these,
    ``None`` to verify from the first record (sequence 1, empty previous hash).
    """
    sequence, previous = head or (0, GENESIS_HASH)
    for record in records:
        expected = sequence + 1
        found = int(record["sequence"])
        if found != expected:
            reason = BREAK_MISSING if found > expected else BREAK_ORDER
            return ChainBreak(record.get("id"), found, expected, reason)
        if (record.get("previous_hash") or GENESIS_HASH) != previous:
            return ChainBreak(record.get("id"), found, expected, BREAK_LINK)
        if record_hash(previous, record) != record.get("hash"):
            return ChainBreak(record.get("id"), found, expected, BREAK_CONTENT)
        sequence, previous = found, record["hash"]
    return None
