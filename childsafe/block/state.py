"""An ISP node's state directory: the current list, the previous good one, nothing else.

    STATE/current.csbl    the list in force (local state file, see `core.listfile`)
    STATE/previous.csbl   the list before it (for `--rollback`)

Every write is: temp file in the same directory, fsync, `os.replace`, fsync the directory.
`current.csbl` exists at every instant, so a filter reloading at any moment reads either the
old list or the new one, never a half-written file.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from childsafe.block.core.listfile import ListError, ListSnapshot, decode_local_stream, encode_local

CURRENT = "current.csbl"
PREVIOUS = "previous.csbl"


class StateError(RuntimeError):
    """The state directory cannot be read or written as asked."""


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` so readers see the old or the new bytes, never a mix."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    _fsync_dir(path.parent)


class StateDir:
    """Reads and swaps the lists of one node."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    @property
    def current_path(self) -> Path:
        return self.path / CURRENT

    @property
    def previous_path(self) -> Path:
        return self.path / PREVIOUS

    def _load(self, path: Path) -> ListSnapshot | None:
        try:
            with open(path, "rb") as f:
                return decode_local_stream(f.read)
        except FileNotFoundError:
            return None
        except ListError as exc:
            raise StateError(f"{path} is damaged: {exc}") from exc
        except OSError as exc:
            raise StateError(f"cannot read {path}: {exc}") from exc

    def current(self) -> ListSnapshot | None:
        """The list in force, None before the first sync; raises `StateError` if damaged."""
        return self._load(self.current_path)

    def previous(self) -> ListSnapshot | None:
        return self._load(self.previous_path)

    def install(self, snapshot: ListSnapshot) -> None:
        """Make `snapshot` current and keep the old current as previous."""
        self.path.mkdir(parents=True, exist_ok=True)
        data = encode_local(snapshot)
        if self.current_path.exists():
            link = self.path / f".{PREVIOUS}.{os.getpid()}.link"
            with contextlib.suppress(FileNotFoundError):
                link.unlink()
            os.link(self.current_path, link)
            os.replace(link, self.previous_path)
        write_atomic(self.current_path, data)

    def rollback(self) -> tuple[int, int]:
        """Swap current and previous; returns (from_seq, to_seq). Raises if no previous."""
        prev = self.previous()
        cur = self.current()
        if prev is None or cur is None:
            raise StateError("no previous good list to roll back to")
        self.install(prev)
        return cur.seq, prev.seq
