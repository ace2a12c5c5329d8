"""Backup and restore: a populated store restores onto an empty one, SQLite and PostgreSQL
both ways, with every evidence hash, the audit chain and every table's digest intact; a
damaged, tampered, wrongly keyed or mismatched archive is refused and nothing is written."""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from typer.testing import CliRunner

from childsafe.cli.main import app
from childsafe.config import Settings
from childsafe.core.crypto import Keyring, new_keyring, open_sealed
from childsafe.reports import intake
from childsafe.store import accounts, agencies, audit, backup, casework, migrate
from childsafe.store.db import Database, make_engine
from childsafe.store.models import CaseRow
from childsafe.store.report_models import EvidenceRow, ReportRow
from childsafe.store.schema import metadata
from childsafe.store.watch_models import WatchMessageRow
from tests.helpers import Clock, OfficerFactory
from tests.store.store_factory import populate

runner = CliRunner()
PG = pytest.mark.integration


# ---- stores ------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def pg_second(pg_database: str) -> Iterator[str]:
    """A second migrated PostgreSQL database: the restore target when the source is PG."""
    from tests.conftest import PG_ADMIN_URL  # noqa: PLC0415

    name = f"childsafe_test_{secrets.token_hex(4)}_restore"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in reversed(metadata.sorted_tables))
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str, str], str]:
    """new_store(kind, role): an empty migrated store; role 'source' or 'target' picks
    which PostgreSQL database (they must differ when both are PostgreSQL)."""
    def make(kind: str, role: str) -> str:
        if kind == "sqlite":
            path = tmp_path / f"{role}.db"
            shutil.copy(request.getfixturevalue("sqlite_template"), path)
            return f"sqlite:///{path}"
        url = request.getfixturevalue("pg_database" if role == "source" else "pg_second")
        _truncate(url)
        return url
    return make


def _settings(tmp_path: Path, url: str, keyring: Keyring) -> Settings:
    return Settings(data_dir=tmp_path, database_url=url, keys=keyring.to_json(),
                    mail_sender="memory")


def _filled(url: str, tmp_path: Path, keyring: Keyring, clock: Clock) -> None:
    db = Database(url)
    try:
        with db.transaction() as s:
            agencies.seed_agencies(s)
        populate(db, _settings(tmp_path, url, keyring), OfficerFactory(db, keyring), clock.now)
    finally:
        db.dispose()


def _digests(url: str) -> dict[str, tuple[int, str]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {t.name: backup.table_digest(conn, t) for t in metadata.sorted_tables}
    finally:
        engine.dispose()


def _empty(url: str) -> bool:
    return not any(backup.store_counts(url).values())


@pytest.fixture
def source(new_store: Callable[[str, str], str], tmp_path: Path, keyring: Keyring,
           clock: Clock) -> str:
    url = new_store("sqlite", "source")
    _filled(url, tmp_path, keyring, clock)
    return url


@pytest.fixture
def archive(source: str, tmp_path: Path, keyring: Keyring) -> Path:
    path = tmp_path / "store.csb"
    backup.write_backup(source, path, backup.BackupKey(keyring=keyring))
    return path


# ---- round trips ---------------------------------------------------------------------------

@pytest.mark.parametrize(("src_kind", "dst_kind"), [
    ("sqlite", "sqlite"),
    pytest.param("postgresql", "postgresql", marks=PG),
    pytest.param("sqlite", "postgresql", marks=PG),
    pytest.param("postgresql", "sqlite", marks=PG),
])
def test_restore_onto_an_empty_store_keeps_everything(src_kind, dst_kind, new_store, tmp_path,
                                                      keyring, clock):
    src, dst = new_store(src_kind, "source"), new_store(dst_kind, "target")
    _filled(src, tmp_path, keyring, clock)
    path = tmp_path / "store.csb"
    made = backup.write_backup(src, path, backup.BackupKey(keyring=keyring))
    counts = backup.store_counts(src)
    assert made.counts() == counts and made.revision == migrate.head_revision()
    assert counts["evidence"] >= 10 and counts["cases"] == 3 and counts["audit_events"] > 20
    assert counts["block_entries"] == 4 and counts["block_publications"] == 1
    assert counts["watch_messages"] >= 14 and counts["watch_alerts"] == 1
    assert path.with_name("store.csb.sha256").read_text().split()[0] == \
        hashlib.sha256(path.read_bytes()).hexdigest() == made.file_sha256

    result = backup.restore_backup(dst, path, backup.BackupKey(keyring=keyring))

    assert backup.store_counts(dst) == counts
    assert _digests(dst) == _digests(src)  # byte-for-byte the same canonical content
    assert result.manifest.content_sha256 == made.content_sha256
    db = Database(dst)
    try:
        with db.reading() as s:
            items = list(s.scalars(select(EvidenceRow)))
            assert len(items) == counts["evidence"]
            for row in items:  # every item decrypts to what was hashed at receipt
                data = open_sealed(keyring, row.key_enc + row.blob_enc, f"evidence:{row.id}")
                assert hashlib.sha256(data).hexdigest() == row.sha256
                assert hashlib.md5(data, usedforsecurity=False).hexdigest() == row.md5
                assert len(data) == row.size
            for message in s.scalars(select(WatchMessageRow)):
                plain = open_sealed(keyring, message.text_enc,
                                    f"watch_message:{message.room_id}:{message.message_id}")
                assert hashlib.sha256(plain).hexdigest() == message.sha256
            for report in s.scalars(select(ReportRow)):
                assert intake.read_reporter(keyring, report)["name"] == "Kim Example"
            chain = audit.verify(s)
            assert chain.ok and chain.checked == counts["audit_events"]
        # New rows take fresh ids after the restored ones (PostgreSQL sequences reset).
        officer = OfficerFactory(db, keyring)("ceop.after", roles="supervisor")
        with db.transaction() as s:
            who = accounts.principal_for(s, accounts.get_user(s, officer.username))
            case_id = s.scalar(select(CaseRow.id).where(CaseRow.agency_id == who.agency_id)
                               .order_by(CaseRow.id).limit(1))
            note = casework.add_note(s, who, case_id, "restored and still working", clock.now)
            s.flush()
            assert note.id > counts["case_notes"] and officer.id > counts["users"] - 1
        with db.reading() as s:
            assert audit.verify(s).ok
    finally:
        db.dispose()


def test_backup_is_one_snapshot_while_writers_go_on(source, tmp_path, keyring, clock):
    """A write committed while the dump is being read is not in the archive, not even in
    part: counts, digests and the audit chain are those of the moment the backup began."""
    before = _digests(source)
    db = Database(source)

    class WriteMidway:
        wrote = False

        def start(self, description: str, total: int) -> None:
            pass

        def advance(self, rows: int) -> None:
            if not self.wrote:
                self.wrote = True
                OfficerFactory(db, keyring)("ceop.midway")  # a user row and audit entries

    try:
        path = tmp_path / "during.csb"
        made = backup.write_backup(source, path, backup.BackupKey(keyring=keyring),
                                   reporter=WriteMidway())
    finally:
        db.dispose()
    assert backup.store_counts(source)["users"] == before["users"][0] + 1
    assert {t.name: (t.rows, t.sha256) for t in made.tables} == before
    target = tmp_path / "target.db"
    engine = make_engine(f"sqlite:///{target}")
    migrate.upgrade(engine)
    engine.dispose()
    backup.restore_backup(f"sqlite:///{target}", path, backup.BackupKey(keyring=keyring))
    assert _digests(f"sqlite:///{target}") == before


def test_restore_replaces_the_agencies_seeded_by_migrate(archive, source, new_store, keyring):
    target = new_store("sqlite", "target")
    db = Database(target)
    with db.transaction() as s:
        agencies.seed_agencies(s)  # what `childsafe admin migrate` leaves
    db.dispose()
    result = backup.restore_backup(target, archive, backup.BackupKey(keyring=keyring))
    assert result.replaced_seed and _digests(target) == _digests(source)


def test_passphrase_sealed_archive(source, new_store, tmp_path):
    path = tmp_path / "pass.csb"
    key = backup.BackupKey(passphrase="a long backup passphrase")
    backup.write_backup(source, path, key)
    assert backup.sealed_with(path) == "passphrase"
    assert backup.verify_backup(path, key).key == "passphrase (scrypt)"
    with pytest.raises(backup.BackupError, match="wrong passphrase"):
        backup.verify_backup(path, backup.BackupKey(passphrase="not the passphrase!"))
    with pytest.raises(backup.BackupError, match="sealed with a passphrase"):
        backup.verify_backup(path, backup.BackupKey(keyring=new_keyring()))
    with pytest.raises(backup.BackupError, match="at least 12"):
        backup.write_backup(source, tmp_path / "short.csb", backup.BackupKey(passphrase="short"))
    target = new_store("sqlite", "target")
    backup.restore_backup(target, path, key)
    assert _digests(target) == _digests(source)


# ---- refusals: nothing is written ------------------------------------------------------------

def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def _header_end(path: Path) -> int:
    data = path.read_bytes()
    length = int.from_bytes(data[9:13], "big")
    return 13 + length + 32


def _tampered(kind: str) -> Callable[[Path], None]:
    def middle(p: Path) -> None:
        _flip(p, (_header_end(p) + p.stat().st_size) // 2)

    def header(p: Path) -> None:
        _flip(p, 20)

    def tail(p: Path) -> None:
        p.write_bytes(p.read_bytes()[:-100])

    def last_chunk(p: Path) -> None:
        p.write_bytes(p.read_bytes()[:_header_end(p)])

    def appended(p: Path) -> None:
        p.write_bytes(p.read_bytes() + b"\x00" * 8)

    def not_an_archive(p: Path) -> None:
        p.write_bytes(b"PK\x03\x04 a zip file, not a backup")

    return {"middle": middle, "header": header, "tail": tail, "last_chunk": last_chunk,
            "appended": appended, "not_an_archive": not_an_archive}[kind]


@pytest.mark.parametrize(("damage", "message"), [
    ("middle", r"chunk 0 at byte offset \d+ failed authentication: the archive was altered"),
    ("header", "header is damaged"),
    ("tail", "truncated inside chunk 0"),
    ("last_chunk", "truncated: it ends after chunk 0 without its final chunk"),
    ("appended", "unexpected data after the final chunk"),
    ("not_an_archive", "not a childsafe backup archive"),
])
@pytest.mark.parametrize("target_kind", ["sqlite", pytest.param("postgresql", marks=PG)])
def test_damaged_archive_is_refused_and_nothing_written(archive, new_store, keyring, damage,
                                                        message, target_kind):
    _tampered(damage)(archive)
    archive.with_name(archive.name + ".sha256").unlink()  # the sidecar would say it first
    key = backup.BackupKey(keyring=keyring)
    with pytest.raises(backup.BackupError, match=message):
        backup.verify_backup(archive, key)
    target = new_store(target_kind, "target")
    with pytest.raises(backup.BackupError, match=message):
        backup.restore_backup(target, archive, key)
    assert _empty(target)


def test_sidecar_names_a_changed_file(archive, keyring):
    _flip(archive, archive.stat().st_size - 5)
    with pytest.raises(backup.BackupError, match="failed authentication"):
        backup.verify_backup(archive, backup.BackupKey(keyring=keyring))
    sidecar = archive.with_name(archive.name + ".sha256")
    sidecar.write_text("0" * 64 + "  store.csb\n")
    _flip(archive, archive.stat().st_size - 5)  # back to the original bytes
    with pytest.raises(backup.BackupError, match=r"differs from store\.csb\.sha256"):
        backup.verify_backup(archive, backup.BackupKey(keyring=keyring))


def _reseal(path: Path, keyring: Keyring, edit: Callable[[list[bytes]], list[bytes]]) -> None:
    """Re-write the archive with the right key but edited content (an insider's forgery)."""
    key = backup.BackupKey(keyring=keyring)
    with open(path, "rb") as fh:
        opened = backup._open(fh, key)
        lines = list(backup._lines(opened.chunks))
    header = json.dumps(opened.header, sort_keys=True).encode()
    dek = backup._unwrap_key(key, opened.header["key"])
    with open(path, "wb") as fh:
        writer = backup._SealedWriter(fh, header, dek)
        for line in edit(lines):
            writer.write(line)
        writer.close()
    path.with_name(path.name + ".sha256").unlink(missing_ok=True)


def _edit_row(table: str, old: bytes, new: bytes) -> Callable[[list[bytes]], list[bytes]]:
    def edit(lines: list[bytes]) -> list[bytes]:
        start = next(i for i, line in enumerate(lines) if line.startswith(b"{")
                     and json.loads(line).get("name") == table)
        at = next(i for i in range(start + 1, len(lines)) if old in lines[i])
        assert lines[at].startswith(b"[")
        lines[at] = lines[at].replace(old, new, 1)
        return lines
    return edit


def test_altered_content_under_a_valid_seal_is_named(archive, new_store, keyring):
    _reseal(archive, keyring, _edit_row("evidence", b'"image/png"', b'"image/gif"'))
    with pytest.raises(backup.BackupError,
                       match="table evidence: SHA-256 of its content does not match"):
        backup.verify_backup(archive, backup.BackupKey(keyring=keyring))
    target = new_store("sqlite", "target")
    with pytest.raises(backup.BackupError, match="table evidence"):
        backup.restore_backup(target, archive, backup.BackupKey(keyring=keyring))
    assert _empty(target)


def test_dropped_rows_and_manifest_edits_are_named(archive, keyring, tmp_path):
    copy = tmp_path / "copy.csb"
    shutil.copy(archive, copy)

    def drop_audit_row(lines: list[bytes]) -> list[bytes]:
        at = next(i for i, line in enumerate(lines) if b'"name":"audit_events"' in line
                  and b'"kind":"table"' in line)
        return lines[:at + 1] + lines[at + 2:]

    _reseal(archive, keyring, drop_audit_row)
    with pytest.raises(backup.BackupError, match="table audit_events"):
        backup.verify_backup(archive, backup.BackupKey(keyring=keyring))

    def edit_manifest(lines: list[bytes]) -> list[bytes]:
        doc = json.loads(lines[-1])
        doc["content_sha256"] = "0" * 64
        return [*lines[:-1], json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
                + b"\n"]

    _reseal(copy, keyring, edit_manifest)
    with pytest.raises(backup.BackupError, match="whole dump differs from the manifest"):
        backup.verify_backup(copy, backup.BackupKey(keyring=keyring))


def test_wrong_key_is_named(archive):
    with pytest.raises(backup.BackupError, match="wrong key: this keyring's key 'k1' does not"):
        backup.verify_backup(archive, backup.BackupKey(keyring=new_keyring()))
    other = Keyring({"k9": b"\x01" * 32}, "k9")
    with pytest.raises(backup.BackupError, match="sealed with key 'k1', which is not in this"):
        backup.verify_backup(archive, backup.BackupKey(keyring=other))


def test_non_empty_target_is_refused(archive, new_store, keyring, tmp_path):
    target = new_store("sqlite", "target")
    db = Database(target)
    with db.transaction() as s:
        agencies.seed_agencies(s)
    OfficerFactory(db, keyring)("ceop.here")
    db.dispose()
    before = _digests(target)
    with pytest.raises(backup.BackupError, match=r"not empty \(audit_events, .*users hold rows\)"):
        backup.restore_backup(target, archive, backup.BackupKey(keyring=keyring))
    assert _digests(target) == before


def test_other_schema_revision_is_refused(archive, tmp_path, keyring):
    older = migrate.revisions_oldest_first()[-2]
    url = f"sqlite:///{tmp_path / 'older.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine, older)
    engine.dispose()
    with pytest.raises(backup.BackupError,
                       match=f"the archive is {migrate.head_revision()}, the target store is "
                             f"{older}"):
        backup.restore_backup(url, archive, backup.BackupKey(keyring=keyring))
    with pytest.raises(backup.BackupError, match="does not exist"):
        backup.restore_backup(f"sqlite:///{tmp_path / 'nowhere.db'}", archive,
                              backup.BackupKey(keyring=keyring))
    assert not (tmp_path / "nowhere.db").exists()


@pytest.mark.parametrize("target_kind", ["sqlite", pytest.param("postgresql", marks=PG)])
def test_failure_after_writing_rolls_everything_back(archive, new_store, keyring, monkeypatch,
                                                     target_kind):
    """Restore writes in one transaction and reads every table back before committing."""
    target = new_store(target_kind, "target")
    monkeypatch.setattr(backup, "table_digest", lambda conn, table: (0, "0" * 64))
    with pytest.raises(backup.BackupError, match="reads back differently"):
        backup.restore_backup(target, archive, backup.BackupKey(keyring=keyring))
    assert _empty(target)


def test_audit_rows_insert_but_never_update(archive, new_store, keyring):
    """The append-only triggers let restore INSERT the chain as it is, and still refuse
    UPDATE and DELETE afterwards."""
    target = new_store("sqlite", "target")
    backup.restore_backup(target, archive, backup.BackupKey(keyring=keyring))
    engine = make_engine(target)
    try:
        for sql in ("UPDATE audit_events SET actor = 'x' WHERE seq = 1",
                    "DELETE FROM audit_events WHERE seq = 1"):
            with pytest.raises(Exception, match="append-only|audit"), engine.begin() as conn:
                conn.execute(text(sql))
    finally:
        engine.dispose()


# ---- the commands ------------------------------------------------------------------------------

def _said(result: object) -> str:
    """The command's output with rich's line wrapping undone."""
    return " ".join(str(getattr(result, "output", "")).split())


def _env(monkeypatch: pytest.MonkeyPatch, data_dir: Path, url: str, key_file: Path) -> None:
    monkeypatch.setenv("CHILDSAFE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("CHILDSAFE_DATABASE_URL", url)
    monkeypatch.setenv("CHILDSAFE_KEY_FILE", str(key_file))
    monkeypatch.delenv("CHILDSAFE_KEYS", raising=False)


def test_cli_backup_verify_restore(source, new_store, tmp_path, keyring, monkeypatch):
    key_file = tmp_path / "keys.json"
    key_file.write_text(keyring.to_json())
    out = tmp_path / "cli.csb"
    _env(monkeypatch, tmp_path, source, key_file)
    r = runner.invoke(app, ["admin", "backup", str(out)])
    assert r.exit_code == 0, r.output
    assert "Backed up" in _said(r) and "sealed with keyring key k1" in _said(r)
    r = runner.invoke(app, ["admin", "backup", str(out)])
    assert r.exit_code == 1 and "already exists" in _said(r)
    r = runner.invoke(app, ["admin", "verify-backup", str(out)])
    assert r.exit_code == 0 and "OK" in _said(r) and "evidence" in _said(r)

    target = new_store("sqlite", "target")
    _env(monkeypatch, tmp_path, target, key_file)
    r = runner.invoke(app, ["admin", "restore", str(out)])
    assert r.exit_code == 0, r.output
    assert "Restored" in _said(r) and "Audit chain verifies" in _said(r)
    r = runner.invoke(app, ["admin", "verify-audit"])
    assert r.exit_code == 0 and "OK" in _said(r)
    r = runner.invoke(app, ["admin", "restore", str(out)])
    assert r.exit_code == 1 and "not empty" in _said(r) and "Traceback" not in _said(r)

    _flip(out, out.stat().st_size // 2)
    r = runner.invoke(app, ["admin", "verify-backup", str(out)])
    assert r.exit_code == 2 and "does NOT verify" in _said(r) and "Traceback" not in _said(r)


def test_cli_passphrase_and_wrong_keyring(source, new_store, tmp_path, keyring, monkeypatch):
    key_file = tmp_path / "keys.json"
    key_file.write_text(keyring.to_json())
    _env(monkeypatch, tmp_path, source, key_file)
    monkeypatch.setenv("CHILDSAFE_BACKUP_PASSPHRASE", "correct horse battery")
    out = tmp_path / "pass.csb"
    r = runner.invoke(app, ["admin", "backup", str(out), "--passphrase"])
    assert r.exit_code == 0 and "passphrase" in _said(r), _said(r)
    monkeypatch.setenv("CHILDSAFE_BACKUP_PASSPHRASE", "a wrong passphrase")
    r = runner.invoke(app, ["admin", "verify-backup", str(out)])
    assert r.exit_code == 2 and "wrong passphrase" in _said(r)

    monkeypatch.delenv("CHILDSAFE_BACKUP_PASSPHRASE")
    sealed = tmp_path / "ring.csb"
    assert runner.invoke(app, ["admin", "backup", str(sealed)]).exit_code == 0
    other = tmp_path / "other-keys.json"
    other.write_text(new_keyring().to_json())
    _env(monkeypatch, tmp_path, new_store("sqlite", "target"), other)
    r = runner.invoke(app, ["admin", "restore", str(sealed)])
    assert r.exit_code == 1 and "wrong key" in _said(r) and "Traceback" not in _said(r)
