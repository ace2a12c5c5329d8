"""The chat app's own store: one SQLite file with its own tables (never the platform's).

Accounts, sessions, rooms and memberships, messages (room and direct), private notices,
webhook deliveries seen (for idempotency) and preservation records. One connection guarded
by a lock: the chat is small, SQLite in WAL mode is plenty, and every write is one short
transaction. Messages carry `streamed` so a message the platform has not acknowledged yet is
sent again after a restart or an overflow of the in-memory stream queue.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from childsafe.chat.config import RoomSpec

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
  id INTEGER PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  birth_year INTEGER NOT NULL,
  country TEXT NOT NULL,
  email TEXT NOT NULL DEFAULT '',
  is_parent INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  suspended_at TEXT,
  suspended_reason TEXT
);
CREATE TABLE IF NOT EXISTS sessions (
  token_hash TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_id);
CREATE TABLE IF NOT EXISTS rooms (
  slug TEXT PRIMARY KEY,
  title TEXT NOT NULL,
  audience TEXT NOT NULL,
  language TEXT NOT NULL,
  region TEXT NOT NULL,
  topic TEXT NOT NULL DEFAULT '',
  direct INTEGER NOT NULL DEFAULT 0,
  platform_id TEXT,
  badge_json TEXT,
  badge_at TEXT
);
CREATE TABLE IF NOT EXISTS members (
  room_slug TEXT NOT NULL REFERENCES rooms(slug),
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  joined_at TEXT NOT NULL,
  PRIMARY KEY (room_slug, user_id)
);
CREATE TABLE IF NOT EXISTS messages (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  room_slug TEXT REFERENCES rooms(slug),
  sender_id INTEGER REFERENCES users(id),
  recipient_id INTEGER REFERENCES users(id),
  kind TEXT NOT NULL CHECK (kind IN ('user', 'police')),
  text TEXT NOT NULL,
  label TEXT,
  agency TEXT,
  sent_at TEXT NOT NULL,
  streamed INTEGER NOT NULL DEFAULT 0,
  stream_note TEXT,
  CHECK (kind = 'police' OR sender_id IS NOT NULL),
  CHECK (kind = 'user' OR (sender_id IS NULL AND label IS NOT NULL)),
  CHECK ((room_slug IS NULL) <> (recipient_id IS NULL) OR kind = 'police')
);
CREATE INDEX IF NOT EXISTS messages_room ON messages(room_slug, seq);
CREATE INDEX IF NOT EXISTS messages_dm ON messages(sender_id, recipient_id, seq);
CREATE INDEX IF NOT EXISTS messages_unstreamed ON messages(streamed, seq);
CREATE TABLE IF NOT EXISTS notices (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  label TEXT NOT NULL,
  text TEXT NOT NULL,
  agency TEXT NOT NULL DEFAULT '',
  alert TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
  delivery_id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  received_at TEXT NOT NULL,
  outcome TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS preservations (
  id INTEGER PRIMARY KEY,
  delivery_id TEXT NOT NULL UNIQUE,
  requested_at TEXT NOT NULL,
  reason TEXT NOT NULL,
  accounts TEXT NOT NULL,
  message_count INTEGER NOT NULL,
  path TEXT NOT NULL,
  data TEXT NOT NULL
);
"""

USER_COLUMNS = ("id, username, display_name, password_hash, birth_year, country, email, "
                "is_parent, created_at, suspended_at, suspended_reason")


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    display_name: str
    password_hash: str
    birth_year: int
    country: str
    email: str
    is_parent: bool
    created_at: str
    suspended_at: str | None
    suspended_reason: str | None

    def age(self, today: datetime | None = None) -> int:
        """The declared age: this year minus the declared year of birth."""
        return (today or utcnow()).year - self.birth_year

    @property
    def is_child(self) -> bool:
        return self.age() < 18

    @property
    def suspended(self) -> bool:
        return self.suspended_at is not None


@dataclass(frozen=True, slots=True)
class Room:
    slug: str
    title: str
    audience: str
    language: str
    region: str
    topic: str
    direct: bool
    platform_id: str | None
    badge: dict[str, Any] | None
    badge_at: str | None


@dataclass(frozen=True, slots=True)
class Message:
    seq: int
    id: str
    room_slug: str | None
    sender_id: int | None
    recipient_id: int | None
    kind: str
    text: str
    label: str | None
    agency: str | None
    sent_at: str
    sender_username: str | None
    sender_name: str | None
    sender_birth_year: int | None
    recipient_username: str | None

    @property
    def is_police(self) -> bool:
        return self.kind == "police"


@dataclass(frozen=True, slots=True)
class Notice:
    id: int
    user_id: int
    label: str
    text: str
    agency: str
    alert: str
    created_at: str


_MESSAGE_SELECT = """
SELECT m.seq, m.id, m.room_slug, m.sender_id, m.recipient_id, m.kind, m.text, m.label,
       m.agency, m.sent_at, s.username, s.display_name, s.birth_year, r.username
FROM messages m LEFT JOIN users s ON s.id = m.sender_id LEFT JOIN users r ON r.id = m.recipient_id
"""


def _user(row: Iterable[Any] | None) -> User | None:
    if row is None:
        return None
    values = list(row)
    values[7] = bool(values[7])
    return User(*values)


def _message(row: Iterable[Any]) -> Message:
    return Message(*row)


def _room(row: Iterable[Any] | None) -> Room | None:
    if row is None:
        return None
    slug, title, audience, language, region, topic, direct, platform_id, badge, badge_at = row
    return Room(slug, title, audience, language, region, topic, bool(direct), platform_id,
                json.loads(badge) if badge else None, badge_at)


class UsernameTaken(ValueError):
    pass


class ChatStore:
    """Every read and write of the chat's database."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        self._last_sent: datetime | None = None
        with self._lock:
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA busy_timeout = 5000")
            self._conn.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _one(self, sql: str, params: Iterable[Any] = ()) -> Any:
        with self._lock:
            return self._conn.execute(sql, tuple(params)).fetchone()

    def _all(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        with self._lock:
            return self._conn.execute(sql, tuple(params)).fetchall()

    # --- rooms --------------------------------------------------------------------------
    def sync_rooms(self, specs: Iterable[RoomSpec]) -> None:
        """Insert or update the configured rooms (their platform id and badge are kept)."""
        with self._tx() as db:
            for spec in specs:
                db.execute("""INSERT INTO rooms (slug, title, audience, language, region, topic,
                              direct) VALUES (?, ?, ?, ?, ?, ?, ?)
                              ON CONFLICT(slug) DO UPDATE SET title=excluded.title,
                              audience=excluded.audience, language=excluded.language,
                              region=excluded.region, topic=excluded.topic,
                              direct=excluded.direct""",
                           (spec.slug, spec.title, spec.audience, spec.language, spec.region,
                            spec.topic, int(spec.direct)))

    def rooms(self, *, include_direct: bool = False) -> list[Room]:
        rows = self._all("SELECT slug, title, audience, language, region, topic, direct, "
                         "platform_id, badge_json, badge_at FROM rooms WHERE direct = 0 OR ? "
                         "ORDER BY title", (int(include_direct),))
        return [r for r in map(_room, rows) if r is not None]

    def room(self, slug: str) -> Room | None:
        return _room(self._one("SELECT slug, title, audience, language, region, topic, direct, "
                               "platform_id, badge_json, badge_at FROM rooms WHERE slug = ?",
                               (slug,)))

    def direct_room(self) -> Room | None:
        return _room(self._one("SELECT slug, title, audience, language, region, topic, direct, "
                               "platform_id, badge_json, badge_at FROM rooms WHERE direct = 1 "
                               "ORDER BY slug LIMIT 1"))

    def set_platform_id(self, slug: str, platform_id: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE rooms SET platform_id = ? WHERE slug = ?", (platform_id, slug))

    def set_badge(self, slug: str, badge: dict[str, Any] | None, at: datetime) -> None:
        with self._tx() as db:
            db.execute("UPDATE rooms SET badge_json = ?, badge_at = ? WHERE slug = ?",
                       (json.dumps(badge) if badge is not None else None, iso(at), slug))

    def room_by_platform_id(self, platform_id: str) -> Room | None:
        row = self._one("SELECT slug FROM rooms WHERE platform_id = ?", (platform_id,))
        return self.room(row[0]) if row else None

    def join(self, slug: str, user_id: int) -> None:
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO members (room_slug, user_id, joined_at) "
                       "VALUES (?, ?, ?)", (slug, user_id, iso(utcnow())))

    def leave(self, slug: str, user_id: int) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM members WHERE room_slug = ? AND user_id = ?", (slug, user_id))

    def is_member(self, slug: str, user_id: int) -> bool:
        return self._one("SELECT 1 FROM members WHERE room_slug = ? AND user_id = ?",
                         (slug, user_id)) is not None

    def members(self, slug: str, limit: int = 200) -> list[str]:
        rows = self._all("SELECT u.username FROM members m JOIN users u ON u.id = m.user_id "
                         "WHERE m.room_slug = ? ORDER BY u.username LIMIT ?", (slug, limit))
        return [r[0] for r in rows]

    def member_count(self, slug: str) -> int:
        return int(self._one("SELECT count(*) FROM members WHERE room_slug = ?", (slug,))[0])

    # --- accounts -----------------------------------------------------------------------
    def create_user(self, username: str, display_name: str, password_hash: str, birth_year: int,
                    country: str, email: str = "", is_parent: bool = False) -> User:
        try:
            with self._tx() as db:
                cursor = db.execute(
                    "INSERT INTO users (username, display_name, password_hash, birth_year, "
                    "country, email, is_parent, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (username, display_name, password_hash, birth_year, country, email,
                     int(is_parent), iso(utcnow())))
        except sqlite3.IntegrityError as exc:
            raise UsernameTaken(username) from exc
        user = self.user(int(cursor.lastrowid or 0))
        assert user is not None
        return user

    def user(self, user_id: int) -> User | None:
        return _user(self._one(f"SELECT {USER_COLUMNS} FROM users WHERE id = ?",  # noqa: S608
                               (user_id,)))

    def user_by_name(self, username: str) -> User | None:
        return _user(self._one(f"SELECT {USER_COLUMNS} FROM users WHERE username = ?",  # noqa: S608
                               (username,)))

    def users(self, limit: int = 200) -> list[User]:
        rows = self._all(f"SELECT {USER_COLUMNS} FROM users ORDER BY username LIMIT ?",  # noqa: S608
                         (limit,))
        return [u for u in map(_user, rows) if u is not None]

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))

    def suspend(self, user_id: int, reason: str, at: datetime) -> int:
        """Suspend the account and end its sessions; returns the sessions ended."""
        with self._tx() as db:
            db.execute("UPDATE users SET suspended_at = coalesce(suspended_at, ?), "
                       "suspended_reason = ? WHERE id = ?", (iso(at), reason[:500], user_id))
            return db.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,)).rowcount

    def unsuspend(self, user_id: int) -> None:
        with self._tx() as db:
            db.execute("UPDATE users SET suspended_at = NULL, suspended_reason = NULL "
                       "WHERE id = ?", (user_id,))

    # --- sessions -----------------------------------------------------------------------
    def new_session(self, user_id: int, hours: int) -> str:
        token = secrets.token_urlsafe(32)
        now = utcnow()
        with self._tx() as db:
            db.execute("DELETE FROM sessions WHERE expires_at < ?", (iso(now),))
            db.execute("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) "
                       "VALUES (?, ?, ?, ?)",
                       (token_hash(token), user_id, iso(now), iso(now + timedelta(hours=hours))))
        return token

    def session_user(self, token: str) -> User | None:
        """The live, unsuspended account of a session token, or None."""
        if not token or len(token) > 100:
            return None
        row = self._one("SELECT user_id, expires_at FROM sessions WHERE token_hash = ?",
                        (token_hash(token),))
        if row is None or parse_iso(row[1]) < utcnow():
            return None
        user = self.user(int(row[0]))
        return None if user is None or user.suspended else user

    def end_session(self, token: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash(token),))

    def session_count(self, user_id: int) -> int:
        return int(self._one("SELECT count(*) FROM sessions WHERE user_id = ?", (user_id,))[0])

    # --- messages -----------------------------------------------------------------------
    def _next_sent_at(self) -> datetime:
        """Now, but never earlier than the message before (the platform wants order)."""
        now = utcnow()
        if self._last_sent is None:
            row = self._conn.execute("SELECT max(sent_at) FROM messages").fetchone()
            self._last_sent = parse_iso(row[0]) if row and row[0] else now
        if now <= self._last_sent:
            now = self._last_sent + timedelta(microseconds=1)
        self._last_sent = now
        return now

    def add_message(self, *, text: str, sender_id: int | None = None, room_slug: str | None = None,
                    recipient_id: int | None = None, police_label: str | None = None,
                    agency: str | None = None, streamed: bool = False) -> Message:
        """Store one message with a fresh unique id and timestamp. Users' messages are always
        kind `user`: only `police_label` (set by the webhook handler alone) makes a police
        message, and a police message has no sender."""
        kind = "police" if police_label is not None else "user"
        if kind == "user" and sender_id is None:
            raise ValueError("a user message needs its sender")
        message_id = "m_" + secrets.token_hex(10)
        with self._tx() as db:
            sent_at = self._next_sent_at()
            cursor = db.execute(
                "INSERT INTO messages (id, room_slug, sender_id, recipient_id, kind, text, label, "
                "agency, sent_at, streamed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (message_id, room_slug, None if kind == "police" else sender_id, recipient_id,
                 kind, text, police_label, agency, iso(sent_at), int(streamed or kind == "police")))
            seq = cursor.lastrowid
        row = self._one(_MESSAGE_SELECT + "WHERE m.seq = ?", (seq,))
        return _message(row)

    def message(self, message_id: str) -> Message | None:
        row = self._one(_MESSAGE_SELECT + "WHERE m.id = ?", (message_id,))
        return _message(row) if row else None

    def room_messages(self, slug: str, limit: int = 100) -> list[Message]:
        rows = self._all(_MESSAGE_SELECT + "WHERE m.room_slug = ? ORDER BY m.seq DESC LIMIT ?",
                         (slug, limit))
        return [_message(r) for r in reversed(rows)]

    def direct_messages(self, a: int, b: int, limit: int = 100) -> list[Message]:
        rows = self._all(_MESSAGE_SELECT + "WHERE m.room_slug IS NULL AND ((m.sender_id = ? AND "
                         "m.recipient_id = ?) OR (m.sender_id = ? AND m.recipient_id = ?)) "
                         "ORDER BY m.seq DESC LIMIT ?", (a, b, b, a, limit))
        return [_message(r) for r in reversed(rows)]

    def partners(self, user_id: int) -> list[str]:
        """Usernames this account has direct conversations with, most recent first."""
        rows = self._all("""SELECT u.username, max(m.seq) AS last FROM messages m
                            JOIN users u ON u.id = CASE WHEN m.sender_id = ? THEN m.recipient_id
                                                        ELSE m.sender_id END
                            WHERE m.room_slug IS NULL AND m.kind = 'user'
                              AND (m.sender_id = ? OR m.recipient_id = ?)
                            GROUP BY u.username ORDER BY last DESC LIMIT 50""",
                         (user_id, user_id, user_id))
        return [r[0] for r in rows]

    def unstreamed(self, limit: int) -> list[Message]:
        rows = self._all(_MESSAGE_SELECT + "WHERE m.streamed = 0 ORDER BY m.seq LIMIT ?",
                         (limit,))
        return [_message(r) for r in rows]

    def mark_streamed(self, ids: Iterable[str], note: str | None = None) -> None:
        ids = list(ids)
        with self._tx() as db:
            db.executemany("UPDATE messages SET streamed = 1, stream_note = ? WHERE id = ?",
                           [(note, i) for i in ids])

    def unstreamed_count(self) -> int:
        return int(self._one("SELECT count(*) FROM messages WHERE streamed = 0")[0])

    def messages_for_accounts(self, user_ids: Iterable[int], message_ids: Iterable[str],
                              limit: int = 10_000) -> list[Message]:
        users, mids = list(user_ids), list(message_ids)
        clauses: list[str] = []
        params: list[Any] = []
        if users:
            marks = ",".join("?" * len(users))
            clauses.append(f"m.sender_id IN ({marks}) OR m.recipient_id IN ({marks})")
            params += users + users
        if mids:
            clauses.append(f"m.id IN ({','.join('?' * len(mids))})")
            params += mids
        if not clauses:
            return []
        rows = self._all(_MESSAGE_SELECT + "WHERE " + " OR ".join(f"({c})" for c in clauses)
                         + " ORDER BY m.seq LIMIT ?", [*params, limit])
        return [_message(r) for r in rows]

    # --- notices (private advice from officers) -----------------------------------------
    def add_notice(self, user_id: int, label: str, text: str, agency: str, alert: str) -> Notice:
        with self._tx() as db:
            cursor = db.execute("INSERT INTO notices (user_id, label, text, agency, alert, "
                                "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                                (user_id, label, text, agency, alert, iso(utcnow())))
        return Notice(int(cursor.lastrowid or 0), user_id, label, text, agency, alert,
                      iso(utcnow()))

    def notices(self, user_id: int, limit: int = 20) -> list[Notice]:
        rows = self._all("SELECT id, user_id, label, text, agency, alert, created_at FROM notices "
                         "WHERE user_id = ? ORDER BY id DESC LIMIT ?", (user_id, limit))
        return [Notice(*r) for r in rows]

    # --- webhook deliveries and preservation --------------------------------------------
    def claim_delivery(self, delivery_id: str, kind: str) -> bool:
        """Record a webhook delivery; False if it was seen before (a repeat)."""
        with self._tx() as db:
            cursor = db.execute("INSERT OR IGNORE INTO deliveries (delivery_id, type, received_at, "
                                "outcome) VALUES (?, ?, ?, 'received')",
                                (delivery_id, kind, iso(utcnow())))
            return cursor.rowcount == 1

    def set_delivery_outcome(self, delivery_id: str, outcome: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE deliveries SET outcome = ? WHERE delivery_id = ?",
                       (outcome[:200], delivery_id))

    def forget_delivery(self, delivery_id: str) -> None:
        """The delivery failed to apply: let the platform's retry apply it."""
        with self._tx() as db:
            db.execute("DELETE FROM deliveries WHERE delivery_id = ?", (delivery_id,))

    def delivery(self, delivery_id: str) -> tuple[str, str] | None:
        row = self._one("SELECT type, outcome FROM deliveries WHERE delivery_id = ?",
                        (delivery_id,))
        return (row[0], row[1]) if row else None

    def add_preservation(self, delivery_id: str, reason: str, accounts: list[str],
                         messages: int, path: str, data: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO preservations (delivery_id, requested_at, reason, "
                       "accounts, message_count, path, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (delivery_id, iso(utcnow()), reason, json.dumps(accounts), messages, path,
                        json.dumps(data, sort_keys=True)))

    def preservations(self) -> list[dict[str, Any]]:
        rows = self._all("SELECT delivery_id, requested_at, reason, accounts, message_count, path "
                         "FROM preservations ORDER BY id")
        return [{"delivery_id": r[0], "requested_at": r[1], "reason": r[2],
                 "accounts": json.loads(r[3]), "message_count": r[4], "path": r[5]}
                for r in rows]
