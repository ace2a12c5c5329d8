"""Provider API for rooms (register, list) and the public monitored badge."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/rooms", tags=["watch"])
