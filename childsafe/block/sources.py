"""Where a node fetches publications from: a registry of small `ListSource`s.

Each source has a stable `name`; `open_source` picks one from the `--source` text. Sources
only move bytes: every check (signature, sequence, content) happens in `sync`.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Protocol

import httpx

from childsafe.block.core.publish import LATEST

MAX_FILE_BYTES = 1 << 30


class SourceError(RuntimeError):
    """The source could not be read (network, permissions, size...)."""


class ListSource(Protocol):
    name: ClassVar[str]

    def fetch(self, filename: str) -> bytes | None:
        """The file's bytes, None if the source does not have it; raises `SourceError`."""
        ...


class DirSource:
    """A local or mounted publication directory."""

    name: ClassVar[str] = "dir"

    def __init__(self, spec: str) -> None:
        self.root = Path(spec)
        if not self.root.is_dir():
            raise SourceError(f"source directory {self.root} does not exist")

    def fetch(self, filename: str) -> bytes | None:
        path = self.root / filename
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise SourceError(f"{path} is larger than {MAX_FILE_BYTES} bytes")
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SourceError(f"cannot read {path}: {exc}") from exc


class HttpSource:
    """A publication served over HTTP(S), e.g. from any static web server or CDN."""

    name: ClassVar[str] = "http"

    def __init__(self, spec: str, *, timeout: float = 30.0, transport=None) -> None:
        self.base = spec.rstrip("/") + "/"
        self._client = httpx.Client(timeout=timeout, follow_redirects=True, transport=transport)

    def fetch(self, filename: str) -> bytes | None:
        url = self.base + filename
        try:
            with self._client.stream("GET", url) as resp:
                if resp.status_code == 404:
                    return None
                if resp.status_code != 200:
                    raise SourceError(f"GET {url}: HTTP {resp.status_code}")
                chunks, total = [], 0
                for chunk in resp.iter_bytes():
                    total += len(chunk)
                    if total > MAX_FILE_BYTES:
                        raise SourceError(f"GET {url}: larger than {MAX_FILE_BYTES} bytes")
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPError as exc:
            raise SourceError(f"GET {url}: {exc}") from exc


SOURCES: dict[str, type[DirSource] | type[HttpSource]] = {}


def register(cls: type[DirSource] | type[HttpSource]) -> None:
    if cls.name in SOURCES:
        raise ValueError(f"duplicate list source name {cls.name!r}")
    SOURCES[cls.name] = cls


register(DirSource)
register(HttpSource)


def open_source(spec: str) -> ListSource:
    """`http(s)://...` -> HttpSource, anything else -> DirSource."""
    name = "http" if spec.startswith(("http://", "https://")) else "dir"
    return SOURCES[name](spec)


def fetch_latest(source: ListSource) -> int:
    data = source.fetch(LATEST)
    if data is None:
        raise SourceError(f"source has no {LATEST} file (nothing published yet?)")
    text = data.decode("ascii", "replace").strip()
    if not text.isdigit() or len(text) > 18:
        raise SourceError(f"{LATEST} does not hold a sequence number: {text[:40]!r}")
    return int(text)
