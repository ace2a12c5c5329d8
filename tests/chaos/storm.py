"""What the kill storm runs (not collected): the platform's processes, a webhook receiver and a
bounded load generator that remembers exactly what the platform acknowledged.

Everything listens and connects on 127.0.0.1 only. The load is bounded in count (reports,
conversations) and in time (it stops when told, and every request has a timeout).
Chats are non-explicit grooming cues (tests.watch.stream_factory.GROOMING); evidence is
synthetic; addresses are example.com and phone numbers from the UK's drama range.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pyotp

from childsafe.reports.core import webhooks
from tests.watch.stream_factory import BENIGN, GROOMING

HOST = "127.0.0.1"
PHONE = "+44 20 7946 0018"  # Ofcom's range for drama: never a real line
CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


# ---- the receiver ---------------------------------------------------------------------------

class Receiver:
    """Webhook receiver on 127.0.0.1: checks the signature with the secret of the path it was
    posted to, counts every arrival by delivery id and applies each id once."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}  # path -> signing secret
        self.arrivals: Counter[str] = Counter()  # delivery id -> times received
        self.applied: dict[str, dict[str, Any]] = {}  # delivery id -> body, applied once
        self.applied_count: Counter[str] = Counter()
        self.rejected = 0
        self._lock = threading.Lock()
        self._armed = False
        self.held = threading.Event()  # an armed arrival is being held
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = receiver.on_post(self.path, self.headers, body)
                receiver.maybe_hold()
                with contextlib.suppress(OSError):  # the sender may have died meanwhile
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.server.server_address[1]}{path}"

    def on_post(self, path: str, headers: Any, body: bytes) -> int:
        secret = self.secrets.get(path)
        if secret is None or not webhooks.verify_signature(
                secret, headers.get(webhooks.TIMESTAMP_HEADER), body,
                headers.get(webhooks.SIGNATURE_HEADER)):
            with self._lock:
                self.rejected += 1
            return 401
        key = headers.get(webhooks.DELIVERY_HEADER, "")
        with self._lock:
            self.arrivals[key] += 1
            if key not in self.applied:  # a repeat is acknowledged, not applied again
                self.applied[key] = json.loads(body)
                self.applied_count[key] += 1
        return 200

    def arm(self) -> None:
        """Hold the answer to the next delivery (applied already) until `release` is set:
        its sender can be killed after the receiver applied it and before it heard 200."""
        with self._lock:
            self.held.clear()
            self.release.clear()
            self._armed = True

    def disarm(self) -> None:
        with self._lock:
            self._armed = False
        self.release.set()

    def maybe_hold(self) -> None:
        with self._lock:
            hold, self._armed = self._armed, False
        if hold:
            self.held.set()
            self.release.wait(timeout=30)

    def snapshot(self) -> tuple[Counter[str], Counter[str]]:
        with self._lock:
            return Counter(self.arrivals), Counter(self.applied_count)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.disarm()
        self.server.shutdown()
        self.server.server_close()


# ---- the platform's processes ---------------------------------------------------------------

def childsafe_command() -> list[str]:
    exe = Path(sys.executable).parent / "childsafe"
    return [str(exe)] if exe.exists() else [
        sys.executable, "-c", "from childsafe.cli.main import run; run()"]


@dataclass
class Role:
    """One process role (`childsafe serve`, `worker`, `worker --watch`), restartable.

    Each start is its own session and process group, so SIGKILL to the group takes the
    uvicorn supervisor and its worker processes down together, as a crash of the host would."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        with self.log.open("ab") as out:
            out.write(f"\n==== start {self.starts + 1} of {self.name} at {time.time():.3f}\n"
                      .encode())
            out.flush()
            self.proc = subprocess.Popen([*childsafe_command(), *self.args], env=self.env,
                                         stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL the whole group (no cleanup of any kind), then reap."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def children(self) -> list[int]:
        """uvicorn's worker processes (not multiprocessing's resource tracker)."""
        assert self.proc is not None
        try:
            text = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return []
        workers = []
        for pid in (int(p) for p in text.split()):
            try:
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    workers.append(pid)
            except OSError:
                continue
        return workers

    def stop(self) -> None:
        """SIGTERM, bounded; SIGKILL the group if it does not go."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()
        with contextlib.suppress(ProcessLookupError):  # stragglers of the group
            os.killpg(self.proc.pid, signal.SIGKILL)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def wait_healthy(base: str, role: Role, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not role.alive():
            raise AssertionError(f"{role.name} exited ({role.proc and role.proc.returncode}):\n"
                                 + role.tail())
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{role.name} never became healthy:\n{role.tail()}")


# ---- what was acknowledged ------------------------------------------------------------------

@dataclass
class Ledger:
    """What the platform said yes (2xx) to, and what it did not."""

    reports: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # ref -> evidence
    messages: set[tuple[str, str]] = field(default_factory=set)  # (room id, message id)
    conversations: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    interventions: set[str] = field(default_factory=set)  # alert ids, 303 seen
    outcomes: Counter[str] = field(default_factory=Counter)  # what each attempt got
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, what: str) -> None:
        with self.lock:
            self.outcomes[what] += 1

    @property
    def evidence(self) -> int:
        return sum(len(items) for items in self.reports.values())


def outcome_of(exc: BaseException | None, response: httpx.Response | None) -> str:
    if exc is not None:
        if isinstance(exc, httpx.TimeoutException):
            return "timeout"
        return "connection_error"  # refused while down, reset when killed mid-request
    assert response is not None
    return f"{response.status_code // 100}xx" if response.status_code != 429 else "429"


def tiny_png(nonce: bytes) -> bytes:
    """A valid 1x1 PNG whose bytes (and so its hash) are unique to `nonce`."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"tEXt", b"Comment\x00" + nonce)
            + chunk(b"IDAT", zlib.compress(b"\x00\x10\x20\x30")) + chunk(b"IEND", b""))


def report_body(i: int, run: str) -> dict[str, Any]:
    """An immediate report (someone in danger now: it reaches officers and the agency's
    channel at once) by a parent; every other one gives an email (a verification mail)."""
    now = datetime.now(UTC)
    reporter: dict[str, Any] = {"name": "Storm Parent", "country": "GB", "age_band": "18_plus",
                                "relationship": "parent_carer"}
    reporter |= {"email": f"storm-{run}-{i}@example.com"} if i % 2 else {"phone": PHONE}
    stamp = (now - timedelta(hours=1)).replace(microsecond=0)
    return {
        "language": "en",
        "answers": {"danger": "yes", "who": "parent_carer", "country": "GB", "what": "contact",
                    "cues": ["asked_age", "asked_alone"], "platform": "Chatty",
                    "when": now.date().isoformat(), "suspect": f"storm-{run}-{i}"},
        "reporter": reporter,
        "conversation": {
            "platform": "chatty.test", "room_id": f"room-{i % 7}",
            "participants": [
                {"user_id": f"kid-{run}-{i}", "display_name": "Kid", "role": "reporter"},
                {"user_id": f"storm-{run}-{i}", "display_name": "Sam", "role": "reported"}],
            "messages": [
                {"id": f"m{i}-{k}", "sender": sender, "text": text,
                 "sent_at": (stamp + timedelta(minutes=k)).isoformat()}
                for k, (sender, text) in enumerate([
                    (f"storm-{run}-{i}", "how old are you?"), (f"kid-{run}-{i}", "13"),
                    (f"storm-{run}-{i}", "keep this chat our secret ok")], start=1)]},
    }


class Load:
    """The bounded load generator: report intake (with evidence), message streams (grooming
    and benign conversations, retried until acknowledged: the API is idempotent on
    message_id), and an officer who intervenes on each alert through the console."""

    def __init__(self, base: str, provider_key: str, rooms: list[str], ledger: Ledger, *,
                 run: str, max_reports: int, max_conversations: int, seed: int) -> None:
        self.base, self.key, self.rooms, self.ledger = base, provider_key, rooms, ledger
        self.run, self.max_reports, self.max_conversations = run, max_reports, max_conversations
        self.stop = threading.Event()  # no new reports or conversations after this
        self.officer_stop = threading.Event()
        self.deadline = float("inf")  # monotonic: give up retrying after this
        self.random = random.Random(seed)
        self._conversation_ids = iter(range(max_conversations))
        self._conv_lock = threading.Lock()
        self.threads: list[threading.Thread] = []
        self.errors: list[str] = []

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=10,
                            headers={"authorization": f"Bearer {self.key}"})

    def attempt(self, client: httpx.Client, method: str, url: str, **kw: Any
                ) -> httpx.Response | None:
        try:
            response = client.request(method, url, **kw)
        except httpx.HTTPError as exc:
            self.ledger.count(outcome_of(exc, None))
            return None
        self.ledger.count(outcome_of(None, response))
        return response

    # -- reports --------------------------------------------------------------------------
    def reports(self) -> None:
        with self.client() as client:
            for i in range(self.max_reports):
                if self.stop.is_set():
                    return
                r = self.attempt(client, "POST", "/api/v1/reports", json=report_body(i, self.run))
                if r is None or r.status_code != 201:
                    if r is not None and r.status_code >= 500:
                        self.errors.append(f"report {i}: {r.status_code} {r.text[:200]}")
                    time.sleep(0.2)
                    continue
                doc = r.json()
                reference = doc["reference"]
                with self.ledger.lock:
                    self.ledger.reports[reference] = [(e["id"], e["sha256"])
                                                      for e in doc["evidence"]]
                # More evidence for the report: not idempotent, so never resent as is;
                # each attempt carries new content, and only a 201 counts.
                for attempt in range(3):
                    nonce = f"{self.run}-{i}-{attempt}".encode()
                    files = [("files", ("screenshot.png", tiny_png(nonce), "image/png"))]
                    data = {"text": f"pasted by the reporter ({nonce.decode()}): are you alone?"}
                    e = self.attempt(client, "POST", f"/api/v1/reports/{reference}/evidence",
                                     files=files, data=data)
                    if e is not None and e.status_code == 201:
                        with self.ledger.lock:
                            self.ledger.reports[reference] += [(x["id"], x["sha256"])
                                                               for x in e.json()]
                        break
                    if e is not None and e.status_code >= 500:
                        self.errors.append(f"evidence {i}: {e.status_code} {e.text[:200]}")
                    time.sleep(0.2)
                time.sleep(self.random.uniform(0.02, 0.12))

    # -- messages -------------------------------------------------------------------------
    def next_conversation(self) -> int | None:
        with self._conv_lock:
            return next(self._conversation_ids, None)

    def messages(self) -> None:
        with self.client() as client:
            while not self.stop.is_set():
                n = self.next_conversation()
                if n is None:
                    return
                self.stream_conversation(client, n)

    def stream_conversation(self, client: httpx.Client, n: int) -> None:
        grooming = n % 3 != 2  # two in three raise an alert
        room = self.rooms[n % len(self.rooms)]
        adult, kid = f"adult-{self.run}-{n}", f"kid-{self.run}-{n}"
        lines = GROOMING if grooming else BENIGN
        start = datetime.now(UTC) - timedelta(minutes=30)
        docs = []
        for k, (author, age, text) in enumerate(lines):
            who = {"u-adult": adult, "u-kid": kid, "u-a": adult, "u-b": kid}[author]
            doc: dict[str, Any] = {"message_id": f"{self.run}-c{n}-m{k}", "author_id": who,
                                   "sent_at": (start + timedelta(seconds=k)).isoformat(),
                                   "text": text}
            if age is not None:
                doc["author_age"] = age
            # Direct messages: each chat is a conversation of its own (in a room's public
            # thread, chats streamed at once would interleave their times).
            doc["recipient_id"] = kid if who == adult else adult
            docs.append(doc)
        with self.ledger.lock:
            self.ledger.conversations[f"c{n}"] = (room, adult, "grooming" if grooming else "benign")
        size = self.random.choice([2, 3, 4])
        for first in range(0, len(docs), size):
            batch = docs[first:first + size]
            while True:  # the same batch until acknowledged: duplicates are harmless
                if time.monotonic() > self.deadline:
                    return
                r = self.attempt(client, "POST", f"/api/v1/rooms/{room}/messages",
                                 json={"messages": batch})
                if r is not None and r.status_code == 202:
                    with self.ledger.lock:
                        self.ledger.messages |= {(room, d["message_id"]) for d in batch}
                    break
                if r is not None and r.status_code < 500 and r.status_code != 429:
                    self.errors.append(f"batch of c{n}: {r.status_code} {r.text[:300]}")
                    return
                time.sleep(0.2)
            time.sleep(self.random.uniform(0.01, 0.08))

    # -- the officer ----------------------------------------------------------------------
    def officer(self, alerts_to_handle: Any) -> None:
        """Logged in once (TOTP) before the storm; the session lives in the store, so it
        survives restarts. Reads the console and intervenes on every alert that has no
        intervention yet (`alerts_to_handle`, read from the store: one whose intervention
        committed but whose answer was lost is not listed again), until told to stop."""
        client = self.officer_client
        while not self.officer_stop.is_set() and time.monotonic() < self.deadline:
            try:
                pending = list(alerts_to_handle())
            except Exception:  # noqa: BLE001 - the store is busy: next round
                pending = []
            self.attempt(client, "GET", "/console/watch/alerts")  # console reads
            self.attempt(client, "GET", "/api/v1/queue")
            for alert_id in pending:
                if self.officer_stop.is_set():
                    break
                self.intervene(client, alert_id)
            time.sleep(0.3)

    def login(self, username: str, password: str, totp_secret: str) -> None:
        client = httpx.Client(base_url=self.base, timeout=10)
        page = client.get("/login")
        r = client.post("/login", data={"username": username, "password": password,
                                        "csrf": CSRF.search(page.text).group(1)},
                        follow_redirects=True)
        r = client.post("/login/mfa", data={"code": pyotp.TOTP(totp_secret).now(),
                                            "csrf": CSRF.search(r.text).group(1)},
                        follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/", r.text[:500]
        self.officer_client = client

    def intervene(self, client: httpx.Client, alert_id: str) -> bool:
        page = self.attempt(client, "GET", f"/console/watch/alerts/{alert_id}")
        if page is None or page.status_code != 200:
            return False
        match = CSRF.search(page.text)
        if match is None:
            return False
        r = self.attempt(client, "POST", f"/console/watch/alerts/{alert_id}/intervene",
                         data={"kind": "room_message", "message": "", "target": "",
                               "csrf": match.group(1)})
        if r is not None and r.status_code == 303 and "done=intervened" in r.headers.get(
                "location", ""):
            with self.ledger.lock:
                self.ledger.interventions.add(alert_id)
            return True
        return False

    # -- running --------------------------------------------------------------------------
    def start(self, alerts_to_handle: Any, message_threads: int = 2) -> None:
        targets: list[tuple[str, Any, tuple[Any, ...]]] = [("reports", self.reports, ())]
        targets += [(f"messages-{i}", self.messages, ()) for i in range(message_threads)]
        targets.append(("officer", self.officer, (alerts_to_handle,)))
        for name, target, args in targets:
            thread = threading.Thread(target=self._guard, args=(target, args), name=name,
                                      daemon=True)
            thread.start()
            self.threads.append(thread)

    def _guard(self, target: Any, args: tuple[Any, ...]) -> None:
        try:
            target(*args)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            self.errors.append(f"{threading.current_thread().name}: {type(exc).__name__}: {exc}")

    def join(self, timeout: float) -> None:
        end = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, end - time.monotonic()))

    def close(self) -> None:
        self.stop.set()
        self.officer_stop.set()
        self.join(30)
        client = getattr(self, "officer_client", None)
        if client is not None:
            client.close()
