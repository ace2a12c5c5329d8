"""Same evidence + same suspect within 24 h -> same key, so the store links instead."""

from __future__ import annotations

from datetime import timedelta

import pytest

from childsafe.reports.core.evidence.dedup import (
    SuspectRef,
    dedup_keys,
    normalize_identifier,
    within_window,
)
from childsafe.reports.core.evidence.text import accept_pasted_text

H1 = "a" * 64
H2 = "b" * 64


def test_same_evidence_same_suspect_same_key():
    a = dedup_keys([H1], [SuspectRef("chatty.test", "@Sam_99")])
    b = dedup_keys([H1.upper()], [SuspectRef("Chatty.test", "sam_99 ")])
    assert a == b and len(a) == 1


def test_different_suspect_or_platform_or_evidence_differs():
    base = dedup_keys([H1], [SuspectRef("chatty.test", "sam")])
    assert base.isdisjoint(dedup_keys([H1], [SuspectRef("chatty.test", "alex")]))
    assert base.isdisjoint(dedup_keys([H1], [SuspectRef("other.test", "sam")]))
    assert base.isdisjoint(dedup_keys([H2], [SuspectRef("chatty.test", "sam")]))


def test_one_key_per_pair():
    keys = dedup_keys([H1, H2], [SuspectRef("p", "x"), SuspectRef("p", "y")])
    assert len(keys) == 4


def test_no_suspect_no_key():
    assert dedup_keys([H1], []) == frozenset()
    assert dedup_keys([H1], [SuspectRef("p", " @ ")]) == frozenset()


def test_bad_hash_is_a_bug():
    with pytest.raises(ValueError):
        dedup_keys(["not-a-hash"], [SuspectRef("p", "x")])


def test_fullwidth_and_case_fold():
    assert normalize_identifier("ＳＡＭ") == normalize_identifier("sam")


def test_window(f):
    assert within_window(f.now, f.now + timedelta(hours=23, minutes=59))
    assert not within_window(f.now, f.now + timedelta(hours=24, seconds=1))
    assert not within_window(f.now, f.now - timedelta(minutes=1))


def test_keys_from_real_evidence(f):
    from childsafe.reports.core.evidence.conversation import parse_conversation

    conv = parse_conversation(f.conversation(), now=f.now)
    text = accept_pasted_text("are you alone? keep it secret")
    keys = dedup_keys([conv.sha256, text.digests.sha256], conv.suspects())
    assert len(keys) == 2
