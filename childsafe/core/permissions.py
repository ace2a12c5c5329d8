"""Roles and the permissions they grant, named `scope:resource:action`.

Every web route declares one permission (or `public`); a test fails for any route without.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    AGENCY_ADMIN = "agency-admin"
    LIST_EDITOR = "list-editor"
    PLATFORM_ADMIN = "platform-admin"


class Permission(StrEnum):
    CONSOLE_VIEW = "agency:console:view"
    CASE_READ = "agency:case:read"
    CASE_WRITE = "agency:case:write"
    CASE_SHARE = "agency:case:share"
    CASE_EXPORT = "agency:case:export"
    EVIDENCE_READ = "agency:evidence:read"
    USER_READ = "agency:user:read"
    USER_MANAGE = "agency:user:manage"
    AUDIT_READ = "agency:audit:read"
    WATCH_VIEW = "agency:watch:view"  # alerts, conversations of watched rooms, roster
    WATCH_ACT = "agency:watch:act"  # acknowledge, dismiss, intervene, open a case
    WATCH_MANAGE = "agency:watch:manage"  # rooms monitored, shifts, thresholds
    LIST_READ = "list:entry:read"
    LIST_WRITE = "list:entry:write"
    LIST_PUBLISH = "list:snapshot:publish"
    AGENCY_MANAGE = "platform:agency:manage"
    PROVIDER_MANAGE = "platform:provider:manage"
    PLATFORM_AUDIT = "platform:audit:verify"
    # Provider API keys carry these scopes.
    PROVIDER_REPORT_WRITE = "provider:report:write"
    PROVIDER_EVIDENCE_WRITE = "provider:evidence:write"
    PROVIDER_ROOM_WRITE = "provider:room:write"
    PROVIDER_MESSAGE_WRITE = "provider:message:write"
    PROVIDER_INTERVENTION_READ = "provider:intervention:read"


PROVIDER_SCOPES: frozenset[Permission] = frozenset(
    p for p in Permission if p.value.startswith("provider:"))

_OFFICER = {Permission.CONSOLE_VIEW, Permission.CASE_READ, Permission.CASE_WRITE,
            Permission.EVIDENCE_READ, Permission.USER_READ, Permission.WATCH_VIEW,
            Permission.WATCH_ACT}
_SUPERVISOR = _OFFICER | {Permission.CASE_SHARE, Permission.CASE_EXPORT, Permission.AUDIT_READ,
                          Permission.WATCH_MANAGE}
# Agency admins staff the roster and choose rooms, but read no conversation.
_AGENCY_ADMIN = {Permission.CONSOLE_VIEW, Permission.USER_READ, Permission.USER_MANAGE,
                 Permission.AUDIT_READ, Permission.WATCH_MANAGE}
_LIST_EDITOR = {Permission.CONSOLE_VIEW, Permission.LIST_READ, Permission.LIST_WRITE,
                Permission.LIST_PUBLISH}
# Platform admins run the platform; they deliberately do not read cases or evidence.
_PLATFORM_ADMIN = {Permission.CONSOLE_VIEW, Permission.AGENCY_MANAGE, Permission.PROVIDER_MANAGE,
                   Permission.PLATFORM_AUDIT, Permission.USER_READ, Permission.USER_MANAGE,
                   Permission.AUDIT_READ}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OFFICER: frozenset(_OFFICER),
    Role.SUPERVISOR: frozenset(_SUPERVISOR),
    Role.AGENCY_ADMIN: frozenset(_AGENCY_ADMIN),
    Role.LIST_EDITOR: frozenset(_LIST_EDITOR),
    Role.PLATFORM_ADMIN: frozenset(_PLATFORM_ADMIN),
}


def permissions_for(roles: set[Role] | frozenset[Role]) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[role]
    return frozenset(granted)


def parse_roles(values: list[str] | str) -> frozenset[Role]:
    """Parse role names (comma separated or a list); raise ValueError naming the bad one."""
    items = values.split(",") if isinstance(values, str) else values
    roles = set()
    for item in (v.strip() for v in items):
        if not item:
            continue
        try:
            roles.add(Role(item))
        except ValueError:
            valid = ", ".join(r.value for r in Role)
            raise ValueError(f"unknown role {item!r}; choose from {valid}") from None
    if not roles:
        raise ValueError("at least one role is required")
    return frozenset(roles)


def parse_scopes(values: list[str] | str) -> frozenset[Permission]:
    items = values.split(",") if isinstance(values, str) else values
    scopes = set()
    for item in (v.strip() for v in items):
        if not item:
            continue
        try:
            perm = Permission(item)
        except ValueError:
            perm = None
        if perm is None or perm not in PROVIDER_SCOPES:
            valid = ", ".join(sorted(p.value for p in PROVIDER_SCOPES))
            raise ValueError(f"unknown provider scope {item!r}; choose from {valid}")
        scopes.add(perm)
    if not scopes:
        raise ValueError("at least one scope is required")
    return frozenset(scopes)
