"""Accounts on both stores: lockout, MFA, sessions, disabling, API keys."""

from datetime import timedelta

import pyotp
import pytest

from childsafe.core.accounts import SecurityPolicy
from childsafe.core.errors import Conflict, InvalidInput
from childsafe.store import accounts, agencies, providers
from childsafe.store.models import utcnow
from tests.helpers import STRONG_PASSWORD

POLICY = SecurityPolicy()


def test_password_hash_is_argon2id_and_secret_encrypted(db, make_officer, keyring):
    officer = make_officer("alice")
    with db.transaction() as s:
        user = accounts.get_user(s, "alice")
        assert user.password_hash.startswith("$argon2id$")
        assert STRONG_PASSWORD not in user.password_hash
        assert officer.totp_secret.encode() not in user.totp_secret_enc
        assert accounts.totp_secret(keyring, user) == officer.totp_secret


def test_duplicate_and_invalid_users_rejected(db, make_officer):
    make_officer("bob")
    with pytest.raises(Conflict):
        make_officer("bob")
    with pytest.raises(InvalidInput):
        make_officer("x")
    with pytest.raises(ValueError, match="unknown role"):
        make_officer("carol", roles="superuser")


def test_lockout_after_five_failures_even_with_right_password(db, make_officer):
    make_officer("dave")
    now = utcnow()
    for _ in range(5):
        with db.transaction() as s:
            step = accounts.check_password(s, "dave", "wrong-password-x", now=now, policy=POLICY)
            assert not step.ok
    with db.transaction() as s:
        step = accounts.check_password(s, "dave", STRONG_PASSWORD, now=now, policy=POLICY)
        assert not step.ok and step.reason == "locked"
    with db.transaction() as s:
        later = now + timedelta(minutes=10, seconds=1)
        assert accounts.check_password(s, "dave", STRONG_PASSWORD, now=later, policy=POLICY).ok


def test_wrong_totp_codes_count_towards_lockout(db, make_officer, keyring):
    make_officer("erin")
    now = utcnow()
    for _ in range(5):
        with db.transaction() as s:
            user = accounts.get_user(s, "erin")
            assert not accounts.check_totp(s, keyring, user, "000000", now=now, policy=POLICY).ok
    with db.transaction() as s:
        user = accounts.get_user(s, "erin")
        secret = accounts.totp_secret(keyring, user)
        step = accounts.check_totp(s, keyring, user, pyotp.TOTP(secret).at(now), now=now,
                                   policy=POLICY)
        assert step.reason == "locked"


def test_disable_kills_sessions(db, make_officer):
    make_officer("frank")
    now = utcnow()
    with db.transaction() as s:
        user = accounts.get_user(s, "frank")
        token = accounts.start_session(s, user, mfa_verified=True, now=now)
    with db.transaction() as s:
        assert accounts.load_session(s, token, now=now, policy=POLICY) is not None
        accounts.set_disabled(s, accounts.get_user(s, "frank"), True, actor="test")
    with db.transaction() as s:
        assert accounts.load_session(s, token, now=now, policy=POLICY) is None
        assert not accounts.check_password(s, "frank", STRONG_PASSWORD, now=now, policy=POLICY).ok


def test_session_token_is_stored_hashed(db, make_officer):
    make_officer("gina")
    with db.transaction() as s:
        token = accounts.start_session(s, accounts.get_user(s, "gina"), mfa_verified=True,
                                       now=utcnow())
        from sqlalchemy import select

        from childsafe.store.models import SessionRow
        row = s.scalar(select(SessionRow))
        assert row.token_digest != token and token not in row.token_digest


def test_api_keys_hashed_scoped_revocable(db):
    with db.transaction() as s:
        p = providers.create_provider(s, "ExampleChat")
        issued = providers.issue_key(s, p, ["provider:report:write"])
    with db.transaction() as s:
        principal = providers.authenticate_key(s, issued.plaintext)
        assert principal.name == "ExampleChat"
        assert [x.value for x in principal.scopes] == ["provider:report:write"]
        tampered = issued.plaintext[:-1] + ("B" if issued.plaintext[-1] == "A" else "A")
        assert providers.authenticate_key(s, tampered) is None
        providers.revoke_key(s, issued.key_id)
    with db.transaction() as s:
        assert providers.authenticate_key(s, issued.plaintext) is None
    with pytest.raises(ValueError, match="unknown provider scope"), db.transaction() as s:
        providers.issue_key(s, providers.get_provider(s, "ExampleChat"), ["agency:case:read"])


def test_routing_in_store(db):
    with db.transaction() as s:
        assert agencies.route_country(s, "CA")[1].code == "CA-RCMP-NCECC"
        jurisdiction, agency = agencies.route_country(s, "DE")
        assert agency.code == "INT-INTERPOL" and agency.is_fallback
        assert jurisdiction.country == "DE"


def test_routing_for_every_country_in_the_table(db):
    import csv

    from childsafe.store.agencies import packaged_vgt_table
    rows = list(csv.DictReader(packaged_vgt_table().splitlines()))
    with db.transaction() as s:
        for row in rows:
            if row["country_code"] == "*":
                continue
            jurisdiction, agency = agencies.route_country(s, row["country_code"])
            assert agency.code == row["agency_code"], row["country_code"]
            assert jurisdiction.emergency_number == row["emergency_number"]
        for unknown in ("ZZ", "FR", "BR", "JP"):
            assert agencies.route_country(s, unknown)[1].code == "INT-INTERPOL"
