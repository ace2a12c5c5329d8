"""Crash safety: a worker killed with SIGKILL mid-delivery loses nothing.

A real `childsafe worker` process posts a case to a real receiver on 127.0.0.1, which holds
the request until the worker has been killed. The claimed outbox row was never marked done,
and the killed worker's lock dies with it (PostgreSQL ends the backend's transaction, and its
`FOR UPDATE` row lock, when the connection drops; the OS drops SQLite's file locks with the
process), so a second worker delivers again under the same key. The receiver sees the key
twice and, deduplicating on it, records one case.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from childsafe.reports import deliveries
from childsafe.store import outbox
from childsafe.store.case_models import DeliveryRow
from childsafe.store.models import AuditRow, OutboxRow
from tests.reports.case_factory import context, file_report
from tests.reports.webhook_receiver import Receiver

pytestmark = pytest.mark.integration
DEADLINE_S = 30


def start_worker(settings, log: Path) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).parent / "childsafe"
    command = [str(exe)] if exe.exists() else [
        sys.executable, "-c", "from childsafe.cli.main import run; run()"]
    key_file = settings.data_dir / "keys.json"
    key_file.write_text(settings.keyring.to_json())
    env = {**os.environ, "CHILDSAFE_DATABASE_URL": settings.effective_database_url,
           "CHILDSAFE_DATA_DIR": str(settings.data_dir), "CHILDSAFE_KEY_FILE": str(key_file),
           "CHILDSAFE_MAIL_SENDER": "console"}
    env.pop("CHILDSAFE_KEYS", None)
    with log.open("ab") as out:
        return subprocess.Popen([*command, "worker", "--poll", "0.1"], env=env, stdout=out,
                                stderr=subprocess.STDOUT)


def wait_for(condition, what: str, worker: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if worker.poll() is not None:
            pytest.fail(f"worker exited ({worker.returncode}) before {what}:\n"
                        f"{log.read_text(errors='replace')}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}:\n{log.read_text(errors='replace')}")
        time.sleep(0.05)


def delivery_row(db, key: str) -> DeliveryRow:
    with db.transaction() as s:
        return s.scalars(select(DeliveryRow).where(DeliveryRow.idempotency_key == key)).one()


def test_killed_worker_loses_nothing_and_receiver_records_one_case(db, settings, tmp_path):
    log = tmp_path / "workers.log"
    started = time.monotonic()
    with db.transaction() as s:
        channel, secret = deliveries.add_channel(s, settings.keyring, "UK-NCA-CEOP", "webhook",
                                                 "http://127.0.0.1:1/placeholder")
        channel_id = channel.id
    with Receiver(secret, hold_first=True) as receiver:
        with db.transaction() as s:
            s.get(type(channel), channel_id).target = receiver.url
        _, case = file_report(db, context(settings))
        key = f"case:{case.id}:channel:{channel_id}"

        first = start_worker(settings, log)
        try:
            wait_for(receiver.first_arrived.is_set, "the first delivery", first, log)
            first.send_signal(signal.SIGKILL)  # mid-delivery: posted, never committed
            assert first.wait(timeout=10) == -signal.SIGKILL
        finally:
            if first.poll() is None:
                first.kill()
        receiver.release.set()

        # Nothing was lost, and the dead worker's lock is gone: the message can be claimed.
        def claimable() -> bool:
            with db.transaction() as s:
                return [m.idempotency_key for m in outbox.claim(s)] == [key]

        deadline = time.monotonic() + DEADLINE_S
        while not claimable():
            assert time.monotonic() < deadline, "the killed worker's claim was never released"
            time.sleep(0.05)
        assert delivery_row(db, key).status == "pending"

        second = start_worker(settings, log)
        try:
            wait_for(lambda: delivery_row(db, key).status == "delivered", "the redelivery",
                     second, log)
        finally:
            second.send_signal(signal.SIGTERM)
            try:
                second.wait(timeout=10)
            except subprocess.TimeoutExpired:
                second.kill()

    assert receiver.seen == [key, key]  # at least once: the same key twice ...
    assert list(receiver.cases) == [key]  # ... one case recorded
    assert receiver.cases[key]["case"]["id"] == case.id and receiver.rejected == 0
    row = delivery_row(db, key)
    assert (row.attempts, row.last_status_code) == (1, 200)  # the killed attempt never committed
    with db.transaction() as s:
        message = s.scalars(select(OutboxRow).where(OutboxRow.idempotency_key == key)).one()
        assert message.done_at is not None and outbox.pending_count(s) == 0
        assert s.scalars(select(AuditRow.outcome).where(
            AuditRow.action == "case.deliver")).all() == ["success"]
    assert time.monotonic() - started < 2 * DEADLINE_S
