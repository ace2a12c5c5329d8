"""Group commit: items queued while a batch is written share the next transaction; a failing
item fails only its own caller; nothing is answered before its commit."""

import asyncio
import threading

import pytest

from childsafe.core.audit import AuditEvent
from childsafe.store import audit
from childsafe.store.group_commit import GroupCommit

WAIT_S = 30  # generous bounds for threads to reach a point; never a timing assertion


class Gate:
    """A write function whose first batch waits until the test has queued the next items."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.batches: list[list[str]] = []

    def write(self, session, items):
        self.batches.append(list(items))
        if items == ["gate"]:
            self.started.set()
            assert self.release.wait(WAIT_S)
        for item in items:
            if item == "bad":
                raise ValueError("a bad item")
            audit.append(session, AuditEvent("test.item", object_id=item))
        return [f"stored {item}" for item in items]


def _entries(db):
    with db.reading() as s:
        return [e.event.object_id for e in audit.iter_entries(s)]


def test_items_queued_meanwhile_share_one_transaction(db):
    gate = Gate()
    writer = GroupCommit(db, gate.write)
    first = writer.submit("gate")
    assert gate.started.wait(WAIT_S)
    rest = [writer.submit(name) for name in ("a", "b", "c")]
    gate.release.set()
    assert first.result(WAIT_S) == "stored gate"
    assert [f.result(WAIT_S) for f in rest] == ["stored a", "stored b", "stored c"]
    assert gate.batches == [["gate"], ["a", "b", "c"]]
    assert (writer.batches, writer.items) == (2, 4)
    assert _entries(db) == ["gate", "a", "b", "c"]
    with db.reading() as s:
        assert audit.verify(s).ok


def test_a_failing_item_fails_only_its_caller(db):
    gate = Gate()
    writer = GroupCommit(db, gate.write)
    first = writer.submit("gate")
    assert gate.started.wait(WAIT_S)
    a, bad, c = (writer.submit(name) for name in ("a", "bad", "c"))
    gate.release.set()
    first.result(WAIT_S)
    assert a.result(WAIT_S) == "stored a" and c.result(WAIT_S) == "stored c"
    with pytest.raises(ValueError, match="a bad item"):
        bad.result(WAIT_S)
    # The shared attempt rolled back as a whole; then each item had its own transaction.
    assert gate.batches == [["gate"], ["a", "bad", "c"], ["a"], ["bad"], ["c"]]
    assert _entries(db) == ["gate", "a", "c"]
    with db.reading() as s:
        assert audit.verify(s).ok


def test_a_coroutine_awaits_the_commit(db):
    writer = GroupCommit(db, Gate().write)

    async def file_three():
        return await asyncio.gather(*(writer.run(name) for name in ("x", "y", "z")))

    assert asyncio.run(file_three()) == ["stored x", "stored y", "stored z"]
    assert sorted(_entries(db)) == ["x", "y", "z"]


def test_the_thread_stops_when_idle_and_comes_back(db):
    writer = GroupCommit(db, Gate().write, idle_s=0.01)
    assert writer.submit("one").result(WAIT_S) == "stored one"
    thread = writer._thread
    if thread is not None:
        thread.join(WAIT_S)
        assert not thread.is_alive()
    assert writer.submit("two").result(WAIT_S) == "stored two"
    assert _entries(db) == ["one", "two"]
