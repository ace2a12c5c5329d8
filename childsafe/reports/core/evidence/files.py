"""Uploaded files: the type is decided by the bytes, never by the name or the declared type.

Allowed: PNG, JPEG, GIF, PDF and UTF-8 text. Each type is a small `FileType` registered by
name; `check` looks for the structure a real file of that type has (so a truncated upload or
a file with another file glued to its end is `malformed`). The client's file name is kept
only as sanitised metadata; storage uses a server-made name.
"""

from __future__ import annotations

import secrets
import struct
import unicodedata
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from childsafe.core.registry import Registry
from childsafe.reports.core.errors import EvidenceRejected
from childsafe.reports.core.evidence.digests import Digests, digest

MiB = 1024 * 1024
GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream",
                           "application/unknown"})
CLIENT_NAME_MAX = 200


class FileType(Protocol):
    name: str
    mime: str
    extensions: tuple[str, ...]  # the first is used for server-side names
    aliases: tuple[str, ...]  # other MIME types clients send for it
    max_bytes: int

    def matches(self, data: bytes) -> bool:
        """Cheap magic-byte test on the start of the file."""
        ...

    def problem(self, data: bytes) -> str | None:
        """Why a file that matched is not a well-formed file of this type, or None."""
        ...


FILE_TYPES: Registry[FileType] = Registry("evidence file type")


class Png:
    name = "png"
    mime = "image/png"
    extensions: tuple[str, ...] = ("png",)
    aliases: tuple[str, ...] = ()
    max_bytes = 20 * MiB
    SIGNATURE = b"\x89PNG\r\n\x1a\n"

    def matches(self, data: bytes) -> bool:
        return data.startswith(self.SIGNATURE)

    def problem(self, data: bytes) -> str | None:
        pos, first = len(self.SIGNATURE), True
        while pos + 12 <= len(data):
            (length,) = struct.unpack(">I", data[pos:pos + 4])
            kind = data[pos + 4:pos + 8]
            end = pos + 12 + length
            if end > len(data):
                return "a PNG chunk runs past the end of the file"
            body = data[pos + 8:pos + 8 + length]
            (crc,) = struct.unpack(">I", data[pos + 8 + length:end])
            if zlib.crc32(kind + body) != crc:
                return f"PNG chunk {kind!r} has a bad checksum"
            if first and (kind != b"IHDR" or length != 13
                          or 0 in struct.unpack(">II", body[:8])):
                return "a PNG must start with a valid IHDR chunk"
            first = False
            pos = end
            if kind == b"IEND":
                return None if pos == len(data) else "data after the end of the PNG"
        return "the PNG is truncated (no IEND chunk)"


class Jpeg:
    name = "jpeg"
    mime = "image/jpeg"
    extensions: tuple[str, ...] = ("jpg", "jpeg")
    aliases: tuple[str, ...] = ("image/jpg", "image/pjpeg")
    max_bytes = 20 * MiB

    def matches(self, data: bytes) -> bool:
        return data.startswith(b"\xff\xd8\xff")

    def problem(self, data: bytes) -> str | None:
        if len(data) < 8 or not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
            return "the JPEG is truncated (no end-of-image marker)"
        return None


class Gif:
    name = "gif"
    mime = "image/gif"
    extensions: tuple[str, ...] = ("gif",)
    aliases: tuple[str, ...] = ()
    max_bytes = 20 * MiB

    def matches(self, data: bytes) -> bool:
        return data[:6] in (b"GIF87a", b"GIF89a")

    def problem(self, data: bytes) -> str | None:
        if len(data) < 14:
            return "the GIF header is incomplete"
        width, height = struct.unpack("<HH", data[6:10])
        if not width or not height:
            return "the GIF has no size"
        if not data.endswith(b"\x3b"):
            return "the GIF is truncated (no trailer)"
        return None


class Pdf:
    name = "pdf"
    mime = "application/pdf"
    extensions: tuple[str, ...] = ("pdf",)
    aliases: tuple[str, ...] = ("application/x-pdf",)
    max_bytes = 20 * MiB

    def matches(self, data: bytes) -> bool:
        return data.startswith(b"%PDF-")

    def problem(self, data: bytes) -> str | None:
        version = data[5:8]
        if len(version) < 3 or not (version[:1].isdigit() and version[1:2] == b"."
                                    and version[2:3].isdigit()):
            return "the PDF header has no version"
        if b"%%EOF" not in data[-1024:]:
            return "the PDF is truncated (no %%EOF marker)"
        return None


class Txt:
    """The fallback: any valid UTF-8 without NUL that matched no binary signature."""

    name = "txt"
    mime = "text/plain"
    extensions: tuple[str, ...] = ("txt",)
    aliases: tuple[str, ...] = ("text/csv", "text/markdown")
    max_bytes = 2 * MiB

    def matches(self, data: bytes) -> bool:
        if b"\x00" in data:
            return False
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True

    def problem(self, data: bytes) -> str | None:
        return None


_BUILT_IN: tuple[FileType, ...] = (Png(), Jpeg(), Gif(), Pdf(), Txt())  # text last: fallback
for _kind in _BUILT_IN:
    FILE_TYPES.register(_kind)

MAX_FILE_BYTES = max(t.max_bytes for t in FILE_TYPES)


def sniff(data: bytes) -> FileType | None:
    return next((t for t in FILE_TYPES if t.matches(data)), None)


def sanitize_client_name(name: str | None) -> str | None:
    """The client's file name as harmless metadata: last path part, NFC, no control, format
    or bidi characters, whitespace collapsed, no leading dots, at most 200 characters."""
    if not name:
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFC", base)
    kept = "".join(" " if ch.isspace() else ch for ch in base
                   if unicodedata.category(ch)[0] != "C" or ch.isspace())
    cleaned = " ".join(kept.split()).lstrip(".").strip()
    return cleaned[:CLIENT_NAME_MAX] or None


@dataclass(frozen=True, slots=True)
class ReceivedFile:
    server_name: str
    kind: str
    mime: str
    digests: Digests
    received_at: datetime
    client_name: str | None = None
    declared_type: str | None = None
    name_matches_type: bool | None = None  # a renamed file is kept, but flagged

    @property
    def size(self) -> int:
        return self.digests.size


def _declared(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


def receive_file(data: bytes, *, received_at: datetime, client_name: str | None = None,
                 declared_type: str | None = None,
                 new_id: Callable[[], str] = lambda: secrets.token_hex(16)) -> ReceivedFile:
    """Accept or refuse an upload. Raises `EvidenceRejected` with code `empty`, `too_large`,
    `unsupported_type`, `type_mismatch` (declared MIME type disagrees with the bytes) or
    `malformed`; on success the hashes are those of the exact bytes received."""
    if not data:
        raise EvidenceRejected("empty", "The file is empty.", field="file")
    if len(data) > MAX_FILE_BYTES:
        raise EvidenceRejected("too_large", f"Files may be at most {MAX_FILE_BYTES} bytes.",
                               field="file")
    kind = sniff(data)
    if kind is None:
        raise EvidenceRejected("unsupported_type",
                               "Only PNG, JPEG, GIF, PDF and plain text files are accepted.",
                               field="file")
    if len(data) > kind.max_bytes:
        raise EvidenceRejected("too_large", f"{kind.name.upper()} files may be at most "
                               f"{kind.max_bytes} bytes.", field="file")
    declared = _declared(declared_type)
    if declared not in GENERIC_TYPES and declared not in (kind.mime, *kind.aliases):
        raise EvidenceRejected("type_mismatch", f"The file was sent as {declared[:100]} but "
                               f"its content is {kind.mime}.", field="file")
    problem = kind.problem(data)
    if problem:
        raise EvidenceRejected("malformed", f"The file is damaged: {problem}.", field="file")
    safe_name = sanitize_client_name(client_name)
    matches = None
    if safe_name and "." in safe_name:
        matches = safe_name.rsplit(".", 1)[1].lower() in kind.extensions
    return ReceivedFile(f"{new_id()}.{kind.extensions[0]}", kind.name, kind.mime, digest(data),
                        received_at, safe_name, declared or None, matches)
