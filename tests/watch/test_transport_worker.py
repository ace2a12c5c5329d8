"""`childsafe worker --watch`: refuses the memory transport, `--once` scores what lags, and a
real worker process scores from the Redis stream until SIGTERM."""

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from sqlalchemy import select
from typer.testing import CliRunner

from childsafe.cli.main import app
from childsafe.store.watch_models import AlertRow, ConversationRow
from childsafe.watch.core.ingestion import parse_batch
from childsafe.watch.ingest import ingest
from childsafe.watch.redis_transport import RedisTransport
from tests.watch import stream_factory as sf

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(settings, db):
    key_file = settings.data_dir / "keys.json"
    key_file.write_text(settings.keyring.to_json())
    return {"CHILDSAFE_DATA_DIR": str(settings.data_dir),
            "CHILDSAFE_DATABASE_URL": settings.effective_database_url,
            "CHILDSAFE_KEY_FILE": str(key_file)}


def feed(db, keyring, docs):
    provider_id, _ = sf.provider(db)
    room_id = sf.room(db, provider_id)
    with db.transaction() as s:
        return ingest(s, keyring, provider_id=provider_id, room_id=room_id,
                      messages=parse_batch({"messages": docs}, now=sf.MONDAY_9),
                      now=sf.MONDAY_9).to_wake


def lagging(db):
    with db.transaction() as s:
        return [c.id for c in s.scalars(select(ConversationRow))
                if c.scored_seq < c.ingested_seq]


def test_memory_transport_has_no_separate_workers(env, monkeypatch):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    r = CliRunner().invoke(app, ["worker", "--watch"])
    assert r.exit_code == 1 and "CHILDSAFE_WATCH_TRANSPORT" in r.output


def test_once_scores_every_lagging_conversation(env, db, keyring, monkeypatch):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    feed(db, keyring, sf.chat(sf.GROOMING) + sf.direct(sf.BENIGN, "u-a", "u-b", start=20,
                                                        prefix="d"))
    assert len(lagging(db)) == 2
    r = CliRunner().invoke(app, ["worker", "--watch", "--once"])
    assert r.exit_code == 0, r.output
    assert "scored 16 message(s) in 2 conversation(s)" in r.output
    assert lagging(db) == []


@pytest.mark.integration
def test_a_worker_process_scores_from_the_stream(env, db, keyring):
    client = redis.Redis(socket_connect_timeout=1)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    stream = f"childsafe:test:{secrets.token_hex(6)}"
    sf.shift(db, "UK-NCA-CEOP", 0, 0)
    worker = subprocess.Popen(
        [str(Path(sys.executable).parent / "childsafe"), "worker", "--watch", "--threads", "2"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=os.environ | env | {"CHILDSAFE_WATCH_TRANSPORT": "redis",
                                "CHILDSAFE_WATCH_STREAM": stream})
    try:
        publisher = RedisTransport(client, stream, "childsafe-watch")
        publisher.publish(feed(db, keyring, sf.direct(sf.GROOMING, "u-adult", "u-kid")))
        deadline = time.monotonic() + 30
        while lagging(db) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert lagging(db) == []
        assert len(sf.rows(db, AlertRow)) == 1
    finally:
        worker.send_signal(signal.SIGTERM)
        out, _ = worker.communicate(timeout=30)
        client.delete(stream)
        client.close()
    assert worker.returncode == 0, out
    assert "watch worker stopped: scored 12 message(s), 1 alert(s)" in out
