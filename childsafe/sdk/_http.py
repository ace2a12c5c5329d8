"""What the sync and async clients share: headers, retry decisions, reading answers."""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from childsafe.sdk._calls import Call
from childsafe.sdk.errors import ChildsafeError, TransportError, from_problem

T = TypeVar("T")
VERSION = "1.0.0"
USER_AGENT = f"childsafe-sdk-python/{VERSION}"
RETRY_STATUSES = frozenset({429, 503})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries apply only to idempotent calls (reads, room registration, message batches),
    on 429 and 503 answers and on network errors. The wait doubles from `backoff` up to
    `max_backoff` (with jitter) unless the platform sends Retry-After, which is honoured; a
    Retry-After longer than `max_wait` is not waited for: the error is raised at once, with
    `retry_after` set, so the caller decides."""

    retries: int = 2
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_wait: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before retry number `attempt` (1-based), or None: give up."""
        if attempt > self.retries:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_wait else None
        base = min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))
        return base / 2 + random.uniform(0, base / 2)  # noqa: S311 - jitter, not a secret


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def headers(api_key: str | None, authenticated: bool) -> dict[str, str]:
    out = {"user-agent": USER_AGENT, "accept": "application/json"}
    if authenticated:
        if not api_key:
            raise ChildsafeError("This call needs an API key (Client(api_key=...)).",
                                 code="no_api_key")
        out["authorization"] = f"Bearer {api_key}"
    return out


def request_args(call: Call[Any], api_key: str | None) -> dict[str, Any]:
    args: dict[str, Any] = {"headers": headers(api_key, call.authenticated) | dict(call.headers)}
    if call.json is not None:
        args["json"] = call.json
    if call.params:
        args["params"] = dict(call.params)
    if call.files:
        args["files"] = call.files
    if call.data:
        args["data"] = dict(call.data)
    return args


def should_retry(call: Call[Any], response: httpx.Response | None) -> bool:
    if not call.idempotent:
        return False
    return response is None or response.status_code in RETRY_STATUSES


def transport_error(exc: httpx.HTTPError, call: Call[Any]) -> TransportError:
    return TransportError(f"{call.method} {call.path}: {type(exc).__name__}: {exc}",
                          code="network_error")


def read(call: Call[T], response: httpx.Response) -> T:
    """The parsed answer, or the ChildsafeError it stands for."""
    if response.status_code >= 400:
        raise error_of(response)
    if response.status_code == 204 or not response.content:
        return call.parse(None)
    try:
        doc = response.json()
    except ValueError:
        raise ChildsafeError(f"{call.method} {call.path}: the answer is not JSON",
                             status=response.status_code, code="bad_response") from None
    return call.parse(doc)


def error_of(response: httpx.Response) -> ChildsafeError:
    retry_after = retry_after_seconds(response.headers.get("retry-after"))
    body: Any = None
    kind = response.headers.get("content-type", "")
    if "json" in kind:
        try:
            body = response.json()
        except ValueError:
            body = None
    return from_problem(response.status_code, body, response.text if body is None else "",
                        retry_after)
