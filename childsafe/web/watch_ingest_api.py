"""Provider API: stream a room's messages to Watch."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/rooms", tags=["watch"])
