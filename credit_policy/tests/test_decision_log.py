"""The hash chain of the credit decision log."""

import hashlib
from datetime import datetime
from decimal import Decimal

import pytest

from credit_policy.decision_log import (
    BREAK_CONTENT,
    BREAK_LINK,
    BREAK_MISSING,
    BREAK_ORDER,
    amount_text,
    canonical_json,
    content_text,
    link,
    record_hash,
    verify_chain,
)


def _content(index, **changes):
    content = {
        "company_id": 1,
        "date": datetime(2026, 12, 2, 10, 0, index),
        "user_id": 2,
        "event": "check_blocked",
        "partner_id": 7,
        "res_model": "credit.check",
        "res_id": 100 + index,
        "summary": f"SO{index:03d} blocked: order 1,500.00 over the limit of 1,000.00",
        "payload": canonical_json({"order_amount": amount_text(1500.0 + index), "result": "blocked"}),
    }
    content.update(changes)
    return content


def _chain(count=3):
    contents = [_content(index) for index in range(1, count + 1)]
    records = []
    chained = zip(contents, link(None, contents), strict=True)
    for index, (content, (sequence, previous, digest)) in enumerate(chained, 1):
        records.append(
            {**content, "id": index, "sequence": sequence, "previous_hash": previous, "hash": digest}
        )
    return records


def test_chain_of_three_verifies():
    records = _chain(3)
    assert [record["sequence"] for record in records] == [1, 2, 3]
    assert records[0]["previous_hash"] == ""
    assert records[1]["previous_hash"] == records[0]["hash"]
    assert records[2]["previous_hash"] == records[1]["hash"]
    assert all(len(record["hash"]) == 64 for record in records)
    assert verify_chain(records) is None


def test_hash_is_sha256_of_previous_hash_and_canonical_content():
    record = _chain(1)[0]
    expected = hashlib.sha256(("" + content_text(record)).encode()).hexdigest()
    assert record["hash"] == expected
    # Key order and extra keys (id, hashes) do not change the content hashed.
    assert content_text(dict(reversed(list(record.items())))) == content_text(record)


def test_first_record_with_empty_previous_hash():
    records = _chain(1)
    assert records[0]["previous_hash"] == ""
    assert verify_chain(records) is None
    # A first record claiming a predecessor is broken.
    forged = [{**records[0], "previous_hash": "0" * 64}]
    broken = verify_chain(forged)
    assert (broken.record_id, broken.sequence, broken.reason) == (1, 1, BREAK_LINK)


@pytest.mark.parametrize(
    "field, value",
    [
        ("summary", "SO002 blocked: order 15.00"),
        ("payload", "{}"),
        ("partner_id", 8),
        ("user_id", 3),
        ("date", "2026-12-02 11:00:00"),
        ("event", "check_overridden"),
        ("res_id", 999),
        ("company_id", 2),
    ],
)
def test_tampered_content_is_named(field, value):
    records = _chain(3)
    records[1] = {**records[1], field: value}
    broken = verify_chain(records)
    assert (broken.record_id, broken.sequence, broken.reason) == (2, 2, BREAK_CONTENT)


def test_tampered_content_with_recomputed_hash_breaks_the_next_link():
    records = _chain(3)
    changed = {**records[1], "summary": "nothing to see"}
    changed["hash"] = record_hash(changed["previous_hash"], changed)
    records[1] = changed
    broken = verify_chain(records)
    assert (broken.record_id, broken.sequence, broken.reason) == (3, 3, BREAK_LINK)


def test_deleted_middle_record_is_named():
    records = _chain(3)
    del records[1]
    broken = verify_chain(records)
    assert (broken.record_id, broken.sequence, broken.expected_sequence, broken.reason) == (
        3,
        3,
        2,
        BREAK_MISSING,
    )


def test_deleted_first_record_is_named():
    records = _chain(3)[1:]
    broken = verify_chain(records)
    assert (broken.record_id, broken.sequence, broken.reason) == (2, 2, BREAK_MISSING)


def test_reordered_records_are_named():
    records = _chain(3)
    records[1], records[2] = records[2], records[1]
    broken = verify_chain(records)
    assert (broken.record_id, broken.sequence, broken.reason) == (3, 3, BREAK_MISSING)
    # Renumbered to hide the swap: the content (which holds the sequence) no longer matches.
    records[0], records[1] = {**records[0]}, {**records[1], "sequence": 2}
    broken = verify_chain(records)
    assert (broken.record_id, broken.reason) == (3, BREAK_LINK)


def test_repeated_sequence_is_named():
    records = _chain(3)
    records.insert(2, dict(records[1], id=9))
    broken = verify_chain(records)
    assert (broken.record_id, broken.sequence, broken.expected_sequence, broken.reason) == (
        9,
        2,
        3,
        BREAK_ORDER,
    )


def test_verification_resumes_from_a_head():
    records = _chain(5)
    head = (records[2]["sequence"], records[2]["hash"])
    assert verify_chain(records[3:], head=head) is None
    new = link(head, [_content(9)])
    assert new[0][:2] == (4, records[2]["hash"])


def test_amount_text_keeps_the_exact_value():
    assert amount_text(1500.0) == "1500.0"
    assert amount_text(0.1 + 0.2) == "0.30000000000000004"
    assert amount_text(Decimal("1234.50")) == "1234.50"
    assert amount_text(12) == "12"
    assert amount_text(None) is None
    with pytest.raises(TypeError):
        amount_text(True)


def test_canonical_json_is_sorted_and_compact():
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'
