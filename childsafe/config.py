"""All settings in one typed place, from CHILDSAFE_* environment variables, failing loudly."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from childsafe.core.accounts import SecurityPolicy
from childsafe.core.crypto import Keyring
from childsafe.core.errors import InvalidInput


class Settings(BaseSettings):
    """Defaults run the embedded platform (SQLite, in-process queue) under ./var."""

    model_config = SettingsConfigDict(env_prefix="CHILDSAFE_", extra="forbid")

    data_dir: Path = Field(Path("var"), description="Where the embedded store and keys live.")
    database_url: str = Field("", description="SQLAlchemy URL; empty = SQLite in data_dir.")
    key_file: Path | None = Field(None, description="Keyring JSON; default data_dir/keys.json.")
    keys: str | None = Field(None, description="Keyring JSON given inline (overrides key_file).")
    base_url: str = "http://127.0.0.1:8000"
    cookie_secure: bool = True
    mail_sender: Literal["console", "smtp", "memory", "file"] = "console"
    smtp_host: str = "localhost"
    smtp_port: int = 25
    mail_from: str = "childsafe@example.com"
    max_login_failures: int = Field(5, ge=1, le=100)
    lockout_minutes: int = Field(10, ge=1)
    session_idle_minutes: int = Field(30, ge=1)
    session_absolute_hours: int = Field(12, ge=1)
    max_request_bytes: int = Field(25 * 1024 * 1024, ge=1024)
    # Admission control per serving process (childsafe.web.admission; docs/RELIABILITY.md).
    max_inflight: int = Field(64, ge=0, le=100_000, description="Requests one serving process "
                              "works on at once; 0 = no limit. More wait (see below), then "
                              "get 429 with Retry-After.")
    admission_queue_ms: int = Field(500, ge=0, le=60_000, description="How long a request may "
                                    "wait for a free slot before it is refused with 429.")
    admission_max_waiting: int = Field(256, ge=0, le=100_000, description="Requests that may "
                                       "wait at once; more are refused with 429 at once.")
    admission_retry_after_s: int = Field(1, ge=1, le=3600, description="Retry-After (seconds) "
                                         "sent with an overload 429.")
    trusted_proxies: list[str] = Field(default_factory=list)
    rate_limiter: Literal["memory", "redis"] = "memory"
    redis_url: str = "redis://127.0.0.1:6379/0"
    reports_per_ip_per_hour: int = Field(20, ge=1)
    reports_per_contact_per_day: int = Field(10, ge=1)
    evidence_per_report_per_day: int = Field(50, ge=1)
    # Watch: how ingested messages wake the scorers (see README "Watch: streaming messages").
    watch_transport: Literal["memory", "redis"] = Field(
        "memory", description="memory: a queue inside `childsafe serve`; redis: a Redis Stream "
                              "consumed by `childsafe worker --watch` processes anywhere.")
    watch_stream: str = Field("childsafe:watch", min_length=1, max_length=200)
    watch_group: str = Field("childsafe-watch", min_length=1, max_length=200)
    watch_claim_idle_ms: int = Field(30_000, ge=100, description="A wake-up left unacknowledged "
                                     "this long (its consumer died) is claimed by another.")
    watch_serve_consumer: bool = Field(True, description="With redis, `childsafe serve` also "
                                       "scores (one thread per process); memory always does.")

    # Retention (see README "Backup, restore and retention"; childsafe.store.retention).
    retention_unfounded_days: int = Field(
        365, ge=1, le=36500, description="Closed-unfounded cases (no further action, "
        "malicious) are deleted this many days after their last change, unless on legal hold.")
    retention_watch_days: int = Field(
        30, ge=1, le=36500, description="Watched messages of conversations without an alert "
        "are deleted this many days after receipt.")

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("database_url must be a sqlite:// or postgresql:// URL")
        return value

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'childsafe.db').resolve()}"

    @property
    def policy(self) -> SecurityPolicy:
        from datetime import timedelta
        return SecurityPolicy(
            max_failures=self.max_login_failures,
            lockout=timedelta(minutes=self.lockout_minutes),
            session_idle=timedelta(minutes=self.session_idle_minutes),
            session_absolute=timedelta(hours=self.session_absolute_hours),
        )

    @property
    def keyring_path(self) -> Path:
        return self.key_file or self.data_dir / "keys.json"

    @cached_property
    def keyring(self) -> Keyring:
        """The keyring; a missing key is a configuration error, never silently generated."""
        if self.keys:
            return Keyring.from_json(self.keys)
        path = self.keyring_path
        if not path.exists():
            raise InvalidInput(
                f"No encryption keys: {path} does not exist. Run `childsafe admin init-keys` "
                "(or `childsafe demo`), or set CHILDSAFE_KEYS / CHILDSAFE_KEY_FILE.")
        return Keyring.from_json(path.read_text())

    def write_keyring(self, keyring: Keyring) -> Path:
        """Atomically replace the key file, readable by the owner only."""
        path = self.keyring_path
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(keyring.to_json())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        self.__dict__.pop("keyring", None)
        return path

    @cached_property
    def verification_key(self) -> bytes:
        """HMAC key for reporter verification codes and contact keys (not in the database).

        Derived from the keyring's first key, which rotation keeps, so codes and contact keys
        stay valid across `rotate-keys`."""
        import hashlib
        ring = self.keyring
        return hashlib.sha256(b"childsafe-verify|" + ring.keys[min(ring.keys)]).digest()

    @cached_property
    def secret_key(self) -> bytes:
        """HMAC key for CSRF tokens, derived from the keyring's first (never rotated out) key."""
        import hashlib
        ring = self.keyring
        return hashlib.sha256(b"childsafe-csrf|" + ring.keys[min(ring.keys)]).digest()

    # List authority (block list console). Empty = under data_dir/block/.
    block_signing_key_file: Path | None = Field(
        None, description="Ed25519 list-signing key (PEM, 0600); default data_dir/block/"
                          "list-signing.key, created by `childsafe block keygen`.")
    block_publication_dir: Path | None = Field(
        None, description="Where published list files go (served at /block/list/); "
                          "default data_dir/block/list.")
