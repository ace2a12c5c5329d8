"""The JSON API (v1). OpenAPI at /api/openapi.json, human reference at /api/docs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from sqlalchemy.orm import Session

from childsafe.core.permissions import Permission
from childsafe.core.principal import Principal, ProviderPrincipal
from childsafe.store import accounts, agencies, cases
from childsafe.store.models import UserRow
from childsafe.web import schemas
from childsafe.web.deps import DbSession, ip_of, now_of, public, requires, requires_provider

router = APIRouter(prefix="/api/v1", responses=schemas.ERRORS)
Country = Annotated[str, Path(min_length=2, max_length=2, pattern="^[A-Za-z]{2}$",
                              description="ISO 3166-1 alpha-2 code")]


@router.get("/agencies", response_model=list[schemas.AgencyOut], tags=["agencies"],
            dependencies=[public()], summary="List member agencies")
def list_agencies(session: Session = DbSession) -> Any:
    """Every Virtual Global Taskforce member agency and the INTERPOL fallback."""
    return agencies.list_agencies(session)


@router.get("/routing/{country}", response_model=schemas.RouteOut, tags=["agencies"],
            dependencies=[public()], summary="Which agency receives reports from a country")
def route(country: Country, session: Session = DbSession) -> Any:
    """Countries without a member agency are routed to INTERPOL (`fallback: true`)."""
    jurisdiction, agency = agencies.route_country(session, country)
    return schemas.RouteOut(country=jurisdiction.country, agency_code=agency.code,
                            agency_name=agency.name,
                            emergency_number=jurisdiction.emergency_number,
                            help_line=jurisdiction.help_line, fallback=agency.is_fallback)


@router.get("/me", response_model=schemas.MeOut, tags=["officers"], summary="Who am I")
def me(principal: Principal = requires(Permission.CONSOLE_VIEW)) -> Any:
    """The officer behind the console session cookie, with roles and permissions."""
    return schemas.MeOut(username=principal.username, display_name=principal.display_name,
                         agency=principal.agency_code,
                         roles=sorted(r.value for r in principal.roles),
                         permissions=sorted(p.value for p in principal.permissions))


@router.get("/cases", response_model=list[schemas.CaseOut], tags=["cases"],
            summary="The agency's case queue")
def list_cases(principal: Principal = requires(Permission.CASE_READ),
               session: Session = DbSession) -> Any:
    """Cases owned by or shared with the caller's agency, most urgent first."""
    return cases.list_cases(session, principal)


@router.get("/queue", response_model=schemas.QueueOut, tags=["cases"],
            summary="Size of the agency's open queue")
def queue(request: Request, principal: Principal = requires(Permission.CASE_READ),
          session: Session = DbSession) -> Any:
    """Open cases visible to the caller's agency, by priority, and how many are past their SLA."""
    return cases.queue_summary(session, principal, now_of(request))


@router.get("/cases/{case_id}", response_model=schemas.CaseOut, tags=["cases"],
            summary="One case (audited)")
def get_case(request: Request, case_id: Annotated[str, Path(max_length=36)],
             principal: Principal = requires(Permission.CASE_READ),
             session: Session = DbSession) -> Any:
    """Another agency's case answers 404 exactly like a missing one. Every read is audited."""
    return cases.get_case(session, principal, case_id, ip=ip_of(request))


@router.get("/officers", response_model=list[schemas.OfficerOut], tags=["officers"],
            summary="Officers of my agency")
def list_officers(principal: Principal = requires(Permission.USER_READ),
                  session: Session = DbSession) -> Any:
    return accounts.list_users(session, principal.agency_id)


@router.get("/officers/{user_id}", response_model=schemas.OfficerOut, tags=["officers"],
            summary="One officer of my agency")
def get_officer(user_id: schemas.RowId, principal: Principal = requires(Permission.USER_READ),
                session: Session = DbSession) -> UserRow:
    return accounts.get_user_scoped(session, principal, user_id)


@router.get("/provider/me", response_model=schemas.ProviderMeOut, tags=["providers"],
            summary="Which provider and scopes an API key carries")
def provider_me(provider: ProviderPrincipal = requires_provider(None)) -> Any:
    """Authenticate with `Authorization: Bearer csk_…`; useful to check a key is set up."""
    return schemas.ProviderMeOut(provider=provider.name, key_id=provider.key_id,
                                 scopes=sorted(s.value for s in provider.scopes))
