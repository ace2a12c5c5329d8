"""The list console (list-editors): entries, add/remove, CSV import, history, publish.

Also the public distribution point `GET /block/list/{file}`, which serves the signed files
of the publication directory to ISP nodes (`childsafe block sync --source .../block/list/`).
Every change goes through `childsafe.block.authority_store`, which keeps the history and the
audit log; this module only parses forms and renders pages.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from childsafe.block import authority_store as store
from childsafe.block.core.entries import Scope
from childsafe.block.core.publish import LATEST
from childsafe.core.errors import DomainError, InvalidInput, NotFound
from childsafe.core.permissions import Permission
from childsafe.core.principal import Principal
from childsafe.web.charts import bar_chart
from childsafe.web.console import page
from childsafe.web.deps import DbSession, ip_of, now_of, public, requires, settings_of
from childsafe.web.schemas import RowId

router = APIRouter(prefix="/block", include_in_schema=False)
Field = Annotated[str, Form(max_length=600)]
LongField = Annotated[str, Form(max_length=2000)]
PER_PAGE = 50
MAX_UPLOAD = 20 * 1024 * 1024
_LIST_FILE = re.compile(r"^(LATEST|snapshot-\d{10}\.csbl|delta-\d{10}-\d{10}\.csbl)$")


def _actor(request: Request, principal: Principal) -> store.Actor:
    return store.Actor(principal.username, principal.agency_code, ip_of(request))


def _today(request: Request) -> dt.date:
    return now_of(request).date()


def _key_fingerprint(request: Request) -> str | None:
    try:
        return store.fingerprint(store.load_signing_key(settings_of(request)).public_key())
    except InvalidInput:
        return None


def _render(request: Request, session: Session, principal: Principal, *,
            error: str | None = None, notice: str | None = None,
            form: dict[str, str] | None = None, import_errors: list[str] | None = None,
            import_error_count: int = 0, status: int = 200) -> Response:
    params = request.query_params
    q, category = params.get("q", "")[:200], params.get("category", "")[:500]
    scope = params.get("scope", "") if params.get("scope", "") in set(Scope) else ""
    overdue = params.get("overdue") == "1"
    try:
        page_no = max(1, int(params.get("page", "1")))
    except ValueError:
        page_no = 1
    today = _today(request)
    found = store.search_entries(session, query=q, category=category, scope=scope,
                                 overdue_on=today if overdue else None, page=page_no,
                                 per_page=PER_PAGE)
    counts = store.category_counts(session)
    filters = {k: v for k, v in {"q": q, "category": category, "scope": scope,
                                 "overdue": "1" if overdue else ""}.items() if v}

    def page_link(n: int) -> str:
        return "/block?" + urlencode(filters | {"page": str(n)})

    chart = Markup(bar_chart(  # noqa: S704 - labels escaped in bar_chart
        counts[:12], title="Active entries by category")) if counts else None
    return page(request, "block/list.html", {
        "found": found, "filters": filters, "q": q, "category": category, "scope": scope,
        "overdue": overdue, "today": today, "scopes": [s.value for s in Scope],
        "categories": [c for c, _ in counts], "chart": chart,
        "overdue_total": store.overdue_count(session, today),
        "prev_link": page_link(found.page - 1) if found.page > 1 else None,
        "next_link": page_link(found.page + 1) if found.page < found.pages else None,
        "latest": store.latest_publication(session), "fingerprint": _key_fingerprint(request),
        "can_write": principal.can(Permission.LIST_WRITE),
        "can_publish": principal.can(Permission.LIST_PUBLISH),
        "default_review": (today + dt.timedelta(days=365)).isoformat(),
        "error": error, "notice": notice, "form": form or {},
        "import_errors": import_errors or [], "import_error_count": import_error_count,
    }, status=status)


def _message(exc: DomainError) -> str:
    return exc.detail


@router.get("")
def list_page(request: Request, principal: Principal = requires(Permission.LIST_READ),
              session: Session = DbSession) -> Response:
    notice = None
    done = request.query_params.get("done", "")
    if done in {"added", "removed"}:
        notice = f"Entry {done}. It takes effect for ISPs at the next publication."
    elif done == "imported":
        notice = (f"Imported {request.query_params.get('n', '0')} entries. They take effect "
                  "for ISPs at the next publication.")
    elif done == "published":
        latest = store.latest_publication(session)
        if latest is not None:
            notice = (f"Published list {latest.seq} ({latest.entry_count} entries, "
                      f"+{latest.digests_added} −{latest.digests_removed} hashed expressions).")
    return _render(request, session, principal, notice=notice)


@router.post("/entries")
def add_entry(request: Request, url: LongField = "", scope: Field = "page",
              category: Field = "", reason: LongField = "", review_date: Field = "",
              principal: Principal = requires(Permission.LIST_WRITE),
              session: Session = DbSession) -> Response:
    form = {"url": url, "scope": scope, "category": category, "reason": reason,
            "review_date": review_date}
    try:
        with session.begin_nested():
            store.add_entry(session, _actor(request, principal), url=url, scope=scope,
                            category=category, reason=reason, review_date=review_date)
    except DomainError as exc:
        return _render(request, session, principal, error=_message(exc), form=form,
                       status=exc.status)
    return RedirectResponse("/block?done=added", status_code=303)


@router.post("/entries/{entry_id}/remove")
def remove_entry(request: Request, entry_id: RowId, reason: LongField = "",
                 principal: Principal = requires(Permission.LIST_WRITE),
                 session: Session = DbSession) -> Response:
    try:
        with session.begin_nested():
            store.remove_entry(session, _actor(request, principal), entry_id, reason,
                               now=now_of(request))
    except DomainError as exc:
        status = exc.status if not isinstance(exc, NotFound) else 404
        return _render(request, session, principal, error=_message(exc), status=status)
    return RedirectResponse("/block?done=removed", status_code=303)


@router.post("/import")
def import_entries_upload(request: Request, file: UploadFile = File(...),  # noqa: B008
                          principal: Principal = requires(Permission.LIST_WRITE),
                          session: Session = DbSession) -> Response:
    data = file.file.read(MAX_UPLOAD + 1)
    name = (file.filename or "upload.csv")[:120]
    try:
        if len(data) > MAX_UPLOAD:
            raise InvalidInput(f"The file is larger than {MAX_UPLOAD // (1024 * 1024)} MB; "
                               "use `childsafe block import-entries` for big files.")
        if not data.strip():
            raise InvalidInput("The file is empty.")
        with session.begin_nested():
            result = store.import_csv(session, _actor(request, principal), data, name=name)
    except DomainError as exc:
        return _render(request, session, principal, error=_message(exc), status=exc.status)
    if not result.ok:
        shown = [str(e) for e in result.errors[:store.MAX_IMPORT_ERRORS_SHOWN]]
        return _render(request, session, principal, status=422,
                       error=f"{len(result.errors)} line(s) of {name} cannot be imported; "
                             "nothing was imported. Fix them and upload the file again.",
                       import_errors=shown, import_error_count=len(result.errors))
    return RedirectResponse(f"/block?done=imported&n={result.added}", status_code=303)


@router.post("/publish")
def publish(request: Request, principal: Principal = requires(Permission.LIST_PUBLISH),
            session: Session = DbSession) -> Response:
    settings = settings_of(request)
    try:
        key = store.load_signing_key(settings)
        with session.begin_nested():
            row = store.publish(session, _actor(request, principal), key)
    except DomainError as exc:
        return _render(request, session, principal, error=_message(exc), status=exc.status)
    # Files only after the commit: the directory never names a list the database lacks.
    session.commit()
    store.write_files(store.publication_dir(settings), [row])
    return RedirectResponse("/block?done=published", status_code=303)


@router.get("/history")
def history_page(request: Request, principal: Principal = requires(Permission.LIST_READ),
                 session: Session = DbSession) -> Response:
    try:
        page_no = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        page_no = 1
    changes = store.history(session, page=page_no, per_page=100)
    return page(request, "block/history.html", {
        "changes": changes, "publications": store.publications(session, 20),
        "page_no": page_no, "has_next": len(changes) == 100})


@router.get("/public-key")
def public_key(request: Request, principal: Principal = requires(Permission.LIST_READ)
               ) -> Response:
    key = store.load_signing_key(settings_of(request))
    return Response(store.public_key_pem(key.public_key()), media_type="application/x-pem-file",
                    headers={"content-disposition": 'attachment; filename="list-signing.pub"'})


@router.get("/list/{name}")
def list_file(request: Request, name: str, _: None = public()) -> Response:
    """A published file for ISP nodes; only the publication's own file names are served.

    Public on purpose: the files hold keyed hashes and a signature, nothing to hide.
    """
    if not _LIST_FILE.match(name):
        raise NotFound("No such list file.")
    path = store.publication_dir(settings_of(request)) / name
    if not path.is_file():
        raise NotFound("No such list file.")
    media = "text/plain; charset=ascii" if name == LATEST else "application/octet-stream"
    return FileResponse(path, media_type=media)
