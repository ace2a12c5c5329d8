"""The agency dashboard (charts) and live queue updates over Server-Sent Events."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from childsafe.core.permissions import Permission
from childsafe.core.principal import Principal
from childsafe.store.cases import visible_to
from childsafe.store.models import CaseRow
from childsafe.web.charts import bar_chart
from childsafe.web.console import page
from childsafe.web.deps import DbSession, db_of, now_of, requires

router = APIRouter(include_in_schema=False)
SSE_POLL_SECONDS = 2.0
SSE_MAX_SECONDS = 300  # the browser reconnects by itself; no stream lives forever


@router.get("/dashboard")
def dashboard(request: Request, principal: Principal = requires(Permission.CASE_READ),
              session: Session = DbSession) -> Response:
    now = now_of(request)
    since = now - timedelta(days=14)
    rows = session.execute(select(CaseRow.created_at, CaseRow.title, CaseRow.status,
                                  CaseRow.sla_due_at, CaseRow.priority)
                           .where(visible_to(principal))).all()
    per_day = Counter(r.created_at.strftime("%d %b") for r in rows if r.created_at >= since)
    days = [(now - timedelta(days=d)).strftime("%d %b") for d in range(13, -1, -1)]
    by_category = Counter(r.title.split(" — ")[0] for r in rows if r.created_at >= since)
    open_rows = [r for r in rows if r.status != "closed"]
    buckets = {"< 15 min": 0, "< 4 h": 0, "< 1 day": 0, "< 3 days": 0, "older": 0}
    for r in open_rows:
        age = now - r.created_at
        key = ("< 15 min" if age < timedelta(minutes=15) else "< 4 h" if age < timedelta(hours=4)
               else "< 1 day" if age < timedelta(days=1) else "< 3 days"
               if age < timedelta(days=3) else "older")
        buckets[key] += 1
    breaches = Counter(r.priority or "none" for r in open_rows
                       if r.sla_due_at is not None and r.sla_due_at < now)
    charts = [
        bar_chart([(d, per_day.get(d, 0)) for d in days], title="Intake per day (14 days)"),
        bar_chart(sorted(by_category.items(), key=lambda kv: -kv[1])[:10],
                  title="Intake by category (14 days)", width=560),
        bar_chart(list(buckets.items()), title="Open cases by age"),
        bar_chart([(p, breaches.get(p, 0)) for p in ("P1", "P2", "P3", "P4")],
                  title="Open cases past their SLA"),
    ]
    return page(request, "dashboard.html", {
        "charts": [Markup(c) for c in charts],  # noqa: S704 - bar_chart escapes its labels
        "open": len(open_rows), "breached": sum(breaches.values())})


def _queue_state(db: object, principal: Principal) -> dict[str, object]:
    with db.transaction() as session:  # type: ignore[attr-defined]
        count, latest = session.execute(
            select(func.count(), func.max(CaseRow.updated_at))
            .where(visible_to(principal), CaseRow.status != "closed")).one()
    return {"open": int(count), "latest": latest.isoformat() if latest else None}


@router.get("/console/events")
async def queue_events(request: Request,
                       principal: Principal = requires(Permission.CASE_READ),
                       session: Session = DbSession) -> Response:
    """`queue` events whenever the agency's open queue changes (new, updated, closed cases)."""
    db = db_of(request)
    # The login check wrote (session touch); commit now, not when the stream ends, so the
    # store is not held for the stream's lifetime. The stream reads in short transactions.
    await run_in_threadpool(session.commit)

    async def stream() -> AsyncIterator[str]:
        last: dict[str, object] | None = None
        yield "retry: 5000\n\n"
        # Starlette cancels this generator when the client goes away.
        for _ in range(max(1, int(SSE_MAX_SECONDS / SSE_POLL_SECONDS))):
            state = await run_in_threadpool(_queue_state, db, principal)
            if state != last:
                yield f"event: queue\ndata: {json.dumps(state)}\n\n"
                last = state
            await asyncio.sleep(SSE_POLL_SECONDS)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"cache-control": "no-store", "x-accel-buffering": "no"})
