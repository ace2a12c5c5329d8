"""Filing reports that become cases, for delivery, pooling and crash tests (not collected).

Synthetic, non-explicit material only: grooming *cues* in plain words, reserved names.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from childsafe.config import Settings
from childsafe.ratelimit import MemoryRateLimiter
from childsafe.reports import catalog, intake
from childsafe.reports.core import engine
from childsafe.reports.core.evidence.conversation import parse_conversation
from childsafe.reports.core.identity import parse_reporter
from childsafe.store.db import Database
from childsafe.store.models import CaseRow, utcnow
from childsafe.store.report_models import ReportRow

COUNTRY_OF = {"UK-NCA-CEOP": "GB", "US-DHS-HSI": "US", "AU-AFP-ACCCE": "AU",
              "CA-RCMP-NCECC": "CA"}


def answers(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"danger": "no", "who": "young_person", "country": "GB",
                            "what": "contact", "cues": ["asked_age", "asked_secret"],
                            "platform": "Chatty"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def conversation(now: datetime, *, suspect: str = "u2", platform: str = "chatty.test",
                 room: str = "room-42", extra_text: str = "") -> dict[str, Any]:
    start = now - timedelta(hours=2)
    lines = [(suspect, "hi, how old are you?"), ("u1", "12"),
             (suspect, "let's keep this chat our secret ok" + extra_text),
             (suspect, "want to meet up at the park?")]
    return {"platform": platform, "room_id": room,
            "participants": [{"user_id": "u1", "display_name": "Kid", "declared_age": 12,
                              "role": "reporter"},
                             {"user_id": suspect, "display_name": "Sam", "role": "reported"}],
            "messages": [{"id": f"m{i}", "sender": who,
                          "sent_at": (start + timedelta(minutes=i)).isoformat(), "text": text}
                         for i, (who, text) in enumerate(lines)]}


def context(settings: Settings) -> intake.IntakeContext:
    return intake.IntakeContext(settings.keyring, settings.verification_key,
                                "https://childsafe.example.com", MemoryRateLimiter(),
                                per_ip_per_hour=1000, per_contact_per_day=1000)


def file_report(db: Database, ctx: intake.IntakeContext, *, agency: str = "UK-NCA-CEOP",
                suspect: str | None = "u2", with_conversation: bool = True,
                reporter_name: str = "Kim Example", now: datetime | None = None,
                room: str = "room-42", **answer_overrides: Any) -> tuple[ReportRow, CaseRow]:
    """A phone-only report (reaches officers at once) routed to `agency`'s country."""
    now = now or utcnow()
    country = COUNTRY_OF[agency]
    result = engine.evaluate(catalog.load_flow(),
                             answers(country=country, suspect=suspect, **answer_overrides),
                             "en", now=now, routing=catalog.load_routing())
    reporter = parse_reporter({"name": reporter_name, "phone": "020 7946 0018",
                               "country": "GB", "age_band": "13_15", "relationship": "self"})
    evidence = ([parse_conversation(conversation(now, suspect=suspect or "u2", room=room),
                                    now=now)] if with_conversation else [])
    with db.transaction() as s:
        receipt = intake.submit_report(s, ctx, result=result, reporter=reporter,
                                       evidence=evidence, channel=intake.Channel.API, now=now)
    with db.transaction() as s:
        report = s.get(ReportRow, receipt.report_id)
        assert report is not None and report.case_id is not None
        case = s.get(CaseRow, report.case_id)
        assert case is not None
        return report, case
