"""Console pages for Watch set-up: rooms an agency monitors, shifts, coverage, thresholds."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/console/watch")
