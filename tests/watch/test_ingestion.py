"""Parsing and validating a message batch (pure core): keys, hashes, every error named."""

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from childsafe.watch.core.ingestion import (
    MAX_MESSAGES,
    MAX_TEXT_CHARS,
    BatchInvalid,
    BatchOutOfOrder,
    BatchTooLarge,
    StoredMessage,
    conversation_key,
    differences,
    out_of_order_after_stored,
    parse_batch,
    parse_sent_at,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def msg(i, **over):
    doc = {"message_id": f"m-{i}", "author_id": "u-1", "sent_at": f"2026-11-23T08:00:{i:02d}Z",
           "text": f"hello {i}"}
    doc.update(over)
    return {k: v for k, v in doc.items() if v is not ...}


def fields(exc):
    return [p["field"] for p in exc.value.as_list()]


def test_conversation_keys_follow_the_documented_rule():
    assert conversation_key("u-2", None, None) == ("room", "room")
    assert conversation_key("u-2", "u-1", None) == ("direct:u-1 u-2", "direct")
    assert conversation_key("u-1", "u-2", None) == ("direct:u-1 u-2", "direct")
    assert conversation_key("u-1", "u-2", "t-9") == ("thread:t-9", "direct")
    assert conversation_key("u-1", None, "t-9") == ("thread:t-9", "room")


def test_valid_batch_keeps_text_exactly_and_hashes_it():
    text = "héllo 👋 مرحبا\u200d\x00 end  "
    out = parse_batch({"messages": [
        msg(0, text=text, author_age=13),
        msg(1, author_id="u-2", recipient_id="u-1", reply_to="m-0"),
        msg(2, conversation="thread-7", sent_at="2026-11-23T09:00:02.123456789+01:00")]}, now=NOW)
    assert [m.key for m in out] == ["room", "direct:u-1 u-2", "thread:thread-7"]
    assert out[0].text == text and out[0].author_age == 13
    assert out[0].sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert out[1].kind == "direct" and out[1].reply_to == "m-0"
    assert out[2].sent_at == datetime(2026, 11, 23, 8, 0, 2, 123456, tzinfo=UTC)
    assert [m.index for m in out] == [0, 1, 2]


def test_every_problem_is_listed_with_its_message_index():
    batch = {"messages": [
        msg(0),
        msg(1, sent_at="yesterday"),
        msg(2, text=...),
        msg(3, author_id="has space", author_age=200),
        msg(4, text="x" * (MAX_TEXT_CHARS + 1)),
        msg(5, message_id="m-0", colour="red"),
        msg(6, recipient_id="u-1"),
        msg(7, sent_at="2026-11-23T08:00:07"),  # no time zone
        msg(8, author_age=True, text=7),
        "not an object",
        msg(10, sent_at=(NOW + timedelta(hours=1)).isoformat()),
        msg(11, conversation=""),
        msg(12, text="\ud800"),
    ]}
    with pytest.raises(BatchInvalid) as exc:
        parse_batch(batch, now=NOW)
    assert exc.value.status == 422 and exc.value.code == "invalid_input"
    assert fields(exc) == [
        "messages[1].sent_at", "messages[2].text", "messages[3].author_id",
        "messages[3].author_age", "messages[4].text", "messages[5].colour",
        "messages[5].message_id", "messages[6].recipient_id", "messages[7].sent_at",
        "messages[8].author_age", "messages[8].text", "messages[9]", "messages[10].sent_at",
        "messages[11].conversation", "messages[12].text"]
    reasons = {p["field"]: p["reason"] for p in exc.value.as_list()}
    assert reasons["messages[5].message_id"] == "repeated"
    assert reasons["messages[10].sent_at"] == "future"
    assert reasons["messages[4].text"] == "too_long"
    assert "messages[1].sent_at" in exc.value.detail


@pytest.mark.parametrize("doc, field", [
    ([], "body"), ({"messages": "x"}, "messages"), ({}, "messages"),
    ({"messages": []}, "messages"), ({"messages": [msg(0)], "extra": 1}, "extra")])
def test_malformed_envelope(doc, field):
    with pytest.raises(BatchInvalid) as exc:
        parse_batch(doc, now=NOW)
    assert fields(exc)[0] == field


def test_too_many_messages():
    with pytest.raises(BatchTooLarge) as exc:
        parse_batch({"messages": [msg(i % 60) for i in range(MAX_MESSAGES + 1)]}, now=NOW)
    assert exc.value.status == 413 and exc.value.code == "too_large"


def test_out_of_order_within_a_conversation_only():
    ok = parse_batch({"messages": [msg(5), msg(1, recipient_id="u-9"), msg(6)]}, now=NOW)
    assert len(ok) == 3  # the direct message is another conversation
    with pytest.raises(BatchOutOfOrder) as exc:
        parse_batch({"messages": [msg(5), msg(6), msg(4), msg(7)]}, now=NOW)
    assert exc.value.code == "out_of_order" and fields(exc) == ["messages[2].sent_at"]
    assert "messages[1]" in exc.value.as_list()[0]["detail"]


def test_order_against_the_last_stored_message():
    batch = parse_batch({"messages": [msg(3), msg(4, recipient_id="u-2")]}, now=NOW)
    last = {"room": datetime(2026, 11, 23, 8, 0, 5, tzinfo=UTC).timestamp()}
    problems = out_of_order_after_stored(batch, last)
    assert [p.field for p in problems] == ["messages[0].sent_at"]
    assert out_of_order_after_stored(batch, {"room": batch[0].ts}) == []


def test_differences_name_what_changed():
    m = parse_batch({"messages": [msg(0, author_age=13)]}, now=NOW)[0]
    same = StoredMessage("u-1", 13, None, None, m.sent_at, m.sha256, "room")
    assert differences(m, same) == []
    other = StoredMessage("u-1", 14, None, None, m.sent_at, "0" * 64, "room")
    assert differences(m, other) == ["author_age", "text"]


def test_rfc3339_variants():
    assert parse_sent_at("2026-11-23 08:00:00z") == datetime(2026, 11, 23, 8, tzinfo=UTC)
    assert parse_sent_at("2026-11-23T10:00:00.5+02:00") == datetime(2026, 11, 23, 8, 0, 0, 500000,
                                                                   tzinfo=UTC)
    for bad in ("2026-11-23", "2026-11-23T25:00:00Z", "1700000000", "2026-11-23T08:00:00+0100"):
        with pytest.raises(ValueError):
            parse_sent_at(bad)
