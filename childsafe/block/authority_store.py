"""The list authority on the platform database: entries, history, numbered publications.

Adapter layer: validation and hashing are `childsafe.block.core` (`make_entry`,
`plan_publication`); this module stores, audits and writes files. Every function takes the
caller's session and never commits, except where it says so: a change and its history and
audit entries commit or roll back together.

Rules kept here:

* One *active* entry per canonical expression (adding it again is a `Conflict`); removal is a
  soft delete with a required reason, so the history of every entry stays readable.
* A CSV import is **all or nothing**: any bad line (invalid, duplicate within the file, or
  already listed) and nothing is stored; every bad line is reported at once.
* Publishing numbers snapshots 1, 2, 3, ... from the database (not from the directory) and
  stores the signed files, so a lost publication directory is rebuilt by `write_files`. Files
  are written only after the publication has committed (`publish_and_write`): a directory
  never shows a sequence number that the database does not know.
* Plaintext expressions never leave this database: published files hold keyed hashes, and the
  audit log records entry ids and categories, never URLs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from childsafe.block.authority import (
    AuthorityError,
    RowError,
    load_private_key,
    read_numbered_entries,
)
from childsafe.block.core.entries import Entry, EntryError, make_entry
from childsafe.block.core.listfile import (
    DIGEST_BYTES,
    LIST_KEY_BYTES,
    ListError,
    ListSnapshot,
    decode_signed,
)
from childsafe.block.core.publish import LATEST, delta_name, plan_publication, snapshot_name
from childsafe.block.state import write_atomic
from childsafe.config import Settings
from childsafe.core.audit import AuditEvent
from childsafe.core.errors import Conflict, InvalidInput, NotFound
from childsafe.store import audit
from childsafe.store.block_models import BlockChangeRow, BlockEntryRow, BlockPublicationRow
from childsafe.store.db import Database, is_postgres

MAX_IMPORT_ERRORS_SHOWN = 200
_PG_PUBLISH_LOCK = 0x63736270  # "csbp": one publication at a time


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: an officer's username and agency code (or a CLI operator), and their IP."""

    username: str
    agency: str | None = None
    ip: str | None = None


@dataclass(frozen=True, slots=True)
class ImportResult:
    added: int
    errors: list[RowError]

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True, slots=True)
class EntryPage:
    rows: list[BlockEntryRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


# -- keys and paths --------------------------------------------------------------------------

def signing_key_path(settings: Settings) -> Path:
    return settings.block_signing_key_file or settings.data_dir / "block" / "list-signing.key"


def publication_dir(settings: Settings) -> Path:
    return settings.block_publication_dir or settings.data_dir / "block" / "list"


def load_signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The authority's signing key; missing is a configuration error, never generated here."""
    path = signing_key_path(settings)
    if not path.exists():
        raise InvalidInput(
            f"No list-signing key at {path}. Create one with `childsafe block keygen --out "
            f"{path.parent}` (or set CHILDSAFE_BLOCK_SIGNING_KEY_FILE), then publish again.")
    try:
        return load_private_key(path)
    except AuthorityError as exc:
        raise InvalidInput(str(exc)) from None


def public_key_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key, hex in groups of four: what ISPs compare by phone."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    digest = hashlib.sha256(raw).hexdigest()
    return " ".join(digest[i:i + 4] for i in range(0, 64, 4))


# -- history and audit -----------------------------------------------------------------------

def _record(session: Session, actor: Actor, action: str, *, entry: BlockEntryRow | None = None,
            reason: str = "", detail: dict[str, object] | None = None,
            object_type: str = "block_entry", object_id: str | None = None) -> None:
    session.add(BlockChangeRow(
        actor=actor.username, agency=actor.agency, action=action,
        entry_id=entry.id if entry else None, expression=entry.expression if entry else None,
        reason=reason, detail=dict(detail or {})))
    # The audit log is read more widely than the list: ids and categories, never URLs.
    safe = dict(detail or {})
    if entry is not None:
        safe |= {"scope": entry.scope, "category": entry.category}
    audit.append(session, AuditEvent(
        action=f"block.{action}", actor=actor.username, agency=actor.agency,
        object_type=object_type,
        object_id=object_id if object_id is not None else (str(entry.id) if entry else None),
        detail=safe, ip=actor.ip))


# -- entries ---------------------------------------------------------------------------------

def _active(session: Session, expression: str) -> BlockEntryRow | None:
    return session.scalars(select(BlockEntryRow).where(
        BlockEntryRow.expression == expression, BlockEntryRow.removed_at.is_(None))).first()


def _duplicate_message(existing: BlockEntryRow) -> str:
    return (f"{existing.expression} is already listed (entry {existing.id}, "
            f"scope {existing.scope}); remove it first to change it")


def _new_row(entry: Entry, actor: Actor) -> BlockEntryRow:
    return BlockEntryRow(expression=entry.expression, scope=entry.scope.value,
                         category=entry.category, added_by=entry.added_by, reason=entry.reason,
                         review_date=entry.review_date, created_by=actor.username)


def add_entry(session: Session, actor: Actor, *, url: str, scope: str, category: str,
              reason: str, review_date: str | dt.date, added_by: str = "") -> BlockEntryRow:
    """Validate and add one entry. `InvalidInput` names the bad field; `Conflict` if listed."""
    try:
        entry = make_entry(url, scope, category, added_by or actor.username, reason, review_date)
    except EntryError as exc:
        raise InvalidInput(str(exc)) from None
    existing = _active(session, entry.expression)
    if existing is not None:
        raise Conflict(_duplicate_message(existing))
    row = _new_row(entry, actor)
    session.add(row)
    session.flush()
    _record(session, actor, "add", entry=row, reason=entry.reason)
    return row


def remove_entry(session: Session, actor: Actor, entry_id: int, reason: str,
                 *, now: dt.datetime | None = None) -> BlockEntryRow:
    """Soft-delete an active entry; the reason is required and kept in the history."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Give a reason for removing the entry.", field="reason")
    if len(reason) > 2000:
        raise InvalidInput("The reason is longer than 2000 characters.", field="reason")
    row = session.get(BlockEntryRow, entry_id)
    if row is None:
        raise NotFound("No such list entry.")
    if row.removed_at is not None:
        raise Conflict(f"Entry {row.id} was already removed.")
    row.removed_at = now or dt.datetime.now(dt.UTC)
    row.removed_by = actor.username
    row.removal_reason = reason
    session.flush()
    _record(session, actor, "remove", entry=row, reason=reason)
    return row


def import_csv(session: Session, actor: Actor, data: bytes | str, *, name: str = "upload",
               on_row: Callable[[], None] | None = None) -> ImportResult:
    """Import entries from CSV (`url,scope,category,added_by,reason,review_date`).

    All or nothing: if any line is invalid, repeats an earlier line or is already listed,
    nothing is stored and every bad line comes back in `errors`. A file-level problem (not
    UTF-8, header lacking a column) raises `InvalidInput`.
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput(f"{name} is not UTF-8 text") from None
    else:
        text = data.removeprefix("\ufeff")
    try:
        numbered, errors = read_numbered_entries(io.StringIO(text, newline=""), name, on_row)
    except AuthorityError as exc:
        raise InvalidInput(str(exc)) from None
    seen: dict[str, int] = {}
    for line, entry in numbered:
        if entry.expression in seen:
            errors.append(RowError(line, f"{entry.expression} repeats line {seen[entry.expression]}"))
            continue
        seen[entry.expression] = line
    listed = _listed_among(session, list(seen))
    errors += [RowError(line, _duplicate_message(listed[e.expression]))
               for line, e in numbered if e.expression in listed and seen[e.expression] == line]
    errors.sort(key=lambda e: e.line)
    if errors:
        return ImportResult(0, errors)
    rows = [_new_row(entry, actor) for _, entry in numbered]
    session.add_all(rows)
    session.flush()
    for row in rows:
        session.add(BlockChangeRow(actor=actor.username, agency=actor.agency, action="import",
                                   entry_id=row.id, expression=row.expression,
                                   reason=row.reason, detail={"file": name[:200]}))
    # One audit entry per import: the chain records the act, the history each entry.
    audit.append(session, AuditEvent(
        action="block.import", actor=actor.username, agency=actor.agency,
        object_type="block_import", object_id=name[:80],
        detail={"added": len(rows), "first_id": rows[0].id if rows else None,
                "last_id": rows[-1].id if rows else None}, ip=actor.ip))
    return ImportResult(len(rows), [])


def _listed_among(session: Session, expressions: list[str]) -> dict[str, BlockEntryRow]:
    found: dict[str, BlockEntryRow] = {}
    for i in range(0, len(expressions), 500):
        chunk = expressions[i:i + 500]
        for row in session.scalars(select(BlockEntryRow).where(
                BlockEntryRow.expression.in_(chunk), BlockEntryRow.removed_at.is_(None))):
            found[row.expression] = row
    return found


def active_entries(session: Session) -> list[Entry]:
    """Every active entry as a domain `Entry` (what the next publication will hold)."""
    from childsafe.block.core.entries import Scope

    rows = session.execute(select(
        BlockEntryRow.expression, BlockEntryRow.scope, BlockEntryRow.category,
        BlockEntryRow.added_by, BlockEntryRow.reason, BlockEntryRow.review_date,
    ).where(BlockEntryRow.removed_at.is_(None)).order_by(BlockEntryRow.id))
    return [Entry(expression=r[0], scope=Scope(r[1]), category=r[2], added_by=r[3],
                  reason=r[4], review_date=r[5]) for r in rows]


def search_entries(session: Session, *, query: str = "", category: str = "", scope: str = "",
                   overdue_on: dt.date | None = None, removed: bool = False, page: int = 1,
                   per_page: int = 50) -> EntryPage:
    """Active (or removed) entries matching the filters, newest first, one page of them."""
    where: list[ColumnElement[bool]] = [BlockEntryRow.removed_at.is_not(None) if removed
             else BlockEntryRow.removed_at.is_(None)]
    if query.strip():
        like = "%" + query.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace(
            "_", "\\_") + "%"
        where.append(or_(func.lower(BlockEntryRow.expression).like(like, escape="\\"),
                         func.lower(BlockEntryRow.reason).like(like, escape="\\")))
    if category:
        where.append(BlockEntryRow.category == category)
    if scope:
        where.append(BlockEntryRow.scope == scope)
    if overdue_on is not None:
        where.append(BlockEntryRow.review_date < overdue_on)
    total = int(session.scalar(select(func.count()).select_from(BlockEntryRow).where(*where))
                or 0)
    page = max(1, page)
    rows = list(session.scalars(select(BlockEntryRow).where(*where)
                                .order_by(BlockEntryRow.id.desc())
                                .offset((page - 1) * per_page).limit(per_page)))
    return EntryPage(rows, total, page, per_page)


def category_counts(session: Session) -> list[tuple[str, int]]:
    rows = session.execute(select(BlockEntryRow.category, func.count())
                           .where(BlockEntryRow.removed_at.is_(None))
                           .group_by(BlockEntryRow.category)
                           .order_by(func.count().desc(), BlockEntryRow.category))
    return [(r[0], int(r[1])) for r in rows]


def overdue_count(session: Session, today: dt.date) -> int:
    return int(session.scalar(select(func.count()).select_from(BlockEntryRow).where(
        BlockEntryRow.removed_at.is_(None), BlockEntryRow.review_date < today)) or 0)


def history(session: Session, *, page: int = 1, per_page: int = 100,
            entry_id: int | None = None) -> list[BlockChangeRow]:
    query = select(BlockChangeRow).order_by(BlockChangeRow.id.desc())
    if entry_id is not None:
        query = query.where(BlockChangeRow.entry_id == entry_id)
    return list(session.scalars(query.offset((max(1, page) - 1) * per_page).limit(per_page)))


# -- publication -----------------------------------------------------------------------------

def latest_publication(session: Session) -> BlockPublicationRow | None:
    return session.scalars(select(BlockPublicationRow)
                           .order_by(BlockPublicationRow.seq.desc()).limit(1)).first()


def publications(session: Session, limit: int = 20) -> list[BlockPublicationRow]:
    return list(session.scalars(select(BlockPublicationRow)
                                .order_by(BlockPublicationRow.seq.desc()).limit(limit)))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def publish(session: Session, actor: Actor, signing_key: Ed25519PrivateKey,
            *, created: int | None = None) -> BlockPublicationRow:
    """Record the next numbered publication (snapshot N, delta N-1 -> N) of the active entries.

    The previous snapshot is read back from the database and verified with this key, so a
    changed signing key is refused (`Conflict`) rather than silently breaking every node's
    delta chain. Writes no file: call `write_files` after the commit.
    """
    if is_postgres(session):
        from sqlalchemy import text

        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_PUBLISH_LOCK})
    public = signing_key.public_key()
    last = latest_publication(session)
    previous: ListSnapshot | None = None
    if last is not None:
        try:
            decoded = decode_signed(last.snapshot_file, public)
        except ListError as exc:
            raise Conflict(f"The last publication ({last.seq}) does not verify with the current "
                           f"signing key ({exc}). Restore the key that signed it.") from None
        assert isinstance(decoded, ListSnapshot)
        previous = decoded
    entries = active_entries(session)
    pub = plan_publication(entries, previous, signing_key,
                           created=created if created is not None else int(time.time()),
                           new_list_key=os.urandom(LIST_KEY_BYTES))
    seq = pub.snapshot.seq
    snapshot_file = pub.files[snapshot_name(seq)]
    delta_file = pub.files.get(delta_name(previous.seq, seq)) if previous else None
    delta = pub.delta
    row = BlockPublicationRow(
        seq=seq, published_by=actor.username, entry_count=len(entries),
        expression_count=len(pub.snapshot),
        digests_added=len(delta.add_digests) // DIGEST_BYTES if delta else len(pub.snapshot),
        digests_removed=len(delta.del_digests) // DIGEST_BYTES if delta else 0,
        content_hash=pub.snapshot.content_hash.hex(), snapshot_sha256=_sha256(snapshot_file),
        delta_sha256=_sha256(delta_file) if delta_file else None,
        key_fingerprint=fingerprint(public).replace(" ", ""),
        snapshot_file=snapshot_file, delta_file=delta_file)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise Conflict(f"Another publication took number {seq} first; publish again.") from None
    _record(session, actor, "publish", object_type="block_publication", object_id=str(seq),
            detail={"seq": seq, "entries": len(entries), "added": row.digests_added,
                    "removed": row.digests_removed, "snapshot_sha256": row.snapshot_sha256})
    return row


def files_of(row: BlockPublicationRow) -> dict[str, bytes]:
    """The files of one publication, `LATEST` last."""
    files = {snapshot_name(row.seq): row.snapshot_file}
    if row.delta_file is not None:
        files[delta_name(row.seq - 1, row.seq)] = row.delta_file
    files[LATEST] = f"{row.seq}\n".encode("ascii")
    return files


def write_files(out_dir: Path, rows: Iterable[BlockPublicationRow]) -> list[str]:
    """Write publications (oldest first) atomically; `LATEST` of the newest goes last.

    Files already present with the same bytes are left alone, so this is safe to repeat.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    latest: bytes | None = None
    for row in sorted(rows, key=lambda r: r.seq):
        for name, data in files_of(row).items():
            if name == LATEST:
                latest = data
                continue
            path = out_dir / name
            if not (path.exists() and path.read_bytes() == data):
                write_atomic(path, data)
                written.append(name)
    if latest is not None:
        write_atomic(out_dir / LATEST, latest)
        written.append(LATEST)
    return written


def publish_and_write(db: Database, actor: Actor, signing_key: Ed25519PrivateKey,
                      out_dir: Path) -> BlockPublicationRow:
    """Publish in its own transaction, then (after the commit) write the files."""
    with db.transaction() as session:
        row = publish(session, actor, signing_key)
        session.flush()
        session.expunge(row)
    write_files(out_dir, [row])
    return row


def rewrite_dir(session: Session, out_dir: Path, limit: int = 50) -> list[str]:
    """Re-create the recent publications' files from the database (after a lost directory)."""
    return write_files(out_dir, publications(session, limit))
