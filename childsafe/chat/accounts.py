"""Sign-up and log-in rules of the chat: validation, argon2 hashes, rate limits."""

from __future__ import annotations

import re
import threading
import time
import unicodedata
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from childsafe.chat.store import ChatStore, User, UsernameTaken, utcnow

USERNAME = re.compile(r"^[a-z0-9_]{3,24}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
EMAIL = re.compile(r"^[^@\s<>\"']{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}$")
# Names that could pass for staff or the police are not given to users.
RESERVED = ("police", "admin", "moderator", "staff", "childsafe", "officer", "system", "ceop")
MIN_PASSWORD, MAX_PASSWORD = 10, 128
MAX_DISPLAY = 40
MIN_AGE, MAX_AGE = 8, 110
_hasher = PasswordHasher()
# A hash to verify against when the username is unknown, so both cases take as long.
_DUMMY_HASH = _hasher.hash("not-a-password-of-anyone")


class AccountError(ValueError):
    """A sign-up or log-in problem, phrased for the user, with the form field it concerns."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message, self.field = message, field


@dataclass(frozen=True, slots=True)
class SignUp:
    username: str
    display_name: str
    password: str
    birth_year: int
    country: str
    email: str = ""
    is_parent: bool = False


def clean_text(text: str, limit: int) -> str:
    """Normalised (NFC), control characters other than newline removed, trimmed, bounded."""
    text = unicodedata.normalize("NFC", text or "")
    text = "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch)[0] != "C"
                   or ch == "\u200d")
    return text.strip()[:limit]


def validate(form: SignUp) -> SignUp:
    username = (form.username or "").strip().lower()
    if not USERNAME.fullmatch(username):
        raise AccountError("Choose a username of 3 to 24 letters a-z, digits or _.", "username")
    if any(word in username for word in RESERVED):
        raise AccountError("That username is reserved; choose another.", "username")
    display = clean_text(form.display_name, MAX_DISPLAY).replace("\n", " ") or username
    if any(word in display.lower() for word in RESERVED):
        raise AccountError("That display name is reserved; choose another.", "display_name")
    if not MIN_PASSWORD <= len(form.password or "") <= MAX_PASSWORD:
        raise AccountError(f"The password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters.",
                           "password")
    this_year = utcnow().year
    if not this_year - MAX_AGE <= form.birth_year <= this_year - MIN_AGE:
        raise AccountError(f"Give your year of birth (you must be at least {MIN_AGE}).",
                           "birth_year")
    country = (form.country or "").strip().upper()
    if not COUNTRY.fullmatch(country):
        raise AccountError("Choose your country.", "country")
    email = (form.email or "").strip()
    if email and (len(email) > 254 or not EMAIL.fullmatch(email)):
        raise AccountError("That email address does not look right.", "email")
    return SignUp(username, display, form.password, form.birth_year, country, email,
                  bool(form.is_parent))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def sign_up(store: ChatStore, form: SignUp) -> User:
    checked = validate(form)
    try:
        return store.create_user(checked.username, checked.display_name,
                                 hash_password(checked.password), checked.birth_year,
                                 checked.country, checked.email, checked.is_parent)
    except UsernameTaken:
        raise AccountError("That username is taken; choose another.", "username") from None


def authenticate(store: ChatStore, username: str, password: str) -> User:
    """The account, or AccountError with one message whatever was wrong."""
    user = store.user_by_name((username or "").strip().lower()[:64])
    wrong = AccountError("Wrong username or password.")
    if not password or len(password) > MAX_PASSWORD:
        raise wrong
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        raise wrong from None
    if user is None:
        raise wrong
    if user.suspended:
        raise AccountError("This account is suspended.")
    if _hasher.check_needs_rehash(user.password_hash):
        store.set_password_hash(user.id, hash_password(password))
    return user


class RateLimiter:
    """A sliding window per key, in memory (the chat runs as one process)."""

    def __init__(self, limit: int, window_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self._clock = limit, window_s, clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> float:
        """Count one hit; 0 if allowed, else the seconds to wait."""
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(0.1, hits[0] + self.window - now)
            hits.append(now)
            if len(self._hits) > 50_000:  # bounded memory: forget idle keys
                for k in [k for k, v in self._hits.items() if not v][:25_000]:
                    del self._hits[k]
            return 0.0

    def reset(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)
