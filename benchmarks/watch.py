"""Watch benchmark: detection messages/s on one core, and ingestion-to-alert latency.

1. Detection: the generated corpus (seed 0, all kinds) message by message through the default
   detector (`combined`: rules, then the learned model; the rules alone only if the packaged
   model cannot be read, and the output says so) and the alert gate, a fresh state per
   conversation, as a watch worker does. Messages are built before timing; best of five.
   A second figure is the whole scoring path in the store (`score_conversation`: decrypt,
   detect, write scores, state and alerts), one core, one conversation per transaction of
   50 messages. The store is SQLite; BENCH_WATCH_STORE=postgresql for PostgreSQL.
2. Alert latency: a real `childsafe serve` (uvicorn, one process, memory transport) on
   loopback (BENCH_WATCH_TRANSPORT=redis: the Redis transport, scored by one
   `childsafe worker --watch` process instead of the server). 200 grooming conversations
   interleaved with 200 ordinary ones (teen and adult chat, hard negatives) are streamed as a
   chat provider would, through
   `POST /api/v1/rooms/{id}/messages`: each batch carries the next message of 20
   conversations, at BENCH_WATCH_RATE messages/s (default 1,000). For each alert, latency is
   from the start of the POST that carried the crossing message to the AlertRow being
   visible in the store (polled every 2 ms by the benchmark process).
Targets (issue 6): >= 25,000 messages/s per core through detection, alert p99 < 1 s.
The last line is one JSON object.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from benchmarks.support.server import running_server  # noqa: E402
from childsafe.core.crypto import Keyring, new_keyring, seal  # noqa: E402
from childsafe.store import agencies, migrate, providers  # noqa: E402
from childsafe.store.db import Database, make_engine  # noqa: E402
from childsafe.store.encrypted import message_aad  # noqa: E402
from childsafe.store.watch_models import (  # noqa: E402
    AlertRow,
    ConversationRow,
    RoomAssignmentRow,
    RoomRow,
    ShiftRow,
    WatchMessageRow,
)
from childsafe.watch.core.detector import AlertGate, Detector  # noqa: E402
from childsafe.watch.core.evaluation import messages_of  # noqa: E402
from childsafe.watch.core.state import ConversationState  # noqa: E402
from childsafe.watch.corpus import generate  # noqa: E402
from childsafe.watch.scoring import score_conversation  # noqa: E402
from childsafe.watch.settings import default_detector_settings, detector_named  # noqa: E402

TARGET_RATE, TARGET_P99_MS = 25_000, 1000
GROOMING, ORDINARY, PER_BATCH = 200, 200, 20
RATE = float(os.environ.get("BENCH_WATCH_RATE", "1000"))
TRANSPORT = os.environ.get("BENCH_WATCH_TRANSPORT", "memory")  # or redis: + a `worker --watch`
STORE = os.environ.get("BENCH_WATCH_STORE", "sqlite")  # or postgresql (CHILDSAFE_TEST_PG_URL)
WORKER_THREADS = int(os.environ.get("BENCH_WATCH_WORKER_THREADS", "2"))  # redis: consumers
PG_ADMIN = os.environ.get("CHILDSAFE_TEST_PG_URL",
                          "postgresql+psycopg://childsafe:childsafe@127.0.0.1:5432/postgres")
POLL_S = 0.002


def detection(detector: Detector, threshold: float) -> tuple[float, int, int]:
    """Best-of-five messages/s through `update` + the gate; (rate, messages, alerts)."""
    conversations = [(item["id"], messages_of(item)) for item in generate(500, seed=0)]
    total = sum(len(m) for _, m in conversations)
    best, alerts = float("inf"), 0
    for _ in range(5):
        gate, alerts = AlertGate(threshold, detector.name), 0
        start = time.perf_counter()
        for cid, messages in conversations:
            state = ConversationState(cid)
            for message in messages:
                if gate.check(state, detector.update(state, message), message) is not None:
                    alerts += 1
        best = min(best, time.perf_counter() - start)
    return total / best, total, alerts


def store_scoring(url: str, keyring: Keyring) -> float:
    """Messages/s through `score_conversation` (decrypt, detect, write), one core."""
    db, room_id = setup_store(url, keyring)
    items = generate(60, seed=1)
    total = 0
    with db.transaction() as s:
        for n, item in enumerate(items):
            conv = ConversationRow(room_id=room_id, key=f"thread:{n}", kind="room", state={},
                                   ingested_seq=0, scored_seq=0, top_score=0.0)
            s.add(conv)
            s.flush()
            for seq, m in enumerate(item["messages"][:50], start=1):
                mid = f"{n}-{seq}"
                s.add(WatchMessageRow(room_id=room_id, conversation_id=conv.id, seq=seq,
                                      message_id=mid, author_id=m["author"],
                                      declared_age=m.get("age"),
                                      sent_at=datetime.fromtimestamp(m["ts"], UTC),
                                      text_enc=seal(keyring, m["text"].encode(),
                                                    message_aad(room_id, mid)),
                                      sha256="0" * 64))
                conv.ingested_seq = seq
                total += 1
        ids = [c.id for c in s.scalars(select(ConversationRow))]
    start = time.perf_counter()
    for cid in ids:
        with db.transaction() as s:
            score_conversation(s, keyring, cid)
    elapsed = time.perf_counter() - start
    db.dispose()
    return total / elapsed


@contextlib.contextmanager
def store_url(path: Path) -> Iterator[str]:
    """An empty store of kind STORE: a SQLite file at `path`, or a fresh PostgreSQL database
    (dropped afterwards)."""
    if STORE != "postgresql":
        yield f"sqlite:///{path}"
        return
    from sqlalchemy import create_engine, text

    name = f"childsafe_watch_bench_{os.getpid()}_{path.stem}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def setup_store(url: str, keyring: Keyring) -> tuple[Database, str]:
    """A migrated store with agencies, one monitored room, a 24/7 shift."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    db = Database(url)
    with db.transaction() as s:
        agencies.seed_agencies(s)
        provider = providers.create_provider(s, "BenchChat")
        agency = agencies.get_by_code(s, "UK-NCA-CEOP")
        room_id = "rm_" + os.urandom(12).hex()
        s.add(RoomRow(id=room_id, provider_id=provider.id, external_id="bench", title="Bench",
                      audience="teen", language="en", region="GB", active=True))
        s.flush()
        s.add(RoomAssignmentRow(room_id=room_id, agency_id=agency.id))
        s.add(ShiftRow(agency_id=agency.id, timezone="UTC", days=0b1111111, start_minute=0,
                       end_minute=0))
    return db, room_id


def corpus() -> list[dict[str, Any]]:
    items = generate(GROOMING, seed=7)
    grooming = [i for i in items if i["kind"] == "grooming"][:GROOMING]
    kinds = [[i for i in items if i["kind"] == kind]
             for kind in ("teen_chat", "adult_chat", "hard_negative")]
    ordinary = [group[n] for n in range(ORDINARY) for group in kinds][:ORDINARY]
    mixed: list[dict[str, Any]] = []
    for a, b in zip(grooming, ordinary, strict=True):
        mixed += [a, b]
    return mixed


def schedule(items: list[dict[str, Any]]) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Batches of the next message of PER_BATCH conversations, a conversation joining the
    round as another finishes, so conversations overlap as in a busy room."""
    queue = [(item["id"], iter(item["messages"])) for item in items]
    active = queue[:PER_BATCH]
    waiting = queue[PER_BATCH:]
    while active:
        batch = []
        for cid, it in list(active):
            m = next(it, None)
            if m is None:
                active.remove((cid, it))
                if waiting:
                    active.append(waiting.pop(0))
                continue
            batch.append((cid, m))
        if batch:
            yield batch


def stream(conn: http.client.HTTPConnection, room_id: str, key: str,
           items: list[dict[str, Any]], sent_at: dict[tuple[str, str], float]) -> dict[str, Any]:
    """POST the schedule at RATE messages/s (open loop: a slow answer delays the next batch,
    which shows as send lag); record when each message's POST started."""
    interval, messages, late, posts = PER_BATCH / RATE, 0, 0.0, []
    t_next = started = time.perf_counter()
    for batch in schedule(items):
        now = time.perf_counter()
        if now < t_next:
            time.sleep(t_next - now)
        late = max(late, time.perf_counter() - t_next)
        body = json.dumps({"messages": [
            {"message_id": f"{cid}.{m['id']}", "author_id": m["author"], "text": m["text"],
             "sent_at": datetime.now(UTC).isoformat(), "conversation": cid}
            | ({"author_age": m["age"]} if m.get("age") is not None else {})
            for cid, m in batch]})
        t0 = time.perf_counter()
        conn.request("POST", f"/api/v1/rooms/{room_id}/messages", body,
                     {"authorization": f"Bearer {key}", "content-type": "application/json"})
        response = conn.getresponse()
        answer = response.read()
        posts.append((time.perf_counter() - t0) * 1000)
        if response.status != 202:
            raise SystemExit(f"POST failed: {response.status} {answer[:500]!r}")
        for cid, m in batch:
            sent_at[(f"thread:{cid}", f"{cid}.{m['id']}")] = t0
        messages += len(batch)
        t_next += interval
    sending = time.perf_counter() - started
    return {"messages": messages, "send_seconds": round(sending, 2),
            "achieved_rate": round(messages / sending), "max_send_lag_ms": round(late * 1000, 1),
            "post_p50_ms": pct(sorted(posts), 0.5), "post_p99_ms": pct(sorted(posts), 0.99)}


def warm_up(conn: http.client.HTTPConnection, room_id: str, key: str, db: Database) -> None:
    """One ordinary chat through the whole path first: the scorer (server thread or worker
    process) has loaded its detector and connections before anything is timed."""
    body = json.dumps({"messages": [
        {"message_id": f"warm-{i}", "author_id": f"w-{i % 2}", "text": text,
         "sent_at": datetime.now(UTC).isoformat(), "conversation": "warm-up"}
        for i, text in enumerate(["hi", "did you watch the match", "yeah", "see you"])]})
    conn.request("POST", f"/api/v1/rooms/{room_id}/messages", body,
                 {"authorization": f"Bearer {key}", "content-type": "application/json"})
    response = conn.getresponse()
    response.read()
    if response.status != 202:
        raise SystemExit(f"warm-up POST failed: {response.status}")
    wait_until_scored(db)


def wait_until_scored(db: Database, timeout: float = 60) -> None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        with db.reading() as s:
            lagging = s.scalar(select(ConversationRow.id).where(
                ConversationRow.scored_seq < ConversationRow.ingested_seq).limit(1))
        if lagging is None:
            time.sleep(0.05)  # the poller sees the last alerts
            return
        time.sleep(0.05)
    raise SystemExit("messages were still unscored a minute after the last POST")


@contextlib.contextmanager
def watch_worker(env: dict[str, str], tmp: Path) -> Iterator[None]:
    """With the Redis transport, one `childsafe worker --watch` scores; the stream is
    deleted afterwards."""
    if TRANSPORT != "redis":
        yield
        return
    import redis

    log = (tmp / "worker.log").open("wb")
    worker = subprocess.Popen([str(Path(sys.executable).parent / "childsafe"), "worker", "--watch",
                               "--threads", str(WORKER_THREADS)],
                              env=os.environ | env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        yield
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
        log.close()
        client = redis.Redis.from_url(os.environ.get("CHILDSAFE_REDIS_URL", "redis://127.0.0.1:6379/0"))
        client.delete(env["CHILDSAFE_WATCH_STREAM"])
        client.close()


def latency_run(tmp: Path, url: str, keyring: Keyring) -> dict[str, Any]:
    db, room_id = setup_store(url, keyring)
    with db.transaction() as s:
        provider = providers.get_provider(s, "BenchChat")
        key = providers.issue_key(s, provider, "provider:message:write").plaintext
    items = corpus()
    env = {"CHILDSAFE_DATA_DIR": str(tmp), "CHILDSAFE_DATABASE_URL": db.url,
           "CHILDSAFE_KEYS": keyring.to_json(), "CHILDSAFE_WATCH_TRANSPORT": TRANSPORT,
           "CHILDSAFE_WATCH_STREAM": f"childsafe:bench:{os.getpid()}",
           "CHILDSAFE_WATCH_SERVE_CONSUMER": "false"}
    sent_at: dict[tuple[str, str], float] = {}  # (conversation key, message id) -> POST start
    seen: dict[str, float] = {}  # alert id -> first seen
    stop = threading.Event()

    def poll() -> None:
        reader = Database(db.url)
        try:
            while not stop.is_set():
                with reader.reading() as s:
                    for alert_id in s.scalars(select(AlertRow.id)):
                        seen.setdefault(alert_id, time.perf_counter())
                time.sleep(POLL_S)
        finally:
            reader.dispose()

    with running_server(env, tmp / "server.log") as (base, _server), watch_worker(env, tmp):
        host, port = base.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        try:
            warm_up(conn, room_id, key, db)
            run = stream(conn, room_id, key, items, sent_at)
            wait_until_scored(db)
        finally:
            stop.set()
            poller.join()
            conn.close()
    with db.reading() as s:
        crossing = s.execute(
            select(AlertRow.id, ConversationRow.key, WatchMessageRow.message_id, AlertRow.detector)
            .join(ConversationRow, ConversationRow.id == AlertRow.conversation_id)
            .join(WatchMessageRow, (WatchMessageRow.conversation_id == AlertRow.conversation_id)
                  & (WatchMessageRow.seq == AlertRow.message_seq))).all()
        unscored = len(s.scalars(select(WatchMessageRow.id).where(
            WatchMessageRow.score.is_(None))).all())
    db.dispose()
    latencies = sorted((seen[a] - sent_at[(key, mid)]) * 1000 for a, key, mid, _ in crossing
                       if a in seen)
    grooming_ids = {f"thread:{i['id']}" for i in items if i["kind"] == "grooming"}
    alerted = {key for _, key, _, _ in crossing}
    return {**run, "alerts": len(crossing), "grooming_alerted": len(alerted & grooming_ids),
            "ordinary_alerted": len(alerted - grooming_ids), "unscored": unscored,
            "detector": crossing[0][3] if crossing else None, "latencies_ms": latencies}


def log_errors(tmp: Path) -> int:
    """Tracebacks the server and worker logged (printed: a benchmark must not hide them)."""
    found = 0
    for name in ("server.log", "worker.log"):
        path = tmp / name
        text = path.read_text(errors="replace") if path.exists() else ""
        found += text.count("Traceback")
        if "Traceback" in text:
            print(f"{name}: {text[text.index('Traceback'):][:1500]}", flush=True)
    return found


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return round(values[min(len(values) - 1, int(round(q * (len(values) - 1))))], 1)


def main() -> dict[str, Any]:
    name, threshold = default_detector_settings()
    detector = detector_named(name)
    rate, total, alerts = detection(detector, threshold)
    print(f"detection ({detector.name}, threshold {threshold}): {total} messages, "
          f"{rate:,.0f} messages/s on one core (target {TARGET_RATE:,}), {alerts} alerts",
          flush=True)
    keyring = new_keyring()
    with tempfile.TemporaryDirectory(prefix="childsafe-watch-bench-") as tmp:
        with store_url(Path(tmp) / "scoring.db") as url:
            scoring_rate = store_scoring(url, keyring)
        print(f"store scoring path ({STORE}, decrypt + detect + write): {scoring_rate:,.0f} "
              "messages/s on one core", flush=True)
        with store_url(Path(tmp) / "serve.db") as url:
            run = latency_run(Path(tmp), url, keyring)
        run["log_errors"] = log_errors(Path(tmp))
    lat = run.pop("latencies_ms")
    p50, p99 = pct(lat, 0.5), pct(lat, 0.99)
    print(f"alert latency over {len(lat)} alerts ({run['messages']} messages at "
          f"{run['achieved_rate']}/s through POST, {TRANSPORT} transport, {STORE}): p50 {p50} ms, "
          f"p99 {p99} ms, max {round(max(lat), 1) if lat else 'n/a'} ms (target p99 < "
          f"{TARGET_P99_MS} ms); grooming conversations alerted {run['grooming_alerted']}/"
          f"{GROOMING}, ordinary {run['ordinary_alerted']}/{ORDINARY}; unscored "
          f"{run['unscored']}", flush=True)
    result = {"messages_per_s": round(rate), "alert_p50_ms": p50, "alert_p99_ms": p99,
              "alert_max_ms": round(max(lat), 1) if lat else None,
              "alert_mean_ms": round(statistics.fmean(lat), 1) if lat else None,
              "detector": detector.name, "threshold": threshold, "store": STORE,
              "transport": TRANSPORT, "detection_messages": total,
              "store_scoring_messages_per_s": round(scoring_rate),
              "target_messages_per_s": TARGET_RATE, "target_alert_p99_ms": TARGET_P99_MS,
              **run}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
