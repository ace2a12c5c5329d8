"""Each SDK call as data (method, path, body, whether a retry is safe, how to read the answer),
shared by the sync and the async client so both speak exactly the same protocol."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from childsafe.sdk.models import (
    Badge,
    ChatMessage,
    Conversation,
    Evidence,
    EvidenceFile,
    Handoff,
    IngestResult,
    ProviderIdentity,
    Report,
    Reporter,
    ReportStatus,
    Room,
    reporter_json,
)

T = TypeVar("T")
MAX_MESSAGES_PER_BATCH = 500  # the platform's limit per request


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    method: str
    path: str
    parse: Callable[[Any], T]
    idempotent: bool
    json: Any = None
    params: Mapping[str, str] | None = None
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None
    data: Mapping[str, str] | None = None
    authenticated: bool = True
    headers: Mapping[str, str] = field(default_factory=dict)


def seg(value: str) -> str:
    """One path segment, escaped (ids come from callers)."""
    return quote(str(value), safe="")


def me() -> Call[ProviderIdentity]:
    return Call("GET", "/api/v1/provider/me", ProviderIdentity.from_json, True)


# ---- reports ------------------------------------------------------------------------------

def create_report(answers: Mapping[str, Any], reporter: Reporter | Mapping[str, Any],
                  conversation: Conversation | Mapping[str, Any] | None, language: str,
                  pasted_text: str | None, suspects: Sequence[tuple[str, str]] | None
                  ) -> Call[Report]:
    body: dict[str, Any] = {"language": language, "answers": dict(answers),
                            "reporter": reporter_json(reporter)}
    if conversation is not None:
        body["conversation"] = conversation.to_json() if isinstance(conversation, Conversation) \
            else dict(conversation)
    if pasted_text is not None:
        body["pasted_text"] = pasted_text
    if suspects:
        body["suspects"] = [{"platform": p, "identifier": i} for p, i in suspects]
    # Not idempotent: a retry could file the report twice.
    return Call("POST", "/api/v1/reports", Report.from_json, False, json=body)


def add_evidence(reference: str, files: Sequence[EvidenceFile], text: str | None
                 ) -> Call[list[Evidence]]:
    if not files and text is None:
        raise ValueError("add at least one file or a text")
    return Call("POST", f"/api/v1/reports/{seg(reference)}/evidence",
                lambda doc: [Evidence.from_json(e) for e in doc], False,
                files=[("files", (f.filename, f.data, f.content_type)) for f in files] or None,
                data={"text": text} if text is not None else None)


def get_report(reference: str) -> Call[ReportStatus]:
    return Call("GET", f"/api/v1/reports/{seg(reference)}", ReportStatus.from_json, True)


def questions(lang: str) -> Call[dict[str, Any]]:
    return Call("GET", "/api/v1/reports/flow/questions", dict, True, params={"lang": lang})


def handoff(conversation: Conversation | Mapping[str, Any],
            reporter: Reporter | Mapping[str, Any] | None, language: str, audience: str | None,
            room_title: str | None) -> Call[Handoff]:
    body: dict[str, Any] = {
        "conversation": conversation.to_json() if isinstance(conversation, Conversation)
        else dict(conversation),
        "reporter": reporter_json(reporter), "language": language}
    if audience is not None:
        body["audience"] = audience
    if room_title is not None:
        body["room_title"] = room_title
    return Call("POST", "/api/v1/report-handoffs", Handoff.from_json, False, json=body)


# ---- rooms and messages -------------------------------------------------------------------

def register_room(external_id: str, title: str, audience: str, language: str, region: str,
                  active: bool) -> Call[Room]:
    body = {"external_id": external_id, "title": title, "audience": audience,
            "language": language, "region": region, "active": active}
    # An upsert on external_id: repeating it changes nothing more.
    return Call("POST", "/api/v1/rooms", Room.from_json, True, json=body)


def list_rooms_page(limit: int, cursor: str | None, external_id: str | None
                    ) -> Call[tuple[list[Room], str | None]]:
    params = {"limit": str(limit)}
    if cursor:
        params["cursor"] = cursor
    if external_id is not None:
        params["external_id"] = external_id
    return Call("GET", "/api/v1/rooms",
                lambda doc: ([Room.from_json(r) for r in doc.get("items") or []],
                             doc.get("next_cursor")), True, params=params)


def get_room(room_id: str) -> Call[Room]:
    return Call("GET", f"/api/v1/rooms/{seg(room_id)}", Room.from_json, True)


def badge(room_id: str, lang: str | None) -> Call[Badge]:
    params = {"lang": lang} if lang else None
    return Call("GET", f"/api/v1/rooms/{seg(room_id)}/badge", Badge.from_json, True,
                params=params, authenticated=False)


def send_messages(room_id: str, batch: Sequence[ChatMessage | Mapping[str, Any]]
                  ) -> Call[IngestResult]:
    body = {"messages": [m.to_json() if isinstance(m, ChatMessage) else dict(m) for m in batch]}
    # Idempotent on message_id: a retried batch counts its messages as duplicates.
    return Call("POST", f"/api/v1/rooms/{seg(room_id)}/messages", IngestResult.from_json, True,
                json=body)


def batches(messages: Sequence[ChatMessage | Mapping[str, Any]],
            size: int = MAX_MESSAGES_PER_BATCH) -> list[Sequence[ChatMessage | Mapping[str, Any]]]:
    if not messages:
        raise ValueError("send at least one message")
    return [messages[i:i + size] for i in range(0, len(messages), size)]
