"""Liveness, readiness and the human API reference (rendered here: no CDN, no inline script)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from childsafe.store import migrate
from childsafe.web import schemas
from childsafe.web.deps import db_of, public, settings_of

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=schemas.Health, dependencies=[public()],
            summary="Liveness: the process answers")
def healthz() -> Any:
    return schemas.Health(status="ok")


@router.get("/readyz", response_model=schemas.Health, dependencies=[public()],
            summary="Readiness: store reachable, schema current, keys loaded",
            responses={503: {"model": schemas.Health, "description": "Not ready"}})
def readyz(request: Request) -> Any:
    checks: dict[str, str] = {}
    db = db_of(request)
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
        current = migrate.current_revision(db.engine)
        checks["schema"] = "ok" if current == migrate.head_revision() else \
            f"at {current}, needs {migrate.head_revision()}"
    except Exception as exc:  # noqa: BLE001 - readiness reports, never raises
        checks["database"] = f"unreachable ({type(exc).__name__})"
    try:
        _ = settings_of(request).keyring
        checks["keys"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["keys"] = f"missing ({type(exc).__name__})"
    ready = all(v == "ok" for v in checks.values())
    body = schemas.Health(status="ready" if ready else "not ready", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


def _operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    ops = []
    for path, methods in sorted(spec.get("paths", {}).items()):
        for method, op in methods.items():
            ops.append({"method": method.upper(), "path": path, "summary": op.get("summary", ""),
                        "description": op.get("description", ""), "tags": op.get("tags", []),
                        "params": op.get("parameters", []),
                        "responses": sorted(op.get("responses", {}).items())})
    return ops


@router.get("/api/docs", include_in_schema=False, dependencies=[public()])
def api_docs(request: Request) -> Response:
    spec = request.app.openapi()
    return request.app.state.templates.TemplateResponse(
        request, "api_docs.html", {"spec": spec, "operations": _operations(spec)})
