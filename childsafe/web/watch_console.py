"""Console pages for Watch alerts: live queue, alert page, officers' actions."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/console/watch")
