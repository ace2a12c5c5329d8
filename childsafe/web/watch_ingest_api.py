"""Provider API: stream a room's messages to Watch.

`POST /api/v1/rooms/{id}/messages` with a key holding `provider:message:write`. The body is
validated by `childsafe.watch.core.ingestion` (every problem at once, with the index of the
message), stored by `childsafe.watch.ingest` in one transaction, and, after the commit, the
conversations with new messages are announced to the watch transport for scoring.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from childsafe.core.errors import DomainError, InvalidInput
from childsafe.core.permissions import Permission
from childsafe.core.principal import ProviderPrincipal
from childsafe.watch import ingest
from childsafe.watch.core import ingestion
from childsafe.watch.core.ingestion import MAX_BATCH_BYTES, MAX_MESSAGES, MAX_TEXT_CHARS
from childsafe.watch.transport import runtime_of
from childsafe.web.deps import DbSession, now_of, requires_provider, settings_of
from childsafe.web.schemas import ERRORS, Problem

router = APIRouter(prefix="/api/v1/rooms", tags=["watch"])
RoomId = Annotated[str, Path(max_length=32, description="The room id returned when the room "
                             "was registered", examples=["rm_3f9a1c0d5e7b2a4c6d8e0f12"])]


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"
    status = 415
    title = "Unsupported media type"


class MessageIn(BaseModel):
    """One chat message, exactly as your service delivered it."""

    model_config = ConfigDict(extra="forbid")
    message_id: str = Field(max_length=128, description="Your id of the message, unique in the "
                            "room; sending it again is harmless (counted as a duplicate)",
                            examples=["m-1001"])
    author_id: str = Field(max_length=128, description="Your id of the author (no spaces)",
                           examples=["u-4821"])
    author_age: int | None = Field(None, ge=0, le=120, description="The author's declared age, "
                                   "if your service knows it", examples=[13])
    sent_at: str = Field(description="When it was sent: RFC 3339 with a time zone. Within a "
                         "conversation never earlier than the one before",
                         examples=["2026-11-20T18:04:05.120Z"])
    text: str = Field(max_length=MAX_TEXT_CHARS, description="The text, any Unicode; kept "
                      "exactly, encrypted at rest, SHA-256 taken at receipt",
                      examples=["are you home alone right now?"])
    recipient_id: str | None = Field(None, max_length=128, description="Set for a direct "
                                     "(private) message: the one user it was sent to")
    reply_to: str | None = Field(None, max_length=128, description="message_id this answers")
    conversation: str | None = Field(None, max_length=200, description="Your own thread key; "
                                     "overrides the conversation rule below")


class MessageBatchIn(BaseModel):
    """1 to 500 messages of one room, oldest first within each conversation."""

    model_config = ConfigDict(extra="forbid")
    messages: list[MessageIn] = Field(min_length=1, max_length=MAX_MESSAGES)


class ConversationOut(BaseModel):
    id: int = Field(description="Watch's id of the conversation")
    key: str = Field(description="`room`, `direct:<a> <b>` or `thread:<your key>`",
                     examples=["direct:u-4821 u-77"])
    kind: str = Field(examples=["direct"])
    accepted: int
    duplicates: int
    last_seq: int = Field(description="Messages stored in the conversation so far")


class BatchOut(BaseModel):
    room_id: str
    accepted: int = Field(description="New messages stored")
    duplicates: int = Field(description="Messages already received with the same content")
    ignored: int = Field(description="Messages not stored because nobody monitors the room")
    ignored_reason: str | None = Field(None, examples=["not_monitored"],
                                       description="not_monitored or room_inactive")
    conversations: list[ConversationOut]


def _inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with nested definitions inlined (request bodies parsed by
    hand are documented with `openapi_extra`, which cannot add components)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return dict(resolve(schema))


_EXAMPLES = {
    "room": {"summary": "Two messages in the room's public thread", "value": {"messages": [
        {"message_id": "m-1001", "author_id": "u-4821", "author_age": 13,
         "sent_at": "2026-11-20T18:04:05Z", "text": "anyone here play minecraft?"},
        {"message_id": "m-1002", "author_id": "u-77", "sent_at": "2026-11-20T18:04:40Z",
         "text": "yeah! what server", "reply_to": "m-1001"}]}},
    "direct": {"summary": "A direct message (its own conversation)", "value": {"messages": [
        {"message_id": "m-1003", "author_id": "u-77", "recipient_id": "u-4821",
         "sent_at": "2026-11-20T18:06:00Z", "text": "how old are you?"}]}},
}
_REQUEST_BODY = {"required": True, "content": {"application/json": {
    "schema": _inline_schema(MessageBatchIn), "examples": _EXAMPLES}}}
_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    409: {"model": Problem, "description": "A message id was received before with other "
                                           "content (`message_conflict`)"},
    413: {"model": Problem, "description": f"More than {MAX_MESSAGES} messages or "
                                           f"{MAX_BATCH_BYTES} bytes (`too_large`)"},
    415: {"model": Problem, "description": "Not JSON"},
    422: {"model": Problem, "description": "Malformed (`invalid_input`) or out of order "
                                           "(`out_of_order`); `errors` lists each problem "
                                           "with its field, e.g. `messages[3].sent_at`"},
}


async def batch_body(request: Request) -> Any:
    """The raw JSON body (size-checked), validated by the core rather than by FastAPI, so
    every problem names its message as `messages[i].field`."""
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if kind != "application/json" and not kind.endswith("+json"):
        raise UnsupportedMediaType("Send the batch as application/json.")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BATCH_BYTES:
        raise ingestion.BatchTooLarge(f"A batch is at most {MAX_BATCH_BYTES} bytes.")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BATCH_BYTES:
            raise ingestion.BatchTooLarge(f"A batch is at most {MAX_BATCH_BYTES} bytes.")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"The body is not valid JSON ({exc}).", field="body") from None


@router.post(
    "/{room_id}/messages", status_code=202, response_model=BatchOut, responses=_ERRORS,
    summary="Send a batch of a room's messages", openapi_extra={"requestBody": _REQUEST_BODY})
def post_messages(room_id: RoomId, request: Request,
                  provider: ProviderPrincipal = requires_provider(Permission.PROVIDER_MESSAGE_WRITE),
                  doc: Any = Depends(batch_body), session: Session = DbSession) -> Any:
    """Stores a batch of 1-500 messages of one of your rooms and queues them for detection.

    **Conversations.** Each message belongs to one conversation, the unit the detector
    follows: with `conversation` set, your thread `thread:<conversation>`; else with
    `recipient_id` set (a direct message), `direct:<a> <b>` of the two users sorted, so both
    directions are one conversation; else the room's public thread `room`.

    **Idempotent.** A `message_id` already received with the same content is counted in
    `duplicates` and not stored again, so a batch can be retried safely. The same id with
    other content is refused (409 `message_conflict`, naming the fields that differ).

    **Order.** Within a conversation `sent_at` may not go backwards, in the batch or
    relative to the last message already received (422 `out_of_order`).

    **All or nothing.** Any problem rejects the whole batch (RFC 9457 problem details with
    one entry per problem in `errors`, each naming its field such as `messages[3].sent_at`);
    nothing of it is stored.

    **Data minimisation.** Messages of a room no agency monitors (or that you marked
    inactive) are not stored at all: the answer is still 202, with them counted in
    `ignored` and `ignored_reason` saying why. Send them anyway: monitoring can start at any
    time, and the badge endpoint tells you when.
    """
    now = now_of(request)
    messages = ingestion.parse_batch(doc, now=now)
    receipt = ingest.ingest(session, settings_of(request).keyring,
                            provider_id=provider.provider_id, room_id=room_id,
                            messages=messages, now=now)
    session.commit()  # stored first: the scorers are woken only for what is committed
    runtime_of(request.app).publish(receipt.to_wake)
    return BatchOut(room_id=receipt.room_id, accepted=receipt.accepted,
                    duplicates=receipt.duplicates, ignored=receipt.ignored,
                    ignored_reason=receipt.ignored_reason,
                    conversations=[ConversationOut(id=c.id, key=c.key, kind=c.kind,
                                                   accepted=c.accepted, duplicates=c.duplicates,
                                                   last_seq=c.last_seq)
                                   for c in receipt.conversations])
