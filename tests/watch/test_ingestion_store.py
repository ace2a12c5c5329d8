"""Storing batches (SQLite and PostgreSQL): sealed text, numbering, idempotency, atomicity."""

import hashlib

import pytest
from sqlalchemy import func, select

from childsafe.core.crypto import open_sealed
from childsafe.core.errors import NotFound
from childsafe.store.encrypted import message_aad
from childsafe.store.watch_models import ConversationRow, WatchMessageRow
from childsafe.watch.core.ingestion import BatchOutOfOrder, MessageConflict, parse_batch
from childsafe.watch.ingest import NOT_MONITORED, ROOM_INACTIVE, ingest
from tests.watch import stream_factory as sf

NOW = sf.MONDAY_9


@pytest.fixture
def setup(db):
    provider_id, _key = sf.provider(db)
    return provider_id, sf.room(db, provider_id)


def store(db, keyring, provider_id, room_id, docs):
    with db.transaction() as s:
        return ingest(s, keyring, provider_id=provider_id, room_id=room_id,
                      messages=parse_batch({"messages": docs}, now=NOW), now=NOW)


def count(db, model=WatchMessageRow):
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_messages_are_sealed_hashed_and_numbered_per_conversation(db, keyring, setup):
    provider_id, room_id = setup
    docs = sf.chat(sf.BENIGN) + sf.direct(sf.GROOMING[:4], "u-adult", "u-kid", prefix="d")
    docs.sort(key=lambda d: d["sent_at"])
    receipt = store(db, keyring, provider_id, room_id, docs)
    assert (receipt.accepted, receipt.duplicates, receipt.ignored) == (8, 0, 0)
    assert {(c.key, c.kind, c.accepted, c.last_seq) for c in receipt.conversations} == {
        ("room", "room", 4, 4), ("direct:u-adult u-kid", "direct", 4, 4)}
    assert sorted(receipt.to_wake) == sorted(c.id for c in receipt.conversations)
    with db.transaction() as s:
        for row in s.scalars(select(WatchMessageRow)):
            text = open_sealed(keyring, row.text_enc, message_aad(room_id, row.message_id))
            assert hashlib.sha256(text).hexdigest() == row.sha256
            assert row.score is None and row.received_at == NOW
        kid = s.scalar(select(WatchMessageRow).where(WatchMessageRow.message_id == "d-1"))
        assert (kid.declared_age, kid.recipient_id, kid.seq) == (13, "u-adult", 2)
        conv = s.scalar(select(ConversationRow).where(ConversationRow.kind == "direct"))
        assert (conv.ingested_seq, conv.scored_seq) == (4, 0)
        assert conv.last_ts == kid.sent_at.timestamp() + 2


def test_repeats_are_counted_not_stored_again(db, keyring, setup):
    provider_id, room_id = setup
    docs = sf.chat(sf.GROOMING)
    store(db, keyring, provider_id, room_id, docs[:6])
    receipt = store(db, keyring, provider_id, room_id, docs[4:])  # overlaps by two
    assert (receipt.accepted, receipt.duplicates) == (6, 2)
    assert receipt.conversations[0].last_seq == 12
    again = store(db, keyring, provider_id, room_id, docs)
    assert (again.accepted, again.duplicates, again.to_wake) == (0, 12, [])
    assert count(db) == 12


def test_same_id_other_content_is_a_conflict_and_nothing_is_stored(db, keyring, setup):
    provider_id, room_id = setup
    store(db, keyring, provider_id, room_id, sf.chat(sf.BENIGN))
    changed = sf.chat(sf.BENIGN, start=4)
    changed.insert(0, sf.message(1, "u-b", "edited text"))
    changed[0]["sent_at"] = sf.chat(sf.BENIGN)[1]["sent_at"]
    with pytest.raises(MessageConflict) as exc:
        store(db, keyring, provider_id, room_id, changed)
    problem = exc.value.as_list()[0]
    assert exc.value.status == 409 and problem["field"] == "messages[0].message_id"
    assert "text" in problem["detail"] and "m-1" in problem["detail"]
    assert count(db) == 4  # the new messages of the refused batch were not kept


def test_older_than_the_last_stored_message_is_refused_whole(db, keyring, setup):
    provider_id, room_id = setup
    store(db, keyring, provider_id, room_id, sf.chat(sf.BENIGN, start=10))
    late = sf.chat(sf.BENIGN[:1], start=20) + sf.chat(sf.BENIGN[:1], start=2, prefix="late")
    late.sort(key=lambda d: d["message_id"])
    with pytest.raises(BatchOutOfOrder) as exc:
        store(db, keyring, provider_id, room_id, late)
    assert [p["field"] for p in exc.value.as_list()] == ["messages[0].sent_at"]
    assert count(db) == 4
    # another conversation has its own clock
    ok = store(db, keyring, provider_id, room_id,
               sf.direct(sf.BENIGN[:2], "u-a", "u-b", start=0, prefix="dm"))
    assert ok.accepted == 2


def test_other_providers_room_does_not_exist(db, keyring, setup):
    _provider_id, room_id = setup
    other_id, _ = sf.provider(db, "OtherChat")
    with pytest.raises(NotFound):
        store(db, keyring, other_id, room_id, sf.chat(sf.BENIGN))
    with pytest.raises(NotFound):
        store(db, keyring, other_id, "rm_" + "0" * 24, sf.chat(sf.BENIGN))
    assert count(db) == 0


def test_unmonitored_or_inactive_rooms_store_nothing(db, keyring):
    provider_id, _ = sf.provider(db)
    quiet = sf.room(db, provider_id, monitors=())
    retired = sf.room(db, provider_id, active=False)
    r1 = store(db, keyring, provider_id, quiet, sf.chat(sf.BENIGN))
    r2 = store(db, keyring, provider_id, retired, sf.chat(sf.BENIGN))
    assert (r1.ignored, r1.ignored_reason, r1.accepted) == (4, NOT_MONITORED, 0)
    assert (r2.ignored, r2.ignored_reason) == (4, ROOM_INACTIVE)
    assert count(db) == 0 and count(db, ConversationRow) == 0
