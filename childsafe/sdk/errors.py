"""Errors raised by the SDK.

Every failure is a `ChildsafeError`. An error answer of the platform (RFC 9457
`application/problem+json`) becomes one with the answer's `status`, stable `code`, `title`,
`detail` and per-field `errors`; a subclass per common status lets callers catch what they
handle (`NotFoundError`, `ValidationError`, ...). Errors found locally (a webhook whose
signature does not verify, a network failure) have `status` None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "AuthenticationError", "ChildsafeError", "ConflictError", "FieldError", "NotFoundError",
    "PermissionDeniedError", "RateLimitedError", "ServerError", "TransportError",
    "ValidationError", "WebhookVerificationError",
]


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field of a request, e.g. `messages[3].sent_at`."""

    field: str | None
    message: str
    reason: str | None = None


class ChildsafeError(Exception):
    """A call to the platform failed, or a webhook did not verify.

    Attributes:
        status: HTTP status of the platform's answer (None for local errors).
        code: stable machine-readable code (`invalid_input`, `not_found`, `rate_limited`,
            `authentication_failed`, `bad_signature`, `stale`, `network_error`, ...).
        title: short human summary.
        detail: the explanation, safe to log (never a secret).
        errors: per-field problems of invalid input.
        retry_after: seconds the platform asked to wait before trying again, if it did.
    """

    def __init__(self, detail: str, *, status: int | None = None, code: str = "error",
                 title: str = "", errors: list[FieldError] | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.title = title or code.replace("_", " ").capitalize()
        self.detail = detail
        self.errors: list[FieldError] = list(errors or [])
        self.retry_after = retry_after

    @property
    def fields(self) -> dict[str, str]:
        """Field name → first message, for showing errors next to form inputs."""
        found: dict[str, str] = {}
        for error in self.errors:
            if error.field and error.field not in found:
                found[error.field] = error.message
        return found

    def __str__(self) -> str:
        head = f"{self.status} {self.code}" if self.status else self.code
        return f"{head}: {self.detail}"

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
                f"detail={self.detail!r}, errors={self.errors!r})")


class AuthenticationError(ChildsafeError):
    """401: the API key is missing, malformed, revoked, or its provider is disabled."""


class PermissionDeniedError(ChildsafeError):
    """403: the key lacks the scope the endpoint needs (e.g. `provider:room:write`)."""


class NotFoundError(ChildsafeError):
    """404: no such object, or it belongs to another provider."""


class ConflictError(ChildsafeError):
    """409: e.g. a message id sent before with other content (`message_conflict`)."""


class ValidationError(ChildsafeError):
    """422: the request was refused; `errors` names each field at fault."""


class RateLimitedError(ChildsafeError):
    """429: too many requests; `retry_after` says how long to wait, when known."""


class ServerError(ChildsafeError):
    """5xx: the platform failed or is unavailable; safe to retry idempotent calls later."""


class TransportError(ChildsafeError):
    """No answer: the platform could not be reached, or the connection broke (`network_error`)."""


class WebhookVerificationError(ChildsafeError):
    """A webhook delivery is not authentic (`bad_signature`), too old or too far ahead
    (`stale`), lacks a header (`missing_header`) or is not a JSON event (`bad_payload`).
    Answer such a request with 400/401 and do not act on it."""


_BY_STATUS: dict[int, type[ChildsafeError]] = {
    401: AuthenticationError, 403: PermissionDeniedError, 404: NotFoundError,
    409: ConflictError, 413: ValidationError, 415: ValidationError, 422: ValidationError,
    429: RateLimitedError,
}

_CODES = {400: "bad_request", 401: "authentication_failed", 403: "permission_denied",
          404: "not_found", 405: "method_not_allowed", 409: "conflict", 413: "too_large",
          415: "unsupported_media_type", 422: "invalid_input", 429: "rate_limited",
          500: "internal_error", 502: "bad_gateway", 503: "unavailable", 504: "timeout"}


def error_class(status: int) -> type[ChildsafeError]:
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return ServerError if status >= 500 else ChildsafeError


def from_problem(status: int, body: Any, text: str, retry_after: float | None) -> ChildsafeError:
    """Build the error for an HTTP answer: from problem+json when it is one, else from the
    status and (a bounded part of) the body text."""
    cls = error_class(status)
    if isinstance(body, dict):
        raw_errors = body.get("errors")
        errors = [FieldError(field=str(e["field"]) if e.get("field") is not None else None,
                             message=str(e.get("message") or e.get("detail") or ""),
                             reason=str(e["reason"]) if e.get("reason") is not None else None)
                  for e in raw_errors if isinstance(e, dict)] if isinstance(raw_errors, list) else []
        detail = body.get("detail")
        return cls(str(detail) if detail else f"HTTP {status}", status=status,
                   code=str(body.get("code") or _CODES.get(status, "error")),
                   title=str(body.get("title") or ""), errors=errors, retry_after=retry_after)
    snippet = " ".join(text.split())[:300]
    return cls(snippet or f"HTTP {status}", status=status, code=_CODES.get(status, "error"),
               retry_after=retry_after)
