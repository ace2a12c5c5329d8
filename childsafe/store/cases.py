"""Tenant-scoped case queries: an officer sees their agency's cases and those shared with it.

Every read goes through `visible_to`, so isolation is enforced in one query predicate rather
than in each view; another agency's case is reported as absent (404), never as forbidden.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, case, exists, func, or_, select
from sqlalchemy.orm import Session

from childsafe.core.audit import AuditEvent
from childsafe.core.cases import CaseSource, CaseStatus
from childsafe.core.errors import InvalidInput, NotFound
from childsafe.core.principal import Principal
from childsafe.store import audit
from childsafe.store.models import AgencyRow, CaseRow, CaseShareRow, utcnow

_REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud on the phone


def new_reference() -> str:
    body = "".join(secrets.choice(_REF_ALPHABET) for _ in range(8))
    return f"CS-{body[:4]}-{body[4:]}"


def visible_to(viewer: Principal) -> ColumnElement[bool]:
    shared = exists().where(CaseShareRow.case_id == CaseRow.id,
                            CaseShareRow.agency_id == viewer.agency_id)
    return or_(CaseRow.agency_id == viewer.agency_id, shared)


def create_case(session: Session, *, agency: AgencyRow, title: str,
                source: CaseSource = CaseSource.MANUAL, country: str | None = None,
                priority: str | None = None, actor: str = "system",
                now: datetime | None = None) -> CaseRow:
    title = (title or "").strip()
    if not title or len(title) > 300:
        raise InvalidInput("Case title must be 1-300 characters.", field="title")
    now = now or utcnow()
    row = CaseRow(id=str(uuid.uuid4()), reference=new_reference(), agency_id=agency.id,
                  title=title, status=CaseStatus.NEW.value, priority=priority,
                  source=source.value, country=country, created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    audit.append(session, AuditEvent("case.create", actor=actor, agency=agency.code,
                                     object_type="case", object_id=row.id,
                                     detail={"reference": row.reference, "source": source.value}))
    return row


def get_case(session: Session, viewer: Principal, case_id: str, *, ip: str | None = None) -> CaseRow:
    """Fetch one case for `viewer` and audit the view; NotFound if it is not visible."""
    if len(case_id) > 36:
        raise NotFound("No such case.")
    row = session.scalar(select(CaseRow).where(CaseRow.id == case_id, visible_to(viewer)))
    if row is None:
        raise NotFound("No such case.")
    audit.append(session, AuditEvent("case.view", actor=viewer.username,
                                     agency=viewer.agency_code, object_type="case",
                                     object_id=row.id, ip=ip))
    return row


def list_cases(session: Session, viewer: Principal, *, status: str | None = None,
               priority: str | None = None, assigned_to: int | None = None,
               open_only: bool = False, limit: int = 100) -> list[CaseRow]:
    query = select(CaseRow).where(visible_to(viewer))
    if status:
        query = query.where(CaseRow.status == status)
    elif open_only:
        query = query.where(CaseRow.status != "closed")
    if priority:
        query = query.where(CaseRow.priority == priority)
    if assigned_to is not None:
        query = query.where(CaseRow.assigned_to == assigned_to)
    # Most urgent first (P1 < P2 ...; no priority last), then oldest first within a priority.
    query = query.order_by(func.coalesce(CaseRow.priority, "P9"), CaseRow.created_at).limit(limit)
    return list(session.scalars(query))


def count_by_status(session: Session, viewer: Principal) -> dict[str, int]:
    rows = session.execute(select(CaseRow.status, func.count()).where(visible_to(viewer))
                           .group_by(CaseRow.status)).all()
    return {status: int(n) for status, n in rows}


def share_case(session: Session, viewer: Principal, case: CaseRow, agency: AgencyRow,
               reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Give a reason for sharing.", field="reason")
    if session.get(CaseShareRow, (case.id, agency.id)) is None and agency.id != case.agency_id:
        session.add(CaseShareRow(case_id=case.id, agency_id=agency.id, shared_by=viewer.user_id,
                                 reason=reason[:2000]))
    audit.append(session, AuditEvent("case.share", actor=viewer.username,
                                     agency=viewer.agency_code, object_type="case",
                                     object_id=case.id,
                                     detail={"to": agency.code, "reason": reason[:2000]}))


def queue_summary(session: Session, viewer: Principal, now: datetime) -> dict[str, object]:
    rows = session.execute(select(CaseRow.priority, func.count(),
                                  func.sum(case((CaseRow.sla_due_at < now, 1), else_=0)))
                           .where(visible_to(viewer), CaseRow.status != "closed")
                           .group_by(CaseRow.priority)).all()
    by_priority = {(p or "untriaged"): int(n) for p, n, _ in rows}
    return {"open": sum(by_priority.values()), "by_priority": by_priority,
            "past_sla": int(sum(int(b or 0) for _, _, b in rows))}
