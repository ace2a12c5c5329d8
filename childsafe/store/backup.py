"""Backup and restore: one consistent, sealed, hash-verified logical dump of the whole store.

What is in an archive: every row of every table of `childsafe.store.schema.metadata`, in
foreign-key order, with the Alembic revision of the schema it came from. Columns that are
encrypted in the store (reporter identities, evidence, watched messages, secrets) are dumped
as the ciphertext they are, so they stay sealed by the keyring inside the sealed archive.
Keys are never in an archive: back up the keyring (and the block list signing key) apart.

Consistency: the dump is read in one transaction — SERIALIZABLE READ ONLY DEFERRABLE on
PostgreSQL (a snapshot no concurrent writer can make anomalous; it waits for a safe moment
rather than aborting), a deferred read transaction on SQLite (WAL: one snapshot, no lock
taken from writers).

Portability: values are written in a canonical JSON form that does not depend on the store
(UTC timestamps to the microsecond, binary as base64, JSON columns distinguishing SQL NULL
from JSON null, rows ordered by primary key in byte order), so an archive of SQLite restores
onto PostgreSQL and back, and a table's digest is the same whichever store holds it.

File layout::

    b"CSBACKUP" 0x01                      magic and format
    u32 length, header JSON, SHA-256      plaintext: how the archive key is wrapped, chunking
    (u32 length, chunk)*                  AES-256-GCM chunks of the zlib-compressed dump

The archive key is random per archive and wrapped either by the keyring's active key (the
default; any keyring still holding that key id opens it) or by a key derived with scrypt
from a passphrase. Chunk i is sealed with nonce = i (8 bytes) ‖ 0 0 0 ‖ last-flag and the
SHA-256 of the header as associated data, so an altered header, an altered, dropped or
reordered chunk and a truncated file are each detected and named.

The dump inside is JSON lines: a `begin` line (revision, per-table row counts), per table a
`table` line (its columns), one JSON array per row and an `end` line (rows, SHA-256), and a
closing `manifest` line with every table's rows and SHA-256 and the SHA-256 of the whole
dump before it. A table's SHA-256 covers its `table` line and its row lines, exactly.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any, Literal, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Date,
    Engine,
    Float,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    bindparam,
    cast,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from childsafe.core.crypto import Keyring
from childsafe.core.errors import DomainError
from childsafe.store import migrate
from childsafe.store.db import READ_ONLY, make_engine
from childsafe.store.models import UTCDateTime
from childsafe.store.schema import metadata

MAGIC = b"CSBACKUP\x01"
FORMAT = 1
CHUNK = 1 << 20  # plaintext bytes per sealed chunk
_MAX_HEADER = 64 * 1024
_TAG = 16
_WRAP_AAD = b"childsafe-backup|"
_SCRYPT = {"n": 2 ** 15, "r": 8, "p": 1}
_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"
_BATCH_ROWS = 500
_BATCH_BYTES = 8 << 20
MIN_PASSPHRASE = 12
# `childsafe admin migrate` seeds these; a store holding nothing else counts as empty, and
# restore replaces them with the archive's own rows (ids are referenced everywhere).
SEEDED = ("jurisdictions", "agencies")


class BackupError(DomainError):
    """An archive that cannot be read, verified or restored; the message names what failed."""

    code = "backup_error"
    title = "Backup failed"


class Reporter(Protocol):
    """Progress of a long run (the CLI draws a bar); rows counted across all tables."""

    def start(self, description: str, total: int) -> None: ...

    def advance(self, rows: int) -> None: ...


class _Quiet:
    def start(self, description: str, total: int) -> None:
        pass

    def advance(self, rows: int) -> None:
        pass


# ---- keys ------------------------------------------------------------------------------

@dataclass(frozen=True)
class BackupKey:
    """What seals (or opens) an archive: the keyring, or a passphrase. Opening needs the
    one the archive was sealed with; the archive header says which."""

    keyring: Keyring | None = None
    passphrase: str | None = None

    @property
    def mode(self) -> Literal["keyring", "passphrase"]:
        return "passphrase" if self.passphrase is not None else "keyring"


def _scrypt(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode())


def _wrap_key(key: BackupKey, dek: bytes) -> dict[str, Any]:
    nonce = os.urandom(12)
    if key.passphrase is not None:
        if len(key.passphrase) < MIN_PASSPHRASE:
            raise BackupError(f"the backup passphrase must be at least {MIN_PASSPHRASE} "
                              "characters")
        salt = os.urandom(16)
        kek = _scrypt(key.passphrase, salt, **_SCRYPT)
        wrapped = AESGCM(kek).encrypt(nonce, dek, _WRAP_AAD + b"passphrase")
        return {"kind": "passphrase", "kdf": "scrypt", **_SCRYPT, "salt": _b64(salt),
                "nonce": _b64(nonce), "wrapped": _b64(wrapped)}
    if key.keyring is None:
        raise BackupError("no key to seal the archive with: give the keyring or a passphrase")
    kid = key.keyring.active
    wrapped = AESGCM(key.keyring.keys[kid]).encrypt(nonce, dek, _WRAP_AAD + kid.encode())
    return {"kind": "keyring", "kid": kid, "nonce": _b64(nonce), "wrapped": _b64(wrapped)}


def _unwrap_key(key: BackupKey, info: dict[str, Any]) -> bytes:
    try:
        kind = info["kind"]
        nonce, wrapped = _unb64(info["nonce"]), _unb64(info["wrapped"])
        if kind == "passphrase":
            if key.passphrase is None:
                raise BackupError("this archive is sealed with a passphrase: give it "
                                  "(CHILDSAFE_BACKUP_PASSPHRASE or the prompt)")
            kek = _scrypt(key.passphrase, _unb64(info["salt"]), int(info["n"]), int(info["r"]),
                          int(info["p"]))
            aad = _WRAP_AAD + b"passphrase"
            wrong = "wrong passphrase: it does not open this archive"
        elif kind == "keyring":
            kid = str(info["kid"])
            if key.keyring is None:
                raise BackupError(f"this archive is sealed with keyring key {kid!r}: "
                                  "configure the keyring (CHILDSAFE_KEY_FILE or CHILDSAFE_KEYS)")
            if kid not in key.keyring.keys:
                raise BackupError(f"wrong key: the archive is sealed with key {kid!r}, which "
                                  f"is not in this keyring (it has "
                                  f"{', '.join(sorted(key.keyring.keys))})")
            kek = key.keyring.keys[kid]
            aad = _WRAP_AAD + kid.encode()
            wrong = (f"wrong key: this keyring's key {kid!r} does not open the archive "
                     "(a different keyring with the same key id?)")
        else:
            raise BackupError(f"the header names an unknown key kind {kind!r}")
    except (KeyError, TypeError, ValueError) as exc:
        raise BackupError(f"the archive header is damaged (key section: {exc})") from None
    try:
        return AESGCM(kek).decrypt(nonce, wrapped, aad)
    except InvalidTag:
        raise BackupError(wrong) from None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: Any) -> bytes:
    return base64.b64decode(str(value), validate=True)


def _nonce(index: int, last: bool) -> bytes:
    return struct.pack(">Q", index) + b"\x00\x00\x00" + (b"\x01" if last else b"\x00")


# ---- canonical values -------------------------------------------------------------------

Codec = tuple[Callable[[Any], Any], Callable[[Any], Any]]


def _codec(column: Column[Any]) -> Codec:
    """(encode, decode) between a column's Python value and its canonical JSON value."""
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return (lambda v: v.astimezone(UTC).strftime(_TIME),
                lambda v: datetime.strptime(v, _TIME).replace(tzinfo=UTC))
    if isinstance(kind, Date):
        return (lambda v: v.isoformat(), date.fromisoformat)
    if isinstance(kind, LargeBinary):
        return (lambda v: _b64(bytes(v)), _unb64)
    if isinstance(kind, JSON):  # read as text (see _selectable): [value] or SQL NULL
        return (lambda v: [json.loads(v)], lambda v: JSON.NULL if v[0] is None else v[0])
    if isinstance(kind, Boolean):
        return (bool, bool)
    if isinstance(kind, Integer):
        return (int, int)
    if isinstance(kind, Float):
        return (float, float)
    if isinstance(kind, String):  # Text too
        return (str, str)
    raise BackupError(f"no backup codec for column {column.table.name}.{column.name} "
                      f"({kind!r})")


def _selectable(column: Column[Any], postgres: bool) -> Any:
    if isinstance(column.type, JSON):  # the stored text: SQL NULL stays apart from JSON null
        return cast(column, Text).label(column.name)
    return column


def _order(table: Table, postgres: bool) -> list[Any]:
    keys = list(table.primary_key.columns) or list(table.columns)
    return [c.collate("C") if postgres and isinstance(c.type, String) else c for c in keys]


def _line(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":"), sort_keys=True, ensure_ascii=True,
                      allow_nan=False).encode("ascii") + b"\n"


def _table_line(table: Table) -> bytes:
    return _line({"kind": "table", "name": table.name, "columns": [c.name for c in table.c]})


def _table_rows(conn: Connection, table: Table) -> Iterator[bytes]:
    """Canonical row lines of `table`, in primary-key byte order."""
    postgres = conn.dialect.name == "postgresql"
    encoders = [_codec(c)[0] for c in table.c]
    query = select(*[_selectable(c, postgres) for c in table.c]).order_by(*_order(table, postgres))
    for row in conn.execute(query.execution_options(yield_per=_BATCH_ROWS)):
        yield _line([None if v is None else enc(v) for enc, v in zip(encoders, row, strict=True)])


def table_digest(conn: Connection, table: Table) -> tuple[int, str]:
    """(rows, SHA-256) of a table's canonical content, as a manifest records it."""
    digest = hashlib.sha256(_table_line(table))
    rows = 0
    for line in _table_rows(conn, table):
        digest.update(line)
        rows += 1
    return rows, digest.hexdigest()


# ---- manifest -----------------------------------------------------------------------------

@dataclass(frozen=True)
class TableDigest:
    name: str
    rows: int
    sha256: str


@dataclass
class Manifest:
    revision: str
    created_at: str
    source: str  # sqlite | postgresql
    tables: list[TableDigest]
    content_sha256: str
    key: str = ""  # how the archive is sealed, e.g. "keyring key k1"
    file_sha256: str = ""

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    def counts(self) -> dict[str, int]:
        return {t.name: t.rows for t in self.tables}


def _key_label(info: dict[str, Any]) -> str:
    if info.get("kind") == "keyring":
        return f"keyring key {info.get('kid')}"
    return "passphrase (scrypt)"


# ---- writing -----------------------------------------------------------------------------

class _SealedWriter:
    """Compress, cut into chunks, seal each; the file's own SHA-256 is kept on the way."""

    def __init__(self, fh: IO[bytes], header: bytes, dek: bytes) -> None:
        self._fh, self._aead, self._aad = fh, AESGCM(dek), hashlib.sha256(header).digest()
        # Run-length + Huffman only: most bytes are base64 of ciphertext, which LZ77 cannot
        # shrink; entropy coding takes base64 back to ~75 % at 5-6x the speed of level 6.
        self._zip = zlib.compressobj(1, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
        self._buf = bytearray()
        self._index = 0
        self.file_hash = hashlib.sha256()
        self._out(MAGIC + struct.pack(">I", len(header)) + header
                  + hashlib.sha256(header).digest())

    def _out(self, data: bytes) -> None:
        self._fh.write(data)
        self.file_hash.update(data)

    def _seal(self, plain: bytes, last: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._index, last), plain, self._aad)
        self._out(struct.pack(">I", len(sealed)) + sealed)
        self._index += 1

    def write(self, data: bytes) -> None:
        self._buf += self._zip.compress(data)
        while len(self._buf) > CHUNK:
            self._seal(bytes(self._buf[:CHUNK]), False)
            del self._buf[:CHUNK]

    def close(self) -> None:
        self._buf += self._zip.flush()
        while len(self._buf) > CHUNK:
            self._seal(bytes(self._buf[:CHUNK]), False)
            del self._buf[:CHUNK]
        self._seal(bytes(self._buf), True)


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """One read transaction that sees a single consistent state of the whole store."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="SERIALIZABLE",
                                          postgresql_readonly=True,
                                          postgresql_deferrable=True)
        else:
            conn = conn.execution_options(**{READ_ONLY: True})  # BEGIN (deferred), WAL reader
        with conn.begin():
            yield conn


def _revision(conn: Connection) -> str | None:
    try:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:
        return None


def write_backup(url: str, out: Path, key: BackupKey, *, reporter: Reporter | None = None,
                 now: datetime | None = None, overwrite: bool = False) -> Manifest:
    """Dump the store at `url` into the sealed archive `out` (written to a temporary name,
    synced, then renamed; mode 0600) and `out`.sha256 beside it. Returns the manifest."""
    reporter = reporter or _Quiet()
    out = Path(out)
    if out.exists() and not overwrite:
        raise BackupError(f"{out} already exists; choose another name (or --force)")
    if not out.parent.is_dir():
        raise BackupError(f"{out.parent} is not a directory")
    dek = AESGCM.generate_key(256)
    wrapped = _wrap_key(key, dek)
    header_doc = {"format": FORMAT, "cipher": "AES-256-GCM", "chunk": CHUNK,
                  "compression": "zlib", "key": wrapped}
    header = json.dumps(header_doc, sort_keys=True).encode()
    tmp = out.with_name(out.name + ".partial")
    engine = make_engine(url)
    try:
        with _snapshot(engine) as conn:
            revision = _revision(conn)
            if revision is None:
                raise BackupError("the store has no schema; nothing to back up")
            if revision != migrate.head_revision():
                raise BackupError(f"the store is at schema revision {revision}, this childsafe "
                                  f"at {migrate.head_revision()}: run `childsafe admin migrate` "
                                  "first")
            tables = list(metadata.sorted_tables)
            counts = {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar() or 0)
                      for t in tables}
            created = (now or datetime.now(UTC)).astimezone(UTC).strftime(_TIME)
            reporter.start("Backing up", sum(counts.values()))
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                writer = _SealedWriter(fh, header, dek)
                content = hashlib.sha256()

                def emit(line: bytes) -> None:
                    content.update(line)
                    writer.write(line)

                emit(_line({"kind": "begin", "format": FORMAT, "revision": revision,
                            "created_at": created, "source": engine.dialect.name,
                            "tables": [{"name": t.name, "rows": counts[t.name]}
                                       for t in tables]}))
                digests = []
                for table in tables:
                    head = _table_line(table)
                    digest = hashlib.sha256(head)
                    emit(head)
                    rows = 0
                    for line in _table_rows(conn, table):
                        digest.update(line)
                        emit(line)
                        rows += 1
                        if rows % 100 == 0:
                            reporter.advance(100)
                    reporter.advance(rows % 100)
                    if rows != counts[table.name]:  # cannot happen in a snapshot; say so if it does
                        raise BackupError(f"table {table.name} changed during the backup "
                                          f"({counts[table.name]} rows counted, {rows} read)")
                    digests.append(TableDigest(table.name, rows, digest.hexdigest()))
                    emit(_line({"kind": "end", "name": table.name, "rows": rows,
                                "sha256": digests[-1].sha256}))
                manifest = Manifest(revision, created, engine.dialect.name, digests,
                                    content.hexdigest(), _key_label(wrapped))
                writer.write(_line({"kind": "manifest", "format": FORMAT, "revision": revision,
                                    "created_at": created, "source": engine.dialect.name,
                                    "tables": [{"name": d.name, "rows": d.rows,
                                                "sha256": d.sha256} for d in digests],
                                    "content_sha256": manifest.content_sha256}))
                writer.close()
                fh.flush()
                os.fsync(fh.fileno())
            manifest.file_sha256 = writer.file_hash.hexdigest()
        os.replace(tmp, out)
        sidecar = out.with_name(out.name + ".sha256")
        sidecar.write_text(f"{manifest.file_sha256}  {out.name}\n")
        return manifest
    except SQLAlchemyError as exc:
        raise BackupError(f"reading the store failed: {exc.__class__.__name__}: "
                          f"{str(exc).splitlines()[0]}") from None
    except OSError as exc:
        raise BackupError(f"writing {out} failed: {exc.strerror or exc}") from None
    finally:
        engine.dispose()
        if tmp.exists():
            tmp.unlink()


# ---- reading -----------------------------------------------------------------------------

class _HashingFile:
    def __init__(self, fh: IO[bytes]) -> None:
        self.fh, self.hash, self.offset = fh, hashlib.sha256(), 0

    def read(self, n: int) -> bytes:
        data = self.fh.read(n)
        self.hash.update(data)
        self.offset += len(data)
        return data


@dataclass
class _Opened:
    header: dict[str, Any]
    chunks: Iterator[bytes]
    file: _HashingFile


def _header(src: _HashingFile) -> tuple[dict[str, Any], bytes, int]:
    """(header, its raw bytes, largest sealed chunk) after checking magic and format."""
    magic = src.read(len(MAGIC))
    if magic[:8] != MAGIC[:8]:
        raise BackupError("not a childsafe backup archive (bad magic bytes)")
    if magic != MAGIC:
        raise BackupError(f"unsupported archive format {magic[8:]!r}; this childsafe reads "
                          f"format {FORMAT}")
    raw_len = src.read(4)
    if len(raw_len) < 4:
        raise BackupError("the archive is truncated inside its header")
    (length,) = struct.unpack(">I", raw_len)
    if length > _MAX_HEADER:
        raise BackupError("the archive header is damaged (impossible length)")
    raw = src.read(length)
    check = src.read(32)
    if len(raw) < length or len(check) < 32:
        raise BackupError("the archive is truncated inside its header")
    if hashlib.sha256(raw).digest() != check:
        raise BackupError("the archive header is damaged (its checksum does not match)")
    try:
        header = json.loads(raw)
        if header["format"] != FORMAT or header["cipher"] != "AES-256-GCM":
            raise ValueError("unknown format or cipher")
        chunk_limit = int(header["chunk"]) + _TAG
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"the archive header is damaged ({exc})") from None
    if not isinstance(header.get("key"), dict):
        raise BackupError("the archive header is damaged (no key section)")
    return header, raw, chunk_limit


def sealed_with(path: Path) -> Literal["keyring", "passphrase"]:
    """How an archive is sealed (from its header; no key needed)."""
    with _open_file(path) as fh:
        header, _raw, _limit = _header(_HashingFile(fh))
    return "passphrase" if header["key"].get("kind") == "passphrase" else "keyring"


def _open(fh: IO[bytes], key: BackupKey) -> _Opened:
    src = _HashingFile(fh)
    header, raw, chunk_limit = _header(src)
    dek = _unwrap_key(key, header["key"])
    return _Opened(header, _chunks(src, AESGCM(dek), hashlib.sha256(raw).digest(), chunk_limit),
                   src)


def _chunks(src: _HashingFile, aead: AESGCM, aad: bytes, limit: int) -> Iterator[bytes]:
    index = 0
    while True:
        offset = src.offset
        raw_len = src.read(4)
        if not raw_len:
            raise BackupError(f"the archive is truncated: it ends after chunk {index} "
                              "without its final chunk")
        if len(raw_len) < 4:
            raise BackupError(f"the archive is truncated inside chunk {index} "
                              f"(byte offset {offset})")
        (length,) = struct.unpack(">I", raw_len)
        if length < _TAG or length > limit:
            raise BackupError(f"chunk {index} at byte offset {offset} is damaged "
                              "(impossible length)")
        sealed = src.read(length)
        if len(sealed) < length:
            raise BackupError(f"the archive is truncated inside chunk {index} "
                              f"(byte offset {offset})")
        last = False
        try:
            plain = aead.decrypt(_nonce(index, False), sealed, aad)
        except InvalidTag:
            try:
                plain, last = aead.decrypt(_nonce(index, True), sealed, aad), True
            except InvalidTag:
                what = "the header or chunk" if index == 0 else "chunk"
                raise BackupError(f"{what} {index} at byte offset {offset} failed "
                                  "authentication: the archive was altered or damaged") from None
        yield plain
        if last:
            if src.read(1):
                raise BackupError(f"unexpected data after the final chunk {index}: the "
                                  "archive was altered")
            return
        index += 1


def _lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    unzip = zlib.decompressobj()
    buf = bytearray()
    try:
        for chunk in chunks:
            buf += unzip.decompress(chunk)
            start = 0
            while (end := buf.find(b"\n", start)) >= 0:
                yield bytes(buf[start:end + 1])
                start = end + 1
            del buf[:start]
        buf += unzip.flush()
    except zlib.error as exc:
        raise BackupError(f"the dump inside the archive is corrupt ({exc})") from None
    if not unzip.eof or unzip.unused_data:
        raise BackupError("the dump inside the archive is incomplete")
    if buf:
        raise BackupError("the dump inside the archive ends in the middle of a line")


def _doc(line: bytes, where: str) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        raise BackupError(f"unreadable line in the dump ({where})") from None


Sink = Callable[[Table, list[list[Any]]], None]


def _read_dump(lines: Iterator[bytes], reporter: Reporter, description: str,
               sink: Sink | None, expect_revision: str | None = None) -> Manifest:
    """Walk the dump, recomputing every hash; rows go to `sink` table by table (in batches)
    when given. Raises BackupError naming the first thing that does not match."""
    content = hashlib.sha256()
    first = next(lines, None)
    if first is None:
        raise BackupError("the archive holds no dump")
    content.update(first)
    begin = _doc(first, "begin")
    if not isinstance(begin, dict) or begin.get("kind") != "begin":
        raise BackupError("the dump does not start with its begin record")
    revision = str(begin.get("revision"))
    if expect_revision is not None and revision != expect_revision:
        raise BackupError(f"schema revision differs: the archive is {revision}, "
                          f"expected {expect_revision}")
    planned = {str(t["name"]): int(t["rows"]) for t in begin.get("tables", [])}
    reporter.start(description, sum(planned.values()))
    digests: list[TableDigest] = []
    for line in lines:
        head = _doc(line, "table header")
        if isinstance(head, dict) and head.get("kind") == "manifest":
            return _check_manifest(head, digests, content.hexdigest(), revision, begin)
        content.update(line)
        if not isinstance(head, dict) or head.get("kind") != "table":
            raise BackupError("the dump is out of order (expected a table header)")
        name = str(head.get("name"))
        table = metadata.tables.get(name) if sink is not None else None
        if sink is not None:
            if table is None:
                raise BackupError(f"the archive has a table {name!r} this schema does not")
            if head.get("columns") != [c.name for c in table.c]:
                raise BackupError(f"table {name}: the archive's columns differ from this "
                                  "schema's")
        decoders = [_codec(c)[1] for c in table.c] if table is not None else []
        digest = hashlib.sha256(line)
        rows, batch, size = 0, [], 0
        for row_line in lines:
            content.update(row_line)
            if not row_line.startswith(b"["):
                end = _doc(row_line, f"end of table {name}")
                break
            digest.update(row_line)
            rows += 1
            if table is not None:
                values = _doc(row_line, f"table {name}, row {rows}")
                if not isinstance(values, list) or len(values) != len(decoders):
                    raise BackupError(f"table {name}, row {rows}: wrong number of values")
                try:
                    batch.append([None if v is None else dec(v)
                                  for dec, v in zip(decoders, values, strict=True)])
                except (ValueError, TypeError, IndexError) as exc:
                    raise BackupError(f"table {name}, row {rows}: bad value ({exc})") from None
                size += len(row_line)
                if len(batch) >= _BATCH_ROWS or size >= _BATCH_BYTES:
                    assert sink is not None
                    sink(table, batch)
                    reporter.advance(len(batch))
                    batch, size = [], 0
            elif rows % 100 == 0:
                reporter.advance(100)
        else:
            raise BackupError(f"the dump ends inside table {name}")
        if table is not None and batch:
            assert sink is not None
            sink(table, batch)
            reporter.advance(len(batch))
        elif table is None:
            reporter.advance(rows % 100)
        found = digest.hexdigest()
        if not isinstance(end, dict) or end.get("kind") != "end" or end.get("name") != name:
            raise BackupError(f"table {name}: its end record is missing")
        if end.get("rows") != rows or planned.get(name) != rows:
            raise BackupError(f"table {name}: {rows} rows in the archive, "
                              f"{end.get('rows')} recorded")
        if end.get("sha256") != found:
            raise BackupError(f"table {name}: SHA-256 of its content does not match the "
                              "one recorded")
        digests.append(TableDigest(name, rows, found))
    raise BackupError("the dump has no manifest (incomplete archive)")


def _check_manifest(doc: Any, digests: list[TableDigest], content: str, revision: str,
                    begin: dict[str, Any]) -> Manifest:
    try:
        recorded = {str(t["name"]): dict(t) for t in doc.get("tables", [])}
    except (KeyError, TypeError, ValueError, AttributeError):
        raise BackupError("the manifest is unreadable") from None
    if list(recorded) != [d.name for d in digests]:
        missing = sorted(set(recorded) - {d.name for d in digests})
        raise BackupError(f"the manifest lists tables the dump does not hold: {missing}"
                          if missing else "the manifest and the dump list different tables")
    for d in digests:
        t = recorded[d.name]
        if t.get("rows") != d.rows:
            raise BackupError(f"table {d.name}: manifest says {t.get('rows')} rows, the "
                              f"archive holds {d.rows}")
        if t.get("sha256") != d.sha256:
            raise BackupError(f"table {d.name}: SHA-256 differs from the manifest")
    if doc.get("content_sha256") != content:
        raise BackupError("SHA-256 of the whole dump differs from the manifest")
    if doc.get("revision") != revision:
        raise BackupError("the manifest and the begin record name different revisions")
    return Manifest(revision, str(doc.get("created_at")), str(begin.get("source")), digests,
                    content)


def _drain(lines: Iterator[bytes]) -> None:
    if next(lines, None) is not None:
        raise BackupError("unexpected data after the manifest")


def verify_backup(path: Path, key: BackupKey, *,
                  reporter: Reporter | None = None) -> Manifest:
    """Open and check the whole archive without touching any store."""
    with _open_file(path) as fh:
        opened = _open(fh, key)
        lines = _lines(opened.chunks)
        manifest = _read_dump(lines, reporter or _Quiet(), "Verifying", None)
        _drain(lines)
        manifest.key = _key_label(opened.header["key"])
        manifest.file_sha256 = opened.file.hash.hexdigest()
    _check_sidecar(path, manifest.file_sha256)
    return manifest


def _check_sidecar(path: Path, found: str) -> None:
    sidecar = Path(path).with_name(Path(path).name + ".sha256")
    if sidecar.exists():
        recorded = sidecar.read_text().split()[:1]
        if recorded != [found]:
            raise BackupError(f"SHA-256 of {Path(path).name} differs from {sidecar.name}")


@contextmanager
def _open_file(path: Path) -> Iterator[IO[bytes]]:
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror}") from None
    with fh:
        yield fh


def archive_revision(path: Path, key: BackupKey) -> str:
    """The schema revision an archive was made at (reads its first chunk only)."""
    with _open_file(path) as fh:
        first = next(_lines(_open(fh, key).chunks), None)
    begin = _doc(first or b"", "begin")
    if not isinstance(begin, dict) or begin.get("kind") != "begin":
        raise BackupError("the dump does not start with its begin record")
    return str(begin["revision"])


# ---- restoring ---------------------------------------------------------------------------

@dataclass
class RestoreResult:
    manifest: Manifest
    replaced_seed: bool = False
    sequences: list[str] = field(default_factory=list)


def _non_empty(conn: Connection) -> list[str]:
    return [t.name for t in metadata.sorted_tables
            if conn.execute(select(text("1")).select_from(t).limit(1)).first() is not None]


def check_target(conn: Connection, revision: str) -> bool:
    """Raise unless the store is at `revision` and empty; True when only the seed is there."""
    current = _revision(conn)
    if current is None:
        raise BackupError("the target store has no schema: run `childsafe admin migrate` first")
    if current != revision:
        raise BackupError(f"schema revision differs: the archive is {revision}, the target "
                          f"store is {current}. Restore with the childsafe version that made "
                          "the archive (at its revision), then run `childsafe admin migrate`")
    filled = _non_empty(conn)
    others = [name for name in filled if name not in SEEDED]
    if others:
        shown = ", ".join(others[:6]) + (" …" if len(others) > 6 else "")
        raise BackupError(f"the target store is not empty ({shown} hold rows): restore only "
                          "onto a new store made with `childsafe admin migrate`")
    return bool(filled)


def _insert_sink(conn: Connection) -> Sink:
    statements: dict[str, Any] = {}

    def sink(table: Table, rows: list[list[Any]]) -> None:
        stmt = statements.get(table.name)
        if stmt is None:
            # JSON columns bind None as SQL NULL (JSON null arrives as JSON.NULL)
            stmt = insert(table).values({c.name: bindparam(
                f"v_{c.name}",
                type_=JSON(none_as_null=True) if isinstance(c.type, JSON) else c.type)
                for c in table.c})
            statements[table.name] = stmt
        names = [f"v_{c.name}" for c in table.c]
        conn.execute(stmt, [dict(zip(names, row, strict=True)) for row in rows])

    return sink


def _reset_sequences(conn: Connection) -> list[str]:
    """PostgreSQL: move each serial/identity sequence past the restored ids."""
    done = []
    for table in metadata.sorted_tables:
        column = table.autoincrement_column
        if column is None:
            continue
        seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                           {"t": table.name, "c": column.name}).scalar()
        if seq is None:
            continue
        # Names come from our own metadata, never from input.
        conn.execute(text(f'SELECT setval(:s, COALESCE((SELECT MAX("{column.name}") FROM '  # noqa: S608
                          f'"{table.name}"), 0) + 1, false)'), {"s": seq})
        done.append(str(seq))
    return done


def _require_sqlite_file(url: str) -> None:
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:" and not Path(path).exists():
            raise BackupError(f"the target store {path} does not exist: create it with "
                              "`childsafe admin migrate` first")


def restore_backup(url: str, path: Path, key: BackupKey, *,
                   reporter: Reporter | None = None) -> RestoreResult:
    """Verify the archive completely, then write it into the empty store at `url` in one
    transaction, re-read every table and compare its digest before committing. Any failure
    rolls everything back: the store is left as it was."""
    reporter = reporter or _Quiet()
    revision = archive_revision(path, key)
    if revision != migrate.head_revision():
        raise BackupError(f"schema revision differs: the archive is {revision}, this "
                          f"childsafe is at {migrate.head_revision()}. Restore with the "
                          "childsafe version that made the archive, then run "
                          "`childsafe admin migrate`")
    _require_sqlite_file(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn, conn.execution_options(**{READ_ONLY: True}).begin():
            check_target(conn, revision)  # fail fast, before reading the whole archive
        verified = verify_backup(path, key, reporter=reporter)
        result = RestoreResult(verified)
        with engine.begin() as conn:
            result.replaced_seed = check_target(conn, revision)  # again, under the write lock
            for name in SEEDED:
                conn.execute(metadata.tables[name].delete())
            with _open_file(path) as fh:
                opened = _open(fh, key)
                lines = _lines(opened.chunks)
                written = _read_dump(lines, reporter, "Restoring", _insert_sink(conn),
                                     expect_revision=revision)
                _drain(lines)
                if opened.file.hash.hexdigest() != verified.file_sha256:
                    raise BackupError("the archive changed while it was being restored")
            missing = {t.name for t in metadata.sorted_tables} - set(written.counts())
            if missing:
                raise BackupError(f"the archive lacks tables {sorted(missing)}")
            if engine.dialect.name == "postgresql":
                result.sequences = _reset_sequences(conn)
            reporter.start("Checking restored tables", written.rows)
            for recorded in written.tables:
                rows, digest = table_digest(conn, metadata.tables[recorded.name])
                if (rows, digest) != (recorded.rows, recorded.sha256):
                    raise BackupError(f"table {recorded.name} reads back differently after "
                                      "the restore (nothing was kept)")
                reporter.advance(rows)
        return result
    except SQLAlchemyError as exc:
        raise BackupError(f"writing to the store failed, nothing was kept: "
                          f"{exc.__class__.__name__}: {str(exc).splitlines()[0]}") from None
    except OSError as exc:
        raise BackupError(f"reading {path} failed: {exc.strerror or exc}") from None
    finally:
        engine.dispose()


def store_counts(url: str) -> dict[str, int]:
    """Rows per table of a store (for reports and tests)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar() or 0)
                    for t in metadata.sorted_tables}
    finally:
        engine.dispose()
