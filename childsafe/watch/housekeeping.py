"""Periodic Watch duties run by `childsafe worker` (e.g. pushing badge changes)."""

from __future__ import annotations

from datetime import datetime

from childsafe.core.crypto import Keyring
from childsafe.store.db import Database


def run(db: Database, now: datetime, keyring: Keyring | None) -> int:
    """Do what is due; returns how many things were done (for the worker's log)."""
    return 0
