"""The provider API: a chat client's Report button files reports with the conversation attached.

Authenticated by the provider's API key (`Authorization: Bearer csk_…`) with the scopes
`provider:report:write` and `provider:evidence:write`. A provider sees only reports it filed,
and of those only the state — never officers' names or notes.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Path, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from childsafe.core.agencies import Jurisdiction
from childsafe.core.errors import InvalidInput, NotFound
from childsafe.core.permissions import Permission
from childsafe.core.principal import ProviderPrincipal
from childsafe.reports import intake
from childsafe.reports.core import engine
from childsafe.reports.core.evidence.conversation import parse_conversation
from childsafe.reports.core.evidence.dedup import SuspectRef
from childsafe.reports.core.evidence.files import receive_file
from childsafe.reports.core.evidence.text import PASTED_TEXT_MAX_BYTES, accept_pasted_text
from childsafe.reports.core.identity import parse_reporter
from childsafe.store import agencies
from childsafe.store.db import Database
from childsafe.store.group_commit import GroupCommit
from childsafe.store.report_models import EvidenceRow, ReportRow
from childsafe.web.deps import DbSession, db_of, ip_of, now_of, requires_provider
from childsafe.web.schemas import ERRORS, Problem

_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERRORS, 429: {"model": Problem, "description": "Rate limited"}}
router = APIRouter(prefix="/api/v1/reports", tags=["reports"], responses=_RESPONSES)
MAX_UPLOAD_BYTES = 10 * 1024 * 1024


class SuspectIn(BaseModel):
    platform: str = Field(max_length=120, examples=["chatty.test"])
    identifier: str = Field(max_length=200, description="Provider-side user id of the reported account")


class ReportIn(BaseModel):
    """A report filed from inside a chat app, reporter details prefilled by the client."""

    model_config = ConfigDict(extra="forbid")
    language: Literal["en", "fr"] = "en"
    answers: dict[str, Any] = Field(
        description="Every answer of the qualifying questions (flow `report`), by question id; "
                    "see /api/v1/reports/flow", examples=[{
                        "danger": "no", "who": "young_person", "country": "GB",
                        "what": "contact", "cues": ["asked_age", "asked_secret"],
                        "platform": "Chatty", "when": "2026-11-20", "suspect": "sam_99"}])
    reporter: dict[str, Any] = Field(
        description="name, email and/or phone, country (ISO alpha-2), age_band "
                    "(under_13, 13_15, 16_17, 18_plus), relationship (self, parent_carer, "
                    "relative, friend, teacher_professional, other)")
    conversation: dict[str, Any] | None = Field(
        None, description="Structured capture: platform, room_id, participants "
                          "(user_id, display_name, declared_age, role reporter|reported|other), "
                          "messages (id, sender, sent_at UTC ISO-8601, text)")
    pasted_text: str | None = Field(None, max_length=PASTED_TEXT_MAX_BYTES,
                                    description="Messages pasted by the reporter, kept byte-exact")
    suspects: list[SuspectIn] = Field(default_factory=list, max_length=20)


class EvidenceOut(BaseModel):
    id: str
    kind: str
    sha256: str
    md5: str
    size: int


class ClassificationOut(BaseModel):
    category: str
    in_scope: bool
    immediate: bool
    reasons: list[str]
    title: str
    message: str
    emergency: str | None
    signposts: list[str]


class ReportOut(BaseModel):
    filed: bool = Field(description="False for out-of-scope answers: show the signposts instead")
    reference: str | None = None
    state: str | None = None
    status_url: str | None = Field(None, description="Private link for the reporter; give it "
                                                     "only to them")
    agency: str | None = None
    needs_verification: bool = False
    duplicate_of_earlier_report: bool = False
    classification: ClassificationOut
    evidence: list[EvidenceOut] = Field(default_factory=list)


class ReportStateOut(BaseModel):
    reference: str
    state: str
    immediate: bool
    evidence_items: int


def _classification(result: engine.FlowResult) -> ClassificationOut:
    c = result.classification
    return ClassificationOut(category=c.category.value, in_scope=c.in_scope, immediate=c.immediate,
                             reasons=[r.text for r in c.reasons], title=c.title, message=c.message,
                             emergency=c.emergency, signposts=[s.text for s in c.signposts])


@router.post("", response_model=ReportOut, status_code=201,
             summary="File a report from a chat client",
             responses={200: {"model": ReportOut, "description": "Out of scope: not filed"},
                        413: {"model": Problem}, 415: {"model": Problem}})
async def file_report(body: ReportIn, request: Request,
                      provider: ProviderPrincipal = requires_provider(
                          Permission.PROVIDER_REPORT_WRITE)) -> Any:
    """Validates every answer, the reporter and the evidence, then files the report in one
    transaction: all of it is stored, or (on any error) none of it. Reports whose reporter gave
    an email wait for that email to be confirmed (a code is mailed), except reports marked
    immediate, which reach officers at once."""
    # Checking, encrypting and hashing run here, on the event loop (CPU only; the API key
    # check of `requires_provider` is the request's one thread hop); the one write waits for
    # this process's intake writer, which commits concurrent reports together
    # (`childsafe.store.group_commit`) and answers only once they are durable.
    now = now_of(request)
    flow = request.app.state.flow
    result = engine.evaluate(flow, body.answers, body.language, now=now,
                             routing=request.app.state.routing, provider=provider.name)
    if not result.classification.in_scope:
        out = ReportOut(filed=False, classification=_classification(result))
        return JSONResponse(out.model_dump(), status_code=200)
    reporter = parse_reporter(body.reporter, body.language)
    items: list[intake.EvidenceItem] = []
    if body.pasted_text is not None:
        items.append(accept_pasted_text(body.pasted_text, field="pasted_text"))
    if body.conversation is not None:
        items.append(parse_conversation(body.conversation, now=now))
    ctx = request.app.state.intake()
    db = db_of(request)
    routes: Mapping[str, tuple[Jurisdiction, int]] | None = agencies.cached_routes(db.engine.pool)
    if routes is None:  # once a minute at most
        routes = await run_in_threadpool(_load_routes, db)
    ip = ip_of(request)
    await intake.check_limits(ctx, ip, reporter)  # a shared limiter without blocking the loop
    plan = intake.prepare_report(
        ctx, routes, result=result, reporter=reporter, evidence=items,
        channel=intake.Channel.API, now=now, provider=provider, ip=ip,
        suspects=[SuspectRef(s.platform, s.identifier) for s in body.suspects],
        limits_checked=True)
    receipt = await _intake_writer(request).run(plan)
    base = request.app.state.settings.base_url.rstrip("/")
    return ReportOut(filed=True, reference=receipt.reference, state=receipt.state.value,
                     status_url=base + receipt.status_path, agency=receipt.agency_code,
                     needs_verification=receipt.needs_verification,
                     duplicate_of_earlier_report=receipt.duplicate_of is not None,
                     classification=_classification(result),
                     evidence=[EvidenceOut(**e) for e in receipt.evidence])


def _load_routes(db: Database) -> Mapping[str, tuple[Jurisdiction, int]]:
    with db.reading() as session:
        return agencies.routes(session)


_WRITER_LOCK = threading.Lock()


def _intake_writer(request: Request) -> GroupCommit[intake.PreparedReport, intake.Receipt]:
    """This app's intake writer (one thread per process, started on first use)."""
    state = request.app.state
    writer = getattr(state, "intake_writer", None)
    if writer is None:
        with _WRITER_LOCK:
            writer = getattr(state, "intake_writer", None)
            if writer is None:
                writer = state.intake_writer = GroupCommit(db_of(request), intake.write_reports,
                                                           name="intake-writer")
    return writer


def _own_report(session: Session, provider: ProviderPrincipal, reference: str) -> ReportRow:
    row = session.scalar(select(ReportRow).where(ReportRow.reference == reference,
                                                 ReportRow.provider_id == provider.provider_id))
    if row is None:
        raise NotFound("No report with that reference was filed with this API key's provider.")
    return row


Reference = Annotated[str, Path(pattern=r"^R-[A-Z2-9]{4}-[A-Z2-9]{4}$",
                                description="The reference returned when the report was filed")]


@router.get("/{reference}", response_model=ReportStateOut, summary="State of a report you filed")
def report_state(reference: Reference, session: Session = DbSession,
                 provider: ProviderPrincipal = requires_provider(Permission.PROVIDER_REPORT_WRITE)
                 ) -> Any:
    row = _own_report(session, provider, reference)
    count = session.scalar(select(func.count()).select_from(EvidenceRow)
                           .where(EvidenceRow.report_id == row.id)) or 0
    return ReportStateOut(reference=row.reference, state=row.state, immediate=row.immediate,
                          evidence_items=int(count))


@router.post("/{reference}/evidence", response_model=list[EvidenceOut], status_code=201,
             summary="Add evidence files or text to a report you filed",
             responses={413: {"model": Problem}, 415: {"model": Problem}})
def add_evidence(
    reference: Reference, request: Request,
    files: Annotated[list[UploadFile] | None, File(description="PNG, JPEG, GIF, PDF or TXT; "
                                                   "checked by content, not by name")] = None,
    text: Annotated[str | None, Form(max_length=PASTED_TEXT_MAX_BYTES)] = None,
    session: Session = DbSession,
    provider: ProviderPrincipal = requires_provider(Permission.PROVIDER_EVIDENCE_WRITE),
) -> Any:
    """Each item is hashed (SHA-256, MD5) at receipt, encrypted, and never modified. All items
    of one request are accepted together or not at all."""
    now = now_of(request)
    report = _own_report(session, provider, reference)
    items: list[intake.EvidenceItem] = []
    if text is not None:
        items.append(accept_pasted_text(text, field="text"))
    for upload in files or []:
        data = upload.file.read(MAX_UPLOAD_BYTES + 1)
        items.append(intake.FileUpload(receive_file(data, received_at=now,
                                                    client_name=upload.filename,
                                                    declared_type=upload.content_type), data))
    if not items:
        raise InvalidInput("Send at least one file or a text field.", field="files")
    rows = intake.add_evidence(session, request.app.state.intake(), report, items, now=now,
                               source="provider")
    return [EvidenceOut(id=r.id, kind=r.kind, sha256=r.sha256, md5=r.md5, size=r.size)
            for r in rows]


@router.get("/flow/questions", summary="The qualifying questions (for building a native UI)")
def flow_questions(request: Request, lang: Literal["en", "fr"] = "en",
                   provider: ProviderPrincipal = requires_provider(None)) -> Any:
    """Flow id, version and every question with its type, options and branches' targets."""
    from childsafe.reports.core.views import question_view

    flow = request.app.state.flow
    return {"id": flow.id, "version": flow.version, "start": flow.start,
            "questions": [question_view(q, lang, None) for q in flow.questions.values()]}

