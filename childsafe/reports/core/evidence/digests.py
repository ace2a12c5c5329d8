"""Hashes taken at receipt; re-checked on export by the store."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Digests:
    sha256: str
    md5: str  # not for security: NCMEC's file upload reports and expects MD5
    size: int


def digest(data: bytes) -> Digests:
    return Digests(hashlib.sha256(data).hexdigest(),
                   hashlib.md5(data, usedforsecurity=False).hexdigest(), len(data))
