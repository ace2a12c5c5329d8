"""Intake benchmark: durable reports/s and latency for the provider API, SQLite and PostgreSQL.

For each store it starts the real server (uvicorn, `WORKERS[store]` workers) on loopback, files reports
through `POST /api/v1/reports` with a 3-message conversation, and checks every 201 is a row in
the store (durable: committed before the answer). Two measurements per store:
- throughput: a closed loop with 32 concurrent clients, for a fixed number of reports;
- latency at 100 reports/s: an open loop (requests leave on schedule, latency counted from the
  scheduled time, so a slow server cannot hide its queue), for 10 s.
Targets (issue 3): >= 300 reports/s on SQLite, >= 1,000/s on PostgreSQL, p99 < 100 ms at 100/s.
The last line is one JSON object. PostgreSQL is skipped (null) only when no server answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.support.server import UNLIMITED, running_server  # noqa: E402
from childsafe.core.crypto import new_keyring  # noqa: E402
from childsafe.store import agencies, migrate, providers  # noqa: E402
from childsafe.store.db import Database, make_engine  # noqa: E402
from childsafe.store.report_models import ReportRow  # noqa: E402

PG_ADMIN = os.environ.get("CHILDSAFE_TEST_PG_URL",
                          "postgresql+psycopg://childsafe:childsafe@127.0.0.1:5432/postgres")
THROUGHPUT_REPORTS = int(os.environ.get("BENCH_REPORTS", "3000"))
CONCURRENCY = 32
HOST = "127.0.0.1"
# Uvicorn workers per store. SQLite has one writer at a time whatever the process count;
# PostgreSQL gains from a process per core (its commits wait on the WAL flush, not the GIL).
WORKERS = {"sqlite": int(os.environ.get("BENCH_SQLITE_WORKERS", "2")),
           "postgresql": int(os.environ.get("BENCH_PG_WORKERS", "2"))}
DURABILITY = {
    "sqlite": "WAL, synchronous=NORMAL: a 201 is committed to the WAL (survives a crash of "
              "the server process); the last commits before a power loss or OS crash may be "
              "lost, the database is never corrupted",
    "postgresql": "synchronous_commit=on: a 201 is flushed to disk (fsync) before it is sent",
}
RATE, RATE_SECONDS = 100, 10


def report_body(i: int) -> dict:
    """A young person's report with a 3-message capture showing grooming cues only."""
    stamp = "2026-11-20T10:0{}:00+00:00"
    return {
        "language": "en",
        "answers": {"danger": "no", "who": "young_person", "country": "GB", "what": "contact",
                    "cues": ["asked_age", "asked_secret"], "platform": "Chatty",
                    "when": "2026-11-20", "suspect": f"user{i}"},
        "reporter": {"name": "Bench Reporter", "email": f"r{i}@example.com", "country": "GB",
                     "age_band": "13_15", "relationship": "self"},
        "conversation": {
            "platform": "chatty.test", "room_id": f"room-{i % 50}",
            "participants": [{"user_id": f"kid{i}", "display_name": "Kid", "role": "reporter"},
                             {"user_id": f"user{i}", "display_name": "Sam", "role": "reported"}],
            "messages": [
                {"id": f"m{i}-1", "sender": f"user{i}", "sent_at": stamp.format(1),
                 "text": "how old are you?"},
                {"id": f"m{i}-2", "sender": f"kid{i}", "sent_at": stamp.format(2), "text": "13"},
                {"id": f"m{i}-3", "sender": f"user{i}", "sent_at": stamp.format(3),
                 "text": "keep this chat our secret ok"}]},
    }


def prepare_store(kind: str, tmp: Path) -> str | None:
    if kind == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
    else:
        from sqlalchemy import create_engine, text
        name = f"childsafe_bench_{os.getpid()}"
        try:
            admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
        except Exception as exc:  # noqa: BLE001
            print(f"PostgreSQL not reachable at {PG_ADMIN} ({type(exc).__name__}); skipping it")
            return None
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return url


def drop_pg(url: str) -> None:
    from sqlalchemy import create_engine, text
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def peak_rss_mb(pid: int) -> float:
    """VmHWM of the server and its worker processes, summed."""
    total = 0
    pids = [pid]
    with contextlib.suppress(OSError):
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return round(total / 1024, 1)


class Connection:
    """One keep-alive HTTP/1.1 connection speaking just enough HTTP for this benchmark.

    httpx spends ~3 ms of CPU per request, a whole core at 300 requests/s on a machine the
    server shares; this client spends a small fraction of that, so the figures are the
    server's."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        return cls(*await asyncio.open_connection(host, port))

    async def post(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


def report_request(host: str, port: int, key: str, i: int) -> bytes:
    body = json.dumps(report_body(i)).encode()
    return (f"POST /api/v1/reports HTTP/1.1\r\nhost: {host}:{port}\r\n"
            f"authorization: Bearer {key}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n").encode() + body


async def closed_loop(host: str, port: int, key: str, n: int, start: int
                      ) -> tuple[float, int, list[float]]:
    ok, latencies = 0, []
    counter = iter(range(start, start + n))

    async def worker() -> None:
        nonlocal ok
        conn = await Connection.open(host, port)
        try:
            for i in counter:
                request = report_request(host, port, key, i)
                t0 = time.perf_counter()
                status, body = await conn.post(request)
                latencies.append(time.perf_counter() - t0)
                if status == 201:
                    ok += 1
                else:
                    print("unexpected", status, body[:300])
        finally:
            conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    elapsed = time.perf_counter() - t0
    return ok / elapsed, ok, latencies


async def open_loop(host: str, port: int, key: str, start: int) -> tuple[list[float], int]:
    """Requests leave on schedule whatever the server does; latency counts from the schedule.

    A request takes an idle keep-alive connection, or opens one when all are busy; a
    connection idle for 2 s is closed first (uvicorn closes them after 5 s)."""
    latencies: list[float] = []
    ok = 0
    idle: list[tuple[float, Connection]] = []

    async def connection() -> Connection:
        while idle:
            last_used, conn = idle.pop()
            if time.perf_counter() - last_used < 2.0:
                return conn
            conn.close()
        return await Connection.open(host, port)
    t_start = time.perf_counter() + 0.2

    async def one(k: int) -> None:
        nonlocal ok
        request = report_request(host, port, key, start + k)
        scheduled = t_start + k / RATE
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        conn = await connection()
        status, _ = await conn.post(request)
        latencies.append(time.perf_counter() - scheduled)
        idle.append((time.perf_counter(), conn))
        ok += status == 201

    await asyncio.gather(*(one(k) for k in range(RATE * RATE_SECONDS)))
    for _, conn in idle:
        conn.close()
    return latencies, ok


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] * 1000, 2)


def run_store(kind: str) -> dict | None:
    tmp = Path(tempfile.mkdtemp(prefix=f"childsafe-bench-{kind}-"))
    url = prepare_store(kind, tmp)
    if url is None:
        return None
    keyring = new_keyring()
    db = Database(url)
    with db.transaction() as s:
        agencies.seed_agencies(s)
        key = providers.issue_key(s, providers.create_provider(s, "BenchChat"),
                                  ["provider:report:write"]).plaintext
    env = {"CHILDSAFE_DATA_DIR": str(tmp), "CHILDSAFE_DATABASE_URL": url,
           "CHILDSAFE_KEYS": keyring.to_json(), "CHILDSAFE_MAIL_SENDER": "memory"} | UNLIMITED
    with running_server(env, tmp / "server.log", workers=WORKERS[kind]) as (base, server):
        port = int(base.rsplit(":", 1)[1])
        asyncio.run(closed_loop(HOST, port, key, 200, 0))  # warm-up
        print(f"[{kind}] throughput: {THROUGHPUT_REPORTS} reports, {CONCURRENCY} clients, "
              f"{WORKERS[kind]} workers ...", flush=True)
        cpu0 = time.process_time()
        rate, ok_tp, tp_lat = asyncio.run(closed_loop(HOST, port, key, THROUGHPUT_REPORTS, 1000))
        client_cpu = (time.process_time() - cpu0) / max(ok_tp, 1)
        print(f"[{kind}] open loop at {RATE}/s for {RATE_SECONDS}s ...", flush=True)
        lat, ok_open = asyncio.run(open_loop(HOST, port, key, 10_000_000))
        rss = peak_rss_mb(server.pid)
    with db.transaction() as s:
        from sqlalchemy import func, select
        stored = int(s.scalar(select(func.count()).select_from(ReportRow)) or 0)
    db.dispose()
    if kind == "postgresql":
        drop_pg(url)
    expected = 200 + ok_tp + ok_open
    result = {"reports_per_s": round(rate, 1), "throughput_ok": ok_tp,
              "throughput_p50_ms": pct(tp_lat, 50), "throughput_p99_ms": pct(tp_lat, 99),
              "p50_ms_at_100": pct(lat, 50), "p99_ms_at_100": pct(lat, 99),
              "max_ms_at_100": pct(lat, 100), "open_loop_ok": ok_open,
              "stored": stored, "lost": expected - stored, "peak_rss_mb": rss,
              "workers": WORKERS[kind], "client_cpu_ms_per_report": round(client_cpu * 1000, 3)}
    print(f"[{kind}] {result}", flush=True)
    return result


def main() -> None:
    sqlite = run_store("sqlite")
    postgres = run_store("postgresql")
    assert sqlite is not None
    summary = {
        "sqlite_reports_per_s": sqlite["reports_per_s"],
        "postgres_reports_per_s": postgres["reports_per_s"] if postgres else None,
        "p50_ms_at_100": (postgres or sqlite)["p50_ms_at_100"],
        "p99_ms_at_100": (postgres or sqlite)["p99_ms_at_100"],
        "sqlite_p50_ms_at_100": sqlite["p50_ms_at_100"],
        "sqlite_p99_ms_at_100": sqlite["p99_ms_at_100"],
        "postgres_p50_ms_at_100": postgres["p50_ms_at_100"] if postgres else None,
        "postgres_p99_ms_at_100": postgres["p99_ms_at_100"] if postgres else None,
        "lost_reports": sqlite["lost"] + (postgres["lost"] if postgres else 0),
        "peak_rss_mb": max(sqlite["peak_rss_mb"], postgres["peak_rss_mb"] if postgres else 0),
        "workers": {"sqlite": sqlite["workers"],
                    "postgresql": postgres["workers"] if postgres else None},
        "client_cpu_ms_per_report": sqlite["client_cpu_ms_per_report"],
        "durability": DURABILITY,
        "targets": {"sqlite_reports_per_s": 300, "postgres_reports_per_s": 1000,
                    "p99_ms_at_100": 100},
    }
    print(f"summary: SQLite {summary['sqlite_reports_per_s']:.0f} reports/s, PostgreSQL "
          f"{summary['postgres_reports_per_s']} reports/s, p99 at 100/s "
          f"{summary['p99_ms_at_100']:.1f} ms")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
