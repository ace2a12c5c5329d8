"""Intake benchmark: durable reports/s and latency for the provider API, SQLite and PostgreSQL.

For each store it starts the server the way the README tells an operator to (`childsafe serve
--workers 2` on a 2-core machine; uvloop and httptools are used when installed, as they are
with the package's dependencies; with several workers the rate limits are shared through Redis,
as the README requires), files reports through `POST /api/v1/reports` with a 3-message
conversation, and checks every 201 is a row in the store (durable: committed before the answer).
Two measurements per store:
- throughput: a closed loop with 32 concurrent clients, for a fixed number of reports; the
  clients' keep-alive connections are spread evenly over the worker processes, as a load
  balancer (or many independent clients) would spread them;
- latency at 100 reports/s: an open loop (requests leave on schedule, latency counted from the
  scheduled time, so a slow server cannot hide its queue), for 10 s.
It also reports the CPU time spent per report by the server, by PostgreSQL and by this load
generator, and the ceiling that puts on throughput on this machine's cores (where the time
goes when a target is missed).
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

from benchmarks.support.server import (  # noqa: E402
    UNLIMITED,
    connection_owners,
    cpu_seconds,
    running_server,
    server_processes,
)
from benchmarks.support.store import PG_ADMIN, drop_pg, prepare_store  # noqa: E402
from childsafe.core.crypto import new_keyring  # noqa: E402
from childsafe.store import agencies, providers  # noqa: E402
from childsafe.store.db import Database  # noqa: E402
from childsafe.store.report_models import ReportRow  # noqa: E402

THROUGHPUT_REPORTS = int(os.environ.get("BENCH_REPORTS", "3000"))
CONCURRENCY = 32
HOST = "127.0.0.1"
# Worker processes: one per core, as the README advises for `childsafe serve`.
CORES = os.cpu_count() or 2
WORKERS = {"sqlite": int(os.environ.get("BENCH_SQLITE_WORKERS", str(CORES))),
           "postgresql": int(os.environ.get("BENCH_PG_WORKERS", str(CORES)))}
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
DURABILITY = {
    "sqlite": "WAL, synchronous=NORMAL: a 201 is committed to the WAL (survives a crash of "
              "the server process); the last commits before a power loss or OS crash may be "
              "lost, the database is never corrupted",
    "postgresql": "synchronous_commit=on: a 201 is flushed to disk (fsync) before it is sent",
}
TARGETS = {"sqlite": 300, "postgresql": 1000}
P99_TARGET_MS = 100
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

    def local_port(self) -> int:
        return int(self.writer.get_extra_info("sockname")[1])

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


async def balanced_connections(host: str, port: int, n: int, workers: list[int]
                               ) -> list[Connection]:
    """`n` keep-alive connections, as evenly spread over the worker processes as a balancer
    would spread them (uvicorn's workers share one socket and the first to wake accepts a
    whole burst of connections, which no load balancer or crowd of clients would do)."""
    share = -(-n // max(len(workers), 1))
    kept: dict[int, list[Connection]] = {}
    spare: list[Connection] = []
    ping = f"GET /healthz HTTP/1.1\r\nhost: {host}:{port}\r\n\r\n".encode()
    for _ in range(8):  # rounds: open what is missing, then see where each one landed
        missing = n - sum(len(c) for c in kept.values())
        if missing <= 0:
            break
        fresh = []
        for _ in range(missing):
            conn = await Connection.open(host, port)
            await conn.post(ping)  # answered: accepted by a worker
            fresh.append(conn)
        owners = connection_owners(workers, port)
        for conn in fresh:
            owner = owners.get(conn.local_port())
            if owner is None or len(kept.setdefault(owner, [])) >= share:
                spare.append(conn)
            else:
                kept[owner].append(conn)
    chosen = [c for conns in kept.values() for c in conns]
    while len(chosen) < n and spare:  # could not tell (no /proc): take them as they came
        chosen.append(spare.pop())
    for conn in spare:
        conn.close()
    for conn in chosen:  # fresh for the server's keep-alive timeout
        await conn.post(ping)
    return chosen[:n]


async def closed_loop(host: str, port: int, key: str, n: int, start: int,
                      workers: list[int]) -> tuple[float, int, list[float]]:
    ok, latencies = 0, []
    counter = iter(range(start, start + n))
    requests = [report_request(host, port, key, i) for i in range(start, start + n)]

    async def worker(conn: Connection) -> None:
        nonlocal ok
        try:
            for i in counter:
                t0 = time.perf_counter()
                status, body = await conn.post(requests[i - start])
                latencies.append(time.perf_counter() - t0)
                if status == 201:
                    ok += 1
                else:
                    print("unexpected", status, body[:300])
        finally:
            conn.close()

    conns = await balanced_connections(host, port, CONCURRENCY, workers)
    t0 = time.perf_counter()
    await asyncio.gather(*(worker(conn) for conn in conns))
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

    requests = [report_request(host, port, key, start + k) for k in range(RATE * RATE_SECONDS)]

    async def one(k: int) -> None:
        nonlocal ok
        request = requests[k]
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


def postgres_pids(url: str) -> list[int]:
    """The backends serving the bench database, and the WAL writer (commits wait on it)."""
    from sqlalchemy import create_engine, text
    admin = create_engine(PG_ADMIN)
    with admin.connect() as conn:
        pids = [int(p) for p in conn.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = :db OR backend_type = "
            "'walwriter'"), {"db": url.rsplit("/", 1)[1]}).scalars()]
    admin.dispose()
    return pids


def redis_reachable(url: str) -> bool:
    try:
        import redis
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except Exception:  # noqa: BLE001
        return False


def run_store(kind: str) -> dict | None:
    tmp = Path(tempfile.mkdtemp(prefix=f"childsafe-bench-{kind}-"))
    url = prepare_store(kind, tmp, "bench")
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
    limiter = "memory"
    if WORKERS[kind] > 1:  # the README: shared limits when several processes serve
        if redis_reachable(REDIS_URL):
            limiter = "redis"
            env |= {"CHILDSAFE_RATE_LIMITER": "redis", "CHILDSAFE_REDIS_URL": REDIS_URL}
        else:
            print(f"[{kind}] Redis not reachable at {REDIS_URL}: in-process rate limits")
    with running_server(env, tmp / "server.log", workers=WORKERS[kind],
                        cli_args=["--no-access-log"]) as (base, server):
        port = int(base.rsplit(":", 1)[1])
        pids = server_processes(server)
        asyncio.run(closed_loop(HOST, port, key, 300, 0, pids))  # warm-up
        print(f"[{kind}] throughput: {THROUGHPUT_REPORTS} reports, {CONCURRENCY} clients, "
              f"{WORKERS[kind]} workers, {limiter} rate limits ...", flush=True)
        db_pids = postgres_pids(url) if kind == "postgresql" else []
        cpu0, server0, db0 = time.process_time(), cpu_seconds(pids), cpu_seconds(db_pids)
        rate, ok_tp, tp_lat = asyncio.run(closed_loop(HOST, port, key, THROUGHPUT_REPORTS, 1000,
                                                      pids))
        per = max(ok_tp, 1)
        cpu = {"server": (cpu_seconds(pids) - server0) / per,
               "postgresql": (cpu_seconds(db_pids) - db0) / per,
               "load_generator": (time.process_time() - cpu0) / per}
        print(f"[{kind}] open loop at {RATE}/s for {RATE_SECONDS}s ...", flush=True)
        lat, ok_open = asyncio.run(open_loop(HOST, port, key, 10_000_000))
        rss = peak_rss_mb(server.pid)
    with db.transaction() as s:
        from sqlalchemy import func, select
        stored = int(s.scalar(select(func.count()).select_from(ReportRow)) or 0)
    db.dispose()
    if kind == "postgresql":
        drop_pg(url)
    expected = 300 + ok_tp + ok_open
    cpu_total = sum(cpu.values())
    result = {"reports_per_s": round(rate, 1), "throughput_ok": ok_tp,
              "throughput_p50_ms": pct(tp_lat, 50), "throughput_p99_ms": pct(tp_lat, 99),
              "p50_ms_at_100": pct(lat, 50), "p99_ms_at_100": pct(lat, 99),
              "max_ms_at_100": pct(lat, 100), "open_loop_ok": ok_open,
              "stored": stored, "lost": expected - stored, "peak_rss_mb": rss,
              "workers": WORKERS[kind], "rate_limiter": limiter,
              "cpu_ms_per_report": {k: round(v * 1000, 3) for k, v in cpu.items()},
              # If the cores did nothing else and nothing waited: cores / CPU per report.
              "cpu_ceiling_reports_per_s": round(CORES / cpu_total) if cpu_total else None,
              "client_cpu_ms_per_report": round(cpu["load_generator"] * 1000, 3)}
    print(f"[{kind}] {result}", flush=True)
    return result


def shortfalls(results: dict[str, dict | None]) -> list[str]:
    """One plain sentence per missed target, with where the time goes."""
    lines = []
    for kind, target in TARGETS.items():
        r = results[kind]
        if r is None:
            lines.append(f"{kind}: not measured (no server reachable)")
            continue
        if r["reports_per_s"] < target:
            c = r["cpu_ms_per_report"]
            lines.append(
                f"{kind}: {r['reports_per_s']:.0f} reports/s is BELOW the {target:,}/s target "
                f"({100 * r['reports_per_s'] / target:.0f} %). CPU per report: server "
                f"{c['server']:.2f} ms, PostgreSQL {c['postgresql']:.2f} ms, load generator "
                f"{c['load_generator']:.2f} ms; on {CORES} cores that caps throughput at about "
                f"{r['cpu_ceiling_reports_per_s']}/s even with nothing waiting.")
        if r["p99_ms_at_100"] >= P99_TARGET_MS:
            lines.append(f"{kind}: p99 at {RATE}/s is {r['p99_ms_at_100']} ms, above the "
                         f"{P99_TARGET_MS} ms target.")
    return lines


def main() -> None:
    sqlite = run_store("sqlite")
    postgres = run_store("postgresql")
    assert sqlite is not None
    missed = shortfalls({"sqlite": sqlite, "postgresql": postgres})
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
        "rate_limiter": {"sqlite": sqlite["rate_limiter"],
                         "postgresql": postgres["rate_limiter"] if postgres else None},
        "cpu_ms_per_report": {"sqlite": sqlite["cpu_ms_per_report"],
                              "postgresql": postgres["cpu_ms_per_report"] if postgres else None},
        "cpu_ceiling_reports_per_s": {
            "sqlite": sqlite["cpu_ceiling_reports_per_s"],
            "postgresql": postgres["cpu_ceiling_reports_per_s"] if postgres else None},
        "client_cpu_ms_per_report": sqlite["client_cpu_ms_per_report"],
        "durability": DURABILITY,
        "targets": {"sqlite_reports_per_s": TARGETS["sqlite"],
                    "postgres_reports_per_s": TARGETS["postgresql"],
                    "p99_ms_at_100": P99_TARGET_MS},
        "targets_missed": missed,
    }
    print(f"summary: SQLite {summary['sqlite_reports_per_s']:.0f} reports/s, PostgreSQL "
          f"{summary['postgres_reports_per_s']} reports/s, p99 at 100/s "
          f"{summary['p99_ms_at_100']:.1f} ms")
    for line in missed:
        print("SHORTFALL " + line)
    if not missed:
        print("all intake targets met")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
