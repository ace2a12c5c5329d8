"""Alert store operations on both stores: queue, isolation, views audited, state machine,
dismissal feedback, the alert page's data."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from childsafe.core.errors import Conflict, InvalidInput, NotFound
from childsafe.store import accounts
from childsafe.store.models import AuditRow
from childsafe.store.watch_models import AlertFeedbackRow, AlertRow
from childsafe.watch import alert_view, alerts
from tests.watch.alert_factory import ADULT, CHILD, WatchFactory

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def watch(db, keyring):
    return WatchFactory(db, keyring)


def _principal(db, make_officer, username, agency="UK-NCA-CEOP", roles="officer"):
    make_officer(username, agency=agency, roles=roles)
    with db.transaction() as s:
        return accounts.principal_for(s, accounts.get_user(s, username))


def _actions(db, action):
    with db.transaction() as s:
        return list(s.scalars(select(AuditRow).where(AuditRow.action == action)
                              .order_by(AuditRow.seq)))


def test_queue_is_the_agency_s_own_newest_or_riskiest_first(db, watch, make_officer):
    uk = _principal(db, make_officer, "ceop.q")
    older = watch.alert(at=NOW - timedelta(hours=2))
    newer = watch.alert(at=NOW - timedelta(hours=1), lines=[
        (ADULT, 40, "how old are you?"), (CHILD, 12, "12"),
        (ADULT, 40, "are you alone? don't tell anyone, our secret")])
    theirs = watch.alert("US-DHS-HSI", at=NOW)
    with db.transaction() as s:
        newest = [r.reference for r in alerts.queue(s, uk)]
        riskiest = [r.reference for r in alerts.queue(s, uk, sort="riskiest")]
        scores = {r.reference: r.score for r in alerts.queue(s, uk, state="all")}
    assert newest == [newer.reference, older.reference]
    assert theirs.reference not in newest and theirs.reference not in scores
    assert riskiest == sorted(scores, key=lambda ref: -scores[ref])
    (listed, *_) = _actions(db, "watch.alert.list")
    assert listed.agency == "UK-NCA-CEOP" and listed.detail["shown"] == 2


def test_filters_and_fingerprint_follow_state_changes(db, watch, make_officer):
    uk = _principal(db, make_officer, "ceop.f")
    made = watch.alert()
    with db.transaction() as s:
        before = alerts.queue_fingerprint(s, uk)
        alerts.acknowledge(s, uk, made.id, NOW)
    with db.transaction() as s:
        after = alerts.queue_fingerprint(s, uk)
        assert [r.id for r in alerts.queue(s, uk, state="acknowledged")] == [made.id]
        assert alerts.queue(s, uk, state="open") == []
        with pytest.raises(InvalidInput):
            alerts.queue(s, uk, state="nonsense")
    assert before["active"] == after["active"] == 1 and before != after


def test_another_agency_s_alert_is_absent_and_the_attempt_audited(db, watch, make_officer):
    us = _principal(db, make_officer, "hsi.peek", agency="US-DHS-HSI")
    made = watch.alert("UK-NCA-CEOP")
    with db.transaction() as s:
        with pytest.raises(NotFound):
            alerts.get_alert(s, us, made.id)
        with pytest.raises(NotFound):
            alerts.acknowledge(s, us, made.id, NOW)
        alerts.record_denied(s, us, made.id, "watch.alert.view")
    (denied,) = _actions(db, "watch.alert.view")
    assert denied.outcome == "denied" and denied.actor == "hsi.peek"
    with db.transaction() as s:
        assert s.get(AlertRow, made.id).state == "open"


def test_views_are_audited(db, watch, make_officer):
    uk = _principal(db, make_officer, "ceop.v")
    made = watch.alert()
    with db.transaction() as s:
        assert alerts.get_alert(s, uk, made.id, ip="192.0.2.7").reference == made.reference
    (seen,) = _actions(db, "watch.alert.view")
    assert seen.outcome == "success" and seen.object_id == made.id and seen.ip == "192.0.2.7"


def test_state_machine_refuses_invalid_transitions_with_reasons(db, watch, make_officer):
    uk = _principal(db, make_officer, "ceop.sm")
    other = _principal(db, make_officer, "ceop.sm2")
    made = watch.alert()
    with db.transaction() as s:
        alerts.acknowledge(s, uk, made.id, NOW)
    with pytest.raises(Conflict, match="already acknowledged"), db.transaction() as s:
        alerts.acknowledge(s, other, made.id, NOW)
    with db.transaction() as s:
        feedback = alerts.dismiss(s, other, made.id, "adults_only", " both adults ", NOW)
        assert (feedback.label, feedback.reason, feedback.note) == \
            ("not_grooming", "adults_only", "both adults")
    for action in (lambda s: alerts.acknowledge(s, uk, made.id, NOW),
                   lambda s: alerts.dismiss(s, uk, made.id, "false_alarm", "", NOW)):
        with pytest.raises(Conflict, match="dismissed by Ceop.Sm2"), db.transaction() as s:
            action(s)
    with db.transaction() as s:
        row = s.get(AlertRow, made.id)
        assert row.state == "dismissed" and row.closed_by == other.user_id
        stored = list(s.scalars(select(AlertFeedbackRow)))
        assert len(stored) == 1 and stored[0].detector == "rules" and stored[0].score == row.score


def test_dismissal_needs_a_known_reason_and_a_note_for_other(db, watch, make_officer):
    uk = _principal(db, make_officer, "ceop.d")
    made = watch.alert()
    with db.transaction() as s:
        with pytest.raises(InvalidInput) as bad:
            alerts.dismiss(s, uk, made.id, "bored", "", NOW)
        assert bad.value.field == "reason"
        with pytest.raises(InvalidInput) as no_note:
            alerts.dismiss(s, uk, made.id, "other", "  ", NOW)
        assert no_note.value.field == "note"


def test_actioned_alert_cannot_be_dismissed(db, watch, make_officer):
    uk = _principal(db, make_officer, "ceop.act")
    made = watch.alert()
    with db.transaction() as s:
        alert = alerts.begin_action(s, uk, made.id, "intervene")
        alerts.mark_actioned(s, uk, alert, NOW, "intervened")
    with pytest.raises(Conflict, match="already acted"), db.transaction() as s:
        alerts.dismiss(s, uk, made.id, "false_alarm", "", NOW)
    with db.transaction() as s:
        row = s.get(AlertRow, made.id)
        assert row.acknowledged_by == uk.user_id and row.state == "actioned"


def test_feedback_export_is_per_agency_and_carries_no_text(db, watch, make_officer):
    uk = _principal(db, make_officer, "ceop.x")
    us = _principal(db, make_officer, "hsi.x", agency="US-DHS-HSI")
    ours, theirs = watch.alert(), watch.alert("US-DHS-HSI")
    with db.transaction() as s:
        alerts.dismiss(s, uk, ours.id, "false_alarm", "a parent", NOW)
        alerts.dismiss(s, us, theirs.id, "duplicate", "", NOW)
    with db.transaction() as s:
        agency_id = s.get(AlertRow, ours.id).agency_id
        exported = alerts.export_feedback(s, agency_id)
    assert [e["alert"] for e in exported] == [ours.reference]
    assert exported[0]["label"] == "not_grooming" and exported[0]["note"] == "a parent"
    assert not any(t in str(exported) for t in ours.texts)


def test_alert_page_data(db, keyring, watch, make_officer):
    uk = _principal(db, make_officer, "ceop.page")
    made = watch.alert()
    with db.transaction() as s:
        alert = alerts.get_alert(s, uk, made.id)
        view = alert_view.detail(s, keyring, alert, before=3, after=2)
    crossing = [m for m in view.excerpt if m.crossing]
    assert len(crossing) == 1 and crossing[0].seq == made.message_seq
    assert [m.seq for m in view.excerpt] == list(range(made.message_seq - 3, made.message_seq + 3))
    assert view.omitted_before == made.message_seq - 4
    assert all("".join(seg.text for seg in m.segments) == made.texts[m.seq - 1]
               for m in view.excerpt)
    marked = {seg.cue for m in view.excerpt for seg in m.segments if seg.cue}
    assert "secrecy" in marked
    people = {p.author_id: p for p in view.participants}
    assert people[ADULT].role == "flagged" and people[ADULT].declared_age == 31
    assert people[CHILD].role == "child" and people[CHILD].declared_age == 13
    reached = {st.stage: st.seq for st in view.stages}
    assert reached["friendship_forming"] == 2 and reached["exclusivity"] == 7
    assert reached["sexual_stage"] is None
    assert [seq for seq, _ in view.trajectory] == list(range(1, len(made.texts) + 1))
    assert view.messages == len(made.texts)


def test_highlight_maps_folded_text_back_and_keeps_markup_as_text():
    text = "<b onmouseover=x>Cœur</b> are you home alone? ÉCOLE"
    segments = alert_view.highlight(text)
    assert "".join(s.text for s in segments) == text
    assert [s.text for s in segments if s.cue] == ["are you home alone"]
    assert segments[0].text.startswith("<b onmouseover=x>")
