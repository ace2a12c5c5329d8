"""The SDK is what a provider installs: it must import on its own (httpx only), and its
pieces that need no server behave as documented."""

from __future__ import annotations

import email.utils
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from childsafe.sdk import CapturedMessage, ChatMessage, Conversation, Participant, Reporter
from childsafe.sdk._http import RetryPolicy, retry_after_seconds
from childsafe.sdk.errors import from_problem


def test_importing_the_sdk_loads_nothing_else_of_childsafe():
    code = ("import sys, childsafe.sdk\n"
            "mods = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('childsafe', 'sqlalchemy', 'fastapi', 'starlette', 'pydantic', 'jinja2'))\n"
            "print('\\n'.join(mods))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out and all(m == "childsafe" or m.startswith("childsafe.sdk") for m in out), out


def test_values_serialise_as_the_api_expects():
    at = datetime(2026, 11, 20, 18, 4, 5, tzinfo=timezone(timedelta(hours=1)))
    conv = Conversation("chatty.test", "room-1", [Participant("u1", role="reporter",
                                                              declared_age=12)],
                        [CapturedMessage("m1", "u1", at, "hi")])
    assert conv.to_json() == {
        "platform": "chatty.test", "room_id": "room-1",
        "participants": [{"user_id": "u1", "role": "reporter", "declared_age": 12}],
        "messages": [{"id": "m1", "sender": "u1", "sent_at": "2026-11-20T18:04:05+01:00",
                      "text": "hi"}]}
    assert ChatMessage("m1", "u1", "hi", at, recipient_id="u2").to_json() == {
        "message_id": "m1", "author_id": "u1", "sent_at": "2026-11-20T18:04:05+01:00",
        "text": "hi", "recipient_id": "u2"}
    assert Reporter(name="Kim", country="GB").to_json() == {"name": "Kim", "country": "GB"}
    with pytest.raises(ValueError):
        CapturedMessage("m1", "u1", datetime(2026, 1, 1), "hi").to_json()


def test_retry_policy_bounds():
    policy = RetryPolicy(retries=2, backoff=1, max_backoff=3, max_wait=10)
    assert policy.delay(1, 4.0) == 4.0 and policy.delay(1, 11.0) is None
    assert policy.delay(3, None) is None and policy.delay(3, 0.0) is None
    assert 0.5 <= (policy.delay(1, None) or 0) <= 1 and 1 <= (policy.delay(2, None) or 0) <= 2


def test_retry_after_as_seconds_or_http_date():
    assert retry_after_seconds("7") == 7.0 and retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    later = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= (retry_after_seconds(later, now=time.time()) or 0) <= 31


def test_errors_from_problem_details_and_from_anything_else():
    err = from_problem(422, {"type": "/problems/invalid_input", "title": "Invalid input",
                             "status": 422, "detail": "messages[1].sent_at: out of order",
                             "code": "out_of_order", "errors": [
                                 {"field": "messages[1].sent_at", "message": "out of order",
                                  "reason": "out_of_order"}]}, "", None)
    assert err.code == "out_of_order" and err.fields == {"messages[1].sent_at": "out of order"}
    assert str(err) == "422 out_of_order: messages[1].sent_at: out of order"
    html = from_problem(502, None, "<html><body>Bad gateway</body></html>", 5.0)
    assert html.code == "bad_gateway" and html.retry_after == 5.0 and html.status == 502
