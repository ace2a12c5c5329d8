"""How one cell of the matrix is requested and judged (shared by the SQLite and PostgreSQL
modules). See `matrix.py` for the rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from childsafe.core.permissions import Permission, Role, permissions_for
from childsafe.web.deps import _api_routes, rule_of
from tests.isolation.matrix import Op
from tests.isolation.world import OFFICERS, PROVIDERS, World, missing, provider_name

ALLOWED = {200, 201, 202, 204, 303}
# Refusals found by the matrix and owned by engineers who are finishing that code: the cell is
# an expected failure (strict, so it turns red the day it is fixed and the entry must go).
# (op id, actor) → reason. Empty: every gap found was fixed.
KNOWN_GAPS: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Rule:
    kind: str  # officer | provider | public
    permission: Permission | None


def _rules_of(dependant: Any) -> list[Any]:
    found = []
    for dep in dependant.dependencies:
        rule = rule_of(dep)
        if rule is not None:
            found.append(rule)
        found.extend(_rules_of(dep))
    return found


def route_rules(app: Any) -> dict[tuple[str, str], Rule]:
    rules = {}
    for route in _api_routes(app.routes):
        if not isinstance(route, APIRoute):
            continue
        (rule,) = _rules_of(route.dependant)
        for method in route.methods:
            rules[(method, route.path)] = Rule(rule.kind, rule.permission)
    return rules


def audit_actor(actor: str) -> str:
    return f"provider:{provider_name(actor)}" if actor in PROVIDERS else actor


def holds(actor: str, op: Op, rule: Rule) -> bool:
    """Whether the actor holds what the route asks for (its rule, and any extra check)."""
    if actor in PROVIDERS:
        return True  # both keys carry every scope: only ownership separates them
    granted = permissions_for({Role(OFFICERS[actor][1])})
    if rule.permission is not None and rule.permission not in granted:
        return False
    return not op.also_needs or any(p in granted for p in op.also_needs)


def expectation(op: Op, actor: str, rule: Rule) -> str:
    """allowed | login | 403 | 404 | 403/404 (see matrix.py)."""
    if rule.kind == "officer" and actor not in OFFICERS:
        return "login"
    if rule.kind == "provider" and actor not in PROVIDERS:
        return "login"
    if actor in op.entitled:
        assert holds(actor, op, rule), f"table error: {actor} entitled without the permission"
        return "allowed"
    if not holds(actor, op, rule) or not op.hide:
        return "403"
    return "403/404" if actor in op.visible else "404"


def send(world: World, op: Op, actor: str, params: dict[str, str]) -> httpx.Response:
    client = world.clients[actor]
    url = op.path.format(**(params | op.params))
    kwargs: dict[str, Any] = op.body(world, actor, params) if op.body else {}
    headers = {}
    if op.method != "GET" and actor in world.csrf:
        if "json" in kwargs:
            headers["x-csrf-token"] = world.csrf[actor]
        else:
            kwargs["data"] = {**kwargs.get("data", {}), "csrf": world.csrf[actor]}
    return client.request(op.method, url, headers=headers, follow_redirects=False, **kwargs)


def _normal(r: httpx.Response, params: dict[str, str]) -> str:
    """The body with the request's path and long ids taken out (problem+json names the
    path; short numeric ids could match anything, and pages do not echo them)."""
    text = r.text.replace(r.request.url.path, "{path}")
    for key, value in params.items():
        if len(value) >= 8:
            text = text.replace(value, "{" + key + "}")
    return text


def check_cell(world: World, op: Op, actor: str) -> None:
    rule = route_rules(world.app)[(op.method, op.path)]
    expected = expectation(op, actor, rule)
    if op.stream and expected == "allowed":
        pytest.skip("an allowed event stream never ends; its refusals are checked")
    params = (world.fresh(op.fresh) if expected == "allowed" and op.fresh
              else world.targets[op.target])
    before = world.audit_head()
    r = send(world, op, actor, params)
    where = f"{op.method} {r.request.url.path} as {actor}: {r.status_code} {r.text[:300]}"
    assert r.status_code < 500, where
    location = r.headers.get("location", "")
    if expected == "allowed":
        assert r.status_code in ALLOWED, where
        assert not location.endswith("/login"), where
        return
    assert r.status_code != 200, where
    if expected == "login":
        assert (r.status_code == 303 and location.endswith("/login")) or r.status_code == 401, \
            where
        return
    allowed_status = {int(s) for s in expected.split("/")}
    assert r.status_code in allowed_status, f"expected {expected}: {where}"
    denied = [e for e in world.audit_after(before)
              if e.outcome == "denied" and e.actor == audit_actor(actor)]
    assert denied, f"refusal not audited: {where}"
    if expected == "404":
        # Existence must not leak: the answer is the one for an object that never existed,
        # and so is the audit entry (same action and detail).
        absent = missing(params)
        before = world.audit_head()
        r2 = send(world, op, actor, absent)
        assert r2.status_code == r.status_code
        assert _normal(r2, absent) == _normal(r, params), where
        denied2 = [e for e in world.audit_after(before)
                   if e.outcome == "denied" and e.actor == audit_actor(actor)]
        assert [(e.action, e.detail) for e in denied2] == [(e.action, e.detail) for e in denied]
