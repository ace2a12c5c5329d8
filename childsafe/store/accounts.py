"""Officer accounts and console sessions: the store side of the account security policy.

Login steps return results instead of raising, so the caller commits the failure counter and
its audit entry before it shows the error (a raised error would roll them back).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from childsafe.core import accounts as policy_mod
from childsafe.core.accounts import LockState, SecurityPolicy, SessionTimes
from childsafe.core.audit import AuditEvent, Outcome
from childsafe.core.crypto import Keyring, open_sealed, seal
from childsafe.core.errors import Conflict, InvalidInput, NotFound
from childsafe.core.permissions import Role, parse_roles
from childsafe.core.principal import Principal
from childsafe.store import audit, outbox
from childsafe.store.models import AgencyRow, SessionRow, UserRow, utcnow

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
_EMAIL = re.compile(r"^[^@\s<>\"']{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}$")


def _totp_aad(user_id: int) -> str:
    return f"user:{user_id}:totp"


def normalize_username(value: str) -> str:
    name = (value or "").strip().lower()
    if not _USERNAME.match(name):
        raise InvalidInput("Username must be 3-64 characters: a-z, 0-9, '.', '_' or '-'.",
                           field="username")
    return name


def notify_user(session: Session, user: UserRow, subject: str, body: str, key: str) -> None:
    """Queue a notice to the user's own address; it leaves only if the transaction commits."""
    if user.email:
        outbox.enqueue(session, "mail.send", {"to": user.email, "subject": subject, "body": body},
                       f"user:{user.id}:{key}")


def create_user(session: Session, *, agency: AgencyRow, username: str, display_name: str,
                password: str, roles: list[str] | str, email: str = "",
                actor: str = "system") -> UserRow:
    name = normalize_username(username)
    parsed = parse_roles(roles)
    display = (display_name or "").strip()
    if not display or len(display) > 200:
        raise InvalidInput("Display name must be 1-200 characters.", field="display_name")
    if email and not _EMAIL.match(email.strip()):
        raise InvalidInput("Email address is not valid.", field="email")
    policy_mod.check_password_strength(password, username=name)
    if session.scalar(select(UserRow.id).where(UserRow.username == name)) is not None:
        raise Conflict(f"Username {name!r} is taken.")
    row = UserRow(agency_id=agency.id, username=name, display_name=display,
                  email=email.strip(), password_hash=policy_mod.hash_password(password),
                  roles=",".join(sorted(r.value for r in parsed)), totp_enrolled=False,
                  failed_logins=0, disabled=False)
    session.add(row)
    session.flush()
    audit.append(session, AuditEvent("user.create", actor=actor, agency=agency.code,
                                     object_type="user", object_id=str(row.id),
                                     detail={"username": name, "roles": row.roles}))
    notify_user(session, row, "Your childsafe account",
                f"An account '{name}' was created for you. At your first login you will set up "
                "two-factor authentication with an authenticator app.", "created")
    return row


def get_user(session: Session, username: str) -> UserRow:
    row = session.scalar(select(UserRow).where(UserRow.username == username.strip().lower()))
    if row is None:
        raise NotFound(f"No user {username!r}.")
    return row


def principal_for(session: Session, user: UserRow) -> Principal:
    agency = session.get(AgencyRow, user.agency_id)
    assert agency is not None
    return Principal(user.id, user.username, user.display_name, agency.id, agency.code,
                     frozenset(Role(r) for r in user.roles.split(",") if r))


def _agency_code(session: Session, user: UserRow) -> str | None:
    agency = session.get(AgencyRow, user.agency_id)
    return agency.code if agency else None


@dataclass(frozen=True, slots=True)
class LoginStep:
    ok: bool
    user: UserRow | None = None
    reason: str = ""  # "bad_credentials" | "locked" | "disabled" | "bad_code"
    locked_until: datetime | None = None


def _count_failure(session: Session, user: UserRow, now: datetime, policy: SecurityPolicy) -> None:
    state = policy_mod.after_failure(LockState(user.failed_logins, user.locked_until), now, policy)
    user.failed_logins, user.locked_until = state.failures, state.locked_until
    if state.locked_until is not None and state.failures == 0:
        audit.append(session, AuditEvent("user.locked", Outcome.SUCCESS, actor=user.username,
                                         agency=_agency_code(session, user), object_type="user",
                                         object_id=str(user.id),
                                         detail={"until": state.locked_until.isoformat()}))
        notify_user(session, user, "Your childsafe account was locked",
                    f"After {policy.max_failures} failed login attempts your account is locked "
                    f"until {state.locked_until:%Y-%m-%d %H:%M} UTC. If this was not you, tell "
                    "your agency administrator now.", f"locked:{state.locked_until.isoformat()}")


def check_password(session: Session, username: str, password: str, *, now: datetime,
                   policy: SecurityPolicy, ip: str | None = None) -> LoginStep:
    """First factor. Unknown users cost the same argon2 work as known ones."""
    try:
        name = normalize_username(username)
    except InvalidInput:
        name = ""
    user = session.scalar(select(UserRow).where(UserRow.username == name)) if name else None
    valid = policy_mod.verify_password(user.password_hash if user else None, password)
    label = (name or "<invalid>")[:64]
    if user is None:
        audit.append(session, AuditEvent("login.password", Outcome.FAILURE, actor=label,
                                         detail={"reason": "unknown_user"}, ip=ip))
        return LoginStep(False, reason="bad_credentials")
    agency = _agency_code(session, user)
    if policy_mod.is_locked(LockState(user.failed_logins, user.locked_until), now):
        audit.append(session, AuditEvent("login.password", Outcome.DENIED, actor=label,
                                         agency=agency, object_type="user",
                                         object_id=str(user.id), detail={"reason": "locked"}, ip=ip))
        return LoginStep(False, reason="locked", locked_until=user.locked_until)
    if not valid:
        _count_failure(session, user, now, policy)
        audit.append(session, AuditEvent("login.password", Outcome.FAILURE, actor=label,
                                         agency=agency, object_type="user",
                                         object_id=str(user.id),
                                         detail={"reason": "bad_password"}, ip=ip))
        if user.locked_until is not None and now < user.locked_until:
            return LoginStep(False, reason="locked", locked_until=user.locked_until)
        return LoginStep(False, reason="bad_credentials")
    if user.disabled:
        audit.append(session, AuditEvent("login.password", Outcome.DENIED, actor=label,
                                         agency=agency, object_type="user",
                                         object_id=str(user.id), detail={"reason": "disabled"},
                                         ip=ip))
        return LoginStep(False, reason="disabled")
    if policy_mod.needs_rehash(user.password_hash):
        user.password_hash = policy_mod.hash_password(password)
    audit.append(session, AuditEvent("login.password", Outcome.SUCCESS, actor=label,
                                     agency=agency, object_type="user", object_id=str(user.id),
                                     ip=ip))
    return LoginStep(True, user=user)


def begin_totp_enrolment(session: Session, keyring: Keyring, user: UserRow) -> str:
    """A fresh secret for a user not yet enrolled (reused until they confirm a code)."""
    if user.totp_enrolled:
        raise Conflict("Two-factor authentication is already set up for this account.")
    if user.totp_secret_enc is not None:
        return open_sealed(keyring, user.totp_secret_enc, _totp_aad(user.id)).decode()
    secret = policy_mod.new_totp_secret()
    user.totp_secret_enc = seal(keyring, secret.encode(), _totp_aad(user.id))
    session.flush()
    return secret


def totp_secret(keyring: Keyring, user: UserRow) -> str | None:
    if user.totp_secret_enc is None:
        return None
    return open_sealed(keyring, user.totp_secret_enc, _totp_aad(user.id)).decode()


def check_totp(session: Session, keyring: Keyring, user: UserRow, code: str, *, now: datetime,
               policy: SecurityPolicy, ip: str | None = None) -> LoginStep:
    """Second factor (also confirms enrolment). Wrong codes count towards the lockout."""
    agency = _agency_code(session, user)
    if policy_mod.is_locked(LockState(user.failed_logins, user.locked_until), now):
        audit.append(session, AuditEvent("login.mfa", Outcome.DENIED, actor=user.username,
                                         agency=agency, object_type="user",
                                         object_id=str(user.id), detail={"reason": "locked"}, ip=ip))
        return LoginStep(False, reason="locked", locked_until=user.locked_until)
    secret = totp_secret(keyring, user)
    step = (policy_mod.verify_totp(secret, code, last_step=user.totp_last_step,
                                   at=now.timestamp()) if secret else None)
    if step is None:
        _count_failure(session, user, now, policy)
        audit.append(session, AuditEvent("login.mfa", Outcome.FAILURE, actor=user.username,
                                         agency=agency, object_type="user",
                                         object_id=str(user.id), ip=ip))
        if user.locked_until is not None and now < user.locked_until:
            return LoginStep(False, reason="locked", locked_until=user.locked_until)
        return LoginStep(False, reason="bad_code")
    enrolling = not user.totp_enrolled
    user.totp_last_step, user.totp_enrolled = step, True
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    if enrolling:
        audit.append(session, AuditEvent("user.mfa_enrolled", actor=user.username, agency=agency,
                                         object_type="user", object_id=str(user.id), ip=ip))
    audit.append(session, AuditEvent("login.mfa", Outcome.SUCCESS, actor=user.username,
                                     agency=agency, object_type="user", object_id=str(user.id),
                                     ip=ip))
    return LoginStep(True, user=user)


# --- sessions ------------------------------------------------------------------------------

def start_session(session: Session, user: UserRow, *, mfa_verified: bool, now: datetime,
                  ip: str = "", user_agent: str = "") -> str:
    """A new session id (never reuse one across a privilege change); returns the token."""
    token = policy_mod.new_token()
    session.add(SessionRow(token_digest=policy_mod.token_digest(token), user_id=user.id,
                           csrf_secret=policy_mod.new_token(), mfa_verified=mfa_verified,
                           created_at=now, last_seen_at=now, ip=ip[:64],
                           user_agent=user_agent[:300]))
    session.flush()
    return token


def load_session(session: Session, token: str | None, *, now: datetime, policy: SecurityPolicy,
                 touch: bool = True) -> tuple[SessionRow, UserRow] | None:
    """The live session for a cookie token, or None; expired ones are deleted on sight."""
    if not token or len(token) > 200:
        return None
    row = session.scalar(select(SessionRow).where(
        SessionRow.token_digest == policy_mod.token_digest(token)))
    if row is None:
        return None
    user = session.get(UserRow, row.user_id)
    times = SessionTimes(row.created_at, row.last_seen_at, row.mfa_verified)
    why = policy_mod.session_expired(times, now, policy)
    if user is None or user.disabled or why is not None:
        session.delete(row)
        if user is not None:
            audit.append(session, AuditEvent("session.expired", actor=user.username,
                                             agency=_agency_code(session, user),
                                             object_type="user", object_id=str(user.id),
                                             detail={"reason": why or "disabled"}))
        return None
    if touch:
        row.last_seen_at = now
    return row, user


def end_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(SessionRow).where(
            SessionRow.token_digest == policy_mod.token_digest(token)))


def end_all_sessions(session: Session, user: UserRow) -> int:
    result = session.execute(delete(SessionRow).where(SessionRow.user_id == user.id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def set_disabled(session: Session, user: UserRow, disabled: bool, *, actor: str) -> int:
    """Disable (or enable) a user; disabling kills every session they hold at once."""
    user.disabled = disabled
    killed = end_all_sessions(session, user) if disabled else 0
    audit.append(session, AuditEvent("user.disable" if disabled else "user.enable", actor=actor,
                                     agency=_agency_code(session, user), object_type="user",
                                     object_id=str(user.id), detail={"sessions_ended": killed}))
    return killed


def reset_mfa(session: Session, user: UserRow, *, actor: str) -> None:
    """Forget the second factor; the user must enrol again at next login."""
    user.totp_secret_enc, user.totp_enrolled, user.totp_last_step = None, False, None
    end_all_sessions(session, user)
    notify_user(session, user, "Your two-factor authentication was reset",
                "An administrator reset your second factor. At your next login you will set up "
                "a new authenticator. If you did not ask for this, tell your agency "
                "administrator now.", f"mfa_reset:{utcnow().isoformat()}")
    audit.append(session, AuditEvent("user.mfa_reset", actor=actor,
                                     agency=_agency_code(session, user), object_type="user",
                                     object_id=str(user.id)))


def unlock(session: Session, user: UserRow, *, actor: str) -> None:
    user.failed_logins, user.locked_until = 0, None
    audit.append(session, AuditEvent("user.unlock", actor=actor,
                                     agency=_agency_code(session, user), object_type="user",
                                     object_id=str(user.id)))


def set_roles(session: Session, user: UserRow, roles: list[str] | str, *, actor: str) -> None:
    parsed = parse_roles(roles)
    before = user.roles
    user.roles = ",".join(sorted(r.value for r in parsed))
    end_all_sessions(session, user)  # permissions are read at login; force a fresh one
    audit.append(session, AuditEvent("user.roles", actor=actor,
                                     agency=_agency_code(session, user), object_type="user",
                                     object_id=str(user.id),
                                     detail={"before": before, "after": user.roles}))


def list_users(session: Session, agency_id: int | None = None) -> list[UserRow]:
    query = select(UserRow).order_by(UserRow.username)
    if agency_id is not None:
        query = query.where(UserRow.agency_id == agency_id)
    return list(session.scalars(query))


def get_user_scoped(session: Session, viewer: Principal, user_id: int) -> UserRow:
    """Another agency's officer is reported as absent, not forbidden."""
    row = session.get(UserRow, user_id)
    if row is None or row.agency_id != viewer.agency_id:
        raise NotFound("No such officer.")
    return row


def now_utc() -> datetime:
    return utcnow()
