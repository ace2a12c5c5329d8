"""The synchronous client: `Client(base_url, api_key)` and its resources.

    from childsafe.sdk import Client

    with Client("https://childsafe.example", api_key="csk_…") as client:
        room = client.rooms.register("teen-lounge-3", "Teen lounge", audience="teen",
                                     language="en", region="GB")
        client.messages.send(room.id, [ChatMessage("m-1", "u-1", "hi all", sent_at=now)])

Every method raises `ChildsafeError` (or a subclass) when the platform refuses the call;
idempotent calls are retried per the client's `RetryPolicy`.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx

from childsafe.sdk import _calls, _http
from childsafe.sdk._calls import Call
from childsafe.sdk._http import RetryPolicy
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
)

T = TypeVar("T")
ReporterLike = Reporter | Mapping[str, Any]


class Client:
    """A provider's connection to the platform.

    Args:
        base_url: the platform's address, e.g. `https://childsafe.example`.
        api_key: the provider API key (`csk_…`); the public badge needs none.
        timeout: seconds for each HTTP request.
        retry: when idempotent calls are retried (see `RetryPolicy`).
        http_client: an `httpx.Client` of your own (proxies, TLS settings); the SDK does not
            close a client it did not create.
    """

    def __init__(self, base_url: str, api_key: str | None = None, *, timeout: float = 10.0,
                 retry: RetryPolicy | None = None, http_client: httpx.Client | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.retry = retry or RetryPolicy()
        self._own = http_client is None
        self._http = http_client or httpx.Client(base_url=self.base_url, timeout=timeout)
        self._sleep = sleep
        self.reports = Reports(self)
        self.rooms = Rooms(self)
        self.messages = Messages(self)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if self._own:
            self._http.close()

    def me(self) -> ProviderIdentity:
        """Which provider the API key belongs to and its scopes (checks a key is set up)."""
        return self._run(_calls.me())

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _run(self, call: Call[T]) -> T:
        args = _http.request_args(call, self.api_key)
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.request(call.method, self._url(call.path), **args)
            except httpx.HTTPError as exc:
                if not _http.should_retry(call, None):
                    raise _http.transport_error(exc, call) from exc
                wait = self.retry.delay(attempt, None)
                if wait is None:
                    raise _http.transport_error(exc, call) from exc
                self._sleep(wait)
                continue
            if response.status_code in _http.RETRY_STATUSES and _http.should_retry(call, response):
                wait = self.retry.delay(
                    attempt, _http.retry_after_seconds(response.headers.get("retry-after")))
                if wait is not None:
                    response.close()
                    self._sleep(wait)
                    continue
            return _http.read(call, response)


class Reports:
    """Reports filed from your app: `client.reports`."""

    def __init__(self, client: Client) -> None:
        self._c = client

    def create(self, *, answers: Mapping[str, Any], reporter: ReporterLike,
               conversation: Conversation | Mapping[str, Any] | None = None,
               language: str = "en", pasted_text: str | None = None,
               suspects: Sequence[tuple[str, str]] | None = None) -> Report:
        """File a report with every answer of the qualifying questions (see `questions()`),
        the reporter's details and, usually, the captured conversation.

        Out-of-scope answers file nothing: the result has `filed` False and the signposts to
        show. Never retried (a retry could file twice). `suspects`: (platform, user id)."""
        return self._c._run(_calls.create_report(answers, reporter, conversation, language,
                                                 pasted_text, suspects))

    def add_evidence(self, reference: str, filename: str, data: bytes,
                     content_type: str = "application/octet-stream") -> Evidence:
        """Add one file (PNG, JPEG, GIF, PDF or TXT, checked by content) to a report you
        filed; returns it with the hashes taken at receipt."""
        return self.add_files(reference, [EvidenceFile(filename, data, content_type)])[0]

    def add_files(self, reference: str, files: Sequence[EvidenceFile] = (),
                  text: str | None = None) -> list[Evidence]:
        """Add several files and/or a text to a report you filed, all or nothing."""
        return self._c._run(_calls.add_evidence(reference, files, text))

    def get(self, reference: str) -> ReportStatus:
        """The state of a report you filed (e.g. `awaiting_verification`, `with_officers`)."""
        return self._c._run(_calls.get_report(reference))

    def questions(self, lang: str = "en") -> dict[str, Any]:
        """The qualifying questions (id, version, every question with options and branches),
        for building a native form."""
        return self._c._run(_calls.questions(lang))

    def handoff(self, *, conversation: Conversation | Mapping[str, Any],
                reporter: ReporterLike | None = None, language: str = "en",
                audience: str | None = None, room_title: str | None = None) -> Handoff:
        """Hand a captured conversation over to the web report form.

        Returns a single-use link (valid 30 minutes) for the user's browser: open it in a
        new tab; the reporter answers the questions with their details prefilled (they can
        change them) and the conversation attached. `audience` (young_person, parent_carer,
        other_adult, professional) preselects who is reporting."""
        return self._c._run(_calls.handoff(conversation, reporter, language, audience,
                                           room_title))


class Rooms:
    """Your chat rooms, for Watch: `client.rooms`."""

    def __init__(self, client: Client) -> None:
        self._c = client

    def register(self, external_id: str, title: str, *, audience: str, language: str,
                 region: str, active: bool = True) -> Room:
        """Register or update a room (upsert on `external_id`); safe on every start.
        `audience`: child, teen, general, adult; `region`: ISO alpha-2 or `*`."""
        return self._c._run(_calls.register_room(external_id, title, audience, language,
                                                 region, active))

    def iter(self, *, external_id: str | None = None, page_size: int = 100) -> Iterator[Room]:
        """Every room you registered, retired ones included, page by page."""
        cursor: str | None = None
        while True:
            items, cursor = self._c._run(_calls.list_rooms_page(page_size, cursor, external_id))
            yield from items
            if not cursor:
                return

    def list(self, *, external_id: str | None = None) -> builtins.list[Room]:
        """Every room you registered (all pages)."""
        return builtins.list(self.iter(external_id=external_id))

    def get(self, room_id: str) -> Room:
        """One of your rooms, with `monitoring` (who monitors it, who is on duty)."""
        return self._c._run(_calls.get_room(room_id))

    def badge(self, room_id: str, lang: str | None = "en") -> Badge:
        """The public monitored badge (no key needed), e.g. to relay it from your server."""
        return self._c._run(_calls.badge(room_id, lang))


class Messages:
    """Stream a monitored room's messages to Watch: `client.messages`."""

    def __init__(self, client: Client) -> None:
        self._c = client

    def send(self, room_id: str, messages: Sequence[ChatMessage | Mapping[str, Any]]
             ) -> IngestResult:
        """Send messages of one room, oldest first within each conversation. More than 500
        are sent as several batches; a batch is all or nothing and idempotent on
        `message_id`, so after an error the whole call can be repeated."""
        parts = [self._c._run(_calls.send_messages(room_id, batch))
                 for batch in _calls.batches(messages)]
        return IngestResult.combine(room_id, parts)
