"""`childsafe admin backup | verify-backup | restore`: the store in one sealed, verified file.

The archive is sealed with the keyring's active key by default, or with a passphrase
(`--passphrase`: CHILDSAFE_BACKUP_PASSPHRASE, else prompted). See childsafe.store.backup.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from childsafe.cli.common import console, fail, load_settings
from childsafe.config import Settings
from childsafe.core.crypto import Keyring
from childsafe.core.errors import DomainError
from childsafe.store import audit, backup
from childsafe.store.db import Database

PASSPHRASE_ENV = "CHILDSAFE_BACKUP_PASSPHRASE"  # noqa: S105 - a variable name


class _Bar:
    """A rich progress bar per phase (verify, restore, check)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: object = None

    def start(self, description: str, total: int) -> None:
        self.task = self.progress.add_task(description, total=max(total, 1))

    def advance(self, rows: int) -> None:
        if self.task is not None and rows:
            self.progress.advance(self.task, rows)  # type: ignore[arg-type]


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=console, transient=False)


def _passphrase(confirm: bool) -> str:
    value = os.environ.get(PASSPHRASE_ENV)
    if value:
        return value
    first = getpass.getpass("Backup passphrase: ")
    if confirm and first != getpass.getpass("Repeat: "):
        fail("passphrases differ")
    return first


def _keyring(settings: Settings) -> Keyring:
    try:
        return settings.keyring
    except DomainError as exc:
        fail(exc.detail)
        raise  # unreachable


def _opening_key(settings: Settings, path: Path) -> backup.BackupKey:
    """The key the archive's header asks for."""
    try:
        kind = backup.sealed_with(path)
    except backup.BackupError as exc:
        fail(exc.detail)
        raise  # unreachable
    if kind == "passphrase":
        return backup.BackupKey(passphrase=_passphrase(confirm=False))
    return backup.BackupKey(keyring=_keyring(settings))


def _show(manifest: backup.Manifest) -> None:
    table = Table("table", "rows", "SHA-256")
    for t in manifest.tables:
        if t.rows:
            table.add_row(t.name, str(t.rows), t.sha256[:16] + "…")
    console.print(table)
    empty = sum(1 for t in manifest.tables if not t.rows)
    console.print(f"{manifest.rows} rows in {len(manifest.tables)} tables ({empty} empty); "
                  f"schema {manifest.revision}; made {manifest.created_at} from "
                  f"{manifest.source}; sealed with {manifest.key}.", highlight=False)
    console.print(f"dump SHA-256 {manifest.content_sha256}", highlight=False)
    console.print(f"file SHA-256 {manifest.file_sha256}", highlight=False)


def backup_cmd(out: Path = typer.Argument(..., help="Archive to write, e.g. "
                                          "childsafe-2026-12-01.csb (plus OUT.sha256)"),
               passphrase: bool = typer.Option(False, "--passphrase", help=f"Seal with a "
                                               f"passphrase ({PASSPHRASE_ENV}, else prompted) "
                                               "instead of the keyring's active key"),
               force: bool = typer.Option(False, "--force", help="Replace an existing file")
               ) -> None:
    """Back up the whole store: one consistent snapshot, sealed (AES-256-GCM), with a
    manifest of per-table row counts and SHA-256. Keys are not in it: keep the keyring apart."""
    settings = load_settings()
    key = (backup.BackupKey(passphrase=_passphrase(confirm=True)) if passphrase
           else backup.BackupKey(keyring=_keyring(settings)))
    try:
        with _progress() as progress:
            manifest = backup.write_backup(settings.effective_database_url, out, key,
                                           reporter=_Bar(progress), overwrite=force)
    except backup.BackupError as exc:
        fail(exc.detail)
        return
    console.print(f"[green]Backed up[/] {manifest.rows} rows of {len(manifest.tables)} tables "
                  f"(schema {manifest.revision}) to {out}, sealed with {manifest.key}.",
                  highlight=False)
    console.print(f"file SHA-256 {manifest.file_sha256} (also in {out.name}.sha256)",
                  highlight=False)
    if not passphrase:
        console.print("Restoring needs a keyring holding that key: keep a copy of the key "
                      "file apart from the archive.")


def verify_backup_cmd(archive: Path = typer.Argument(..., help="Archive made by "
                                                     "`childsafe admin backup`")) -> None:
    """Check an archive completely (authentication, every table's rows and SHA-256, the
    manifest) without restoring it. Exit status 2 if it does not verify."""
    settings = load_settings()
    key = _opening_key(settings, archive)
    try:
        with _progress() as progress:
            manifest = backup.verify_backup(archive, key, reporter=_Bar(progress))
    except backup.BackupError as exc:
        fail(f"archive does NOT verify: {exc.detail}", code=2)
        return
    _show(manifest)
    console.print("[green]OK[/]: the archive is complete and unaltered.")


def restore_cmd(archive: Path = typer.Argument(..., help="Archive made by "
                                               "`childsafe admin backup`")) -> None:
    """Restore an archive onto an empty store of the same schema (make one with `childsafe
    admin migrate`). The archive is verified first; nothing is written unless all of it
    restores, and every table is read back and compared before the commit."""
    settings = load_settings()
    key = _opening_key(settings, archive)
    url = settings.effective_database_url
    try:
        with _progress() as progress:
            result = backup.restore_backup(url, archive, key, reporter=_Bar(progress))
    except backup.BackupError as exc:
        fail(f"restore refused: {exc.detail}")
        return
    manifest = result.manifest
    console.print(f"[green]Restored[/] {manifest.rows} rows of {len(manifest.tables)} tables "
                  f"(schema {manifest.revision}, made {manifest.created_at}); every table "
                  "matches its SHA-256.", highlight=False)
    if result.sequences:
        console.print(f"Reset {len(result.sequences)} id sequences.")
    db = Database(url)
    try:
        with db.reading() as session:
            report = audit.verify(session)
    finally:
        db.dispose()
    if report.ok:
        console.print(f"Audit chain verifies: {report.checked} entries, head "
                      f"{report.head_seq}:{report.head_hash}", highlight=False)
    else:
        fail(f"the restored audit chain is BROKEN at entry {report.first_broken_seq}: "
             f"{report.reason}", code=2)


def register(app: typer.Typer) -> None:
    app.command("backup")(backup_cmd)
    app.command("verify-backup")(verify_backup_cmd)
    app.command("restore")(restore_cmd)
