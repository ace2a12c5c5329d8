"""The asynchronous client: the same resources and methods as `Client`, awaited.

    async with AsyncClient("https://childsafe.example", api_key="csk_…") as client:
        result = await client.messages.send(room_id, batch)
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
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


class AsyncClient:
    """`Client` for asyncio programs; see `Client` for the arguments. Use it as an async
    context manager or call `await client.aclose()`."""

    def __init__(self, base_url: str, api_key: str | None = None, *, timeout: float = 10.0,
                 retry: RetryPolicy | None = None,
                 http_client: httpx.AsyncClient | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.retry = retry or RetryPolicy()
        self._own = http_client is None
        self._http = http_client or httpx.AsyncClient(base_url=self.base_url, timeout=timeout)
        self._sleep = sleep
        self.reports = AsyncReports(self)
        self.rooms = AsyncRooms(self)
        self.messages = AsyncMessages(self)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own:
            await self._http.aclose()

    async def me(self) -> ProviderIdentity:
        """Which provider the API key belongs to and its scopes."""
        return await self._run(_calls.me())

    async def _run(self, call: Call[T]) -> T:
        args = _http.request_args(call, self.api_key)
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._http.request(call.method, self.base_url + call.path,
                                                    **args)
            except httpx.HTTPError as exc:
                wait = self.retry.delay(attempt, None) if _http.should_retry(call, None) else None
                if wait is None:
                    raise _http.transport_error(exc, call) from exc
                await self._sleep(wait)
                continue
            if response.status_code in _http.RETRY_STATUSES and _http.should_retry(call, response):
                wait = self.retry.delay(
                    attempt, _http.retry_after_seconds(response.headers.get("retry-after")))
                if wait is not None:
                    await response.aclose()
                    await self._sleep(wait)
                    continue
            return _http.read(call, response)


class AsyncReports:
    """`client.reports` of `AsyncClient`; see `Reports`."""

    def __init__(self, client: AsyncClient) -> None:
        self._c = client

    async def create(self, *, answers: Mapping[str, Any], reporter: ReporterLike,
                     conversation: Conversation | Mapping[str, Any] | None = None,
                     language: str = "en", pasted_text: str | None = None,
                     suspects: Sequence[tuple[str, str]] | None = None) -> Report:
        """File a report (never retried); see `Reports.create`."""
        return await self._c._run(_calls.create_report(answers, reporter, conversation,
                                                       language, pasted_text, suspects))

    async def add_evidence(self, reference: str, filename: str, data: bytes,
                           content_type: str = "application/octet-stream") -> Evidence:
        """Add one file to a report you filed; see `Reports.add_evidence`."""
        return (await self.add_files(reference, [EvidenceFile(filename, data, content_type)]))[0]

    async def add_files(self, reference: str, files: Sequence[EvidenceFile] = (),
                        text: str | None = None) -> builtins.list[Evidence]:
        """Add files and/or a text, all or nothing."""
        return await self._c._run(_calls.add_evidence(reference, files, text))

    async def get(self, reference: str) -> ReportStatus:
        """The state of a report you filed."""
        return await self._c._run(_calls.get_report(reference))

    async def questions(self, lang: str = "en") -> dict[str, Any]:
        """The qualifying questions, for a native form."""
        return await self._c._run(_calls.questions(lang))

    async def handoff(self, *, conversation: Conversation | Mapping[str, Any],
                      reporter: ReporterLike | None = None, language: str = "en",
                      audience: str | None = None, room_title: str | None = None) -> Handoff:
        """A single-use link to the web form with the conversation attached; see
        `Reports.handoff`."""
        return await self._c._run(_calls.handoff(conversation, reporter, language, audience,
                                                 room_title))


class AsyncRooms:
    """`client.rooms` of `AsyncClient`; see `Rooms`."""

    def __init__(self, client: AsyncClient) -> None:
        self._c = client

    async def register(self, external_id: str, title: str, *, audience: str, language: str,
                       region: str, active: bool = True) -> Room:
        """Register or update a room (upsert on `external_id`)."""
        return await self._c._run(_calls.register_room(external_id, title, audience, language,
                                                       region, active))

    async def iter(self, *, external_id: str | None = None, page_size: int = 100
                   ) -> AsyncIterator[Room]:
        """Every room you registered, page by page."""
        cursor: str | None = None
        while True:
            items, cursor = await self._c._run(
                _calls.list_rooms_page(page_size, cursor, external_id))
            for item in items:
                yield item
            if not cursor:
                return

    async def list(self, *, external_id: str | None = None) -> builtins.list[Room]:
        """Every room you registered (all pages)."""
        return [room async for room in self.iter(external_id=external_id)]

    async def get(self, room_id: str) -> Room:
        """One of your rooms, with `monitoring`."""
        return await self._c._run(_calls.get_room(room_id))

    async def badge(self, room_id: str, lang: str | None = "en") -> Badge:
        """The public monitored badge (no key needed)."""
        return await self._c._run(_calls.badge(room_id, lang))


class AsyncMessages:
    """`client.messages` of `AsyncClient`; see `Messages`."""

    def __init__(self, client: AsyncClient) -> None:
        self._c = client

    async def send(self, room_id: str, messages: Sequence[ChatMessage | Mapping[str, Any]]
                   ) -> IngestResult:
        """Send messages of one room (batches of 500, idempotent on `message_id`)."""
        parts = [await self._c._run(_calls.send_messages(room_id, batch))
                 for batch in _calls.batches(messages)]
        return IngestResult.combine(room_id, parts)
