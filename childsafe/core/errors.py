"""Domain exceptions: raised by the core and stores, translated to HTTP in one place (web/problems)."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a user can cause; carries a stable code and a safe message.

    The message is shown to the user as is, so it must never contain secrets or internals.
    """

    code = "error"
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class NotFound(DomainError):
    """Also what a caller gets for another agency's object: existence must not leak."""

    code = "not_found"
    status = 404
    title = "Not found"


class InvalidInput(DomainError):
    code = "invalid_input"
    status = 422
    title = "Invalid input"


class Conflict(DomainError):
    code = "conflict"
    status = 409
    title = "Conflict"


class AuthenticationFailed(DomainError):
    code = "authentication_failed"
    status = 401
    title = "Authentication failed"


class AccountLocked(AuthenticationFailed):
    code = "account_locked"
    title = "Account locked"


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403
    title = "Forbidden"


class CryptoError(DomainError):
    """Decryption failed: wrong key, tampered ciphertext or a value bound to another record."""

    code = "crypto_error"
    status = 500
    title = "Encrypted data could not be read"
