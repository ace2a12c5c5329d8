"""Pasted text stays byte-exact; conversation captures are checked strictly."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from childsafe.reports.core.errors import EvidenceRejected
from childsafe.reports.core.evidence.conversation import (
    CaptureLimits,
    Role,
    parse_conversation,
)
from childsafe.reports.core.evidence.text import accept_pasted_text

HOSTILE = [
    "<script>alert('x')</script>",
    "<img src=x onerror=alert(1)> & &amp; \"quotes\" 'single'",
    "  leading and trailing spaces  \r\n\r\n",
    "e\u0301 vs \u00e9 (not normalised)",
    "\u202eright-to-left override\u202c and zero\u200bwidth",
    "emoji 👩‍👩‍👧 and 山田 and العربية",
    "{{ template }} ${injection} %s %n",
    "see https://example.com/profile and chat.test",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_pasted_text_is_byte_exact(text):
    got = accept_pasted_text(text)
    assert got.text == text and got.data == text.encode("utf-8")
    assert got.digests.sha256 == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_pasted_bytes_are_byte_exact():
    raw = "\ufeffBOM kept\r\n".encode()
    assert accept_pasted_text(raw).data == raw


@pytest.mark.parametrize(("raw", "code"),
                         [("", "empty"), ("   \n\t", "empty"), (b"\xff\xfe", "malformed"),
                          ("lone \ud800 surrogate", "malformed"), ("nul\x00byte", "malformed"),
                          ("a" * 200_001, "too_large"), ("é" * 100_001, "too_large"),
                          (12345, "malformed")])
def test_pasted_text_refusals(raw, code):
    with pytest.raises(EvidenceRejected) as info:
        accept_pasted_text(raw)
    assert info.value.code == code and info.value.field == "text"


def test_pasted_text_at_the_limit():
    assert accept_pasted_text("a" * 200_000).digests.size == 200_000


# ---- conversation captures ------------------------------------------------------------

def test_capture_parses(f):
    conv = parse_conversation(f.conversation(), now=f.now)
    assert conv.platform == "chatty.test" and len(conv.messages) == 6
    assert conv.participants[0].declared_age == 12
    assert conv.messages[0].sent_at.tzinfo is not None
    assert [s.identifier for s in conv.suspects()] == ["u2"]
    assert conv.participants[1].role is Role.REPORTED


def test_capture_hash_is_stable(f):
    a = parse_conversation(f.conversation(), now=f.now)
    b = parse_conversation(f.conversation(), now=f.now)
    assert a.sha256 == b.sha256 and len(a.sha256) == 64


def test_timestamps_are_converted_to_utc(f):
    raw = f.conversation()
    raw["messages"][0]["sent_at"] = "2024-06-01T13:00:00+02:00"
    conv = parse_conversation(raw, now=f.now)
    assert conv.messages[0].sent_at.isoformat() == "2024-06-01T11:00:00+00:00"


def test_message_text_is_kept_exactly(f):
    raw = f.conversation()
    raw["messages"][1]["text"] = HOSTILE[4] + HOSTILE[0]
    assert parse_conversation(raw, now=f.now).messages[1].text == HOSTILE[4] + HOSTILE[0]


def reject(raw, now, **kw) -> EvidenceRejected:
    with pytest.raises(EvidenceRejected) as info:
        parse_conversation(raw, now=now, **kw)
    return info.value


def test_duplicate_message_ids(f):
    raw = f.conversation()
    raw["messages"][3]["id"] = "m1"
    e = reject(raw, f.now)
    assert (e.code, e.field) == ("duplicate_id", "messages[3].id")


def test_duplicate_participants(f):
    raw = f.conversation()
    raw["participants"][1]["user_id"] = "u1"
    assert reject(raw, f.now).code == "duplicate_id"


def test_future_timestamp(f):
    raw = f.conversation()
    raw["messages"][2]["sent_at"] = (f.now + timedelta(hours=1)).isoformat()
    e = reject(raw, f.now)
    assert (e.code, e.field) == ("future_timestamp", "messages[2].sent_at")


def test_small_clock_skew_is_tolerated(f):
    raw = f.conversation()
    raw["messages"][2]["sent_at"] = (f.now + timedelta(minutes=2)).isoformat()
    parse_conversation(raw, now=f.now)


@pytest.mark.parametrize("stamp", ["2024-06-01T10:00:00", "yesterday", 1717236000, None])
def test_timestamps_need_a_zone(f, stamp):
    raw = f.conversation()
    raw["messages"][0]["sent_at"] = stamp
    assert reject(raw, f.now).code == "malformed"


@pytest.mark.parametrize("bad_id", ["m\u202e1", "m\u200b1", "m\x001", "m\n1", "m\u2028"])
def test_control_and_bidi_characters_in_ids(f, bad_id):
    raw = f.conversation()
    raw["messages"][0]["id"] = bad_id
    e = reject(raw, f.now)
    assert (e.code, e.field) == ("bad_characters", "messages[0].id")


def test_bidi_in_room_id_and_user_id(f):
    assert reject(f.conversation(room_id="room\u202e24"), f.now).field == "room_id"
    raw = f.conversation()
    raw["participants"][0]["user_id"] = "\u2066u1"
    assert reject(raw, f.now).field == "participants[0].user_id"


def test_unknown_sender(f):
    raw = f.conversation()
    raw["messages"][0]["sender"] = "u9"
    assert reject(raw, f.now).code == "unknown_sender"


def test_limits(f):
    small = CaptureLimits(max_messages=3)
    assert reject(f.conversation(), f.now, limits=small).code == "too_large"
    raw = f.conversation()
    raw["messages"][0]["text"] = "a" * 10_001
    assert reject(raw, f.now).code == "too_large"
    assert reject(f.conversation(), f.now,
                  limits=CaptureLimits(max_total_chars=50)).code == "too_large"
    assert reject(f.conversation(room_id="r" * 257), f.now).code == "too_large"


@pytest.mark.parametrize(("override", "code"),
                         [({"messages": []}, "empty"), ({"messages": "m0"}, "malformed"),
                          ({"platform": ""}, "empty"), ({"room_id": 42}, "malformed")])
def test_structure(f, override, code):
    assert reject(f.conversation(**override), f.now).code == code


def test_declared_age_and_role_are_checked(f):
    raw = f.conversation()
    raw["participants"][0]["declared_age"] = "twelve"
    assert reject(raw, f.now).field == "participants[0].declared_age"
    raw = f.conversation()
    raw["participants"][0]["role"] = "boss"
    assert reject(raw, f.now).field == "participants[0].role"


def test_not_an_object(f):
    assert reject(["nope"], f.now).code == "malformed"
