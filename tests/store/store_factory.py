"""A store with a bit of everything, for backup and retention tests (not collected).

Synthetic material only: noise PNGs, plain non-explicit text, reserved names (.test,
example.com).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import struct
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from childsafe.block import authority_store
from childsafe.config import Settings
from childsafe.core.crypto import seal
from childsafe.reports import catalog, intake
from childsafe.reports.core import engine
from childsafe.reports.core.evidence.conversation import parse_conversation
from childsafe.reports.core.evidence.files import receive_file
from childsafe.reports.core.evidence.text import accept_pasted_text
from childsafe.reports.core.identity import parse_reporter
from childsafe.store import accounts, casework, providers
from childsafe.store.db import Database
from childsafe.store.encrypted import message_aad
from childsafe.store.models import CaseRow
from childsafe.store.report_models import ReportRow
from childsafe.store.watch_models import ConversationRow, RoomRow, WatchMessageRow
from tests.helpers import OfficerFactory
from tests.reports.case_factory import answers, context, conversation
from tests.watch.alert_factory import WatchFactory


def noise_png(width: int = 16, height: int = 16) -> bytes:
    """A valid RGB PNG of random noise."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))

    noise = os.urandom(width * height * 3)
    rows = b"".join(b"\x00" + noise[y * width * 3:(y + 1) * width * 3] for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                               0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def _reporter(*, email: bool) -> object:
    raw = {"name": "Kim Example", "country": "GB", "age_band": "13_15", "relationship": "self"}
    if email:
        raw["email"] = "kim@example.com"
    else:
        raw["phone"] = "020 7946 0018"
    return parse_reporter(raw)


def submit(db: Database, settings: Settings, now: datetime, *, verified: bool = True,
           files: int = 1, agency_country: str = "GB",
           suspect: str | None = None) -> tuple[str, str | None]:
    """A report with a conversation, pasted text and `files` noise PNGs. Phone-only
    (`verified`) reaches officers at once as a case; email-only awaits verification.
    Returns (report id, case id)."""
    ctx = context(settings)
    suspect = suspect or f"u{secrets.token_hex(3)}"  # a new suspect: a case of its own
    result = engine.evaluate(catalog.load_flow(), answers(country=agency_country,
                                                          suspect=suspect), "en",
                             now=now, routing=catalog.load_routing())
    evidence: list[intake.EvidenceItem] = [
        parse_conversation(conversation(now, suspect=suspect,
                                        room=f"room-{secrets.token_hex(3)}"), now=now),
        accept_pasted_text("he asked me to keep it secret and move to another app")]
    for i in range(files):
        png = noise_png()
        evidence.append(intake.FileUpload(receive_file(png, received_at=now,
                                                       client_name=f"shot{i}.png"), png))
    with db.transaction() as s:
        receipt = intake.submit_report(
            s, ctx, result=result, reporter=_reporter(email=not verified),  # type: ignore[arg-type]
            evidence=evidence, channel=intake.Channel.WEB if not verified else intake.Channel.API,
            now=now)
    with db.transaction() as s:
        report = s.get(ReportRow, receipt.report_id)
        assert report is not None
        return report.id, report.case_id


def quiet_conversation(db: Database, keyring: object, provider_id: int, *, received: datetime,
                       messages: int = 4, scored: int | None = None) -> tuple[int, str]:
    """A watched conversation that never alerted: plain small talk, sealed and hashed."""
    with db.transaction() as s:
        room = RoomRow(id="rm_" + secrets.token_hex(8), provider_id=provider_id,
                       external_id=f"room-{secrets.token_hex(4)}", title="Homework help",
                       audience="teen", language="en", region="GB", active=True)
        s.add(room)
        s.flush()
        conv = ConversationRow(room_id=room.id, key=f"thread:{secrets.token_hex(4)}",
                               kind="room", state={}, ingested_seq=messages,
                               scored_seq=messages if scored is None else scored)
        s.add(conv)
        s.flush()
        for seq in range(1, messages + 1):
            text = f"did anyone finish question {seq} of the maths sheet?"
            mid = f"m{seq}-{secrets.token_hex(3)}"
            s.add(WatchMessageRow(
                room_id=room.id, conversation_id=conv.id, seq=seq, message_id=mid,
                author_id=f"u{seq % 2}", declared_age=14, sent_at=received - timedelta(minutes=1),
                text_enc=seal(keyring, text.encode(), message_aad(room.id, mid)),  # type: ignore[arg-type]
                sha256=hashlib.sha256(text.encode()).hexdigest(), received_at=received,
                score=0.01 if seq <= conv.scored_seq else None))
        return conv.id, room.id


@dataclass
class Populated:
    supervisor: str
    cases: list[str]
    reports: list[str]


def populate(db: Database, settings: Settings, make_officer: OfficerFactory,
             now: datetime) -> Populated:
    """Officers, reports (verified and not) with evidence, case work, an outbox, the block
    list (entries, history, a signed publication), Watch rooms, messages and an alert."""
    sup = make_officer("ceop.sup", roles="supervisor")
    make_officer("hsi.off", agency="US-DHS-HSI")
    made = [submit(db, settings, now, files=2), submit(db, settings, now),
            submit(db, settings, now, verified=False),
            submit(db, settings, now, agency_country="US")]
    cases = [c for _, c in made if c]
    with db.transaction() as s:
        who = accounts.principal_for(s, accounts.get_user(s, sup.username))
        casework.add_note(s, who, cases[0], "called the reporter back; advice given", now)
        casework.share(s, who, cases[0], "US-DHS-HSI", "suspect may live in the US", now)
        casework.close(s, who, cases[1], "no_further_action", now)
        providers.create_provider(s, "ExampleChat", contact_email="abuse@example.com")
    actor = authority_store.Actor("list.editor", "UK-NCA-CEOP", "192.0.2.1")
    with db.transaction() as s:
        for i in range(3):
            authority_store.add_entry(s, actor, url=f"http://listed{i}.test/a/page.html",
                                      scope="page", category="csam", reason=f"report {i}",
                                      review_date="2030-01-01")
        entry = authority_store.add_entry(s, actor, url="http://gone.test/", scope="host",
                                          category="csam", reason="report 9",
                                          review_date="2030-01-01")
        authority_store.remove_entry(s, actor, entry.id, "taken down")
    with db.transaction() as s:
        authority_store.publish(s, actor, Ed25519PrivateKey.generate(), created=1)
    watch = WatchFactory(db, settings.keyring)
    provider_id = watch.provider("WatchChat")
    watch.alert("UK-NCA-CEOP", provider_id=provider_id)
    quiet_conversation(db, settings.keyring, provider_id, received=now)
    with db.transaction() as s:
        assert s.get(CaseRow, cases[0]) is not None
    return Populated(sup.username, cases, [r for r, _ in made])
