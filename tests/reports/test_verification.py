"""Email verification codes: only keyed hashes are stored; expiry and attempt limits hold."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

import pytest

from childsafe.reports.core.errors import VerificationFailed
from childsafe.reports.core.verification import (
    CheckResult,
    check_code,
    check_link,
    issue,
    raise_for,
    report_expired,
)


def test_code_and_token_shapes(f):
    secrets_, record = issue(f.now, f.key)
    assert len(secrets_.code) == 6 and secrets_.code.isdigit()
    assert len(secrets_.link_token) == 64
    stored = " ".join(str(v) for v in asdict(record).values())
    assert secrets_.code not in stored and secrets_.link_token not in stored
    assert record.code_expires_at == f.now + timedelta(hours=24)
    assert record.report_expires_at == f.now + timedelta(hours=72)


def test_codes_differ(f):
    assert len({issue(f.now, f.key)[0].code for _ in range(20)}) > 1


def test_correct_code_verifies(f):
    s, record = issue(f.now, f.key)
    result, record = check_code(record, f" {s.code[:3]} {s.code[3:]} ", f.now, f.key)
    assert result is CheckResult.VERIFIED and record.verified_at == f.now
    assert not report_expired(record, f.now + timedelta(days=10))


def test_link_verifies(f):
    s, record = issue(f.now, f.key)
    assert check_link(record, s.link_token, f.now, f.key)[0] is CheckResult.VERIFIED
    result, record = check_link(record, "x" * 64, f.now, f.key)
    assert result is CheckResult.WRONG and record.attempts == 1


def test_wrong_key_does_not_verify(f):
    s, record = issue(f.now, f.key)
    assert check_code(record, s.code, f.now, b"another-key-another-key!")[0] is CheckResult.WRONG


def test_attempts_are_counted_and_lock(f):
    s, record = issue(f.now, f.key)
    wrong = "000000" if s.code != "000000" else "111111"
    for expected in [CheckResult.WRONG] * 4 + [CheckResult.LOCKED]:
        result, record = check_code(record, wrong, f.now, f.key)
        assert result is expected
    assert check_code(record, s.code, f.now, f.key)[0] is CheckResult.LOCKED


def test_code_expires_after_24h(f):
    s, record = issue(f.now, f.key)
    later = f.now + timedelta(hours=24)
    assert check_code(record, s.code, later, f.key)[0] is CheckResult.EXPIRED


def test_reissue_keeps_the_report_deadline(f):
    created = f.now - timedelta(hours=60)
    s, record = issue(f.now, f.key, report_created_at=created)
    assert record.report_expires_at == created + timedelta(hours=72)
    assert record.code_expires_at == record.report_expires_at  # never outlives the report
    assert report_expired(record, f.now + timedelta(hours=12))


def test_deterministic_with_injected_randomness(f):
    s, _ = issue(f.now, f.key, token_bytes=lambda n: bytes(n))
    assert s.code == "000000" and s.link_token == "00" * 32


def test_short_key_is_refused(f):
    with pytest.raises(ValueError):
        issue(f.now, b"short")


@pytest.mark.parametrize(("result", "lang", "text"),
                         [(CheckResult.WRONG, "en", "That code is not right"),
                          (CheckResult.LOCKED, "fr", "Trop d’essais"),
                          (CheckResult.EXPIRED, "fr", "Ce code a expiré")])
def test_failures_become_domain_errors(result, lang, text):
    with pytest.raises(VerificationFailed) as info:
        raise_for(result, lang)
    assert info.value.reason == result.value and text in info.value.detail
    raise_for(CheckResult.VERIFIED)
