"""Who is acting: an officer (via a console session) or a provider (via an API key)."""

from __future__ import annotations

from dataclasses import dataclass

from childsafe.core.permissions import Permission, Role, permissions_for


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated officer; every tenant-scoped query takes one of these."""

    user_id: int
    username: str
    display_name: str
    agency_id: int
    agency_code: str
    roles: frozenset[Role]

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_for(self.roles)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions


@dataclass(frozen=True, slots=True)
class ProviderPrincipal:
    provider_id: int
    name: str
    key_id: str
    scopes: frozenset[Permission]

    def can(self, permission: Permission) -> bool:
        return permission in self.scopes
