from dataclasses import replace
from datetime import UTC, datetime, timedelta

from childsafe.core.audit import GENESIS_HASH, AuditEvent, Outcome, chain, verify_chain


def build(n: int) -> list:
    entries, prev = [], GENESIS_HASH
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(1, n + 1):
        e = chain(i, t0 + timedelta(seconds=i), AuditEvent(f"act{i}", actor="a"), prev)
        entries.append(e)
        prev = e.hash
    return entries


def test_intact_chain_verifies():
    report = verify_chain(build(5))
    assert report.ok and report.checked == 5 and report.head_seq == 5


def test_empty_chain_is_ok():
    assert verify_chain([]).ok


def test_edited_entry_is_named():
    entries = build(5)
    entries[2] = replace(entries[2], event=replace(entries[2].event, outcome=Outcome.FAILURE))
    report = verify_chain(entries)
    assert not report.ok and report.first_broken_seq == 3 and "altered" in report.reason


def test_deleted_entry_is_named():
    entries = build(5)
    del entries[1]
    report = verify_chain(entries)
    assert not report.ok and report.first_broken_seq == 2 and "missing" in report.reason


def test_relinked_entries_are_detected():
    entries = build(4)
    # An attacker renumbers after deleting entry 2: links no longer match.
    forged = [entries[0]] + [replace(e, seq=e.seq - 1) for e in entries[2:]]
    report = verify_chain(forged)
    assert not report.ok and report.first_broken_seq == 2


def test_truncated_tail_detected_only_with_anchor():
    entries = build(5)
    anchor = (5, entries[4].hash)
    assert verify_chain(entries[:3]).ok
    report = verify_chain(entries[:3], anchor=anchor)
    assert not report.ok and "deleted from the end" in report.reason
    assert verify_chain(entries, anchor=anchor).ok


def test_hash_covers_every_field():
    base = build(1)[0]
    for change in ({"actor": "b"}, {"agency": "X"}, {"object_id": "9"}, {"detail": {"k": 1}},
                   {"ip": "192.0.2.1"}, {"action": "other"}):
        altered = replace(base, event=replace(base.event, **change))
        assert not verify_chain([altered]).ok, change
