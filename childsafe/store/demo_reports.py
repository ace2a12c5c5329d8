"""Demo reports, filed through the real intake path so the console shows real cases.

Everything is synthetic: conversations show grooming *cues* in plain words, the image is
random noise, names and numbers are fictional or reserved.
"""

from __future__ import annotations

import os
import struct
import zlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from childsafe.reports import catalog, intake
from childsafe.reports.core import engine
from childsafe.reports.core.evidence.conversation import parse_conversation
from childsafe.reports.core.evidence.files import receive_file
from childsafe.reports.core.evidence.text import accept_pasted_text
from childsafe.reports.core.identity import parse_reporter


def noise_png(width: int = 48, height: int = 48) -> bytes:
    """A valid PNG of random noise (stands in for a screenshot)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))

    noise = os.urandom(width * height * 3)
    rows = b"".join(b"\x00" + noise[y * width * 3:(y + 1) * width * 3] for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                             0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def _capture(now: datetime, suspect: str) -> dict[str, Any]:
    lines = [(suspect, "hey, how old are you?"), ("kid1", "13"),
             (suspect, "are you alone at home right now?"),
             (suspect, "don't tell your parents about our chats ok"),
             (suspect, "let's talk on another app, it's more private"),
             (suspect, "i can get you game credits if you meet me at the park on saturday")]
    start = now - timedelta(hours=3)
    return {"platform": "chatty.test", "room_id": "teen-lounge-3",
            "participants": [{"user_id": "kid1", "display_name": "Kid", "declared_age": 13,
                              "role": "reporter"},
                             {"user_id": suspect, "display_name": "Sam", "role": "reported"}],
            "messages": [{"id": f"m{i}", "sender": who,
                          "sent_at": (start + timedelta(minutes=i)).isoformat(), "text": text}
                         for i, (who, text) in enumerate(lines)]}


DEMO_REPORTS: list[dict[str, Any]] = [
    {"answers": {"danger": "yes", "who": "young_person", "country": "GB", "what": "contact",
                 "cues": ["asked_age", "asked_alone", "asked_meet"], "meeting": "no",
                 "platform": "Chatty", "suspect": "sam_99"},
     "reporter": {"name": "Alex Young", "phone": "+44 20 7946 0011", "country": "GB",
                  "age_band": "13_15", "relationship": "self"}, "capture": "sam_99", "image": True},
    {"answers": {"danger": "no", "who": "parent_carer", "country": "GB", "what": "contact",
                 "cues": ["asked_secret", "private_app", "gifts"], "platform": "Chatty",
                 "suspect": "gamer_dude"},
     "reporter": {"name": "Pat Parent", "phone": "+44 20 7946 0012", "country": "GB",
                  "age_band": "18_plus", "relationship": "parent_carer"},
     "text": "He said: keep this our secret and I'll send you a gift card."},
    {"answers": {"danger": "no", "who": "professional", "country": "US", "what": "contact",
                 "cues": ["asked_age", "asked_photos"], "platform": "Chatty",
                 "suspect": "cool_coach"},
     "reporter": {"name": "Jordan Teacher", "phone": "+1 202 555 0147", "country": "US",
                  "age_band": "18_plus", "relationship": "teacher_professional"},
     "text": "A student showed me messages asking how old she is and for photos."},
]


def file_demo_reports(session: Session, ctx: intake.IntakeContext, now: datetime) -> int:
    flow, routing = catalog.load_flow(), catalog.load_routing()
    filed = 0
    for spec in DEMO_REPORTS:
        answers = dict(spec["answers"]) | {"when": now.date().isoformat()}
        result = engine.evaluate(flow, answers, "en", now=now, routing=routing)
        evidence: list[intake.EvidenceItem] = []
        if "capture" in spec:
            evidence.append(parse_conversation(_capture(now, spec["capture"]), now=now))
        if "text" in spec:
            evidence.append(accept_pasted_text(spec["text"]))
        if spec.get("image"):
            png = noise_png()
            evidence.append(intake.FileUpload(
                receive_file(png, received_at=now, client_name="screenshot.png"), png))
        intake.submit_report(session, ctx, result=result,
                             reporter=parse_reporter(spec["reporter"]), evidence=evidence,
                             channel=intake.Channel.WEB, now=now)
        filed += 1
    return filed
