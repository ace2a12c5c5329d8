"""Load test: mixed traffic on 2 cores, the saturation point, graceful degradation past it, and
memory over a soak. Loopback only; bounded in time and in count.

It starts the platform the way the README tells an operator to (`childsafe serve --workers 2`,
PostgreSQL when one answers, else SQLite; shared rate limits through Redis when it answers;
Watch scoring in the serving processes) and offers, in an open loop (requests leave on
schedule whatever the server does; latency counts from the scheduled time, so a queue cannot
hide), a mix of:

* report intake: `POST /api/v1/reports` with a 3-message conversation (35 %);
* message ingestion: `POST /api/v1/rooms/{id}/messages`, 5 messages of a direct chat in a
  monitored room, scored in the background (35 %);
* officer console reads by an officer logged in with password + TOTP: `GET /api/v1/queue`,
  the console's home page (the case queue) and the Watch alert queue (30 %).

Phases:
1. ramp: the offered rate grows step by step (x1.4) until the server sheds load or stops
   gaining; the saturation point is the best rate of successful (2xx) answers;
2. 80 %: the saturation rate x 0.8 for 10 s: p50/p99 latency;
3. overload: 2x the saturation rate for 10 s: the share answered 429 (all carrying
   Retry-After), 5xx (must be 0) and client timeouts (10 s; must be 0);
4. soak: `--soak SECONDS` (30 by default; 600 for the documented 10-minute run) at 60 % of
   saturation (or `--soak-rate`), sampling the server's resident memory (supervisor and
   worker processes) every `--sample-every` seconds; growth is the least-squares slope over
   the samples after the first fifth (start-up caches), flat when below `FLAT_MB_PER_MIN`.

The load generator is asyncio with a small keep-alive HTTP/1.1 client of its own for the
bulk of the traffic (httpx costs ~2 ms of CPU a request, which on a machine the server shares
would measure the client); httpx logs the officer in. Its CPU per request is reported.
Set-up uses synthetic data only (example.com, drama-range phone numbers, grooming cues without
explicit content).

The last line is one JSON object: saturation_rps, p50_ms_at_80pct, p99_ms_at_80pct,
share_429_past_saturation, errors_5xx, timeouts, rss_start_mb, rss_end_mb,
rss_slope_mb_per_min (and details).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyotp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.support.server import running_server  # noqa: E402
from benchmarks.support.store import drop_pg, prepare_store  # noqa: E402
from childsafe.core.crypto import new_keyring  # noqa: E402
from childsafe.store import accounts, agencies, providers  # noqa: E402
from childsafe.store.db import Database  # noqa: E402
from childsafe.store.watch_models import RoomAssignmentRow, RoomRow, ShiftRow  # noqa: E402

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
HOST = "127.0.0.1"
WORKERS = int(os.environ.get("BENCH_WORKERS", str(os.cpu_count() or 2)))
TIMEOUT_S = 10.0  # a request not answered in this long counts as a timeout
MAX_CONNECTIONS = 1024
IDLE_S = 2.0
MIX = (("intake", 0.35), ("ingest", 0.35), ("console", 0.30))
RAMP_START, RAMP_FACTOR, RAMP_MAX_STEPS = 20.0, 1.4, 14
FLAT_MB_PER_MIN = 1.0  # memory growth below this over the soak counts as flat
PASSWORD = "load-officer-password-1"
PHONE = "+44 20 7946 0018"  # Ofcom's drama range: never a real line
UNLIMITED = {"CHILDSAFE_REPORTS_PER_IP_PER_HOUR": "100000000",
             "CHILDSAFE_REPORTS_PER_CONTACT_PER_DAY": "100000000",
             "CHILDSAFE_EVIDENCE_PER_REPORT_PER_DAY": "100000000"}
CHAT = [("a", 35, "hi there"), ("k", 13, "hi"), ("a", 35, "how old are you?"),
        ("k", 13, "13"), ("a", 35, "you seem really mature for your age")]


# ---- the store and the server ---------------------------------------------------------------

def redis_reachable(url: str) -> bool:
    try:
        import redis
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except Exception:  # noqa: BLE001
        return False


@dataclass
class Seeded:
    key: str
    rooms: list[str]
    username: str
    totp: str


def seed(db: Database, keyring: Any) -> Seeded:
    """A provider with rooms CEOP monitors round the clock, and a CEOP officer with TOTP."""
    import secrets
    with db.transaction() as s:
        agencies.seed_agencies(s)
        provider = providers.create_provider(s, "LoadChat")
        key = providers.issue_key(s, provider, ["provider:report:write",
                                                "provider:message:write"]).plaintext
        ceop = agencies.get_by_code(s, "UK-NCA-CEOP")
        user = accounts.create_user(s, agency=ceop, username="load.officer",
                                    display_name="Load Officer", password=PASSWORD,
                                    roles="officer", email="load.officer@example.com")
        totp = accounts.begin_totp_enrolment(s, keyring, user)
        user.totp_enrolled = True
        s.add(ShiftRow(agency_id=ceop.id, timezone="UTC", days=0b1111111, start_minute=0,
                       end_minute=0))  # start == end: all day
        rooms = []
        for i in range(8):
            room_id = "rm_" + secrets.token_hex(12)
            s.add(RoomRow(id=room_id, provider_id=provider.id, external_id=f"load-{i}",
                          title=f"Lounge {i}", audience="teen", language="en", region="GB",
                          active=True))
            s.flush()
            s.add(RoomAssignmentRow(room_id=room_id, agency_id=ceop.id))
            rooms.append(room_id)
    return Seeded(key, rooms, "load.officer", totp)


def login(base: str, username: str, totp_secret: str) -> str:
    """Log the officer in (password, then TOTP) with httpx; the Cookie header to send."""
    with httpx.Client(base_url=base, timeout=30, follow_redirects=True) as client:
        csrf = re.compile(r'name="csrf" value="([0-9a-f]{64})"')
        page = client.get("/login")
        r = client.post("/login", data={"username": username, "password": PASSWORD,
                                        "csrf": csrf.search(page.text).group(1)})
        match = csrf.search(r.text)
        assert match, r.text[:500]
        r = client.post("/login/mfa", data={"code": pyotp.TOTP(totp_secret).now(),
                                            "csrf": match.group(1)})
        if client.get("/api/v1/queue").status_code != 200:
            raise SystemExit(f"could not log {username} in")
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


def server_pids(pid: int) -> list[int]:
    pids = [pid]
    with contextlib.suppress(OSError):
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return pids


def rss_mb(pid: int) -> tuple[float, dict[int, float]]:
    """Resident memory of the server: its supervisor, workers (and multiprocessing's tracker)."""
    each: dict[int, float] = {}
    for p in server_pids(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    each[p] = int(line.split()[1]) / 1024
        except OSError:
            continue
    return round(sum(each.values()), 1), each


# ---- a lean HTTP/1.1 client -----------------------------------------------------------------

class Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.last_used = time.monotonic()

    async def request(self, data: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
        self.writer.write(data)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head[:-4].split(b"\r\n")
        status = int(lines[0][9:12])
        headers: dict[bytes, bytes] = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            body = bytearray()
            while True:
                size = int((await self.reader.readuntil(b"\r\n"))[:-2].split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                body += await self.reader.readexactly(size + 2)
                del body[-2:]
            return status, headers, bytes(body)
        length = int(headers.get(b"content-length", b"0"))
        return status, headers, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


class Pool:
    """Keep-alive connections, at most MAX_CONNECTIONS; a request waits for one if needed
    (that wait counts in its latency: it is measured from the schedule). A connection idle
    for IDLE_S is closed rather than reused (uvicorn closes idle ones after 5 s; a request
    sent as it does so would fail through no fault of the server)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.idle: list[Conn] = []
        self.open = 0
        self.freed = asyncio.Condition()

    async def get(self) -> Conn:
        async with self.freed:
            while not self.idle and self.open >= MAX_CONNECTIONS:
                await self.freed.wait()
            while self.idle:
                conn = self.idle.pop()
                if time.monotonic() - conn.last_used < IDLE_S:
                    return conn
                conn.close()
                self.open -= 1
            self.open += 1
        try:
            return Conn(*await asyncio.open_connection(HOST, self.port))
        except BaseException:
            async with self.freed:
                self.open -= 1
                self.freed.notify()
            raise

    async def put(self, conn: Conn, reusable: bool) -> None:
        async with self.freed:
            if reusable:
                conn.last_used = time.monotonic()
                self.idle.append(conn)
            else:
                conn.close()
                self.open -= 1
            self.freed.notify()

    def close(self) -> None:
        for conn in self.idle:
            conn.close()
        self.idle.clear()


# ---- the traffic ----------------------------------------------------------------------------

class Traffic:
    """Builds request k of the mix (deterministic: the same k, the same request)."""

    def __init__(self, port: int, seeded: Seeded, cookie: str, run: str) -> None:
        self.host = f"{HOST}:{port}"
        self.seeded, self.cookie, self.run = seeded, cookie, run
        bounds, total = [], 0.0
        for name, share in MIX:
            total += share
            bounds.append((total, name))
        self.bounds = bounds

    def kind(self, k: int) -> str:
        x = ((k * 0.6180339887498949) % 1.0)  # low-discrepancy: the mix holds in every window
        return next(name for bound, name in self.bounds if x < bound)

    def build(self, k: int) -> tuple[str, bytes]:
        kind = self.kind(k)
        if kind == "intake":
            return kind, self.post("/api/v1/reports", self.report(k), self.seeded.key)
        if kind == "ingest":
            room = self.seeded.rooms[k % len(self.seeded.rooms)]
            return kind, self.post(f"/api/v1/rooms/{room}/messages", self.chat(k),
                                   self.seeded.key)
        path = ("/api/v1/queue", "/", "/console/watch/alerts")[k % 3]
        accept = "application/json" if path.startswith("/api/") else "text/html"
        return kind, (f"GET {path} HTTP/1.1\r\nhost: {self.host}\r\ncookie: {self.cookie}\r\n"
                      f"accept: {accept}\r\n\r\n").encode()

    def post(self, path: str, doc: dict[str, Any], key: str) -> bytes:
        body = json.dumps(doc).encode()
        return (f"POST {path} HTTP/1.1\r\nhost: {self.host}\r\nauthorization: Bearer {key}\r\n"
                f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
                ).encode() + body

    def report(self, k: int) -> dict[str, Any]:
        now = datetime.now(UTC)
        stamp = (now - timedelta(hours=1)).replace(microsecond=0)
        suspect, kid = f"load-{self.run}-{k}", f"kid-{self.run}-{k}"
        return {
            "language": "en",
            "answers": {"danger": "no", "who": "parent_carer", "country": "GB",
                        "what": "contact", "cues": ["asked_age", "asked_secret"],
                        "platform": "Chatty", "when": now.date().isoformat(),
                        "suspect": suspect},
            "reporter": {"name": "Load Parent", "phone": PHONE, "country": "GB",
                         "age_band": "18_plus", "relationship": "parent_carer"},
            "conversation": {
                "platform": "chatty.test", "room_id": f"room-{k % 50}",
                "participants": [{"user_id": kid, "display_name": "Kid", "role": "reporter"},
                                 {"user_id": suspect, "display_name": "Sam",
                                  "role": "reported"}],
                "messages": [{"id": f"m{k}-{i}", "sender": sender, "text": text,
                              "sent_at": (stamp + timedelta(minutes=i)).isoformat()}
                             for i, (sender, text) in enumerate([
                                 (suspect, "how old are you?"), (kid, "13"),
                                 (suspect, "keep this chat our secret ok")], start=1)]},
        }

    def chat(self, k: int) -> dict[str, Any]:
        start = datetime.now(UTC) - timedelta(minutes=10)
        adult, kid = f"a-{self.run}-{k}", f"k-{self.run}-{k}"
        people = {"a": adult, "k": kid}
        return {"messages": [
            {"message_id": f"{self.run}-{k}-{i}", "author_id": people[who], "author_age": age,
             "recipient_id": kid if who == "a" else adult, "text": text,
             "sent_at": (start + timedelta(seconds=i)).isoformat()}
            for i, (who, age, text) in enumerate(CHAT)]}


@dataclass
class Step:
    name: str
    rate: float
    seconds: float
    sent: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    by_kind: dict[str, Counter[str]] = field(default_factory=dict)
    latency_ok: list[float] = field(default_factory=list)
    timeline: list[tuple[float, float, str]] = field(default_factory=list)  # (at, latency, kind)
    latency_all: list[float] = field(default_factory=list)
    retry_after_missing: int = 0
    client_cpu_s: float = 0.0
    wall_s: float = 0.0
    unexpected: list[str] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return self.outcomes["2xx"]

    @property
    def goodput(self) -> float:
        return self.ok / self.seconds

    def pct(self, p: float, values: list[float] | None = None) -> float | None:
        data = sorted(self.latency_ok if values is None else values)
        if not data:
            return None
        return round(data[min(len(data) - 1, int(len(data) * p / 100))] * 1000, 1)

    def per_minute(self) -> list[dict[str, Any]]:
        """p50/p99 of successful requests by the minute they were scheduled in (does
        latency creep up as the store fills?)."""
        minutes: dict[int, dict[str, list[float]]] = {}
        for at, latency, kind in self.timeline:
            by_kind = minutes.setdefault(int(at // 60), {})
            by_kind.setdefault("all", []).append(latency)
            by_kind.setdefault(kind, []).append(latency)
        return [{"minute": m, "ok": len(v["all"])} | {
                    f"{kind}_{p}_ms": self.pct(q, v[kind]) for kind in sorted(v)
                    for p, q in (("p50", 50), ("p99", 99))}
                for m, v in sorted(minutes.items())]

    def share(self, what: str) -> float:
        return round(self.outcomes[what] / self.sent, 4) if self.sent else 0.0

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "offered_rps": round(self.rate, 1),
                "sent": self.sent, "ok_rps": round(self.goodput, 1),
                "outcomes": dict(self.outcomes), "p50_ms": self.pct(50),
                "p99_ms": self.pct(99), "p99_all_ms": self.pct(99, self.latency_all),
                "max_ms": self.pct(100, self.latency_all),
                "share_429": self.share("429"), "retry_after_missing": self.retry_after_missing,
                "by_kind": {k: dict(v) for k, v in sorted(self.by_kind.items())},
                "client_cpu_ms_per_request": round(1000 * self.client_cpu_s / self.sent, 3)
                if self.sent else None}


async def run_step(step: Step, pool: Pool, traffic: Traffic, counter: list[int],
                   tick: Callable[[], None] | None = None) -> Step:
    """Send `rate` x `seconds` requests on schedule; wait for all (bounded by TIMEOUT_S)."""
    total = int(step.rate * step.seconds)
    cpu0, t0 = time.process_time(), time.perf_counter() + 0.05
    tasks: list[asyncio.Task[None]] = []

    async def one(k: int, scheduled: float) -> None:
        kind, data = traffic.build(k)
        outcome = "error"
        conn: Conn | None = None
        reusable = False
        try:
            async with asyncio.timeout(TIMEOUT_S - (time.perf_counter() - scheduled)):
                conn = await pool.get()
                status, headers, body = await conn.request(data)
            reusable = headers.get(b"connection", b"").lower() != b"close"
            outcome = "429" if status == 429 else f"{status // 100}xx"
            if status == 429 and not headers.get(b"retry-after", b"").isdigit():
                step.retry_after_missing += 1
            if status >= 300 and status != 429 and len(step.unexpected) < 10:
                step.unexpected.append(f"{kind} {status} {body[:200]!r}")
        except TimeoutError:
            outcome = "timeout"
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            outcome = "error"
            if len(step.unexpected) < 10:
                step.unexpected.append(f"{kind} {type(exc).__name__}: {exc}")
        finally:
            if conn is not None:
                await pool.put(conn, reusable)
        elapsed = time.perf_counter() - scheduled
        step.outcomes[outcome] += 1
        step.by_kind.setdefault(kind, Counter())[outcome] += 1
        step.latency_all.append(elapsed)
        if outcome == "2xx":
            step.latency_ok.append(elapsed)
            step.timeline.append((scheduled - t0, elapsed, kind))

    next_tick = time.perf_counter() + 5
    for i in range(total):
        scheduled = t0 + i / step.rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        k = counter[0]
        counter[0] += 1
        tasks.append(asyncio.create_task(one(k, scheduled)))
        if tick is not None and time.perf_counter() >= next_tick:
            tick()
            next_tick += 5
    step.sent = total
    await asyncio.gather(*tasks)
    step.wall_s = time.perf_counter() - t0
    step.client_cpu_s = time.process_time() - cpu0
    return step


def describe(step: Step) -> str:
    o = step.outcomes
    return (f"[{step.name}] offered {step.rate:7.1f}/s  ok {step.goodput:7.1f}/s  "
            f"p50 {step.pct(50)} ms  p99 {step.pct(99)} ms  429 {o['429']}  4xx {o['4xx']}  "
            f"5xx {o['5xx']}  timeouts {o['timeout']}  errors {o['error']}")


def slope_per_min(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB), in MB per minute."""
    n = len(samples)
    if n < 2:
        return 0.0
    mx = sum(t for t, _ in samples) / n
    my = sum(v for _, v in samples) / n
    var = sum((t - mx) ** 2 for t, _ in samples)
    return 60 * sum((t - mx) * (v - my) for t, v in samples) / var if var else 0.0


def scoring_backlog(db: Database) -> int:
    """Watch messages stored but not scored yet, in all conversations."""
    from sqlalchemy import func, select

    from childsafe.store.watch_models import ConversationRow
    with db.reading() as s:
        return int(s.scalar(select(func.coalesce(func.sum(
            ConversationRow.ingested_seq - ConversationRow.scored_seq), 0))) or 0)


async def measure(port: int, traffic: Traffic, server_pid: int, args: argparse.Namespace,
                  backlog: Callable[[], int]) -> dict[str, Any]:
    pool = Pool(port)
    counter = [0]
    steps: list[Step] = []
    try:
        # Warm up: every kind of request once at a gentle rate.
        print(describe(await run_step(Step("warm-up", 20, 3), pool, traffic, counter)),
              flush=True)
        # 1. Ramp until the server sheds (429) or stops gaining.
        rate, best, flat = RAMP_START, 0.0, 0
        for i in range(RAMP_MAX_STEPS):
            step = await run_step(Step(f"ramp {i + 1}", rate, args.step_seconds), pool,
                                  traffic, counter)
            steps.append(step)
            print(describe(step), flush=True)
            shedding = step.share("429") > 0.05 or step.outcomes["timeout"] > 0
            flat = flat + 1 if step.goodput < best * 1.05 else 0
            best = max(best, step.goodput)
            if shedding or flat >= 2 or step.goodput < 0.8 * rate:
                break
            rate *= RAMP_FACTOR
        saturation = max(s.goodput for s in steps)
        # 2. 80 % of saturation.
        at80 = await run_step(Step("80%", 0.8 * saturation, args.phase_seconds), pool, traffic,
                              counter)
        print(describe(at80), flush=True)
        # 3. Past saturation.
        over = await run_step(Step("200%", 2.0 * saturation, args.phase_seconds), pool, traffic,
                              counter)
        print(describe(over), flush=True)
        # 4. Soak.
        soak_rate = args.soak_rate or 0.6 * saturation
        samples: list[tuple[float, float]] = []
        unscored: list[tuple[float, int]] = []
        t_soak = time.monotonic()

        def sample() -> None:
            at = time.monotonic() - t_soak
            samples.append((at, rss_mb(server_pid)[0]))
            with contextlib.suppress(Exception):
                unscored.append((at, backlog()))

        sample()
        soak = Step("soak", soak_rate, args.soak)
        sampler_stop = asyncio.Event()

        async def sampler() -> None:
            while not sampler_stop.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(args.sample_every):
                        await sampler_stop.wait()
                sample()

        sampling = asyncio.create_task(sampler())
        print(f"[soak] {args.soak:.0f} s at {soak_rate:.1f}/s, RSS every {args.sample_every} s "
              "...", flush=True)
        await run_step(soak, pool, traffic, counter)
        sampler_stop.set()
        await sampling
        print(describe(soak), flush=True)
    finally:
        pool.close()
    warm = [s for s in samples if s[0] >= samples[-1][0] / 5] or samples
    slope = slope_per_min(warm)
    all_steps = [*steps, at80, over, soak]
    return {
        "saturation_rps": round(saturation, 1),
        "rate_at_80pct": round(at80.rate, 1),
        "p50_ms_at_80pct": at80.pct(50), "p99_ms_at_80pct": at80.pct(99),
        "share_429_at_80pct": at80.share("429"),
        "overload_rps": round(over.rate, 1), "ok_rps_past_saturation": round(over.goodput, 1),
        "share_429_past_saturation": over.share("429"),
        "p99_ms_all_past_saturation": over.pct(99, over.latency_all),
        "retry_after_missing": sum(s.retry_after_missing for s in all_steps),
        "errors_5xx": sum(s.outcomes["5xx"] for s in all_steps),
        "timeouts": sum(s.outcomes["timeout"] for s in all_steps),
        "connection_errors": sum(s.outcomes["error"] for s in all_steps),
        "other_3xx_4xx": sum(s.outcomes["3xx"] + s.outcomes["4xx"] for s in all_steps),
        "unexpected": [u for s in all_steps for u in s.unexpected][:10],
        "soak_s": args.soak, "soak_rps": round(soak_rate, 1),
        "soak_requests": soak.sent, "soak_outcomes": dict(soak.outcomes),
        "soak_p50_ms": soak.pct(50), "soak_p99_ms": soak.pct(99),
        "soak_by_minute": soak.per_minute(),
        "rss_start_mb": warm[0][1], "rss_end_mb": samples[-1][1],
        "rss_first_sample_mb": samples[0][1],
        "rss_slope_mb_per_min": round(slope, 3),
        "memory_flat": slope < FLAT_MB_PER_MIN,
        "rss_samples": [[round(t), v] for t, v in samples],
        "unscored_messages_samples": [[round(t), n] for t, n in unscored],
        "unscored_messages_end": unscored[-1][1] if unscored else None,
        "steps": [s.summary() for s in all_steps],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=["postgresql", "sqlite"], default=None,
                        help="default: PostgreSQL when it answers, else SQLite")
    parser.add_argument("--soak", type=float, default=30.0, help="soak seconds (600: 10 min)")
    parser.add_argument("--soak-rate", type=float, default=None,
                        help="requests/s during the soak (default 60%% of saturation)")
    parser.add_argument("--sample-every", type=float, default=5.0, help="RSS sample period")
    parser.add_argument("--step-seconds", type=float, default=6.0, help="each ramp step")
    parser.add_argument("--phase-seconds", type=float, default=10.0,
                        help="the 80%% and 200%% phases")
    args = parser.parse_args()
    if not 1 <= args.soak <= 3600:
        parser.error("--soak must be 1..3600 seconds")

    tmp = Path(tempfile.mkdtemp(prefix="childsafe-load-"))
    kinds = [args.store] if args.store else ["postgresql", "sqlite"]
    url, kind = None, ""
    for kind in kinds:
        url = prepare_store(kind, tmp, "load")
        if url:
            break
    if url is None:
        raise SystemExit("no store available")
    keyring = new_keyring()
    db = Database(url)
    seeded = seed(db, keyring)
    db.dispose()
    env = {"CHILDSAFE_DATA_DIR": str(tmp), "CHILDSAFE_DATABASE_URL": url,
           "CHILDSAFE_KEYS": keyring.to_json(), "CHILDSAFE_MAIL_SENDER": "memory",
           "CHILDSAFE_COOKIE_SECURE": "false"} | UNLIMITED
    limiter = "memory"
    if WORKERS > 1 and redis_reachable(REDIS_URL):
        limiter = "redis"
        env |= {"CHILDSAFE_RATE_LIMITER": "redis", "CHILDSAFE_REDIS_URL": REDIS_URL}
    print(f"load test: {kind}, childsafe serve --workers {WORKERS}, {limiter} rate limits, "
          f"mix {dict(MIX)}, open loop, timeout {TIMEOUT_S:.0f} s; load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    started = time.monotonic()
    load_before = os.getloadavg()
    try:
        with running_server(env, tmp / "server.log", workers=WORKERS,
                            cli_args=["--no-access-log"]) as (base, server):
            port = int(base.rsplit(":", 1)[1])
            cookie = login(base, seeded.username, seeded.totp)
            traffic = Traffic(port, seeded, cookie, os.urandom(3).hex())
            watch_db = Database(url)
            try:
                result = asyncio.run(measure(port, traffic, server.pid, args,
                                             lambda: scoring_backlog(watch_db)))
            finally:
                watch_db.dispose()
            alive = server.poll() is None
    finally:
        if url.startswith("postgresql"):
            drop_pg(url)
    from childsafe.config import Settings
    defaults = Settings(data_dir=tmp, keys=keyring.to_json())
    result = {
        "store": kind, "workers": WORKERS, "cores": os.cpu_count(), "rate_limiter": limiter,
        "mix": dict(MIX), "timeout_s": TIMEOUT_S,
        "admission": {"max_inflight": defaults.max_inflight,
                      "queue_ms": defaults.admission_queue_ms,
                      "max_waiting": defaults.admission_max_waiting,
                      "retry_after_s": defaults.admission_retry_after_s},
        **result,
        "server_survived": alive,
        "loadavg_before": round(load_before[0], 2), "loadavg_after": round(os.getloadavg()[0], 2),
        "duration_s": round(time.monotonic() - started, 1),
    }
    verdicts = []
    if result["errors_5xx"]:
        verdicts.append(f"FAIL {result['errors_5xx']} answers were 5xx")
    if result["timeouts"]:
        verdicts.append(f"FAIL {result['timeouts']} requests timed out ({TIMEOUT_S:.0f} s)")
    if result["retry_after_missing"]:
        verdicts.append(f"FAIL {result['retry_after_missing']} 429s had no Retry-After")
    if not result["memory_flat"]:
        verdicts.append(f"WARN memory grew {result['rss_slope_mb_per_min']} MB/min over the "
                        f"soak (flat: below {FLAT_MB_PER_MIN})")
    print(f"summary: saturation {result['saturation_rps']} req/s on {os.cpu_count()} cores; at "
          f"80 % p50 {result['p50_ms_at_80pct']} ms, p99 {result['p99_ms_at_80pct']} ms; past "
          f"saturation {100 * result['share_429_past_saturation']:.0f} % answered 429, 5xx "
          f"{result['errors_5xx']}, timeouts {result['timeouts']}; RSS "
          f"{result['rss_start_mb']} -> {result['rss_end_mb']} MB over {args.soak:.0f} s "
          f"({result['rss_slope_mb_per_min']:+} MB/min)")
    for line in verdicts or ["all load checks passed"]:
        print(line)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
