"""The async SDK against the running app: the same calls as the sync client, awaited, and
its errors and retry rules (asyncio.run inside each test; no event-loop plugin needed)."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from childsafe.sdk import (
    AsyncClient,
    AuthenticationError,
    ChatMessage,
    EvidenceFile,
    NotFoundError,
    RetryPolicy,
    ServerError,
    ValidationError,
)
from tests.reports.conftest import make_png
from tests.sdk.platform import FlakyFront
from tests.sdk.test_client import ANSWERS, LINES, REPORTER, conversation


def run(coro):
    return asyncio.run(coro)


def test_reports_evidence_handoff(platform):
    async def scenario():
        async with AsyncClient(platform.url, api_key=platform.key) as client:
            me = await client.me()
            report = await client.reports.create(answers=ANSWERS, reporter=REPORTER,
                                                 conversation=conversation())
            png = make_png()
            one = await client.reports.add_evidence(report.reference, "a.png", png, "image/png")
            two = await client.reports.add_files(
                report.reference, [EvidenceFile("b.txt", b"sam_99", "text/plain")])
            state = await client.reports.get(report.reference)
            flow = await client.reports.questions()
            handoff = await client.reports.handoff(conversation=conversation(),
                                                   reporter={"name": "Kim Young"},
                                                   audience="young_person")
            return me, report, png, one, two, state, flow, handoff

    me, report, png, one, two, state, flow, handoff = run(scenario())
    assert me.provider == "ExampleChat"
    assert report.filed and {e.kind for e in report.evidence} == {"conversation"}
    assert one.sha256 == hashlib.sha256(png).hexdigest() and two[0].kind == "file"
    assert state.evidence_items == 3 and flow["start"] == "danger"
    assert handoff.messages == len(LINES) and handoff.url.startswith(platform.url)
    page = httpx.get(handoff.url)
    assert "attached (5 messages)" in page.text


def test_rooms_badge_and_messages(platform):
    external = "async-" + secrets.token_hex(4)

    async def scenario():
        async with AsyncClient(platform.url, api_key=platform.key) as client:
            room = await client.rooms.register(external, "Drawing club", audience="teen",
                                               language="en", region="GB")
            listed = await client.rooms.list(external_id=external)
            paged = [r.id async for r in client.rooms.iter(page_size=1)]
            platform.monitor(room.id)
            got = await client.rooms.get(room.id)
            start = datetime.now(UTC) - timedelta(minutes=5)
            sent = await client.messages.send(room.id, [
                ChatMessage("a-1", "u-1", "hi everyone", start, author_age=12),
                ChatMessage("a-2", "u-2", "hi! what school do you go to?",
                            start + timedelta(seconds=20), author_age=30)])
            repeat = await client.messages.send(room.id, [
                ChatMessage("a-1", "u-1", "hi everyone", start, author_age=12)])
        async with AsyncClient(platform.url) as public:
            badge = await public.rooms.badge(room.id)
        return room, listed, paged, got, sent, repeat, badge

    room, listed, paged, got, sent, repeat, badge = run(scenario())
    assert [r.id for r in listed] == [room.id] and room.id in paged
    assert got.monitoring is not None and got.monitoring.state == "monitored"
    assert sent.accepted == 2 and repeat.duplicates == 1
    assert badge.state == "monitored" and badge.text == "Monitored by police"


def test_errors(platform):
    async def scenario():
        errors = []
        async with AsyncClient(platform.url, api_key="csk_nope_nope") as bad:
            try:
                await bad.me()
            except AuthenticationError as exc:
                errors.append(exc)
        async with AsyncClient(platform.url, api_key=platform.key) as client:
            try:
                await client.reports.get("R-AAAA-BBBB")
            except NotFoundError as exc:
                errors.append(exc)
            try:
                await client.reports.create(answers=ANSWERS | {"danger": "perhaps"},
                                            reporter=REPORTER)
            except ValidationError as exc:
                errors.append(exc)
        return errors

    unauthenticated, missing, invalid = run(scenario())
    assert unauthenticated.status == 401 and missing.status == 404
    assert invalid.status == 422 and "danger" in invalid.fields


def test_async_retries_only_idempotent_calls(platform):
    front = FlakyFront(platform.url)
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    async def scenario():
        policy = RetryPolicy(retries=2, backoff=0.01, max_backoff=0.02)
        async with AsyncClient(front.url, api_key=platform.key, retry=policy,
                               sleep=sleep) as client:
            front.fail_next(503, retry_after="2")
            me = await client.me()
            front.fail_next(503, retry_after="0")
            try:
                await client.reports.create(answers=ANSWERS, reporter=REPORTER)
            except ServerError as exc:
                return me, exc
        raise AssertionError("expected ServerError")

    try:
        me, exc = run(scenario())
    finally:
        front.close()
    assert me.provider == "ExampleChat" and waited == [2.0] and exc.status == 503
    assert len(front.requests) == 3


def test_naive_datetimes_are_refused(platform):
    async def scenario():
        async with AsyncClient(platform.url, api_key=platform.key) as client:
            await client.messages.send("rm_" + "0" * 24,
                                       [ChatMessage("x", "u", "hi", datetime.now())])

    with pytest.raises(ValueError):
        run(scenario())
