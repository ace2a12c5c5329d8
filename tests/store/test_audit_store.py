"""The audit log in both stores: append-only by trigger, and tamper-evident by hash chain."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from childsafe.core.audit import AuditEvent, Outcome
from childsafe.store import audit
from childsafe.store.db import is_postgres


def _write(db, n=5):
    with db.transaction() as s:
        for i in range(n):
            audit.append(s, AuditEvent(f"test.{i}", Outcome.SUCCESS, actor="tester",
                                       agency="UK-NCA-CEOP", object_type="case",
                                       object_id=str(i), detail={"n": i, "text": "é<script>"}))


def _verify(db, **kw):
    with db.transaction() as s:
        return audit.verify(s, **kw)


def _bypass(db, sql: str):
    """What an attacker with database access could do: switch the guard off and edit."""
    with db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text(sql))
        else:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_events_no_update")
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_events_no_delete")
            conn.execute(text(sql))


def test_chain_round_trips_through_the_store(db):
    _write(db)
    report = _verify(db)
    assert report.ok and report.checked == 5


def test_update_and_delete_refused_by_the_database(db):
    _write(db, 2)
    for sql in ("UPDATE audit_events SET actor = 'x' WHERE seq = 1",
                "DELETE FROM audit_events WHERE seq = 1"):
        with pytest.raises((DBAPIError, IntegrityError)), db.engine.begin() as conn:
            conn.execute(text(sql))


def test_edited_row_is_named(db):
    _write(db)
    _bypass(db, "UPDATE audit_events SET outcome = 'failure' WHERE seq = 3")
    report = _verify(db)
    assert not report.ok and report.first_broken_seq == 3


def test_deleted_row_is_named(db):
    _write(db)
    _bypass(db, "DELETE FROM audit_events WHERE seq = 2")
    report = _verify(db)
    assert not report.ok and report.first_broken_seq == 2


def test_deleted_tail_needs_anchor(db):
    _write(db)
    head = _verify(db)
    _bypass(db, "DELETE FROM audit_events WHERE seq >= 4")
    assert _verify(db).ok
    report = _verify(db, anchor=(head.head_seq, head.head_hash))
    assert not report.ok


def test_rolled_back_action_leaves_no_entry(db):
    with pytest.raises(RuntimeError), db.transaction() as s:
        audit.append(s, AuditEvent("never"))
        raise RuntimeError("boom")
    with db.transaction() as s:
        assert audit.count(s) == 0


def test_concurrent_appends_keep_one_chain(db):
    import threading

    errors = []

    def worker():
        try:
            for _ in range(10):
                with db.transaction() as s:
                    audit.append(s, AuditEvent("race"))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    report = _verify(db)
    assert report.ok and report.checked == 40
    assert is_postgres(db.engine) in (True, False)
