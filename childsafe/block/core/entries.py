"""List entries and their scopes, and the expressions each scope publishes.

Scopes and what they block (never more):

* ``page``   -- `host/path` blocks that page with any query string; `host/path?q` blocks
  only that exact query. A page whose path ends in "/" within the first three directory
  levels (or is "/") cannot be told apart from a folder or a whole host by Safe Browsing
  expressions, so it is rejected: list it as ``prefix`` or ``host`` on purpose.
* ``prefix`` -- `host/a/b` blocks `/a/b`, `/a/b?...` and everything under `/a/b/`, but never
  `/a/bc`. Published as two expressions: `host/a/b` and `host/a/b/`. At most three path
  segments, because lookups only build prefixes three directories deep.
* ``host``   -- `host` blocks every URL on the host and its subdomains. Lookups use the last
  five host labels, so for a host with more than five labels only the host itself is
  covered, not its subdomains.

A listed host with an unlisted path is never touched: nothing but these expressions is ever
published.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from childsafe.block.core.canon import InvalidURL, canonicalize
from childsafe.block.core.expressions import MAX_PATH_PREFIXES, is_ip_host

MAX_PREFIX_SEGMENTS = MAX_PATH_PREFIXES - 1
_MAX_TEXT = 500


class Scope(enum.StrEnum):
    PAGE = "page"
    PREFIX = "prefix"
    HOST = "host"


class EntryError(ValueError):
    """One entry is invalid; the message says why in words a list editor understands."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One list entry. `expression` is canonical: host + path (+ query), no scheme."""

    expression: str
    scope: Scope
    category: str
    added_by: str
    reason: str
    review_date: dt.date

    @property
    def host(self) -> str:
        return self.expression.split("/", 1)[0]

    def published_expressions(self) -> tuple[str, ...]:
        """The expressions that go into a list for this entry (see the module docstring)."""
        if self.scope is Scope.PREFIX:
            return (self.expression, self.expression + "/")
        return (self.expression,)


def _text(name: str, value: str, *, required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        raise EntryError(f"{name} is empty")
    if len(value) > _MAX_TEXT:
        raise EntryError(f"{name} is longer than {_MAX_TEXT} characters")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise EntryError(f"{name} contains control characters")
    return value


def canonical_expression(url: str, scope: Scope) -> str:
    """The canonical expression for `url` under `scope`; raises `EntryError` if unusable."""
    try:
        c = canonicalize(url)
    except InvalidURL as exc:
        raise EntryError(f"url {url!r} has no valid host ({exc})") from None
    query = c.query or None  # an empty query is looked up as no query
    if scope is Scope.HOST:
        if c.path != "/" or query is not None:
            raise EntryError("a host entry must be a bare host (no path or query)")
        return c.host + "/"
    if scope is Scope.PREFIX:
        if query is not None:
            raise EntryError("a prefix entry cannot have a query")
        path = c.path.rstrip("/")
        if not path:
            raise EntryError("a prefix entry needs a path; to block the whole host use scope=host")
        segments = path.count("/")
        if segments > MAX_PREFIX_SEGMENTS:
            raise EntryError(
                f"a prefix entry may have at most {MAX_PREFIX_SEGMENTS} path segments "
                f"(lookups build prefixes {MAX_PREFIX_SEGMENTS} directories deep); "
                "list the pages or a shorter prefix"
            )
        return c.host + path
    if query is None and c.path.endswith("/") and c.path.count("/") <= MAX_PATH_PREFIXES:
        what = "the whole host" if c.path == "/" else "a folder"
        raise EntryError(
            f"a page entry {c.host}{c.path} would also block {what}; "
            "use scope=prefix or scope=host if that is meant"
        )
    return c.host + c.path + ("" if query is None else "?" + query)


def make_entry(
    url: str,
    scope: str,
    category: str,
    added_by: str,
    reason: str,
    review_date: str | dt.date,
) -> Entry:
    """Validate one raw row into an `Entry`; raises `EntryError` naming the bad field."""
    try:
        sc = Scope((scope or "").strip().lower())
    except ValueError:
        raise EntryError(f"scope {scope!r} is not one of {', '.join(s.value for s in Scope)}") from None
    if isinstance(review_date, dt.date):
        review = review_date
    else:
        try:
            review = dt.date.fromisoformat((review_date or "").strip())
        except ValueError:
            raise EntryError(f"review_date {review_date!r} is not a date (YYYY-MM-DD)") from None
    return Entry(
        expression=canonical_expression(_text("url", url, required=True), sc),
        scope=sc,
        category=_text("category", category, required=True),
        added_by=_text("added_by", added_by, required=True),
        reason=_text("reason", reason, required=False),
        review_date=review,
    )


def listed_hosts(entries: list[Entry]) -> set[str]:
    """Hosts that own at least one entry (the pre-filter keys)."""
    return {e.host for e in entries}


def host_entry_names(entries: list[Entry]) -> list[str]:
    """Hosts listed whole, for DNS export. IP literals are left out: DNS has no name for them."""
    return sorted({e.host for e in entries if e.scope is Scope.HOST and not is_ip_host(e.host)})
