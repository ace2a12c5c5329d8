"""Refused accesses are audited: every 403 or 404 answered to an authenticated caller.

A refused request rolls back, so the stores cannot keep an audit entry for it in the request's
own transaction. The app's error handler (`problems.install`) calls `record` after the
rollback; it appends one `access.denied` entry (outcome `denied`) in a transaction of its own
for any `PermissionDenied` or `NotFound` raised on a route that needs an officer's session or a
provider's key: a role without the route's permission, another agency's object (answered 404,
like a missing one), a shared case's owner-only action, another provider's report or room, a
form whose CSRF token does not match.

The entry names who (officer username and agency, or `provider:<name>`), the route template,
the method and the object id the caller sent (taken from the path), never whether that object
exists: a refusal of another agency's case reads exactly like one of a case that never was.

Anonymous callers are not audited here (they are sent to log in, or get 401): there is no one
to hold accountable, and an unauthenticated flood must not be able to grow the audit chain.
Routes that audit their own refusals (the Watch alert pages, `alerts.record_denied`) are listed
in `SELF_AUDITED` so the refusal is not recorded twice. Routes that answer a refusal with their
own page instead of raising it (a shared case's owner-only action shows the case with the
message) call `record_here`.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.requests import Request

from childsafe.core.audit import AuditEvent, Outcome
from childsafe.core.errors import DomainError, NotFound, PermissionDenied
from childsafe.core.principal import Principal, ProviderPrincipal
from childsafe.store import accounts, audit, providers

log = logging.getLogger("childsafe.web")

ACTION = "access.denied"
# Path parameter → the object type it names (the last one of a path is the object refused).
OBJECT_TYPES = {"case_id": "case", "evidence_id": "evidence", "alert_id": "watch_alert",
                "room_id": "room", "shift_id": "watch_shift", "entry_id": "block_entry",
                "user_id": "user", "request_id": "sharing_request", "reference": "report"}
# Endpoint modules whose NotFound refusals are already audited by the route itself.
SELF_AUDITED = frozenset({"childsafe.web.watch_console"})


def _rule_kind(route: APIRoute) -> str | None:
    from childsafe.web.deps import rule_of

    def walk(dependant: Any) -> str | None:
        for dep in dependant.dependencies:
            rule = rule_of(dep)
            if rule is not None:
                return rule.kind
            found = walk(dep)
            if found is not None:
                return found
        return None

    return walk(route.dependant)


def _officer(request: Request) -> Principal | None:
    """The officer behind the session cookie (the route refused before keeping it)."""
    from childsafe.web.deps import db_of, now_of, session_cookie_name, settings_of

    found = getattr(request.state, "principal", None)
    if isinstance(found, Principal):
        return found
    settings = settings_of(request)
    token = request.cookies.get(session_cookie_name(settings))
    if not token:
        return None
    with db_of(request).reading() as session:
        loaded = accounts.load_session(session, token, now=now_of(request),
                                       policy=settings.policy, touch=False)
        if loaded is None or not loaded[0].mfa_verified:
            return None
        return accounts.principal_for(session, loaded[1])


def _provider(request: Request) -> ProviderPrincipal | None:
    from childsafe.web.deps import db_of

    found = getattr(request.state, "provider", None)
    if isinstance(found, ProviderPrincipal):
        return found
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented:
        return None
    with db_of(request).reading() as session:
        looked_up = providers.lookup_key(session, presented.strip())
    return looked_up[0] if looked_up else None


def _object(request: Request) -> tuple[str | None, str | None]:
    kind = value = None
    for name, raw in request.path_params.items():
        if name in OBJECT_TYPES:
            kind, value = OBJECT_TYPES[name], str(raw)[:64]
    return kind, value


def refusal(request: Request, exc: DomainError) -> AuditEvent | None:
    """The audit event for a refused request, or None when there is nothing to record."""
    if not isinstance(exc, PermissionDenied | NotFound):
        return None
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return None
    kind = _rule_kind(route)
    if kind == "officer":
        if isinstance(exc, NotFound) and route.endpoint.__module__ in SELF_AUDITED:
            return None
        officer = _officer(request)
        if officer is None:
            return None
        actor, agency = officer.username, officer.agency_code
    elif kind == "provider":
        provider = _provider(request)
        if provider is None:
            return None
        actor, agency = f"provider:{provider.name}", None
    else:
        return None
    from childsafe.web.deps import ip_of

    object_type, object_id = _object(request)
    return AuditEvent(ACTION, outcome=Outcome.DENIED, actor=actor, agency=agency,
                      object_type=object_type, object_id=object_id, ip=ip_of(request),
                      detail={"method": request.method, "route": route.path,
                              "status": exc.status, "code": exc.code})


def record_here(request: Request, session: Session, exc: DomainError) -> None:
    """For a route that answers a refusal itself (re-rendering its page with the message)
    instead of raising it: roll the request's transaction back, keep the refusal's entry,
    commit. The page is then rendered in a new transaction of the same session."""
    event = refusal(request, exc)
    if event is None:
        return
    session.rollback()
    audit.append(session, event)
    session.commit()


def record(request: Request, exc: DomainError) -> None:
    """Audit a refused request in its own transaction (blocking: run it in a thread)."""
    from childsafe.web.deps import db_of

    try:
        event = refusal(request, exc)
        if event is None:
            return
        with db_of(request).transaction() as session:
            audit.append(session, event)
    except Exception:  # noqa: BLE001 - the refusal is answered even if its audit fails
        log.exception("could not audit a refused %s %s", request.method, request.url.path)
