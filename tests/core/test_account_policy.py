from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from childsafe.core import accounts as a
from childsafe.core.errors import InvalidInput

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
POLICY = a.SecurityPolicy()


def test_argon2id_hash_and_verify():
    h = a.hash_password("correct-horse-battery-staple")
    assert h.startswith("$argon2id$")
    assert a.verify_password(h, "correct-horse-battery-staple")
    assert not a.verify_password(h, "wrong-horse-battery-staple")
    assert not a.verify_password(None, "anything-at-all")
    assert not a.verify_password(h, "x" * 10_000)


@pytest.mark.parametrize("pw", ["short", "password1234", "aaaaaaaaaaaaaaaa", "x" * 300,
                                "my-name-alice-is-here"])
def test_weak_passwords_rejected(pw):
    with pytest.raises(InvalidInput):
        a.check_password_strength(pw, username="alice")


def test_lockout_after_five_failures_for_ten_minutes():
    state = a.LockState(0, None)
    for _ in range(4):
        state = a.after_failure(state, NOW, POLICY)
        assert not a.is_locked(state, NOW)
    state = a.after_failure(state, NOW, POLICY)
    assert a.is_locked(state, NOW)
    assert a.is_locked(state, NOW + timedelta(minutes=9, seconds=59))
    assert not a.is_locked(state, NOW + timedelta(minutes=10))


def test_session_expiry_rules():
    fresh = a.SessionTimes(NOW, NOW, True)
    assert a.session_expired(fresh, NOW + timedelta(minutes=29), POLICY) is None
    assert a.session_expired(fresh, NOW + timedelta(minutes=30), POLICY) == "idle"
    busy = a.SessionTimes(NOW, NOW + timedelta(hours=11, minutes=59), True)
    assert a.session_expired(busy, NOW + timedelta(hours=12), POLICY) == "absolute"
    pending = a.SessionTimes(NOW, NOW, False)
    assert a.session_expired(pending, NOW + timedelta(minutes=5), POLICY) == "mfa_pending"


def test_totp_accepts_current_refuses_replay_and_wrong():
    secret = a.new_totp_secret()
    t = NOW.timestamp()
    code = pyotp.TOTP(secret).at(t)
    step = a.verify_totp(secret, code, last_step=None, at=t)
    assert step is not None
    assert a.verify_totp(secret, code, last_step=step, at=t) is None
    assert a.verify_totp(secret, "000000" if code != "000000" else "111111",
                         last_step=None, at=t) is None
    assert a.verify_totp(secret, "12ab56", last_step=None, at=t) is None
    old = pyotp.TOTP(secret).at(t - 120)
    assert a.verify_totp(secret, old, last_step=None, at=t) is None or old == code


def test_api_key_format_and_parse():
    issued = a.issue_api_key()
    parsed = a.parse_api_key(issued.plaintext)
    assert parsed == (issued.key_id, issued.secret_digest)
    assert issued.secret_digest not in issued.plaintext
    for bad in ["", "csk_", "Bearer x", "csk_zzzzzzzzzzzz_" + "a" * 40, "abc_123456789012_" + "a" * 40]:
        assert a.parse_api_key(bad) is None
