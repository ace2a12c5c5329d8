"""Retention: what the platform deletes, and when; legal holds keep a case whatever its age.

Rules (run by `childsafe worker` housekeeping — the first every minute, all of them hourly —
or at once by `childsafe admin retention`):

- **Unverified reports**: a report whose reporter never confirmed their contact is deleted
  with its evidence when its 72-hour verification window has passed (`expires_at`).
- **Closed-unfounded cases**: a case closed with an unfounded outcome (no further action,
  or a malicious/false report) is deleted with its reports, evidence, notes, shares and
  deliveries once it has not changed for `CHILDSAFE_RETENTION_UNFOUNDED_DAYS` (365) days —
  counted from its last change, so any later activity restarts the clock. A case under
  **legal hold** is never deleted; it is listed as kept.
- **Watched messages**: messages of a Watch conversation that never raised an alert are
  deleted once received more than `CHILDSAFE_RETENTION_WATCH_DAYS` (30) days ago. Messages
  of a conversation with an alert are never deleted, nor messages not yet scored. The
  conversation row (detector state, no text) stays.

Every deletion is audited in the same transaction — counts and ids, never content — so
the audit chain records what retention removed and still verifies afterwards. `plan()`
computes exactly what `apply()` would delete, for `--dry-run`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Table, delete, exists, func, select, update
from sqlalchemy.orm import Session

from childsafe.core.audit import AuditEvent
from childsafe.core.cases import CaseStatus
from childsafe.core.errors import InvalidInput, NotFound, PermissionDenied
from childsafe.core.permissions import Permission
from childsafe.core.principal import Principal
from childsafe.store import audit
from childsafe.store.db import Database, is_postgres
from childsafe.store.models import AgencyRow, AuditRow, CaseRow
from childsafe.store.report_models import EvidenceRow, ReportRow
from childsafe.store.schema import metadata
from childsafe.store.watch_models import AlertRow, ConversationRow, WatchMessageRow

AWAITING_VERIFICATION = "awaiting_verification"  # childsafe.reports.intake.ReportState
# Case outcomes (childsafe.store.casework.OUTCOMES) that mean nothing was substantiated.
UNFOUNDED_OUTCOMES = frozenset({"no_further_action", "malicious"})
DEFAULT_UNFOUNDED_DAYS = 365
DEFAULT_WATCH_DAYS = 30
MAX_CASES_PER_RUN = 500  # bounded transactions; the next run takes the rest
MAX_CONVERSATIONS_PER_RUN = 2000
_IDS_PER_EVENT = 1000  # audit details stay small: long id lists span several entries
ACTOR = "retention"
# Rules by name: the worker runs the cheap, indexed one every minute and all hourly.
UNVERIFIED, UNFOUNDED, WATCH = "unverified", "unfounded", "watch"
ALL_RULES = frozenset({UNVERIFIED, UNFOUNDED, WATCH})


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    unfounded_after: timedelta = timedelta(days=DEFAULT_UNFOUNDED_DAYS)
    watch_after: timedelta = timedelta(days=DEFAULT_WATCH_DAYS)

    @classmethod
    def of_days(cls, unfounded_days: int, watch_days: int) -> RetentionPolicy:
        return cls(timedelta(days=unfounded_days), timedelta(days=watch_days))


@dataclass(frozen=True, slots=True)
class CaseItem:
    id: str
    reference: str
    agency: str
    outcome: str | None
    last_change: datetime
    reports: tuple[str, ...]
    evidence: int
    hold_reason: str | None = None


@dataclass
class RetentionPlan:
    """What one run deletes (or, dry, would delete) and what a legal hold keeps."""

    now: datetime
    policy: RetentionPolicy
    unverified_reports: list[str] = field(default_factory=list)
    unverified_evidence: int = 0
    cases: list[CaseItem] = field(default_factory=list)
    held: list[CaseItem] = field(default_factory=list)
    watch_messages: dict[int, int] = field(default_factory=dict)  # conversation id -> count

    @property
    def empty(self) -> bool:
        return not (self.unverified_reports or self.cases or self.watch_messages)

    @property
    def watch_total(self) -> int:
        return sum(self.watch_messages.values())

    def summary(self) -> dict[str, int]:
        return {"unverified_reports": len(self.unverified_reports),
                "unfounded_cases": len(self.cases),
                "case_reports": sum(len(c.reports) for c in self.cases),
                "evidence": self.unverified_evidence + sum(c.evidence for c in self.cases),
                "held_cases": len(self.held),
                "watch_messages": self.watch_total}


def _evidence_counts(session: Session, report_ids: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for chunk in _chunks(report_ids, 500):
        for report_id, n in session.execute(
                select(EvidenceRow.report_id, func.count()).where(
                    EvidenceRow.report_id.in_(chunk)).group_by(EvidenceRow.report_id)):
            counts[report_id] = int(n)
    return counts


def _case_items(session: Session, rows: list[tuple[CaseRow, str]]) -> list[CaseItem]:
    ids = [case.id for case, _ in rows]
    reports: dict[str, list[str]] = {}
    for chunk in _chunks(ids, 500):
        for report_id, case_id in session.execute(
                select(ReportRow.id, ReportRow.case_id).where(ReportRow.case_id.in_(chunk))
                .order_by(ReportRow.id)):
            reports.setdefault(str(case_id), []).append(report_id)
    evidence = _evidence_counts(session, [r for rs in reports.values() for r in rs])
    return [CaseItem(case.id, case.reference, code, case.outcome, case.updated_at,
                     tuple(reports.get(case.id, [])),
                     sum(evidence.get(r, 0) for r in reports.get(case.id, [])),
                     case.legal_hold_reason if case.legal_hold else None)
            for case, code in rows]


def plan(session: Session, now: datetime, policy: RetentionPolicy | None = None, *,
         rules: frozenset[str] = ALL_RULES) -> RetentionPlan:
    """What `apply` would delete at `now` (nothing is changed)."""
    policy = policy or RetentionPolicy()
    result = RetentionPlan(now, policy)
    if UNVERIFIED in rules:
        result.unverified_reports = list(session.scalars(
            select(ReportRow.id).where(ReportRow.state == AWAITING_VERIFICATION,
                                       ReportRow.expires_at <= now).order_by(ReportRow.id)))
        result.unverified_evidence = sum(
            _evidence_counts(session, result.unverified_reports).values())
    if UNFOUNDED in rules:
        _plan_cases(session, result)
    if WATCH in rules:
        result.watch_messages = _watch_due(session, now - policy.watch_after)
    return result


def _plan_cases(session: Session, result: RetentionPlan) -> None:
    now, policy = result.now, result.policy
    due = (select(CaseRow, AgencyRow.code).join(AgencyRow, AgencyRow.id == CaseRow.agency_id)
           .where(*_unfounded_due(now, policy)).order_by(CaseRow.updated_at, CaseRow.id))
    result.cases = _case_items(session, [(c, code) for c, code in session.execute(
        due.where(CaseRow.legal_hold.is_(False)).limit(MAX_CASES_PER_RUN))])
    result.held = _case_items(session, [(c, code) for c, code in session.execute(
        due.where(CaseRow.legal_hold.is_(True)))])


def _unfounded_due(now: datetime, policy: RetentionPolicy) -> list[ColumnElement[bool]]:
    return [CaseRow.status == CaseStatus.CLOSED.value,
            CaseRow.outcome.in_(sorted(UNFOUNDED_OUTCOMES)),
            CaseRow.updated_at <= now - policy.unfounded_after]


def _lock_cases(session: Session, items: list[CaseItem], now: datetime,
                policy: RetentionPolicy) -> list[CaseItem]:
    """PostgreSQL: lock the cases about to go and re-check them on their latest version, so
    a hold placed (or the case reopened) meanwhile wins over the deletion."""
    if not items or not is_postgres(session):
        return items
    still: set[str] = set()
    for chunk in _chunks([c.id for c in items], 500):
        still |= set(session.scalars(select(CaseRow.id).where(
            CaseRow.id.in_(chunk), CaseRow.legal_hold.is_(False), *_unfounded_due(now, policy))
            .with_for_update()))
    return [c for c in items if c.id in still]


def _watch_due(session: Session, cutoff: datetime) -> dict[int, int]:
    alerted = exists().where(AlertRow.conversation_id == WatchMessageRow.conversation_id)
    scored = (select(ConversationRow.scored_seq)
              .where(ConversationRow.id == WatchMessageRow.conversation_id).scalar_subquery())
    rows = session.execute(
        select(WatchMessageRow.conversation_id, func.count())
        .where(WatchMessageRow.received_at < cutoff, ~alerted, WatchMessageRow.seq <= scored)
        .group_by(WatchMessageRow.conversation_id)
        .order_by(WatchMessageRow.conversation_id).limit(MAX_CONVERSATIONS_PER_RUN))
    return {int(conv): int(n) for conv, n in rows}


def _chunks(items: list[str] | list[int], size: int) -> Iterable[list[str] | list[int]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _referencing(target: str) -> list[tuple[Table, str, str | None]]:
    """(table, column, ondelete) of every foreign key to `target`, from the schema itself,
    so a table added later is cleaned up the way the database would."""
    return [(table, fk.parent.name, fk.ondelete) for table in metadata.sorted_tables
            for fk in table.foreign_keys if fk.column.table.name == target]


def _delete_with_dependents(session: Session, target: Table, ids: list[str]) -> None:
    for table, column, ondelete in _referencing(target.name):
        for chunk in _chunks(ids, 500):
            if (ondelete or "").upper() == "SET NULL":
                session.execute(update(table).where(table.c[column].in_(chunk))
                                .values({column: None}))
            else:
                session.execute(delete(table).where(table.c[column].in_(chunk)))
    for chunk in _chunks(ids, 500):
        session.execute(delete(target).where(target.c.id.in_(chunk)))


def _delete_reports(session: Session, report_ids: list[str]) -> None:
    _delete_with_dependents(session, metadata.tables["reports"], report_ids)


def _lock_conversations(session: Session, ids: list[int]) -> list[int]:
    """PostgreSQL: take the conversations' row locks (the scoring worker holds the same one
    while it may raise an alert), then keep those that still have no alert."""
    if is_postgres(session):
        for chunk in _chunks(ids, 500):
            session.execute(select(ConversationRow.id).where(ConversationRow.id.in_(chunk))
                            .with_for_update())
    alerted = set()
    for chunk in _chunks(ids, 500):
        alerted |= set(session.scalars(select(AlertRow.conversation_id)
                                       .where(AlertRow.conversation_id.in_(chunk))))
    return [i for i in ids if i not in alerted]


def apply(session: Session, now: datetime, policy: RetentionPolicy | None = None, *,
          actor: str = ACTOR, rules: frozenset[str] = ALL_RULES) -> RetentionPlan:
    """Delete what the rules say is due, in the caller's transaction, and audit it."""
    done = plan(session, now, policy, rules=rules)
    policy = done.policy
    done.cases = _lock_cases(session, done.cases, now, policy)
    if done.unverified_reports and is_postgres(session):  # verified meanwhile: kept
        still: set[str] = set()
        for chunk in _chunks(done.unverified_reports, 500):
            still |= set(session.scalars(select(ReportRow.id).where(
                ReportRow.id.in_(chunk), ReportRow.state == AWAITING_VERIFICATION,
                ReportRow.expires_at <= now).with_for_update()))
        done.unverified_reports = [r for r in done.unverified_reports if r in still]
    if done.unverified_reports:
        _delete_reports(session, done.unverified_reports)
        ids = done.unverified_reports
        for part in _chunks(ids, _IDS_PER_EVENT):
            audit.append(session, AuditEvent(
                "report.purge_unverified", actor=actor,
                detail={"rule": "unverified_72h", "count": len(ids), "reports": part,
                        "evidence": done.unverified_evidence}))
    for item in done.cases:
        _delete_reports(session, list(item.reports))
        _delete_with_dependents(session, metadata.tables["cases"], [item.id])
        audit.append(session, AuditEvent(
            "case.retention_delete", actor=actor, agency=item.agency, object_type="case",
            object_id=item.id,
            detail={"rule": "closed_unfounded", "reference": item.reference,
                    "outcome": item.outcome, "last_change": item.last_change.isoformat(),
                    "after_days": policy.unfounded_after.days, "reports": list(item.reports),
                    "evidence": item.evidence}))
    if done.held and _new_holds(session, done):
        audit.append(session, AuditEvent(
            "retention.kept_on_hold", actor=actor,
            detail={"rule": "closed_unfounded", "cases": [c.id for c in done.held][:200],
                    "count": len(done.held)}))
    if done.watch_messages:
        kept = set(_lock_conversations(session, list(done.watch_messages)))
        done.watch_messages = {c: n for c, n in done.watch_messages.items() if c in kept}
        cutoff = now - policy.watch_after
        deleted = 0
        for chunk in _chunks(sorted(done.watch_messages), 500):
            scored = (select(ConversationRow.scored_seq)
                      .where(ConversationRow.id == WatchMessageRow.conversation_id)
                      .scalar_subquery())
            outcome = session.execute(delete(WatchMessageRow).where(
                WatchMessageRow.conversation_id.in_(chunk), WatchMessageRow.received_at < cutoff,
                WatchMessageRow.seq <= scored).execution_options(synchronize_session=False))
            deleted += int(getattr(outcome, "rowcount", 0) or 0)
        if done.watch_messages:
            for part in _chunks(sorted(done.watch_messages), _IDS_PER_EVENT):
                audit.append(session, AuditEvent(
                    "watch.retention_delete", actor=actor,
                    detail={"rule": "watch_unalerted", "count": deleted,
                            "after_days": policy.watch_after.days,
                            "conversations": part}))
    return done


def _new_holds(session: Session, done: RetentionPlan) -> bool:
    """Log the cases a hold kept only once per hold set, not every minute."""
    last = session.scalar(select(AuditRow.detail).where(
        AuditRow.action == "retention.kept_on_hold").order_by(AuditRow.seq.desc()).limit(1))
    ids = [c.id for c in done.held][:200]
    return not (isinstance(last, dict) and last.get("cases") == ids)


def run(db: Database, now: datetime, policy: RetentionPolicy | None = None, *,
        dry_run: bool = False, actor: str = ACTOR,
        rules: frozenset[str] = ALL_RULES) -> RetentionPlan:
    """One retention pass in its own transaction (`dry_run`: a read-only plan)."""
    if dry_run:
        with db.reading() as session:
            return plan(session, now, policy, rules=rules)
    with db.transaction() as session:
        return apply(session, now, policy, actor=actor, rules=rules)


# ---- legal holds ---------------------------------------------------------------------------

def find_case(session: Session, ref: str) -> CaseRow:
    ref = (ref or "").strip()
    row = session.scalar(select(CaseRow).where(CaseRow.reference == ref.upper())) or (
        session.get(CaseRow, ref) if len(ref) <= 36 else None)
    if row is None:
        raise NotFound(f"No case {ref!r}.")
    return row


def set_legal_hold(session: Session, case: CaseRow, on: bool, reason: str, now: datetime, *,
                   by: Principal | None = None, actor: str = "cli") -> bool:
    """Place (`on`) or lift a legal hold; the reason is required and audited. `by`, when
    given, must be a supervisor of the case's agency. Returns False if nothing changed."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Give the reason for the legal hold (e.g. the order's reference).",
                           field="reason")
    if len(reason) > 2000:
        raise InvalidInput("The reason may be at most 2,000 characters.", field="reason")
    if by is not None:
        if not by.can(Permission.CASE_SHARE) or by.agency_id != case.agency_id:
            raise PermissionDenied("Only a supervisor of the case's agency places or lifts a "
                                   "legal hold.")
        actor = by.username
    if bool(case.legal_hold) == on:
        return False
    agency = session.get(AgencyRow, case.agency_id)
    case.legal_hold = on
    case.legal_hold_reason = reason
    case.legal_hold_by = actor[:120]
    case.legal_hold_at = now
    audit.append(session, AuditEvent(
        "case.legal_hold" if on else "case.legal_hold_lifted", actor=actor,
        agency=agency.code if agency else None, object_type="case", object_id=case.id,
        detail={"reference": case.reference, "reason": reason}))
    return True
