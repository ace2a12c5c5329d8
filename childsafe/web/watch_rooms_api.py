"""Provider API for rooms (register, list, one room) and the public monitored badge.

Rooms are registered with a provider key holding `provider:room:write`. The badge
(`/api/v1/rooms/{id}/badge`, `.svg`) is public on purpose: the provider's page shows it to
every user of the room without holding a key, so it needs only the opaque room id and tells
nothing but whether, and by whom, the room is monitored now.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from childsafe.core.permissions import Permission
from childsafe.core.principal import ProviderPrincipal
from childsafe.store.watch_models import RoomRow
from childsafe.watch import badge as badges
from childsafe.watch import rooms
from childsafe.web.deps import DbSession, now_of, public, requires_provider, settings_of
from childsafe.web.schemas import ERRORS, Problem

router = APIRouter(prefix="/api/v1/rooms", tags=["watch"], responses=ERRORS)
BADGE_MAX_AGE = 30  # seconds: a shift change shows within half a minute
RoomId = Annotated[str, Path(pattern=r"^rm_[a-f0-9]{24}$", description="The id returned when "
                             "the room was registered", examples=["rm_3f9a1c0d5e7b2a4c6d8e0f12"])]


class RoomIn(BaseModel):
    """A room as your service knows it. Registering again with the same `external_id`
    updates it (200) instead of creating another (201)."""

    model_config = ConfigDict(extra="forbid")
    external_id: str = Field(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$",
                             description="Your own id of the room (printable ASCII, no spaces)",
                             examples=["teen-lounge-3"])
    title: str = Field(min_length=1, max_length=200, description="The room's name as users "
                       "see it", examples=["Teen lounge"])
    audience: Literal["child", "teen", "general", "adult"] = Field(
        description="Who the room is for", examples=["teen"])
    language: str = Field(min_length=2, max_length=8, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,4})?$",
                          description="Main language (BCP 47)", examples=["en"])
    region: str = Field(min_length=1, max_length=2, description="ISO 3166-1 alpha-2 country the "
                        "room serves, or '*' for every country", examples=["GB"])
    active: bool = Field(True, description="False retires the room: no badge, no monitoring")


class RoomOut(BaseModel):
    id: str = Field(description="Opaque room id; use it in badge URLs and message batches",
                    examples=["rm_3f9a1c0d5e7b2a4c6d8e0f12"])
    external_id: str = Field(examples=["teen-lounge-3"])
    title: str = Field(examples=["Teen lounge"])
    audience: str = Field(examples=["teen"])
    language: str = Field(examples=["en"])
    region: str = Field(examples=["GB"])
    active: bool
    created_at: datetime
    updated_at: datetime
    badge_url: str = Field(description="Public JSON badge (no key needed)")
    badge_svg_url: str = Field(description="Public SVG badge for an <img>")


class AgencyRefOut(BaseModel):
    code: str = Field(examples=["UK-NCA-CEOP"])
    name: str = Field(examples=["National Crime Agency - CEOP Command"])


class MonitoringOut(BaseModel):
    state: Literal["monitored", "monitored_off_duty", "not_monitored"]
    monitored: bool
    monitoring: list[AgencyRefOut] = Field(description="Agencies that monitor the room")
    on_duty: list[AgencyRefOut] = Field(description="Of those, the ones on shift now")
    next_review_at: datetime | None = Field(
        None, description="Off duty: when the next shift starts and alerts are reviewed")


class RoomDetailOut(RoomOut):
    monitoring: MonitoringOut


class RoomPage(BaseModel):
    items: list[RoomOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; "
                                                      "null on the last page")


class HelpOut(BaseModel):
    text: str = Field(examples=["Get help or report abuse"])
    url: str = Field(description="Safety tips")
    report_url: str = Field(description="The report form")


class BadgeOut(BaseModel):
    room: str
    state: Literal["monitored", "monitored_off_duty", "not_monitored"]
    monitored: bool
    on_duty: list[AgencyRefOut]
    monitoring: list[AgencyRefOut]
    next_review_at: datetime | None
    lang: Literal["en", "fr"]
    label: str = Field(description="Short text for the badge", examples=["Monitored by police"])
    message: str = Field(description="A sentence or two to show in the room", examples=[
        "Officers of National Crime Agency - CEOP Command are watching this room now to help "
        "keep young people safe. If someone makes you feel uncomfortable, report it."])
    help: HelpOut
    svg_url: str
    digest: str = Field(description="Changes exactly when the badge does")


def _base(request: Request) -> str:
    return settings_of(request).base_url.rstrip("/")


def _room_out(request: Request, row: RoomRow) -> dict[str, Any]:
    base = _base(request)
    return RoomOut(id=row.id, external_id=row.external_id, title=row.title,
                   audience=row.audience, language=row.language, region=row.region,
                   active=row.active, created_at=row.created_at, updated_at=row.updated_at,
                   badge_url=f"{base}/api/v1/rooms/{row.id}/badge",
                   badge_svg_url=f"{base}/api/v1/rooms/{row.id}/badge.svg").model_dump(
                       mode="json")


def _monitoring(badge: badges.Badge) -> MonitoringOut:
    def refs(items: tuple[badges.AgencyRef, ...]) -> list[AgencyRefOut]:
        return [AgencyRefOut(code=a.code, name=a.name) for a in items]
    return MonitoringOut(state=badge.state.value, monitored=badge.monitored,
                         monitoring=refs(badge.monitoring), on_duty=refs(badge.on_duty),
                         next_review_at=badge.next_review_at)


@router.post("", response_model=RoomOut, status_code=201, summary="Register or update a room",
             responses={200: {"model": RoomOut, "description": "Already registered: updated"},
                        201: {"description": "Registered"}})
def register_room(body: RoomIn, request: Request, session: Session = DbSession,
                  provider: ProviderPrincipal = requires_provider(Permission.PROVIDER_ROOM_WRITE)
                  ) -> Any:
    """Upsert on (`provider`, `external_id`): safe to call on every start of your service.
    Agencies then choose on their console which rooms they monitor; the room's badge tells
    your users when it is monitored."""
    spec = rooms.validate_room(body.external_id, body.title, body.audience, body.language,
                               body.region, body.active)
    row, created = rooms.register_room(session, provider.provider_id, spec,
                                       now=now_of(request), actor=f"provider:{provider.name}")
    return JSONResponse(_room_out(request, row), status_code=201 if created else 200,
                        headers={"location": f"/api/v1/rooms/{row.id}"})


@router.get("", response_model=RoomPage, summary="Your registered rooms")
def list_rooms(request: Request, session: Session = DbSession,
               limit: Annotated[int, Query(ge=1, le=200)] = 50,
               cursor: Annotated[str | None, Query(pattern=r"^rm_[a-f0-9]{24}$",
                                                   description="next_cursor of the page "
                                                               "before")] = None,
               external_id: Annotated[str | None, Query(max_length=128,
                                                        description="Only this room")] = None,
               provider: ProviderPrincipal = requires_provider(Permission.PROVIDER_ROOM_WRITE)
               ) -> Any:
    """Rooms of this key's provider, retired ones included, in a stable order."""
    rows = rooms.provider_rooms(session, provider.provider_id, after=cursor, limit=limit + 1,
                                external_id=external_id)
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [_room_out(request, r) for r in rows],
            "next_cursor": rows[-1].id if more and rows else None}


@router.get("/{room_id}", response_model=RoomDetailOut,
            summary="One of your rooms, with its monitoring state now")
def get_room(room_id: RoomId, request: Request, session: Session = DbSession,
             provider: ProviderPrincipal = requires_provider(Permission.PROVIDER_ROOM_WRITE)
             ) -> Any:
    row = rooms.provider_room(session, provider.provider_id, room_id)
    badge = badges.badge_for_room(session, row.id, now_of(request))
    if not row.active:
        badge = badges.Badge(row.id, badges.BadgeState.NOT_MONITORED, (), ())
    return _room_out(request, row) | {"monitoring": _monitoring(badge).model_dump(mode="json")}


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _cached(request: Request, body: bytes, media_type: str, extra: dict[str, str]) -> Response:
    etag = _etag(body)
    headers = {"etag": etag, "cache-control": f"public, max-age={BADGE_MAX_AGE}",
               "vary": "Accept-Language"} | extra
    presented = [t.strip() for t in request.headers.get("if-none-match", "").split(",")]
    if etag in presented or f"W/{etag}" in presented:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def _badge(request: Request, session: Session, room_id: str,
           lang: str | None) -> tuple[badges.Badge, str]:
    room = rooms.public_room(session, room_id)
    chosen = badges.choose_language(lang, request.headers.get("accept-language"))
    return badges.badge_for_room(session, room.id, now_of(request)), chosen


Lang = Annotated[Literal["en", "fr"] | None,
                 Query(description="Language of the text (else Accept-Language, else en)")]


@router.get("/{room_id}/badge", response_model=BadgeOut, summary="Is this room monitored now?",
            responses={304: {"description": "Not modified (If-None-Match)"},
                       404: {"model": Problem, "description": "Unknown or retired room"}})
def room_badge(room_id: str, request: Request, lang: Lang = None,
               session: Session = DbSession, _: None = public()) -> Response:
    """Public, no key: the provider's page fetches it (CORS allowed) for every user of the
    room. States: `monitored` (an agency is on duty), `monitored_off_duty` (monitored, but
    alerts wait for the next shift at `next_review_at`), `not_monitored`. Cached for 30 s;
    send If-None-Match with the ETag to get 304 when nothing changed."""
    badge, chosen = _badge(request, session, room_id, lang)
    base = _base(request)
    doc = badges.badge_document(
        badge, chosen, help_url=f"{base}/report/tips?lang={chosen}",
        report_url=f"{base}/report?lang={chosen}",
        svg_url=f"{base}/api/v1/rooms/{badge.room_id}/badge.svg?lang={chosen}")
    body = json.dumps(doc, ensure_ascii=False, sort_keys=True).encode()
    return _cached(request, body, "application/json",
                   {"access-control-allow-origin": "*", "content-language": chosen})


@router.get("/{room_id}/badge.svg", summary="The monitored badge as an accessible SVG image",
            response_class=Response,
            responses={200: {"content": {"image/svg+xml": {}}, "description": "The badge"},
                       304: {"description": "Not modified (If-None-Match)"},
                       404: {"model": Problem, "description": "Unknown or retired room"}})
def room_badge_svg(room_id: str, request: Request, lang: Lang = None,
                   session: Session = DbSession, _: None = public()) -> Response:
    """For `<img src=… alt=…>`: the image carries its own title and description (the same
    text as the JSON), has no script and loads nothing else."""
    badge, chosen = _badge(request, session, room_id, lang)
    body = badges.badge_svg(badge, chosen).encode()
    return _cached(request, body, "image/svg+xml; charset=utf-8",
                   {"content-language": chosen,
                    "content-security-policy": "default-src 'none'; style-src 'none'"})
