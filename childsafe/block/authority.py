"""Authority side in files: signing keys, the entries CSV, publishing to a directory.

The list console (database-backed) calls `core.publish.plan_publication` directly; this
module is the file-based equivalent for `childsafe block keygen|publish|rpz`.
"""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from childsafe.block.core.entries import Entry, EntryError, make_entry
from childsafe.block.core.listfile import LIST_KEY_BYTES, ListError, ListSnapshot, decode_signed
from childsafe.block.core.publish import LATEST, Publication, plan_publication, snapshot_name
from childsafe.block.state import write_atomic

CSV_COLUMNS = ("url", "scope", "category", "added_by", "reason", "review_date")
MAX_CSV_FIELD = 64 * 1024


class AuthorityError(RuntimeError):
    """A key, the entries file or the publication directory is not usable."""


def generate_keys(private_path: Path, public_path: Path) -> None:
    """Write a new Ed25519 key pair (PEM); the private key file is mode 0600."""
    if private_path.exists():
        raise AuthorityError(f"{private_path} exists; refusing to overwrite a signing key")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    public_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise AuthorityError(f"cannot load signing key {path}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise AuthorityError(f"{path} is not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError, TypeError) as exc:
        raise AuthorityError(f"cannot load public key {path}: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise AuthorityError(f"{path} is not an Ed25519 public key")
    return key


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def count_rows(path: Path) -> int:
    with open(path, "rb") as f:
        return max(0, sum(1 for _ in f) - 1)


def read_entries(path: Path, on_row: Callable[[], None] | None = None) -> tuple[list[Entry], list[RowError]]:
    """Parse the entries CSV (header: url,scope,category,added_by,reason,review_date).

    Every bad row is reported with its line number; good rows are still returned so the
    caller can show all problems at once (publishing refuses while any remain).
    """
    try:
        f = open(path, newline="", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise AuthorityError(f"cannot open {path}: {exc}") from exc
    with f:
        numbered, errors = read_numbered_entries(f, str(path), on_row)
    return [e for _, e in numbered], errors


def read_numbered_entries(
    f: Iterable[str], name: str, on_row: Callable[[], None] | None = None
) -> tuple[list[tuple[int, Entry]], list[RowError]]:
    """`read_entries` over an open text stream (an upload, say), each entry with its CSV line.

    `name` prefixes file-level errors (unreadable file, missing columns: `AuthorityError`).
    """
    entries: list[tuple[int, Entry]] = []
    errors: list[RowError] = []
    csv.field_size_limit(MAX_CSV_FIELD)
    try:
        reader = csv.DictReader(f)
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise AuthorityError(f"{name}: header lacks column(s) {', '.join(missing)}")
        for row in reader:
            if on_row:
                on_row()
            line = reader.line_num
            if None in row or any(v is None for v in row.values()):
                errors.append(RowError(line, "wrong number of columns"))
                continue
            try:
                entries.append((line, make_entry(**{c: row[c] for c in CSV_COLUMNS})))
            except EntryError as exc:
                errors.append(RowError(line, str(exc)))
    except (csv.Error, UnicodeDecodeError) as exc:
        raise AuthorityError(f"{name}: not a readable CSV file: {exc}") from exc
    return entries, errors


def read_previous(out_dir: Path, public_key: Ed25519PublicKey) -> ListSnapshot | None:
    """The last published snapshot in `out_dir`, verified with our own public key."""
    latest = out_dir / LATEST
    if not latest.exists():
        return None
    text = latest.read_text("ascii").strip()
    if not text.isdigit():
        raise AuthorityError(f"{latest} is damaged: {text[:40]!r}")
    path = out_dir / snapshot_name(int(text))
    try:
        snap = decode_signed(path.read_bytes(), public_key)
    except (OSError, ListError) as exc:
        raise AuthorityError(f"cannot read the previous publication {path}: {exc}") from exc
    if not isinstance(snap, ListSnapshot):
        raise AuthorityError(f"{path} is not a snapshot")
    return snap


def publish_to_dir(entries: list[Entry], out_dir: Path, key: Ed25519PrivateKey) -> Publication:
    """Write snapshot N and delta N-1 -> N into `out_dir`; `LATEST` is replaced last."""
    out_dir.mkdir(parents=True, exist_ok=True)
    previous = read_previous(out_dir, key.public_key())
    pub = plan_publication(
        entries,
        previous,
        key,
        created=int(time.time()),
        new_list_key=os.urandom(LIST_KEY_BYTES),
    )
    for name, data in pub.files.items():
        if name != LATEST:
            write_atomic(out_dir / name, data)
    write_atomic(out_dir / LATEST, pub.files[LATEST])
    return pub
