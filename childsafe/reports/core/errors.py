"""Errors of report intake.

User-caused problems subclass the platform's `DomainError`, so the web layer translates them in
one place; their `detail` is safe to show. `FlowError` is different: broken packaged data is a
bug of ours, raised at load so it never reaches a reporter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from childsafe.core.errors import InvalidInput


class FlowError(ValueError):
    """A flow or tip file is malformed; the message names the file part at fault."""

    def __init__(self, problems: Sequence[str], *, source: str = "flow") -> None:
        self.problems = tuple(problems)
        lines = "\n  - ".join(self.problems)
        super().__init__(f"{source} is invalid:\n  - {lines}")


class AnswerError(InvalidInput):
    """One answer is unusable; `field` is the question id, `detail` is in the reporter's language."""

    def __init__(self, field: str, detail: str, *, reason: str = "invalid") -> None:
        super().__init__(detail, field=field)
        self.reason = reason

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field or "", "reason": self.reason, "detail": self.detail}


class AnswersInvalid(InvalidInput):
    """A complete answer set (API) failed; every problem is listed at once."""

    def __init__(self, errors: Sequence[AnswerError]) -> None:
        self.errors = tuple(errors)
        first = self.errors[0].detail if self.errors else "The answers are not valid."
        super().__init__(first)

    def as_list(self) -> list[dict[str, str]]:
        return [e.as_dict() for e in self.errors]


@dataclass(frozen=True, slots=True)
class FieldProblem:
    field: str
    reason: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason, "detail": self.detail}


class IdentityInvalid(InvalidInput):
    """The reporter's details failed; all field problems at once, in the reporter's language."""

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__(self.problems[0].detail if self.problems else "Invalid details.",
                         field=self.problems[0].field if self.problems else None)

    def as_list(self) -> list[dict[str, str]]:
        return [p.as_dict() for p in self.problems]


EVIDENCE_STATUS = {"too_large": 413, "unsupported_type": 415, "type_mismatch": 415}


class EvidenceRejected(InvalidInput):
    """Evidence refused at receipt; `code` is specific (too_large, unsupported_type, ...).

    The code is an instance attribute so the web layer's problem type names the exact reason.
    """

    def __init__(self, code: str, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail, field=field)
        self.code = code
        self.status = EVIDENCE_STATUS.get(code, 422)


class VerificationFailed(InvalidInput):
    """A verification code or link did not verify; `reason` says why (wrong, expired, locked)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail, field="code")
        self.reason = reason
