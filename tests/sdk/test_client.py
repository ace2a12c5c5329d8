"""The sync SDK against the running app (uvicorn on loopback, real store): every method,
its errors, and the retry rules.

Synthetic, non-explicit material only: grooming *cues* in plain words, reserved names.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from childsafe.sdk import (
    AuthenticationError,
    CapturedMessage,
    ChatMessage,
    ChildsafeError,
    Client,
    ConflictError,
    Conversation,
    EvidenceFile,
    NotFoundError,
    Participant,
    PermissionDeniedError,
    RateLimitedError,
    Reporter,
    RetryPolicy,
    ServerError,
    TransportError,
    ValidationError,
)
from childsafe.store.handoff_models import ReportHandoffRow
from childsafe.store.report_models import EvidenceRow, ReportRow
from tests.reports.conftest import make_png
from tests.sdk.platform import HANDOFF_LIMIT, FlakyFront, free_port

ANSWERS = {"danger": "no", "who": "young_person", "country": "GB", "what": "contact",
           "cues": ["asked_age", "asked_secret"], "platform": "ExampleChat",
           "when": "2026-11-20", "suspect": "sam_99"}
REPORTER = Reporter(name="Kim Young", email="kim@example.com", country="GB", age_band="13_15",
                    relationship="self")
LINES = [("u-77", "hi, how old are you?"), ("u-4821", "13"),
         ("u-77", "are you alone right now?"), ("u-77", "let's keep this chat our secret ok"),
         ("u-77", "add me on another app, it's more private")]


def conversation(room: str = "teen-lounge-3") -> Conversation:
    start = datetime.now(UTC) - timedelta(hours=1)
    return Conversation(
        platform="examplechat.test", room_id=room,
        participants=[Participant("u-4821", "Kim", 13, "reporter"),
                      Participant("u-77", "sam_99", role="reported")],
        messages=[CapturedMessage(f"m-{i}", who, start + timedelta(minutes=i), text)
                  for i, (who, text) in enumerate(LINES)])


@pytest.fixture
def client(platform):
    with Client(platform.url, api_key=platform.key, timeout=15) as c:
        yield c


def ext() -> str:
    return "room-" + secrets.token_hex(4)


# ---- identity ----------------------------------------------------------------------------

def test_me_names_the_provider_and_scopes(client):
    me = client.me()
    assert me.provider == "ExampleChat" and set(me.scopes) >= {"provider:report:write",
                                                                 "provider:message:write"}


# ---- reports and evidence -----------------------------------------------------------------

def test_file_a_report_add_evidence_and_read_its_state(client, platform):
    report = client.reports.create(answers=ANSWERS, reporter=REPORTER,
                                   conversation=conversation(), language="en",
                                   pasted_text="they said: don't tell your parents",
                                   suspects=[("examplechat.test", "u-77")])
    assert report.filed and report.reference and report.reference.startswith("R-")
    assert report.state == "awaiting_verification" and report.needs_verification
    assert report.agency == "UK-NCA-CEOP" and report.classification.category == "grooming"
    assert report.status_url and "/report/status/" in report.status_url
    kinds = {e.kind: e for e in report.evidence}
    assert set(kinds) == {"conversation", "text"}
    assert kinds["text"].sha256 == hashlib.sha256(
        b"they said: don't tell your parents").hexdigest()

    png = make_png()
    added = client.reports.add_evidence(report.reference, "shot.png", png, "image/png")
    assert added.kind == "file" and added.sha256 == hashlib.sha256(png).hexdigest()
    assert added.md5 == hashlib.md5(png).hexdigest() and added.size == len(png)
    more = client.reports.add_files(report.reference,
                                    [EvidenceFile("notes.txt", b"username sam_99", "text/plain")],
                                    text="it started on 20 November")
    assert sorted(e.kind for e in more) == ["file", "text"]

    state = client.reports.get(report.reference)
    assert state.reference == report.reference and state.evidence_items == 5
    assert state.state == "awaiting_verification" and not state.immediate
    with platform.db.transaction() as s:
        row = s.scalar(select(ReportRow).where(ReportRow.reference == report.reference))
        assert row.provider_id == platform.provider_id and row.channel == "api"
        conv = s.scalar(select(EvidenceRow).where(EvidenceRow.report_id == row.id,
                                                  EvidenceRow.kind == "conversation"))
        assert conv.sha256 == kinds["conversation"].sha256


def test_out_of_scope_answers_file_nothing(client):
    report = client.reports.create(
        answers={"danger": "no", "who": "young_person", "country": "GB", "what": "spam",
                 "check": "no"},
        reporter=REPORTER)
    assert not report.filed and report.reference is None
    assert not report.classification.in_scope and report.classification.signposts


def test_questions_for_a_native_form(client):
    flow = client.reports.questions("fr")
    assert flow["start"] == "danger" and flow["questions"]


def test_validation_errors_name_every_field(client):
    with pytest.raises(ValidationError) as caught:
        client.reports.create(answers=ANSWERS | {"country": "Atlantis", "when": "someday"},
                              reporter=REPORTER)
    err = caught.value
    assert isinstance(err, ChildsafeError) and err.status == 422 and err.code == "invalid_input"
    assert {"country", "when"} <= set(err.fields)
    with pytest.raises(ValidationError) as caught:
        client.reports.create(answers=ANSWERS, reporter={"name": "Kim"})
    assert {"country", "contact", "age_band", "relationship"} <= set(caught.value.fields)


def test_a_bad_capture_names_the_message(client):
    broken = conversation()
    broken = Conversation(broken.platform, broken.room_id, broken.participants,
                          [*broken.messages, CapturedMessage("m-9", "nobody", datetime.now(UTC),
                                                             "hi")])
    with pytest.raises(ValidationError) as caught:
        client.reports.create(answers=ANSWERS, reporter=REPORTER, conversation=broken)
    assert caught.value.fields == {"messages[5].sender":
                                   "The sender is not one of the participants."}


def test_naive_timestamps_are_refused_before_sending(client):
    with pytest.raises(ValueError, match="timezone-aware"):
        client.messages.send("rm_" + "0" * 24, [ChatMessage("m1", "u1", "hi", datetime.now())])


def test_unknown_report_is_not_found(client):
    with pytest.raises(NotFoundError) as caught:
        client.reports.get("R-AAAA-BBBB")
    assert caught.value.status == 404 and caught.value.code == "not_found"


def test_bad_revoked_and_underscoped_keys(platform):
    for key in ("csk_nope_nope", platform.revoked_key):
        with Client(platform.url, api_key=key) as bad:
            with pytest.raises(AuthenticationError) as caught:
                bad.me()
            assert caught.value.status == 401 and caught.value.code == "authentication_failed"
    with Client(platform.url, api_key=platform.rooms_key) as rooms_only:
        with pytest.raises(PermissionDeniedError) as denied:
            rooms_only.reports.create(answers=ANSWERS, reporter=REPORTER)
        assert denied.value.status == 403 and "provider:report:write" in denied.value.detail
    with Client(platform.url) as keyless, pytest.raises(ChildsafeError) as caught:
        keyless.me()
    assert caught.value.code == "no_api_key" and caught.value.status is None


# ---- report hand-off ----------------------------------------------------------------------

def test_handoff_gives_a_single_use_link(client, platform):
    conv = conversation()
    handoff = client.reports.handoff(conversation=conv, reporter=REPORTER, language="en",
                                     audience="young_person", room_title="Teen lounge")
    assert handoff.url.startswith(platform.url + "/report/start/")
    assert timedelta(minutes=29) < handoff.expires_at - datetime.now(UTC) <= timedelta(minutes=31)
    assert handoff.messages == len(LINES) and len(handoff.conversation_sha256) == 64
    page = httpx.get(handoff.url)
    assert page.status_code == 200
    assert "The conversation from ExampleChat is attached (5 messages)" in page.text
    other_browser = httpx.get(handoff.url)  # no cookie: another browser
    assert other_browser.status_code == 409
    with platform.db.transaction() as s:
        row = s.get(ReportHandoffRow, handoff.id)
        assert row.provider_id == platform.provider_id and row.opened_at is not None


def test_handoff_prefill_is_checked(client):
    with pytest.raises(ValidationError) as caught:
        client.reports.handoff(conversation=conversation(),
                               reporter={"email": "nope", "age_band": "old"})
    assert set(caught.value.fields) == {"reporter.email", "reporter.age_band"}


def test_handoffs_are_rate_limited_per_provider_with_retry_after(platform):
    key = platform.new_provider("BusyChat")
    with Client(platform.url, api_key=key) as busy:
        for _ in range(HANDOFF_LIMIT):
            busy.reports.handoff(conversation=conversation())
        with pytest.raises(RateLimitedError) as caught:
            busy.reports.handoff(conversation=conversation())
    assert caught.value.status == 429 and caught.value.code == "rate_limited"
    assert caught.value.retry_after is not None and 0 < caught.value.retry_after <= 3600


# ---- rooms, badge, messages ---------------------------------------------------------------

def test_register_list_get_and_badge(client, platform):
    a, b = ext(), ext()
    room = client.rooms.register(a, "Teen lounge", audience="teen", language="en", region="GB")
    assert room.id.startswith("rm_") and room.external_id == a and room.active
    again = client.rooms.register(a, "Teen lounge (renamed)", audience="teen", language="en",
                                  region="GB")
    assert again.id == room.id and again.title == "Teen lounge (renamed)"
    other = client.rooms.register(b, "Homework help", audience="teen", language="en",
                                  region="*")
    listed = {r.id for r in client.rooms.iter(page_size=1)}
    assert {room.id, other.id} <= listed
    assert [r.id for r in client.rooms.list(external_id=b)] == [other.id]

    fresh = client.rooms.get(room.id)
    assert fresh.monitoring is not None and fresh.monitoring.state == "not_monitored"
    with Client(platform.url) as public:  # the badge needs no key
        badge = public.rooms.badge(room.id, lang="en")
        assert badge.state == "not_monitored" and badge.text == "Not monitored"
        platform.monitor(room.id)
        badge = public.rooms.badge(room.id, lang="fr")
    assert badge.state == "monitored" and badge.monitored and badge.lang == "fr"
    assert badge.text == "Surveillé par la police"
    assert [a.code for a in badge.agencies] == ["UK-NCA-CEOP"]
    assert badge.svg_url.endswith(f"/api/v1/rooms/{room.id}/badge.svg?lang=fr")
    assert badge.help_url and badge.report_url and badge.digest
    monitored = client.rooms.get(room.id).monitoring
    assert monitored is not None and [a.code for a in monitored.on_duty] == ["UK-NCA-CEOP"]


def test_unknown_room_and_bad_room_input(client):
    with pytest.raises(NotFoundError):
        client.rooms.get("rm_" + "0" * 24)
    with pytest.raises(NotFoundError):
        client.rooms.badge("rm_" + "0" * 24)
    with pytest.raises(ValidationError) as caught:
        client.rooms.register("has space", "T", audience="teen", language="en", region="GB")
    assert "external_id" in caught.value.fields


def test_stream_messages_duplicates_batches_and_errors(client, platform):
    room = client.rooms.register(ext(), "Art club", audience="teen", language="en", region="GB")
    quiet = client.rooms.register(ext(), "Quiet room", audience="general", language="en",
                                  region="GB")
    platform.monitor(room.id)
    start = datetime.now(UTC) - timedelta(minutes=30)
    first = [ChatMessage("m-1", "u-4821", "anyone here like drawing?", start, author_age=13),
             ChatMessage("m-2", "u-77", "me! how old are you?", start + timedelta(seconds=30),
                         author_age=31, reply_to="m-1"),
             ChatMessage("m-3", "u-77", "are you alone right now?", start + timedelta(minutes=1),
                         recipient_id="u-4821")]
    result = client.messages.send(room.id, first)
    assert (result.accepted, result.duplicates, result.ignored) == (3, 0, 0)
    assert {c.kind for c in result.conversations} == {"room", "direct"}
    again = client.messages.send(room.id, first)  # a retried batch is harmless
    assert (again.accepted, again.duplicates) == (0, 3)

    many = [ChatMessage(f"n-{i}", "u-4821", f"line {i}", start + timedelta(minutes=2, seconds=i))
            for i in range(620)]
    big = client.messages.send(room.id, many)
    assert big.batches == 2 and big.accepted == 620

    ignored = client.messages.send(quiet.id, first)
    assert ignored.ignored == 3 and ignored.ignored_reason == "not_monitored"

    with pytest.raises(ConflictError) as conflict:
        client.messages.send(room.id, [ChatMessage("m-1", "u-4821", "edited text", start,
                                                   author_age=13)])
    assert conflict.value.status == 409 and conflict.value.code == "message_conflict"
    with pytest.raises(ValidationError) as bad:
        client.messages.send(room.id, [
            ChatMessage("o-1", "u-9", "later", start + timedelta(minutes=20),
                        conversation="t1"),
            ChatMessage("o-2", "u-9", "earlier", start + timedelta(minutes=10),
                        conversation="t1")])
    assert bad.value.code in ("out_of_order", "invalid_input")
    assert any(f and f.startswith("messages[1]") for f in bad.value.fields)
    with pytest.raises(NotFoundError):
        client.messages.send("rm_" + "0" * 24, first)


# ---- retries -------------------------------------------------------------------------------

@pytest.fixture
def front(platform):
    f = FlakyFront(platform.url)
    yield f
    f.close()


def sleeps() -> tuple[list[float], RetryPolicy]:
    return [], RetryPolicy(retries=2, backoff=0.01, max_backoff=0.02, max_wait=5)


def test_idempotent_calls_retry_on_503_honouring_retry_after(front, platform):
    waited, policy = sleeps()
    front.fail_next(503, retry_after="1")
    with Client(front.url, api_key=platform.key, retry=policy, sleep=waited.append) as c:
        assert c.me().provider == "ExampleChat"
    assert waited == [1.0] and len(front.requests) == 2


def test_429_is_retried_for_reads_with_backoff_when_no_retry_after(front, platform):
    waited, policy = sleeps()
    front.fail_next(429, times=2)
    with Client(front.url, api_key=platform.key, retry=policy, sleep=waited.append) as c:
        assert c.rooms.list() is not None
    assert len(waited) == 2 and all(0 < w <= 0.02 for w in waited)


def test_retries_are_bounded(front, platform):
    waited, policy = sleeps()
    front.fail_next(503, retry_after="0", times=5)
    with Client(front.url, api_key=platform.key, retry=policy, sleep=waited.append) as c, \
            pytest.raises(ServerError) as caught:
        c.me()
    assert caught.value.status == 503 and len(front.requests) == 3 and waited == [0.0, 0.0]
    front.script.clear()
    front.fail_next(503, retry_after="120")  # longer than max_wait: not waited for
    with Client(front.url, api_key=platform.key, retry=policy, sleep=waited.append) as c, \
            pytest.raises(ServerError) as caught:
        c.me()
    assert caught.value.retry_after == 120.0 and waited == [0.0, 0.0]


def test_non_idempotent_calls_are_never_retried(front, platform):
    waited, policy = sleeps()
    front.fail_next(503, retry_after="0")
    with Client(front.url, api_key=platform.key, retry=policy, sleep=waited.append) as c:
        with pytest.raises(ServerError):
            c.reports.create(answers=ANSWERS, reporter=REPORTER)
        front.fail_next(429, retry_after="0")
        with pytest.raises(RateLimitedError) as limited:
            c.reports.handoff(conversation=conversation())
    assert waited == [] and limited.value.retry_after == 0.0
    assert [m for m, _ in front.requests] == ["POST", "POST"]


def test_unreachable_platform_is_a_transport_error():
    waited, policy = sleeps()
    with Client(f"http://127.0.0.1:{free_port()}", api_key="csk_x_y", retry=policy,
                sleep=waited.append, timeout=2) as c:
        with pytest.raises(TransportError) as caught:
            c.me()
        assert caught.value.code == "network_error" and caught.value.status is None
        assert len(waited) == 2  # a read: retried, then given up
        waited.clear()
        with pytest.raises(TransportError):
            c.reports.create(answers=ANSWERS, reporter=REPORTER)
        assert waited == []
