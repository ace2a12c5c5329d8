"""Scoring (SQLite and PostgreSQL): in order, exactly once, alerts once and routed on duty."""

import pytest
from sqlalchemy import delete, select

from childsafe.store.models import AuditRow
from childsafe.store.watch_models import AlertRow, ConversationRow, RoomAssignmentRow, WatchMessageRow
from childsafe.watch.core.ingestion import parse_batch
from childsafe.watch.core.state import ConversationState, Message
from childsafe.watch.ingest import ingest
from childsafe.watch.scoring import (
    lock_conversation,
    pending_conversations,
    score_conversation,
    score_conversations,
)
from childsafe.watch.settings import agency_settings, default_detector_settings, detector_named
from childsafe.watch.transport import Consumer, MemoryTransport
from tests.watch import stream_factory as sf

NOW = sf.MONDAY_9


@pytest.fixture
def room(db):
    provider_id, _ = sf.provider(db)
    return provider_id, sf.room(db, provider_id, monitors=("UK-NCA-CEOP", "AU-AFP-ACCCE"))


def feed(db, keyring, room, docs, now=NOW):
    with db.transaction() as s:
        receipt = ingest(s, keyring, provider_id=room[0], room_id=room[1],
                         messages=parse_batch({"messages": docs}, now=now), now=now)
    return receipt.to_wake


def score(db, keyring, cid, now=NOW, **kw):
    with db.transaction() as s:
        return score_conversation(s, keyring, cid, None, now, **kw)


def messages(db):
    with db.transaction() as s:
        return list(s.scalars(select(WatchMessageRow).order_by(WatchMessageRow.seq)))


def conversation(db, cid):
    with db.transaction() as s:
        return s.get(ConversationRow, cid)


def test_scores_in_order_exactly_once_like_a_whole_scan(db, keyring, room):
    docs = sf.direct(sf.GROOMING, "u-adult", "u-kid")
    [cid] = feed(db, keyring, room, docs[:5])
    assert score(db, keyring, cid).scored == 5
    assert feed(db, keyring, room, docs[5:]) == [cid]
    result = score(db, keyring, cid)
    assert (result.scored, result.scored_seq, result.remaining) == (7, 12, 0)
    assert score(db, keyring, cid).scored == 0  # nothing new: nothing scored twice
    rows = messages(db)
    state = ConversationState("x")
    detector = detector_named(default_detector_settings()[0])
    expected = [detector.update(state, Message(m["message_id"], m["author_id"], i, m["text"],
                                               m.get("author_age"))).score
                for i, m in enumerate(docs)]
    assert [r.score for r in rows] == expected
    conv = conversation(db, cid)
    assert conv.scored_seq == conv.ingested_seq == 12
    assert ConversationState.from_dict(conv.state).messages == 12
    assert conv.top_author == "u-adult" and conv.top_score == max(expected)
    assert rows[2].cues == ["age_question"] and rows[0].cues == []
    assert rows[6].cues == ["alone_parents"]


def test_alert_once_routed_to_the_agency_on_duty(db, keyring, room):
    sf.shift(db, "AU-AFP-ACCCE", 8 * 60, 16 * 60)  # on at 09:00 UTC
    sf.shift(db, "UK-NCA-CEOP", 16 * 60, 8 * 60)
    [cid] = feed(db, keyring, room, sf.direct(sf.GROOMING, "u-adult", "u-kid"))
    result = score(db, keyring, cid, limit=2)
    assert (result.scored, result.remaining, result.alerts) == (2, 10, ())
    result = score(db, keyring, cid)
    assert len(result.alerts) == 1
    with db.transaction() as s:
        alert = s.scalar(select(AlertRow))
        audit = s.scalar(select(AuditRow).where(AuditRow.action == "watch.alert_raise"))
    assert alert.agency_id == sf.agency_id(db, "AU-AFP-ACCCE") and not alert.out_of_hours
    assert (alert.author_id, alert.target_id, alert.message_seq) == ("u-adult", "u-kid", sf.alert_seq())
    assert alert.reference.startswith("W-") and alert.state == "open"
    expected = sf.reference(sf.GROOMING).alerts[0]
    assert (alert.detector, alert.threshold) == default_detector_settings()
    assert (alert.stage, alert.reasons) == (expected.stage, list(expected.reasons))
    assert any("age gap" in r for r in alert.reasons)
    assert (audit.actor, audit.object_id, audit.agency) == ("watch", alert.id, "AU-AFP-ACCCE")
    # more grooming later: still one alert for this author in this conversation
    feed(db, keyring, room, sf.direct(sf.GROOMING, "u-adult", "u-kid", start=20, prefix="n"))
    assert score(db, keyring, cid).alerts == ()
    assert len(sf.rows(db, AlertRow)) == 1


def test_out_of_hours_goes_to_the_next_on_duty(db, keyring, room):
    sf.shift(db, "UK-NCA-CEOP", 18 * 60, 22 * 60)
    [cid] = feed(db, keyring, room, sf.chat(sf.GROOMING))
    score(db, keyring, cid)
    [alert] = sf.rows(db, AlertRow)
    assert alert.out_of_hours and alert.agency_id == sf.agency_id(db, "UK-NCA-CEOP")


def test_the_routed_agencys_threshold_applies(db, keyring, room):
    sf.shift(db, "UK-NCA-CEOP", 0, 0)  # round the clock
    sf.set_threshold(db, "UK-NCA-CEOP", 0.995)
    uk, au = sf.agency_id(db, "UK-NCA-CEOP"), sf.agency_id(db, "AU-AFP-ACCCE")
    with db.transaction() as s:
        assert agency_settings(s, uk) == ("rules", 0.995)
        assert agency_settings(s, au) == default_detector_settings()
    [cid] = feed(db, keyring, room, sf.chat(sf.GROOMING))
    assert score(db, keyring, cid).scored == 12
    assert sf.rows(db, AlertRow) == []


def test_unmonitored_room_scores_without_alerting(db, keyring):
    provider_id, _ = sf.provider(db)
    room = (provider_id, sf.room(db, provider_id))
    [cid] = feed(db, keyring, room, sf.chat(sf.GROOMING[:8]))
    with db.transaction() as s:  # the agency stopped monitoring after the messages arrived
        s.execute(delete(RoomAssignmentRow))
    assert score(db, keyring, cid).scored == 8 and sf.rows(db, AlertRow) == []


def test_consumer_and_sweep_score_whatever_was_woken_or_lost(db, keyring, room):
    transport = MemoryTransport()
    consumer = Consumer(db, lambda: keyring, transport, clock=lambda: NOW, block_ms=10)
    woken = feed(db, keyring, room, sf.chat(sf.BENIGN))
    lost = feed(db, keyring, room, sf.direct(sf.GROOMING, "u-adult", "u-kid", prefix="d"))
    transport.publish(woken + woken)  # repeats coalesce
    assert consumer.step() == 1 and consumer.scored == 4
    assert consumer.step() == 0
    with db.transaction() as s:
        assert pending_conversations(s) == lost
        assert pending_conversations(s, older_than=NOW) == []  # just touched
    assert consumer.sweep(everything=True) == 1
    assert consumer.scored == 16 and consumer.alerts == 1
    with db.transaction() as s:
        assert pending_conversations(s) == []


def test_each_named_detector_is_built_once_per_process():
    assert detector_named("rules") is detector_named("rules")
    assert detector_named("rules").name == "rules"
    assert detector_named("no-such-detector") is detector_named(default_detector_settings()[0])


def test_the_fixture_chats_alert_early_and_only_the_groomer():
    outcome = sf.reference(sf.GROOMING)
    assert [a.author_id for a in outcome.alerts] == ["u-adult"]
    assert sf.alert_seq() < len(sf.GROOMING) // 2
    assert sf.reference(sf.BENIGN * 3).alerts == ()


def test_a_batch_of_conversations_skips_one_another_transaction_holds(db, keyring, room):
    if not db.url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: nothing to skip")
    [a] = feed(db, keyring, room, sf.chat(sf.BENIGN))
    [b] = feed(db, keyring, room, sf.direct(sf.GROOMING, "u-adult", "u-kid", prefix="d"))
    holder = db.session()
    try:
        assert lock_conversation(holder, a) is not None  # e.g. an ingest in progress
        with db.transaction() as s:
            results = score_conversations(s, keyring, [b, a], NOW, skip_locked=True)
        assert [(r.conversation_id, r.skipped, r.scored) for r in results] == [
            (a, True, 0), (b, False, 12)]
    finally:
        holder.rollback()
        holder.close()
    assert score(db, keyring, a).scored == 4


def test_a_budget_leaves_later_conversations_for_the_next_transaction(db, keyring, room):
    [a] = feed(db, keyring, room, sf.direct(sf.GROOMING, "u-adult", "u-kid", prefix="d"))
    [b] = feed(db, keyring, room, sf.chat(sf.BENIGN))
    with db.transaction() as s:
        first = score_conversations(s, keyring, [a, b], NOW, budget=5)
    assert [(r.scored, r.remaining) for r in first] == [(12, 0), (0, 4)]
    with db.transaction() as s:
        second = score_conversations(s, keyring, [a, b], NOW, budget=5)
    assert [(r.scored, r.remaining) for r in second] == [(0, 0), (4, 0)]


def test_a_change_of_detector_rebuilds_the_state_by_replay(db, keyring, room):
    """State built by the rules detector means nothing to the learned layer: switching the
    detector mid-conversation replays what was scored, and the rest continues as if the new
    detector had seen the conversation from the start (no alert raised twice)."""
    docs = sf.direct(sf.GROOMING, "u-adult", "u-kid")
    rules, combined = detector_named("rules"), detector_named("combined")
    [cid] = feed(db, keyring, room, docs[:6])
    with db.transaction() as s:
        score_conversation(s, keyring, cid, rules, NOW)
    assert conversation(db, cid).state["detector"] == "rules"
    feed(db, keyring, room, docs[6:])
    with db.transaction() as s:
        score_conversation(s, keyring, cid, combined, NOW)
    stored = conversation(db, cid).state
    assert stored["detector"].startswith("combined:")
    whole = ConversationState(str(cid))
    for d in docs:
        combined.update(whole, Message(d["message_id"], d["author_id"], 0.0, d["text"],
                                       d.get("author_age")))
    rebuilt = ConversationState.from_dict(stored)
    for author, seen in whole.authors.items():  # the learned layer's own sums, not only the rules'
        assert rebuilt.authors[author].text_logit == pytest.approx(seen.text_logit)
        assert rebuilt.authors[author].model_score == pytest.approx(seen.model_score)
        assert rebuilt.authors[author].score == pytest.approx(seen.score)
    with db.transaction() as s:
        assert len(list(s.scalars(select(AlertRow).where(AlertRow.conversation_id == cid)))) <= 1
