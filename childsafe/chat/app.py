"""Chatty: a small multi-user web chat, a separate application beside the platform.

Its own accounts (argon2 hashes, a session cookie, CSRF tokens), its own SQLite store,
rooms and direct messages, live delivery over a WebSocket (pages work without JavaScript:
forms post and the page reloads). It talks to the childsafe platform only through
`childsafe.sdk` (see `childsafe.chat.platform`) and the platform's JS snippet (`embed.js`,
the Report abuse tips tab).

Every message is hostile input: bounded, cleaned of control characters, escaped by the
templates (autoescape) and put into the page by the script with textContent only. The
content security policy allows no inline script or style.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from fastapi import FastAPI, Form, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from childsafe.chat import accounts
from childsafe.chat.accounts import AccountError, RateLimiter, SignUp, clean_text
from childsafe.chat.config import DEFAULT_ROOMS, ChatSettings, RoomSpec
from childsafe.chat.hub import Hub, dm_channel, message_event
from childsafe.chat.interventions import WebhookReceiver
from childsafe.chat.platform import CapturedConversation, PlatformLink, audience_of
from childsafe.chat.store import ChatStore, Message, Room, User, parse_iso
from childsafe.sdk import AsyncClient, ChildsafeError

HERE = Path(__file__).parent
SESSION_COOKIE = "chat_session"
CSRF_COOKIE = "chat_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
MAX_BODY = 64 * 1024
MAX_WEBHOOK_BODY = 2 * 1024 * 1024
WEBHOOK_PATH = "/platform/webhook"
log = logging.getLogger("childsafe.chat")

COUNTRIES = [("GB", "United Kingdom"), ("IE", "Ireland"), ("US", "United States"),
             ("CA", "Canada"), ("AU", "Australia"), ("NZ", "New Zealand"), ("FR", "France"),
             ("BE", "Belgium"), ("DE", "Germany"), ("NL", "Netherlands"), ("ES", "Spain"),
             ("IT", "Italy"), ("IN", "India"), ("ZA", "South Africa")]


def content_security_policy(platform: str) -> str:
    """No inline script or style; the platform's origin for its snippet, badges and the
    report form a hand-off redirects to."""
    origin = _origin(platform)
    return (f"default-src 'none'; script-src 'self' {origin}; style-src 'self'; "
            f"img-src 'self' {origin} data:; connect-src 'self' {origin}; "
            f"form-action 'self' {origin}; frame-ancestors 'none'; base-uri 'none'; "
            "object-src 'none'")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class HeadersAndLimits:
    """Security headers on every response; request bodies bounded (webhooks a little more)."""

    def __init__(self, app: ASGIApp, csp: str) -> None:
        self.app, self.csp = app, csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = MAX_WEBHOOK_BODY if scope.get("path") == WEBHOOK_PATH else MAX_BODY
        for name, value in scope.get("headers", []):
            if name == b"content-length" and (not value.isdigit() or int(value) > limit):
                response = Response("Request too large", status_code=413)
                await response(scope, receive, send)
                return
        seen = 0

        async def bounded_receive() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise ValueError("request body too large")
            return message

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"content-security-policy", self.csp.encode()),
                            (b"x-content-type-options", b"nosniff"),
                            (b"x-frame-options", b"DENY"),
                            (b"referrer-policy", b"same-origin"),  # no-referrer would null Origin
                            (b"cross-origin-opener-policy", b"same-origin"),
                            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()")]
                if not scope.get("path", "").startswith("/static/"):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, bounded_receive, with_headers)


def create_app(settings: ChatSettings | None = None, *, rooms: Sequence[RoomSpec] = DEFAULT_ROOMS,
               store: ChatStore | None = None, client: AsyncClient | None = None) -> FastAPI:
    settings = settings or ChatSettings()
    store = store or ChatStore(settings.database_path)
    store.sync_rooms(rooms)
    hub = Hub()
    link = PlatformLink(settings, store, rooms, client=client)
    receiver = WebhookReceiver(settings, store, hub, link)
    post_limit = RateLimiter(settings.messages_per_window, settings.rate_window_s)
    signup_limit = RateLimiter(settings.signups_per_hour, 3600)
    login_limit = RateLimiter(settings.logins_per_window, 300)
    report_limit = RateLimiter(20, 3600)  # hand-offs per user: the platform limits per provider

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await link.start()
        try:
            yield
        finally:
            await link.stop()

    app = FastAPI(title=f"{settings.name} (demo chat)", docs_url=None, redoc_url=None,
                  openapi_url=None, lifespan=lifespan)
    app.state.settings, app.state.store, app.state.hub = settings, store, hub
    app.state.link, app.state.receiver = link, receiver
    app.state.post_limit = post_limit
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals.update(chat_name=settings.name, platform=settings.public_platform)
    templates.env.filters["hhmm"] = lambda s: parse_iso(s).strftime("%H:%M")
    app.add_middleware(HeadersAndLimits, csp=content_security_policy(settings.public_platform))
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    # --- helpers ------------------------------------------------------------------------
    def current_user(request: Request) -> User | None:
        return store.session_user(request.cookies.get(SESSION_COOKIE, ""))

    def csrf_token(request: Request) -> str:
        token = request.cookies.get(CSRF_COOKIE, "")
        if len(token) != 43:
            token = secrets.token_urlsafe(32)
        request.state.csrf = token
        return token

    def csrf_ok(request: Request, submitted: str | None) -> bool:
        cookie = request.cookies.get(CSRF_COOKIE, "")
        submitted = submitted or request.headers.get(CSRF_HEADER, "")
        if not cookie or not submitted or not hmac.compare_digest(cookie.encode(),
                                                                  submitted.encode()):
            return False
        origin = request.headers.get("origin")  # browsers send it with every form post
        return origin is None or _same_origin(request, origin)

    def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        token = csrf_token(request)
        user = context.pop("user", None) or current_user(request)
        context.update(user=user, csrf=token,
                       notices=store.notices(user.id, 5) if user else [])
        response = templates.TemplateResponse(request, name, context, status_code=status)
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict",
                            secure=settings.secure_cookies, path="/")
        return response

    def forbidden(request: Request) -> HTMLResponse:
        return render(request, "error.html", 403, title="Form expired",
                      message="This form has expired. Go back, reload the page and try again.")

    def login_redirect(request: Request) -> RedirectResponse:
        return RedirectResponse("/login?next=" + quote(request.url.path), status_code=303)

    def wants_json(request: Request) -> bool:
        return "application/json" in request.headers.get("accept", "")

    def client_ip(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    # --- accounts -----------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    async def home(request: Request) -> Response:
        return RedirectResponse("/rooms" if current_user(request) else "/login", status_code=303)

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"ok": True, "platform": link.connected, "registered": link.registered.is_set(),
                "unstreamed": store.unstreamed_count(), "streamed": link.streamer.sent}

    @app.get("/login", response_class=HTMLResponse)
    async def login_page(request: Request, next: str = "/rooms") -> HTMLResponse:
        return render(request, "login.html", next=_safe_next(next), error="", username="")

    @app.post("/login", response_class=HTMLResponse)
    async def login(request: Request, username: str = Form("", max_length=64),
                    password: str = Form("", max_length=256),
                    csrf: str = Form("", max_length=100),
                    next: str = Form("/rooms", max_length=300)) -> Response:
        if not csrf_ok(request, csrf):
            return forbidden(request)
        name = username.strip().lower()
        if login_limit.hit(f"name:{name}") or login_limit.hit(f"ip:{client_ip(request)}"):
            return render(request, "login.html", 429, next=_safe_next(next), username=name,
                          error="Too many attempts. Wait a few minutes and try again.")
        try:
            user = await run_in_threadpool(accounts.authenticate, store, name, password)
        except AccountError as exc:
            return render(request, "login.html", 400, next=_safe_next(next), username=name,
                          error=exc.message)
        login_limit.reset(f"name:{name}")
        response = RedirectResponse(_safe_next(next), status_code=303)
        _start_session(response, user)
        return response

    def _start_session(response: Response, user: User) -> None:
        token = store.new_session(user.id, settings.session_hours)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax",
                            secure=settings.secure_cookies, path="/",
                            max_age=settings.session_hours * 3600)

    @app.get("/signup", response_class=HTMLResponse)
    async def signup_page(request: Request) -> HTMLResponse:
        return render(request, "signup.html", countries=COUNTRIES, form={}, error="", field="")

    @app.post("/signup", response_class=HTMLResponse)
    async def signup(request: Request, username: str = Form("", max_length=64),
                     display_name: str = Form("", max_length=200),
                     password: str = Form("", max_length=256),
                     birth_year: str = Form("", max_length=8),
                     country: str = Form("", max_length=8),
                     email: str = Form("", max_length=300),
                     is_parent: str = Form("", max_length=8),
                     csrf: str = Form("", max_length=100)) -> Response:
        if not csrf_ok(request, csrf):
            return forbidden(request)
        form = {"username": username, "display_name": display_name, "birth_year": birth_year,
                "country": country, "email": email, "is_parent": bool(is_parent)}
        if signup_limit.hit(f"ip:{client_ip(request)}"):
            return render(request, "signup.html", 429, countries=COUNTRIES, form=form,
                          error="Too many new accounts from here; try again later.", field="")
        try:
            year = int(birth_year) if birth_year.strip().isdigit() else 0
            user = await run_in_threadpool(accounts.sign_up, store, SignUp(
                username, display_name, password, year, country, email, bool(is_parent)))
        except AccountError as exc:
            return render(request, "signup.html", 400, countries=COUNTRIES, form=form,
                          error=exc.message, field=exc.field)
        response = RedirectResponse("/rooms", status_code=303)
        _start_session(response, user)
        return response

    @app.post("/logout")
    async def logout(request: Request, csrf: str = Form("", max_length=100)) -> Response:
        if not csrf_ok(request, csrf):
            return forbidden(request)
        token = request.cookies.get(SESSION_COOKIE, "")
        user = current_user(request)
        if token:
            store.end_session(token)
        if user is not None and store.session_count(user.id) == 0:
            await hub.disconnect_user(user.username, "logged out")
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # --- rooms --------------------------------------------------------------------------
    @app.get("/rooms", response_class=HTMLResponse)
    async def lobby(request: Request) -> Response:
        user = current_user(request)
        if user is None:
            return login_redirect(request)
        rooms_ = [(r, store.is_member(r.slug, user.id), store.member_count(r.slug))
                  for r in store.rooms()]
        people = [u for u in store.users() if u.id != user.id and not u.suspended]
        return render(request, "lobby.html", user=user, rooms=rooms_, people=people,
                      partners=store.partners(user.id))

    def _room_or_404(slug: str) -> Room | None:
        room = store.room(slug[:64])
        return room if room is not None and not room.direct else None

    def _no_room(request: Request) -> Response:
        return render(request, "error.html", 404, title="No such room",
                      message="That room does not exist.")

    @app.get("/rooms/{slug}", response_class=HTMLResponse)
    async def room_page(request: Request, slug: str) -> Response:
        user = current_user(request)
        if user is None:
            return login_redirect(request)
        room = _room_or_404(slug)
        if room is None:
            return _no_room(request)
        messages = store.room_messages(room.slug)
        return render(request, "room.html", user=user, room=room, messages=messages,
                      member=store.is_member(room.slug, user.id),
                      channel=f"room:{room.slug}", post_url=f"/rooms/{room.slug}/messages",
                      report_url=f"/rooms/{room.slug}/report",
                      participants=_participants(messages, user, store.members(room.slug)),
                      audience=audience_of(user), error=request.query_params.get("error", ""))

    @app.post("/rooms/{slug}/join")
    async def join(request: Request, slug: str, csrf: str = Form("", max_length=100)) -> Response:
        user = current_user(request)
        if user is None:
            return login_redirect(request)
        if not csrf_ok(request, csrf):
            return forbidden(request)
        room = _room_or_404(slug)
        if room is not None:
            store.join(room.slug, user.id)
        return RedirectResponse(f"/rooms/{quote(slug)}", status_code=303)

    @app.post("/rooms/{slug}/leave")
    async def leave(request: Request, slug: str, csrf: str = Form("", max_length=100)) -> Response:
        user = current_user(request)
        if user is None:
            return login_redirect(request)
        if not csrf_ok(request, csrf):
            return forbidden(request)
        store.leave(slug[:64], user.id)
        return RedirectResponse("/rooms", status_code=303)

    async def _post(request: Request, user: User, text: str, *, room: Room | None = None,
                    to: User | None = None, back: str) -> Response:
        text = clean_text(text, settings.max_message_chars + 1)
        error = ""
        if not text:
            error = "Write a message first."
        elif len(text) > settings.max_message_chars:
            error = f"Messages are at most {settings.max_message_chars} characters."
        elif (wait := post_limit.hit(f"user:{user.id}")) > 0:
            error = f"You are posting too fast. Wait {int(wait) + 1} seconds."
        if error:
            status = 429 if "too fast" in error else 400
            if wants_json(request):
                return JSONResponse({"error": error}, status_code=status)
            return RedirectResponse(f"{back}?error={quote(error)}", status_code=303)
        message = store.add_message(text=text, sender_id=user.id,
                                    room_slug=room.slug if room else None,
                                    recipient_id=to.id if to else None)
        link.offer(message)  # to Watch, in the background: never waits
        event = message_event(message)
        if room is not None:
            await hub.publish([f"room:{room.slug}"], event)
        else:
            assert to is not None
            await hub.publish([dm_channel(user.username, to.username)], event)
        if wants_json(request):
            return JSONResponse({"id": message.id, "sent_at": message.sent_at}, status_code=201)
        return RedirectResponse(f"{back}#{message.id}", status_code=303)

    @app.post("/rooms/{slug}/messages")
    async def post_room(request: Request, slug: str, text: str = Form("", max_length=8000),
                        csrf: str = Form("", max_length=100)) -> Response:
        user = current_user(request)
        if user is None:
            return _gone(request)
        if not csrf_ok(request, csrf):
            return forbidden(request)
        room = _room_or_404(slug)
        if room is None:
            return _no_room(request)
        store.join(room.slug, user.id)  # posting in a room joins it
        return await _post(request, user, text, room=room, back=f"/rooms/{room.slug}")

    def _gone(request: Request) -> Response:
        """Not logged in (or suspended, which ends every session)."""
        if wants_json(request):
            return JSONResponse({"error": "You are not logged in."}, status_code=401)
        return login_redirect(request)

    # --- direct messages ----------------------------------------------------------------
    def _partner(user: User, username: str) -> User | None:
        other = store.user_by_name(username.strip().lower()[:64])
        return other if other is not None and other.id != user.id else None

    @app.get("/dm/{username}", response_class=HTMLResponse)
    async def dm_page(request: Request, username: str) -> Response:
        user = current_user(request)
        if user is None:
            return login_redirect(request)
        other = _partner(user, username)
        if other is None:
            return render(request, "error.html", 404, title="No such person",
                          message="There is nobody with that name here.")
        messages = store.direct_messages(user.id, other.id)
        return render(request, "dm.html", user=user, other=other, messages=messages,
                      channel=dm_channel(user.username, other.username),
                      post_url=f"/dm/{other.username}/messages",
                      report_url=f"/dm/{other.username}/report", participants=[other],
                      audience=audience_of(user), error=request.query_params.get("error", ""))

    @app.post("/dm/{username}/messages")
    async def post_dm(request: Request, username: str, text: str = Form("", max_length=8000),
                      csrf: str = Form("", max_length=100)) -> Response:
        user = current_user(request)
        if user is None:
            return _gone(request)
        if not csrf_ok(request, csrf):
            return forbidden(request)
        other = _partner(user, username)
        if other is None or other.suspended:
            return render(request, "error.html", 404, title="No such person",
                          message="There is nobody with that name here.")
        return await _post(request, user, text, to=other, back=f"/dm/{other.username}")

    # --- report abuse -------------------------------------------------------------------
    async def _report(request: Request, user: User, conversation: CapturedConversation,
                      reported_name: str) -> Response:
        reported = store.user_by_name(reported_name.strip().lower()[:64]) if reported_name \
            else None
        if reported is not None and reported.id == user.id:
            reported = None
        if report_limit.hit(f"user:{user.id}"):
            return render(request, "error.html", 429, title="Report abuse",
                          message="You have opened many reports in the last hour. Please use "
                                  "the report form directly.",
                          fallback=f"{settings.public_platform}/report")
        if not any(not m.is_police for m in conversation.messages):
            # Nothing to attach: the plain report form (the platform needs a message).
            return RedirectResponse(f"{settings.public_platform}/report?" + urlencode(
                {"via": "embed", "provider": settings.name, "lang": "en"}), status_code=303)
        try:
            handoff = await link.handoff(conversation, user, reported)
        except ChildsafeError as exc:
            log.warning("report hand-off failed: %s", exc)
            return render(request, "error.html", 503, title="Report abuse",
                          message="The report form could not be opened just now. Please "
                                  "try again in a minute.",
                          fallback=f"{settings.public_platform}/report")
        return RedirectResponse(handoff.url, status_code=303)

    @app.post("/rooms/{slug}/report")
    async def report_room(request: Request, slug: str, csrf: str = Form("", max_length=100),
                          reported: str = Form("", max_length=64)) -> Response:
        user = current_user(request)
        if user is None:
            return login_redirect(request)
        if not csrf_ok(request, csrf):
            return forbidden(request)
        room = _room_or_404(slug)
        if room is None:
            return _no_room(request)
        messages = store.room_messages(room.slug, 200)
        people = {m.sender_username for m in messages if m.sender_username}
        users = [u for u in (store.user_by_name(n) for n in sorted(people)) if u is not None]
        return await _report(request, user, CapturedConversation(room.slug, room.title, users,
                                                                 messages), reported)

    @app.post("/dm/{username}/report")
    async def report_dm(request: Request, username: str,
                        csrf: str = Form("", max_length=100)) -> Response:
        user = current_user(request)
        if user is None:
            return login_redirect(request)
        if not csrf_ok(request, csrf):
            return forbidden(request)
        other = _partner(user, username)
        if other is None:
            return render(request, "error.html", 404, title="No such person",
                          message="There is nobody with that name here.")
        messages = store.direct_messages(user.id, other.id, 200)
        conversation = CapturedConversation(dm_channel(user.username, other.username),
                                            f"Direct messages with {other.display_name}",
                                            [user, other], messages)
        return await _report(request, user, conversation, other.username)

    @app.get("/notices", response_class=HTMLResponse)
    async def notices_page(request: Request) -> Response:
        user = current_user(request)
        if user is None:
            return login_redirect(request)
        return render(request, "notices.html", user=user, all_notices=store.notices(user.id, 50))

    # --- live delivery ------------------------------------------------------------------
    @app.websocket("/ws")
    async def live(socket: WebSocket) -> None:
        user = store.session_user(socket.cookies.get(SESSION_COOKIE, ""))
        origin = socket.headers.get("origin")
        if user is None or (origin is not None and not _same_origin(socket, origin)):
            await socket.close(code=4401)
            return
        channel = socket.query_params.get("c", "")[:120]
        allowed = (channel.startswith("room:") and _room_or_404(channel[5:]) is not None) or (
            channel.startswith("dm:") and user.username in channel[3:].split(":"))
        channels = [channel] if allowed else []
        await socket.accept()
        hub.add(socket, user.username, channels)
        await socket.send_text(json.dumps({"type": "hello", "channels": channels}))
        try:
            while True:
                data = await socket.receive_text()  # pings only; posts go through the forms
                if data == "ping":
                    await socket.send_text(json.dumps({"type": "pong"}))
        except WebSocketDisconnect:
            pass
        finally:
            hub.remove(socket)

    # --- from the platform --------------------------------------------------------------
    @app.post(WEBHOOK_PATH)
    async def webhook(request: Request) -> Response:
        raw = await request.body()
        headers = dict(request.headers)
        if not headers.get("x-childsafe-delivery"):
            headers["x-childsafe-delivery"] = "body:" + hashlib.sha256(raw).hexdigest()
        outcome = await receiver.receive(raw, headers)
        return JSONResponse({"ok": outcome.status == 200, "detail": outcome.detail,
                             "duplicate": outcome.duplicate}, status_code=outcome.status)

    def _participants(messages: list[Message], user: User, members: list[str]) -> list[User]:
        """Who a report could be about: the room's members and the authors shown."""
        names = sorted({m.sender_username for m in messages if m.sender_username}
                       | set(members))
        names = [n for n in names if n != user.username]
        return [u for u in (store.user_by_name(n) for n in names) if u is not None]

    return app


def _same_origin(request: Request | WebSocket, origin: str) -> bool:
    host = request.headers.get("host", "")
    parts = urlsplit(origin)
    return bool(host) and parts.netloc == host and parts.scheme in ("http", "https")


def _safe_next(target: str) -> str:
    """Only paths of this site (no //host or scheme)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/rooms"
    return target[:300]
