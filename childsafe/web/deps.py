"""Request dependencies: one transaction per request, who is calling, what they may do.

Every route declares exactly one access rule through `requires(...)`, `requires_provider(...)`
or `public()`; tests/web/test_permissions.py fails for a route without one.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from childsafe.config import Settings
from childsafe.core.errors import AuthenticationFailed, PermissionDenied
from childsafe.core.permissions import Permission
from childsafe.core.principal import Principal, ProviderPrincipal
from childsafe.store import accounts, providers
from childsafe.store.db import Database
from childsafe.store.models import SessionRow, UserRow
from childsafe.web.problems import LoginRequired
from childsafe.web.security import client_ip, csrf_valid

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def now_of(request: Request) -> datetime:
    """The app's clock (UTC); tests replace it to step through idle and absolute timeouts."""
    return request.app.state.clock()


def db_of(request: Request) -> Database:
    return request.app.state.db


def get_session(request: Request) -> Iterator[Session]:
    """The request's transaction: committed when the endpoint returns, rolled back if it raises.

    The commit itself runs in the endpoint's own thread (see `commit_in_endpoint_thread`);
    this exit only rolls back what an error left open and returns the connection.
    """
    session = db_of(request).session()
    try:
        yield session
        if session.in_transaction():
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def commit_in_endpoint_thread(app: Any) -> None:
    """Wrap every sync endpoint so its session commits in the thread that did the work.

    FastAPI runs a dependency's exit in another thread-pool call. A writer that waited there
    for a free thread while every thread waits for its database lock would stall the server;
    committing before the endpoint returns releases the lock at once.

    FastAPI builds the handlers of included routers from `route.endpoint` (lazily, at the
    first request), and of direct routes from `route.dependant.call`: both are replaced. The
    wrapper keeps the endpoint's signature (`functools.wraps`), which FastAPI reads through it.
    """
    from fastapi.routing import APIRoute

    for route in _api_routes(app.routes):
        call = route.endpoint
        if inspect.iscoroutinefunction(call) or getattr(call, "__childsafe_tx__", False):
            continue

        @functools.wraps(call)
        def wrapped(*args: Any, __call: Any = call, **kwargs: Any) -> Any:
            sessions = [v for v in kwargs.values() if isinstance(v, Session)]
            try:
                result = __call(*args, **kwargs)
            except BaseException:
                for session in sessions:
                    session.rollback()
                raise
            for session in sessions:
                if session.in_transaction():
                    session.commit()
            return result

        wrapped.__childsafe_tx__ = True  # type: ignore[attr-defined]
        route.endpoint = wrapped
        if isinstance(route, APIRoute) and route.dependant.call is call:
            route.dependant.call = wrapped


def _api_routes(routes: list[Any]) -> Iterator[Any]:
    """Every APIRoute, including those of included routers (FastAPI keeps them there)."""
    from fastapi.routing import APIRoute

    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _api_routes(included.routes)


DbSession = Depends(get_session)


def session_cookie_name(settings: Settings) -> str:
    return "__Host-cs_session" if settings.cookie_secure else "cs_session"


def pre_cookie_name(settings: Settings) -> str:
    return "__Host-cs_pre" if settings.cookie_secure else "cs_pre"


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    row: SessionRow
    user: UserRow
    token: str


def load_console_session(request: Request, session: Session) -> ConsoleSession | None:
    settings = settings_of(request)
    token = request.cookies.get(session_cookie_name(settings))
    found = accounts.load_session(session, token, now=now_of(request), policy=settings.policy)
    if found is None or token is None:
        return None
    return ConsoleSession(found[0], found[1], token)


def check_csrf(request: Request, binding: str | None, presented: str | None) -> None:
    if not csrf_valid(settings_of(request).secret_key, binding, presented):
        raise PermissionDenied("The form expired or did not come from this site. "
                               "Reload the page and try again.")


async def read_csrf_field(request: Request) -> None:
    """App-wide: lift the `csrf` form field where the officer rule can check it (fail closed)."""
    if request.method in UNSAFE_METHODS and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf")
        request.state.csrf_field = value if isinstance(value, str) else None


class _Rule:
    """A dependency that also names the rule, so routes can be checked for one."""

    permission: Permission | None = None
    kind = "public"


class _Public(_Rule):
    def __call__(self) -> None:
        return None


class _Officer(_Rule):
    kind = "officer"

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    def __call__(self, request: Request) -> Principal:
        # Its own short transaction, committed in this thread: a transaction begun here and
        # committed in the endpoint's thread could hold the store while every thread waits.
        # An expired session is deleted (and audited) even though the request is refused.
        with db_of(request).transaction() as session:
            console = load_console_session(request, session)
            principal = (accounts.principal_for(session, console.user)
                         if console is not None and console.row.mfa_verified else None)
        if console is None or principal is None:
            raise LoginRequired("/login")
        if request.method in UNSAFE_METHODS:
            # fetch() sends the token as a header, forms as a field; neither: refused.
            presented = request.headers.get("x-csrf-token") or getattr(
                request.state, "csrf_field", None)
            check_csrf(request, console.row.csrf_secret, presented)
        if not principal.can(self.permission):  # type: ignore[arg-type]
            raise PermissionDenied("Your role does not allow this.")
        request.state.console = console
        request.state.principal = principal
        return principal


class _Provider(_Rule):
    kind = "provider"

    def __init__(self, permission: Permission | None) -> None:
        self.permission = permission  # None: any valid key (e.g. "who am I")

    def __call__(self, request: Request) -> ProviderPrincipal:
        header = request.headers.get("authorization", "")
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not presented:
            raise AuthenticationFailed("Send the provider API key as 'Authorization: Bearer …'.")
        # A read-only transaction of its own (no write lock on SQLite): the endpoint validates
        # the (possibly large) body before it opens the request's write transaction.
        db = db_of(request)
        with db.read_connection() as conn:
            found = providers.lookup_key(conn, presented.strip())
        if found is None:
            raise AuthenticationFailed("The API key is not valid or was revoked.")
        principal, last_used_at = found
        now = now_of(request)
        if providers.key_use_stale(last_used_at, now):
            with db.transaction() as session:
                providers.touch_key(session, principal.key_id, now)
        if self.permission is not None and not principal.can(self.permission):
            raise PermissionDenied(f"This API key lacks the scope {self.permission}.")
        request.state.provider = principal
        return principal


def public() -> Any:
    return Depends(_Public())


def requires(permission: Permission) -> Any:
    return Depends(_Officer(permission))


def requires_provider(permission: Permission | None) -> Any:
    return Depends(_Provider(permission))


def rule_of(dependency: Any) -> _Rule | None:
    call = getattr(dependency, "call", None) or getattr(dependency, "dependency", None)
    return call if isinstance(call, _Rule) else None


def ip_of(request: Request) -> str:
    return client_ip(request, settings_of(request).trusted_proxies)
