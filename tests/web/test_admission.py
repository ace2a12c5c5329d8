"""Admission control: past `max_inflight` a request waits its queue budget, then gets 429 with
Retry-After (problem+json on the API, a page for browsers); health checks and event streams
are never refused; settings reach the app. Driven by events, not by the clock."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from childsafe.config import Settings
from childsafe.web.admission import AdmissionLimit, AdmissionMiddleware, AdmissionPolicy
from childsafe.web.app import create_app

# A budget no test waits out unless it means to (then it is the short one below).
LONG = 60.0
SHORT = 0.01


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# ---- the limit ------------------------------------------------------------------------------

def test_slots_up_to_the_limit_then_waiters_in_arrival_order() -> None:
    async def scenario() -> None:
        limit = AdmissionLimit(AdmissionPolicy(max_inflight=2, queue_seconds=LONG))
        assert await limit.acquire() and await limit.acquire()
        assert limit.inflight == 2
        order: list[str] = []

        async def wait(name: str) -> None:
            assert await limit.acquire()
            order.append(name)

        first = asyncio.create_task(wait("first"))
        await asyncio.sleep(0)
        second = asyncio.create_task(wait("second"))
        await asyncio.sleep(0)
        assert limit.waiting == 2 and order == []
        limit.release()  # the slot passes to the oldest waiter
        await first
        assert order == ["first"] and limit.inflight == 2 and limit.waiting == 1
        limit.release()
        await second
        assert order == ["first", "second"]
        for _ in range(2):
            limit.release()
        assert limit.inflight == 0 and limit.admitted == 4 and limit.shed == 0

    run(scenario())


def test_a_waiter_past_its_budget_is_refused_and_forgotten() -> None:
    async def scenario() -> None:
        limit = AdmissionLimit(AdmissionPolicy(max_inflight=1, queue_seconds=SHORT))
        assert await limit.acquire()
        assert not await limit.acquire()  # nobody released within the budget
        assert limit.waiting == 0 and limit.shed == 1
        limit.release()
        assert limit.inflight == 0
        assert await limit.acquire()  # the slot is free again, no stale waiter takes it

    run(scenario())


def test_too_many_waiting_are_refused_at_once() -> None:
    async def scenario() -> None:
        limit = AdmissionLimit(AdmissionPolicy(max_inflight=1, max_waiting=1,
                                               queue_seconds=LONG))
        assert await limit.acquire()
        waiter = asyncio.create_task(limit.acquire())
        await asyncio.sleep(0)
        assert limit.waiting == 1
        assert not await limit.acquire()  # the queue is full: no wait at all
        limit.release()
        assert await waiter
        limit.release()
        assert (limit.inflight, limit.shed, limit.admitted) == (0, 1, 2)

    run(scenario())


def test_no_queue_budget_refuses_at_once_when_full() -> None:
    async def scenario() -> None:
        limit = AdmissionLimit(AdmissionPolicy(max_inflight=1, queue_seconds=0))
        assert await limit.acquire()
        assert not await limit.acquire()
        assert limit.waiting == 0

    run(scenario())


def test_a_cancelled_waiter_leaves_the_queue_and_its_slot_goes_on() -> None:
    async def scenario() -> None:
        limit = AdmissionLimit(AdmissionPolicy(max_inflight=1, queue_seconds=LONG))
        assert await limit.acquire()
        gone = asyncio.create_task(limit.acquire())
        await asyncio.sleep(0)
        stays = asyncio.create_task(limit.acquire())
        await asyncio.sleep(0)
        gone.cancel()  # the client disconnected while waiting
        with pytest.raises(asyncio.CancelledError):
            await gone
        assert limit.waiting == 1
        limit.release()
        assert await stays and limit.inflight == 1
        limit.release()
        assert limit.inflight == 0

    run(scenario())


def test_a_slot_granted_to_a_waiter_that_is_then_cancelled_is_passed_on() -> None:
    async def scenario() -> None:
        limit = AdmissionLimit(AdmissionPolicy(max_inflight=1, queue_seconds=LONG))
        assert await limit.acquire()
        gone = asyncio.create_task(limit.acquire())
        await asyncio.sleep(0)
        limit.release()  # handed to `gone` ...
        gone.cancel()  # ... which is cancelled before it runs again
        with pytest.raises(asyncio.CancelledError):
            await gone
        assert limit.inflight == 0 and limit.waiting == 0  # not leaked
        assert await limit.acquire()

    run(scenario())


# ---- the middleware -------------------------------------------------------------------------

class Gate:
    """An ASGI app whose /slow requests wait until released; everything else answers at once."""

    def __init__(self) -> None:
        self.entered = 0
        self.release = asyncio.Event()
        self.bodies_read = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        if scope["method"] == "POST":
            await receive()
            self.bodies_read += 1
        if scope["path"] in ("/slow", "/console/watch/events"):
            self.entered += 1
            await self.release.wait()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})


async def until(condition: Any) -> None:
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never became true")


def client_for(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def test_past_capacity_the_api_answers_429_problem_json_with_retry_after() -> None:
    async def scenario() -> None:
        gate = Gate()
        app = AdmissionMiddleware(gate, AdmissionPolicy(max_inflight=2, queue_seconds=SHORT,
                                                        retry_after_s=3))
        async with client_for(app) as client:
            held = [asyncio.create_task(client.get("/slow")) for _ in range(2)]
            await until(lambda: gate.entered == 2)
            refused = await client.post("/api/v1/reports", json={"x": 1})
            assert refused.status_code == 429
            assert refused.headers["retry-after"] == "3"
            assert refused.headers["content-type"] == "application/problem+json"
            problem = refused.json()
            assert problem["status"] == 429 and problem["code"] == "overloaded"
            assert problem["instance"] == "/api/v1/reports"
            assert gate.bodies_read == 0  # refused before the body was read
            # Health checks and event streams are never refused, however full.
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/readyz")).status_code == 200
            stream = asyncio.create_task(client.get("/console/watch/events"))
            await until(lambda: gate.entered == 3)
            gate.release.set()
            assert [r.status_code for r in await asyncio.gather(*held, stream)] == [200] * 3
            # Capacity is back.
            assert (await client.post("/api/v1/reports", json={})).status_code == 200
        assert app.limit is not None and app.limit.inflight == 0

    run(scenario())


def test_browsers_get_a_page_not_json() -> None:
    async def scenario() -> None:
        gate = Gate()
        app = AdmissionMiddleware(gate, AdmissionPolicy(max_inflight=1, queue_seconds=0))
        async with client_for(app) as client:
            held = asyncio.create_task(client.get("/slow"))
            await until(lambda: gate.entered == 1)
            page = await client.get("/console", headers={"accept": "text/html,*/*"})
            assert page.status_code == 429 and page.headers["retry-after"] == "1"
            assert page.headers["content-type"].startswith("text/html")
            assert "try again" in page.text
            api = await client.get("/api/v1/queue", headers={"accept": "text/html"})
            assert api.headers["content-type"] == "application/problem+json"
            gate.release.set()
            await held

    run(scenario())


def test_a_waiting_request_is_served_when_a_slot_frees_in_time() -> None:
    async def scenario() -> None:
        gate = Gate()
        app = AdmissionMiddleware(gate, AdmissionPolicy(max_inflight=1, queue_seconds=LONG))
        async with client_for(app) as client:
            held = asyncio.create_task(client.get("/slow"))
            await until(lambda: gate.entered == 1)
            queued = asyncio.create_task(client.get("/fast"))
            await until(lambda: app.limit is not None and app.limit.waiting == 1)
            gate.release.set()
            assert (await held).status_code == 200 and (await queued).status_code == 200
        assert app.limit is not None and (app.limit.admitted, app.limit.shed) == (2, 0)

    run(scenario())


def test_an_error_in_the_app_still_frees_the_slot() -> None:
    async def boom(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("boom")

    async def scenario() -> None:
        app = AdmissionMiddleware(boom, AdmissionPolicy(max_inflight=1, queue_seconds=0))
        for _ in range(3):
            with pytest.raises(RuntimeError):
                await app({"type": "http", "path": "/x", "method": "GET", "headers": []},
                          None, None)
        assert app.limit is not None and app.limit.inflight == 0

    run(scenario())


def test_zero_means_no_limit_and_other_scopes_pass() -> None:
    async def scenario() -> None:
        gate = Gate()
        app = AdmissionMiddleware(gate, AdmissionPolicy(max_inflight=0))
        assert app.limit is None
        async with client_for(app) as client:
            held = [asyncio.create_task(client.get("/slow")) for _ in range(50)]
            await until(lambda: gate.entered == 50)
            gate.release.set()
            assert {r.status_code for r in await asyncio.gather(*held)} == {200}
        seen: list[str] = []

        async def other(scope: Any, receive: Any, send: Any) -> None:
            seen.append(scope["type"])

        limited = AdmissionMiddleware(other, AdmissionPolicy(max_inflight=1, queue_seconds=0))
        assert limited.limit is not None
        limited.limit.inflight = 1  # full
        await limited({"type": "websocket", "path": "/ws"}, None, None)
        await limited({"type": "lifespan"}, None, None)
        assert seen == ["websocket", "lifespan"]

    run(scenario())


# ---- the settings reach the app ----------------------------------------------------------

def test_settings_configure_the_app(tmp_path, keyring, monkeypatch) -> None:
    monkeypatch.setenv("CHILDSAFE_MAX_INFLIGHT", "7")
    monkeypatch.setenv("CHILDSAFE_ADMISSION_QUEUE_MS", "250")
    monkeypatch.setenv("CHILDSAFE_ADMISSION_MAX_WAITING", "9")
    monkeypatch.setenv("CHILDSAFE_ADMISSION_RETRY_AFTER_S", "4")
    settings = Settings(data_dir=tmp_path, keys=keyring.to_json(), mail_sender="memory")
    app = create_app(settings)
    [entry] = [m for m in app.user_middleware if m.cls is AdmissionMiddleware]
    assert entry.kwargs["policy"] == AdmissionPolicy(max_inflight=7, max_waiting=9,
                                                     queue_seconds=0.25, retry_after_s=4)
    for name in ("MAX_INFLIGHT", "ADMISSION_QUEUE_MS", "ADMISSION_MAX_WAITING",
                 "ADMISSION_RETRY_AFTER_S"):
        monkeypatch.delenv(f"CHILDSAFE_{name}")
    defaults = Settings(data_dir=tmp_path, keys=keyring.to_json())
    assert (defaults.max_inflight, defaults.admission_queue_ms, defaults.admission_max_waiting,
            defaults.admission_retry_after_s) == (64, 500, 256, 1)


def test_the_real_app_sheds_with_security_headers(tmp_path, keyring) -> None:
    """One slot, no queue: a request arriving while another is in flight is refused, with
    the platform's security headers; health checks still answer."""
    settings = Settings(data_dir=tmp_path, keys=keyring.to_json(), mail_sender="memory",
                        max_inflight=1, admission_queue_ms=0)
    app = create_app(settings)

    async def scenario() -> None:
        started, release = asyncio.Event(), asyncio.Event()
        inner = app.build_middleware_stack()

        # Hold the one slot with a request parked inside the stack, below admission.
        admission = inner
        while not isinstance(admission, AdmissionMiddleware):
            admission = admission.app
        below = admission.app

        async def parked(scope: Any, receive: Any, send: Any) -> None:
            if scope["path"] == "/park":
                started.set()
                await release.wait()
                await send({"type": "http.response.start", "status": 204, "headers": []})
                await send({"type": "http.response.body", "body": b""})
                return
            await below(scope, receive, send)

        admission.app = parked
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=inner),
                                     base_url="http://t") as client:
            held = asyncio.create_task(client.get("/park"))
            await started.wait()
            refused = await client.get("/api/v1/agencies")
            assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
            assert "content-security-policy" in refused.headers
            assert json.loads(refused.text)["code"] == "overloaded"
            assert (await client.get("/healthz")).status_code == 200
            release.set()
            assert (await held).status_code == 204

    run(scenario())
