"""API schemas: the public contract, separate from rows and domain types."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

# Row ids are 64-bit integers. A larger number is refused here (422) instead of reaching the
# store, where it overflows the column (SQLite, PostgreSQL bigint) and would answer 500.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class Problem(BaseModel):
    """RFC 9457 problem details; `errors` lists per-field messages for invalid input."""

    type: str = Field(description="URI reference naming the problem type, e.g. /problems/not_found")
    title: str
    status: int
    detail: str
    code: str = Field(description="Stable machine-readable code")
    instance: str | None = None
    errors: list[dict[str, str | None]] | None = Field(
        None, description="One entry per problem: field, message, reason")


class AgencyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str = Field(examples=["UK-NCA-CEOP"])
    name: str
    emergency_number: str
    help_line: str
    is_fallback: bool = Field(description="True for INTERPOL, which receives every country "
                                          "without a member agency")


class RouteOut(BaseModel):
    country: str = Field(examples=["GB"])
    agency_code: str
    agency_name: str
    emergency_number: str
    help_line: str
    fallback: bool


class MeOut(BaseModel):
    username: str
    display_name: str
    agency: str
    roles: list[str]
    permissions: list[str]


class CaseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    reference: str = Field(examples=["CS-ABCD-2345"])
    title: str
    status: str
    priority: str | None
    source: str
    country: str | None
    created_at: datetime
    updated_at: datetime


class QueueOut(BaseModel):
    open: int
    by_priority: dict[str, int]
    past_sla: int


class OfficerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    username: str
    display_name: str
    roles: str
    disabled: bool


class ProviderMeOut(BaseModel):
    provider: str
    key_id: str
    scopes: list[str]


class Health(BaseModel):
    status: str
    checks: dict[str, str] = Field(default_factory=dict)


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Not authenticated"},
    403: {"model": Problem, "description": "Authenticated but not allowed"},
    404: {"model": Problem, "description": "Absent, or owned by another agency"},
    422: {"model": Problem, "description": "Invalid input"},
}
