"""Kill storm: the whole platform, killed with SIGKILL at random moments under load, loses
nothing it acknowledged and does nothing twice.

For each store (SQLite, PostgreSQL) real processes run on 127.0.0.1: `childsafe serve` with
two worker processes, `childsafe worker` (the outbox: case webhooks, provider webhooks for
interventions and badges, verification mail) and, on PostgreSQL, `childsafe worker --watch`
consuming a Redis Stream (on SQLite the server scores with its in-process queue, the embedded
set-up). A bounded load generator (tests.chaos.storm) files immediate reports with a
conversation and more evidence, streams grooming and benign chats that raise alerts, and an
officer logged in with TOTP intervenes on every alert through the console; it records what
the platform acknowledged (2xx).

Meanwhile the storm SIGKILLs, at random moments: the whole server (supervisor and workers,
one process group), one server worker process (uvicorn replaces it), the outbox worker
(while the receiver holds the answer to a delivery it has applied: mid-delivery) and the watch
worker, and restarts each. Then everything drains and the checks run:

* every acknowledged report is in the store once (by reference), with one `report.receive`
  audit entry; every acknowledged evidence item once (by id and SHA-256), and it still
  decrypts to bytes of that hash;
* every acknowledged message once (by room and message id); each conversation's messages are
  seq 1..n without gaps, all scored (scored_seq == ingested_seq, score set), and scored once
  and in order: scoring each conversation again from scratch gives every stored score;
* alerts are unique per (conversation, author), each raised once in the audit trail; every
  grooming chat that reached its alerting message has its one alert; benign chats none;
* every outbox message is done; each webhook reached the receiver at least once and was
  applied once (the receiver deduplicates on X-Childsafe-Delivery); each verification mail
  was written; case deliveries and interventions are marked delivered;
* `childsafe admin verify-audit --anchor <head before the storm>` passes.

Kills: 10 on SQLite + 12 on PostgreSQL. The summary (kills, records checked, lost) is printed
and written as JSON to $CHILDSAFE_CHAOS_REPORT when set (docs/RELIABILITY.md cites it).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text

from childsafe.core.crypto import Keyring, new_keyring, open_sealed
from childsafe.reports import deliveries
from childsafe.reports.intake import read_evidence
from childsafe.reports.preservation import set_webhook
from childsafe.store import accounts, agencies, migrate, providers
from childsafe.store.case_models import DeliveryRow
from childsafe.store.db import Database, make_engine
from childsafe.store.encrypted import message_aad
from childsafe.store.models import AuditRow, OutboxRow
from childsafe.store.report_models import EvidenceRow, ReportRow
from childsafe.store.watch_models import (
    AlertRow,
    ConversationRow,
    InterventionRow,
    WatchMessageRow,
)
from childsafe.watch.core.state import ConversationState, Message
from childsafe.watch.settings import agency_settings, detector_named
from tests.chaos.storm import (
    Ledger,
    Load,
    Receiver,
    Role,
    childsafe_command,
    free_port,
    wait_healthy,
)
from tests.watch import stream_factory as sf

pytestmark = pytest.mark.integration

PG_ADMIN_URL = os.environ.get("CHILDSAFE_TEST_PG_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("CHILDSAFE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# What is killed, how often: >= 20 kills in all (issue 8).
KILLS = {
    "sqlite": {"server": 4, "server_process": 3, "worker": 3},
    "postgresql": {"server": 3, "server_process": 3, "worker": 3, "watch": 3},
}
PAUSE_S = (0.4, 2.0)  # between one kill's recovery and the next kill
MAX_REPORTS, MAX_CONVERSATIONS = 400, 150  # bounds on the load, whatever the timing
DRAIN_S = 90  # after the storm: time allowed for scoring, interventions and the outbox
PASSWORD = "storm-officer-password-1"
WEBHOOK_TOPICS = {"delivery.webhook", "watch.provider_webhook"}
RESULTS: dict[str, dict[str, Any]] = {}


@pytest.fixture(scope="module", autouse=True)
def chaos_report() -> Iterator[None]:
    """With CHILDSAFE_CHAOS_REPORT=path, the summaries of this module's runs go there."""
    yield
    target = os.environ.get("CHILDSAFE_CHAOS_REPORT")
    if target and RESULTS:
        runs = dict(sorted(RESULTS.items()))
        summary = {"kills": sum(r["kills"]["total"] for r in runs.values()),
                   "records_checked": sum(r["records_checked"] for r in runs.values()),
                   "lost": sum(r["lost"] for r in runs.values()),
                   "duplicated": sum(r["duplicated"] for r in runs.values()),
                   "runs": runs}
        Path(target).write_text(json.dumps(summary, indent=2) + "\n")


# ---- the store ------------------------------------------------------------------------------

@contextlib.contextmanager
def fresh_store(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'childsafe.db'}"
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        yield url
        return
    name = f"childsafe_storm_{secrets.token_hex(4)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({exc})")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def seed(db: Database, keyring: Keyring, receiver: Receiver) -> dict[str, Any]:
    """Agencies; a provider (key, webhook to the receiver) with four rooms CEOP monitors
    round the clock; CEOP's webhook channel to the receiver; a CEOP officer with TOTP."""
    with db.transaction() as s:
        agencies.seed_agencies(s)
        provider = providers.create_provider(s, "StormChat")
        key = providers.issue_key(s, provider, ["provider:report:write",
                                                "provider:evidence:write",
                                                "provider:message:write",
                                                "provider:room:write"]).plaintext
        receiver.secrets["/provider"] = set_webhook(s, keyring, provider,
                                                    receiver.url("/provider"), actor="storm")
        _, channel_secret = deliveries.add_channel(s, keyring, "UK-NCA-CEOP", "webhook",
                                                   receiver.url("/agency"), actor="storm")
        assert channel_secret is not None
        receiver.secrets["/agency"] = channel_secret
        user = accounts.create_user(s, agency=agencies.get_by_code(s, "UK-NCA-CEOP"),
                                    username="storm.officer", display_name="Storm Officer",
                                    password=PASSWORD, roles="officer",
                                    email="storm.officer@example.com")
        totp = accounts.begin_totp_enrolment(s, keyring, user)
        user.totp_enrolled = True
        provider_id = provider.id
    sf.shift(db, "UK-NCA-CEOP", 0, 0)  # start == end: all day, every day
    rooms = [sf.room(db, provider_id) for _ in range(4)]
    return {"key": key, "rooms": rooms, "totp": totp, "username": "storm.officer"}


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*childsafe_command(), *args], env=env, capture_output=True,
                          text=True, timeout=120)


# ---- the storm ------------------------------------------------------------------------------

class Storm:
    def __init__(self, roles: dict[str, Role], base: str, receiver: Receiver,
                 rng: random.Random) -> None:
        self.roles, self.base, self.receiver, self.rng = roles, base, receiver, rng
        self.done: Counter[str] = Counter()
        self.mid_delivery = 0

    def plan(self, kinds: dict[str, int]) -> list[str]:
        kills = [kind for kind, n in kinds.items() for _ in range(n)]
        self.rng.shuffle(kills)
        return kills

    def kill(self, kind: str) -> None:
        if kind == "server_process":
            self.kill_server_process()
        else:
            role = self.roles["server" if kind == "server" else kind]
            if kind == "worker":  # after the receiver applied a delivery, before the 200
                self.receiver.arm()
                self.mid_delivery += self.receiver.held.wait(timeout=5)
            role.kill()
            self.receiver.disarm()
            time.sleep(self.rng.uniform(0.0, 0.3))
            role.start()
            if kind == "server":
                wait_healthy(self.base, role)
        self.done[kind] += 1

    def kill_server_process(self) -> None:
        server = self.roles["server"]
        children = server.children()
        assert children, "the server has no worker processes:\n" + server.tail()
        victim = self.rng.choice(children)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:  # uvicorn's supervisor starts a new one
            now = server.children()
            if victim not in now and len(now) == len(children):
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the killed server process was not replaced:\n" + server.tail())
        wait_healthy(self.base, server)


def wait_until(condition: Any, timeout: float, what: str, roles: dict[str, Role]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        for role in roles.values():
            assert role.alive(), f"{role.name} died after the storm:\n{role.tail()}"
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out: {what}\n" + "\n".join(
                f"--- {r.name}\n{r.tail(2500)}" for r in roles.values()))
        time.sleep(0.25)


# ---- the checks -----------------------------------------------------------------------------

def chunks(items: list[Any], size: int = 400) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def check(db: Database, keyring: Keyring, ledger: Ledger, receiver: Receiver,
          mail_dir: Path) -> dict[str, Any]:
    lost: Counter[str] = Counter()
    duplicated: Counter[str] = Counter()
    wrong: Counter[str] = Counter()  # present once, but not as it should be
    checked: Counter[str] = Counter()
    problems: list[str] = []
    with db.reading() as s:
        # Reports, once each, with their receipt in the audit trail.
        refs = list(ledger.reports)
        found: dict[str, list[str]] = {}
        for part in chunks(refs):
            for ref, rid in s.execute(select(ReportRow.reference, ReportRow.id)
                                      .where(ReportRow.reference.in_(part))):
                found.setdefault(ref, []).append(rid)
        lost["reports"] = sum(ref not in found for ref in refs)
        duplicated["reports"] = sum(len(ids) > 1 for ids in found.values())
        checked["reports"] = len(refs)
        ids = [rid for rids in found.values() for rid in rids]
        receipts: Counter[str] = Counter()
        for part in chunks(ids):
            receipts.update(s.scalars(select(AuditRow.object_id).where(
                AuditRow.action == "report.receive", AuditRow.object_id.in_(part))))
        lost["report_receipts"] = sum(receipts[rid] == 0 for rid in ids)
        duplicated["report_receipts"] = sum(receipts[rid] > 1 for rid in ids)
        # Evidence, once each, still decrypting to bytes of the hash taken at receipt.
        expected = {eid: (ref, sha) for ref, items in ledger.reports.items()
                    for eid, sha in items}
        rows = {}
        for part in chunks(list(expected)):
            rows.update({r.id: r for r in s.scalars(select(EvidenceRow)
                                                    .where(EvidenceRow.id.in_(part)))})
        shas = [sha for _, sha in expected.values()]
        sha_count: Counter[str] = Counter()
        for part in chunks(shas):
            sha_count.update(s.scalars(select(EvidenceRow.sha256)
                                       .where(EvidenceRow.sha256.in_(part))))
        for eid, (ref, sha) in expected.items():
            row = rows.get(eid)
            if row is None or row.sha256 != sha or row.report_id not in found.get(ref, []):
                lost["evidence"] += 1
                continue
            read_evidence(keyring, row)  # raises if the bytes no longer match the hash
            if sha_count[sha] > 1:
                duplicated["evidence"] += 1
        checked["evidence"] = len(expected)
        # Messages, once each; conversations gap-free and fully scored.
        present: Counter[tuple[str, str]] = Counter(
            (room, mid) for room, mid in s.execute(select(WatchMessageRow.room_id,
                                                          WatchMessageRow.message_id)))
        lost["messages"] = sum(present[m] == 0 for m in ledger.messages)
        duplicated["messages"] = sum(n > 1 for n in present.values())
        checked["messages"] = len(ledger.messages)
        unscored = s.scalar(select(func.count()).select_from(WatchMessageRow)
                            .where(WatchMessageRow.score.is_(None))) or 0
        lost["scores"] = int(unscored)
        stats = {cid: (n, top) for cid, n, top in s.execute(
            select(WatchMessageRow.conversation_id, func.count(), func.max(WatchMessageRow.seq))
            .group_by(WatchMessageRow.conversation_id))}
        conversations = list(s.scalars(select(ConversationRow)))
        for conv in conversations:
            n, top = stats.get(conv.id, (0, 0))
            seen = ConversationState.from_dict(conv.state).messages if conv.state else 0
            if not (conv.scored_seq == conv.ingested_seq == n == top == seen):
                problems.append(f"conversation {conv.id} {conv.key}: {n} messages, max seq {top}"
                                f", ingested {conv.ingested_seq}, scored {conv.scored_seq}, "
                                f"detector state saw {seen}")
        checked["conversations"] = len(conversations)
        # Scored exactly once and in order: scoring each conversation again from scratch
        # gives every message the score stored for it (a message scored twice, skipped or
        # out of order would have changed the detector's state for those after it).
        detector = detector_named(agency_settings(s, None)[0])
        states: dict[int, ConversationState] = {}
        rooms_of = {c.id: c.room_id for c in conversations}
        for row in s.execute(select(WatchMessageRow.conversation_id, WatchMessageRow.message_id,
                                    WatchMessageRow.author_id, WatchMessageRow.declared_age,
                                    WatchMessageRow.sent_at, WatchMessageRow.text_enc,
                                    WatchMessageRow.score)
                             .order_by(WatchMessageRow.conversation_id, WatchMessageRow.seq)):
            state = states.setdefault(row.conversation_id, ConversationState(
                str(row.conversation_id)))
            plain = open_sealed(keyring, row.text_enc,
                                message_aad(rooms_of[row.conversation_id], row.message_id))
            again = detector.update(state, Message(row.message_id, row.author_id,
                                                   row.sent_at.timestamp(),
                                                   plain.decode("utf-8"), row.declared_age))
            if row.score is None or abs(again.score - row.score) > 1e-9:
                wrong["scores"] += 1
        checked["scores"] = sum(st.messages for st in states.values())
        # Alerts: once per (conversation, author); every grooming chat past its alerting
        # message has one, for the adult; benign chats none.
        alerts = list(s.execute(select(AlertRow.id, AlertRow.conversation_id,
                                       AlertRow.author_id)))
        per_author = Counter((c, a) for _, c, a in alerts)
        duplicated["alerts"] = sum(n > 1 for n in per_author.values())
        by_key = {(c.room_id, c.key): c for c in conversations}
        raising = sf.alert_seq()
        for name, (room, adult, kind) in ledger.conversations.items():
            peer = adult.replace("adult-", "kid-", 1)
            conv = by_key.get((room, f"direct:{min(adult, peer)} {max(adult, peer)}"))
            alerted = conv is not None and per_author[(conv.id, adult)] == 1
            if kind == "grooming" and conv is not None and conv.ingested_seq >= raising:
                lost["alerts"] += not alerted
            if kind == "benign" and conv is not None and any(
                    c == conv.id for _, c, _ in alerts):
                problems.append(f"benign chat {name} raised an alert")
        raised = Counter(s.scalars(select(AuditRow.object_id)
                                   .where(AuditRow.action == "watch.alert_raise")))
        duplicated["alert_audit"] = sum(n > 1 for n in raised.values())
        lost["alert_audit"] = sum(raised[a] == 0 for a, _, _ in alerts)
        checked["alerts"] = len(alerts)
        # The outbox: all done; webhooks received >= 1 and applied once; mail written.
        arrivals, applied = receiver.snapshot()
        outbox = list(s.execute(select(OutboxRow.topic, OutboxRow.idempotency_key,
                                       OutboxRow.done_at, OutboxRow.failed_at,
                                       OutboxRow.last_error)))
        for topic, key, done_at, failed_at, error in outbox:
            if done_at is None or failed_at is not None:
                lost["outbox"] += 1
                problems.append(f"outbox {topic} {key} not done ({error!r})")
            elif topic in WEBHOOK_TOPICS and arrivals[key] < 1:
                lost["webhooks"] += 1
            elif topic in WEBHOOK_TOPICS and applied[key] != 1:
                duplicated["webhooks"] += 1
            elif topic == "mail.send":
                safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in key)[:120]
                lost["mail"] += not (mail_dir / f"{safe}.eml").exists()
        webhook_keys = {key for topic, key, *_ in outbox if topic in WEBHOOK_TOPICS}
        unexpected = set(arrivals) - webhook_keys
        if unexpected or receiver.rejected:
            problems.append(f"receiver got unknown deliveries {sorted(unexpected)[:5]} or "
                            f"rejected {receiver.rejected}")
        checked["outbox"] = len(outbox)
        statuses = Counter(s.scalars(select(DeliveryRow.status)))
        lost["case_deliveries"] = sum(n for st, n in statuses.items() if st != "delivered")
        checked["case_deliveries"] = sum(statuses.values())
        interventions = Counter(a for a, st in s.execute(
            select(InterventionRow.alert_id, InterventionRow.status))
            if st == "delivered")
        all_interventions = Counter(s.scalars(select(InterventionRow.alert_id)))
        lost["interventions"] = sum(interventions[a] != 1 for a in ledger.interventions)
        lost["intervention_status"] = sum(all_interventions.values()) - sum(
            interventions.values())
        duplicated["interventions"] = sum(n > 1 for n in all_interventions.values())
        checked["interventions"] = len(all_interventions)
        checked["audit_entries"] = int(s.scalar(select(func.count()).select_from(AuditRow)) or 0)
    return {"lost": +lost, "duplicated": +duplicated, "wrong": +wrong, "checked": dict(checked),
            "problems": problems,
            "webhooks": {"keys": len(webhook_keys),
                         "arrivals": sum(arrivals[k] for k in webhook_keys),
                         "redelivered": sum(arrivals[k] > 1 for k in webhook_keys)}}


# ---- the test -------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_kill_storm_loses_nothing_acknowledged(kind: str, tmp_path: Path) -> None:
    seed_value = int(os.environ.get("CHILDSAFE_STORM_SEED", secrets.randbits(32)))
    rng = random.Random(seed_value)
    started = time.monotonic()
    keyring = new_keyring()
    key_file = tmp_path / "keys.json"
    key_file.write_text(keyring.to_json())
    run = secrets.token_hex(3)
    stream = f"childsafe:storm:{run}"
    with fresh_store(kind, tmp_path) as url, Receiver() as receiver:
        db = Database(url)
        seeded = seed(db, keyring, receiver)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHILDSAFE_")}
        env |= {"CHILDSAFE_DATABASE_URL": url, "CHILDSAFE_DATA_DIR": str(tmp_path),
                "CHILDSAFE_KEY_FILE": str(key_file), "CHILDSAFE_MAIL_SENDER": "file",
                "CHILDSAFE_COOKIE_SECURE": "false", "CHILDSAFE_BASE_URL": base,
                "CHILDSAFE_REPORTS_PER_IP_PER_HOUR": "100000000",
                "CHILDSAFE_REPORTS_PER_CONTACT_PER_DAY": "100000000",
                "CHILDSAFE_EVIDENCE_PER_REPORT_PER_DAY": "100000"}
        if kind == "postgresql":
            env |= {"CHILDSAFE_RATE_LIMITER": "redis", "CHILDSAFE_REDIS_URL": REDIS_URL,
                    "CHILDSAFE_WATCH_TRANSPORT": "redis", "CHILDSAFE_WATCH_STREAM": stream,
                    "CHILDSAFE_WATCH_GROUP": f"storm-{run}",
                    "CHILDSAFE_WATCH_CLAIM_IDLE_MS": "1500",
                    "CHILDSAFE_WATCH_SERVE_CONSUMER": "false"}
        anchor = cli(env, "admin", "audit-head")
        assert anchor.returncode == 0, anchor.stdout + anchor.stderr
        anchor_text = anchor.stdout.strip().split()[-1]
        roles = {"server": Role("server", ["serve", "--host", "127.0.0.1", "--port", str(port),
                                           "--workers", "2"], env, tmp_path / "server.log"),
                 "worker": Role("worker", ["worker", "--poll", "0.1"], env,
                                tmp_path / "worker.log")}
        if kind == "postgresql":
            roles["watch"] = Role("watch", ["worker", "--watch"], env, tmp_path / "watch.log")
        ledger = Ledger()
        load = Load(base, seeded["key"], seeded["rooms"], ledger, run=run,
                    max_reports=MAX_REPORTS, max_conversations=MAX_CONVERSATIONS,
                    seed=seed_value)
        try:
            for role in roles.values():
                role.start()
            wait_healthy(base, roles["server"])
            load.login(seeded["username"], PASSWORD, seeded["totp"])

            def alerts_to_handle() -> list[str]:
                with db.reading() as s:
                    return list(s.scalars(select(AlertRow.id).where(
                        ~select(InterventionRow.id).where(
                            InterventionRow.alert_id == AlertRow.id).exists())))

            load.start(alerts_to_handle)
            storm = Storm(roles, base, receiver, rng)
            plan = storm.plan(KILLS[kind])
            storm_started = time.monotonic()
            for target in plan:
                time.sleep(rng.uniform(*PAUSE_S))
                storm.kill(target)
            storm_s = time.monotonic() - storm_started

            # Drain: no new work; batches in flight are retried to the end; every alert gets
            # its intervention; then the outbox empties.
            load.stop.set()
            load.deadline = time.monotonic() + DRAIN_S
            for thread in load.threads[:-1]:
                thread.join(DRAIN_S)

            def scored() -> bool:
                with db.reading() as s:
                    return not s.scalar(select(func.count()).select_from(ConversationRow).where(
                        ConversationRow.scored_seq < ConversationRow.ingested_seq))

            wait_until(scored, DRAIN_S, "every message scored", roles)
            wait_until(lambda: not alerts_to_handle(), DRAIN_S,
                       "an intervention on every alert", roles)
            load.officer_stop.set()

            def drained() -> bool:
                with db.reading() as s:
                    return not s.scalar(select(func.count()).select_from(OutboxRow)
                                        .where(OutboxRow.done_at.is_(None)))

            wait_until(drained, DRAIN_S, "the outbox drained", roles)
        finally:
            load.close()
            for role in roles.values():
                role.stop()
            if kind == "postgresql":
                import redis
                with contextlib.suppress(Exception):
                    redis.Redis.from_url(REDIS_URL).delete(stream)
        verified = cli(env, "admin", "verify-audit", "--anchor", anchor_text)
        result = check(db, keyring, ledger, receiver, tmp_path / "mail")
        db.dispose()

    lost, duplicated = result["lost"], result["duplicated"]
    summary = {
        "store": kind, "seed": seed_value,
        "kills": dict(storm.done) | {"total": sum(storm.done.values()),
                                     "outbox_worker_mid_delivery": storm.mid_delivery},
        "acknowledged": {"reports": len(ledger.reports), "evidence": ledger.evidence,
                         "messages": len(ledger.messages),
                         "conversations": len(ledger.conversations),
                         "interventions": len(ledger.interventions)},
        "attempts": dict(sorted(ledger.outcomes.items())),
        "checked": result["checked"], "records_checked": sum(result["checked"].values()),
        "webhooks": result["webhooks"],
        "lost": sum(lost.values()), "lost_by_kind": dict(lost),
        "duplicated": sum(duplicated.values()), "duplicated_by_kind": dict(duplicated),
        "scored_differently": sum(result["wrong"].values()),
        "audit": verified.stdout.strip().splitlines()[-1] if verified.stdout.strip() else "",
        "storm_s": round(storm_s, 1), "total_s": round(time.monotonic() - started, 1),
    }
    RESULTS[kind] = summary
    print(f"\nkill storm [{kind}]: {json.dumps(summary)}")
    assert summary["kills"]["total"] == sum(KILLS[kind].values())
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert not load.errors, load.errors[:10]
    assert not result["problems"], result["problems"][:10]
    assert summary["lost"] == 0, summary
    assert summary["duplicated"] == 0, summary
    assert summary["scored_differently"] == 0, summary
    assert ledger.outcomes["5xx"] == 0, summary
    # The storm tested something: work of every kind was acknowledged and delivered.
    acked = summary["acknowledged"]
    assert acked["reports"] >= 10 and acked["evidence"] >= 20 and acked["messages"] >= 100
    assert acked["interventions"] >= 3 and result["webhooks"]["keys"] >= 20, summary
