"""Pasted text: kept exactly as received, HTML and all; escaping is the renderer's job."""

from __future__ import annotations

from dataclasses import dataclass

from childsafe.reports.core.errors import EvidenceRejected
from childsafe.reports.core.evidence.digests import Digests, digest

PASTED_TEXT_MAX_BYTES = 200_000


@dataclass(frozen=True, slots=True)
class PastedText:
    data: bytes  # UTF-8, byte-exact
    digests: Digests

    @property
    def text(self) -> str:
        return self.data.decode("utf-8")


def accept_pasted_text(raw: str | bytes, *, max_bytes: int = PASTED_TEXT_MAX_BYTES,
                       field: str = "text") -> PastedText:
    """Accept pasted text without normalising anything (no trimming, no Unicode NFC, no
    newline changes). Refuses: empty/blank, over `max_bytes` of UTF-8, invalid UTF-8 or
    lone surrogates, NUL characters (never part of a real chat, often of a binary)."""
    if isinstance(raw, str):
        try:
            data = raw.encode("utf-8")
        except UnicodeEncodeError:
            raise EvidenceRejected("malformed", "The text contains invalid characters.",
                                   field=field) from None
    elif isinstance(raw, bytes | bytearray):
        data = bytes(raw)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise EvidenceRejected("malformed", "The text is not valid UTF-8.",
                                   field=field) from None
    else:
        raise EvidenceRejected("malformed", "Expected text.", field=field)
    if not data.strip():
        raise EvidenceRejected("empty", "The text is empty.", field=field)
    if len(data) > max_bytes:
        raise EvidenceRejected("too_large", f"The text is longer than {max_bytes} bytes.",
                               field=field)
    if b"\x00" in data:
        raise EvidenceRejected("malformed", "The text contains NUL characters.", field=field)
    return PastedText(data, digest(data))
