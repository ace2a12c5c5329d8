"""Login (password, then TOTP), TOTP enrolment with a QR code, and logout.

Every step that changes privilege issues a new session id; failures are committed (lockout
counter and audit entry) before the page answers, and all failures read the same so the page
does not reveal which usernames exist.
"""

from __future__ import annotations

import base64
import io
from typing import Annotated

import qrcode
import qrcode.image.svg
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from childsafe.core.accounts import new_token, totp_uri
from childsafe.core.audit import AuditEvent
from childsafe.store import accounts, audit
from childsafe.web.deps import (
    ConsoleSession,
    DbSession,
    check_csrf,
    ip_of,
    load_console_session,
    now_of,
    pre_cookie_name,
    public,
    session_cookie_name,
    settings_of,
)
from childsafe.web.security import csrf_token

router = APIRouter(include_in_schema=False)
GENERIC_FAILURE = ("That did not work. Check your username and password. After 5 failed "
                   "attempts the account is locked for 10 minutes.")
Text = Annotated[str, Form(max_length=300)]


def _render(request: Request, template: str, context: dict[str, object],
            status: int = 200) -> Response:
    return request.app.state.templates.TemplateResponse(request, template, context,
                                                        status_code=status)


def _set_cookie(request: Request, response: Response, name: str, value: str,
                max_age: int | None = None) -> None:
    settings = settings_of(request)
    response.set_cookie(name, value, max_age=max_age, path="/", secure=settings.cookie_secure,
                        httponly=True, samesite="strict")


def _session_cookie(request: Request, response: Response, token: str) -> None:
    hours = settings_of(request).session_absolute_hours
    _set_cookie(request, response, session_cookie_name(settings_of(request)), token,
                max_age=hours * 3600)


def _clear_session_cookie(request: Request, response: Response) -> None:
    settings = settings_of(request)
    response.delete_cookie(session_cookie_name(settings), path="/",
                           secure=settings.cookie_secure, httponly=True, samesite="strict")


def _pending(request: Request, session: Session) -> ConsoleSession | None:
    console = load_console_session(request, session)
    return console if console is not None and not console.row.mfa_verified else None


@router.get("/login", dependencies=[public()])
def login_form(request: Request, session: Session = DbSession) -> Response:
    console = load_console_session(request, session)
    if console is not None and console.row.mfa_verified:
        return RedirectResponse("/", status_code=303)
    settings = settings_of(request)
    pre = request.cookies.get(pre_cookie_name(settings))
    fresh = not pre or len(pre) > 100
    if fresh:
        pre = new_token()
    assert pre is not None
    response = _render(request, "login.html",
                       {"csrf": csrf_token(settings.secret_key, pre), "error": None})
    if fresh:
        _set_cookie(request, response, pre_cookie_name(settings), pre, max_age=3600)
    return response


@router.post("/login", dependencies=[public()])
def login_submit(request: Request, username: Text = "", password: Text = "", csrf: Text = "",
                 session: Session = DbSession) -> Response:
    settings = settings_of(request)
    pre = request.cookies.get(pre_cookie_name(settings))
    check_csrf(request, pre, csrf)
    # A login always starts from nothing: drop whatever session the browser carried.
    accounts.end_session(session, request.cookies.get(session_cookie_name(settings)))
    step = accounts.check_password(session, username, password, now=now_of(request),
                                   policy=settings.policy, ip=ip_of(request))
    if not step.ok or step.user is None:
        assert pre is not None
        return _render(request, "login.html",
                       {"csrf": csrf_token(settings.secret_key, pre), "error": GENERIC_FAILURE,
                        "username": username[:64]}, status=401)
    token = accounts.start_session(session, step.user, mfa_verified=False,
                                   now=now_of(request), ip=ip_of(request),
                                   user_agent=request.headers.get("user-agent", ""))
    target = "/login/mfa" if step.user.totp_enrolled else "/login/enrol"
    response = RedirectResponse(target, status_code=303)
    _session_cookie(request, response, token)
    return response


def _qr_data_uri(uri: str) -> str:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


@router.get("/login/enrol", dependencies=[public()])
def enrol_form(request: Request, session: Session = DbSession) -> Response:
    console = _pending(request, session)
    if console is None:
        return RedirectResponse("/login", status_code=303)
    if console.user.totp_enrolled:
        return RedirectResponse("/login/mfa", status_code=303)
    secret = accounts.begin_totp_enrolment(session, settings_of(request).keyring, console.user)
    uri = totp_uri(secret, f"{console.user.username}")
    return _render(request, "enrol.html", {
        "csrf": csrf_token(settings_of(request).secret_key, console.row.csrf_secret),
        "qr": _qr_data_uri(uri), "secret": " ".join(secret[i:i + 4] for i in range(0, 32, 4)),
        "error": None})


@router.get("/login/mfa", dependencies=[public()])
def mfa_form(request: Request, session: Session = DbSession) -> Response:
    console = _pending(request, session)
    if console is None:
        return RedirectResponse("/login", status_code=303)
    if not console.user.totp_enrolled:
        return RedirectResponse("/login/enrol", status_code=303)
    return _render(request, "mfa.html", {
        "csrf": csrf_token(settings_of(request).secret_key, console.row.csrf_secret),
        "error": None})


def _second_factor(request: Request, session: Session, code: str, csrf: str,
                   template: str) -> Response:
    settings = settings_of(request)
    console = _pending(request, session)
    if console is None:
        return RedirectResponse("/login", status_code=303)
    check_csrf(request, console.row.csrf_secret, csrf)
    step = accounts.check_totp(session, settings.keyring, console.user, code,
                               now=now_of(request), policy=settings.policy, ip=ip_of(request))
    if not step.ok:
        if step.reason == "locked":
            accounts.end_session(session, console.token)
            response = RedirectResponse("/login", status_code=303)
            _clear_session_cookie(request, response)
            return response
        context: dict[str, object] = {
            "csrf": csrf_token(settings.secret_key, console.row.csrf_secret),
            "error": "That code did not work. Use the 6-digit code your app shows now."}
        if template == "enrol.html":
            secret = accounts.totp_secret(settings.keyring, console.user) or ""
            context |= {"qr": _qr_data_uri(totp_uri(secret, console.user.username)),
                        "secret": " ".join(secret[i:i + 4] for i in range(0, 32, 4))}
        return _render(request, template, context, status=401)
    # Privilege changes: the pre-MFA session id is thrown away and a new one issued.
    accounts.end_session(session, console.token)
    token = accounts.start_session(session, console.user, mfa_verified=True,
                                   now=now_of(request), ip=ip_of(request),
                                   user_agent=request.headers.get("user-agent", ""))
    response = RedirectResponse("/", status_code=303)
    _session_cookie(request, response, token)
    return response


@router.post("/login/enrol", dependencies=[public()])
def enrol_submit(request: Request, code: Text = "", csrf: Text = "",
                 session: Session = DbSession) -> Response:
    return _second_factor(request, session, code, csrf, "enrol.html")


@router.post("/login/mfa", dependencies=[public()])
def mfa_submit(request: Request, code: Text = "", csrf: Text = "",
               session: Session = DbSession) -> Response:
    return _second_factor(request, session, code, csrf, "mfa.html")


@router.post("/logout", dependencies=[public()])
def logout(request: Request, csrf: Text = "", session: Session = DbSession) -> Response:
    console = load_console_session(request, session)
    if console is not None:
        check_csrf(request, console.row.csrf_secret, csrf)
        accounts.end_session(session, console.token)
        audit.append(session, AuditEvent("logout", actor=console.user.username,
                                         object_type="user", object_id=str(console.user.id),
                                         ip=ip_of(request)))
    response = RedirectResponse("/login", status_code=303)
    _clear_session_cookie(request, response)
    return response

