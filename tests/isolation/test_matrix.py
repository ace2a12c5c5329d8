"""The isolation matrix on SQLite: every operation on every object type × every actor.

Generated from `matrix.py` (objects, routes, who is entitled) and `world.ACTORS` (four roles
of two agencies, a platform admin, two providers' keys, anonymous). Each cell asserts the
entitled are let in, everyone else is refused with 403/404 (404 indistinguishable from a
missing object), and every refusal of a signed-in caller is in the audit log.
"""

from __future__ import annotations

import secrets

import pytest

from tests.isolation.checks import KNOWN_GAPS, check_cell, route_rules, send
from tests.isolation.matrix import COLLECTIONS, LEAKS, NOT_OBJECT_SCOPED, OPS, Op
from tests.isolation.world import ACTORS, ANONYMOUS, World


def _cells(ops: list[Op]) -> list[object]:
    cells = []
    for op in ops:
        for actor in ACTORS:
            gap = KNOWN_GAPS.get((op.id, actor))
            marks = [pytest.mark.xfail(strict=True, reason=gap)] if gap else []
            cells.append(pytest.param(op, actor, id=f"{op.id}-{actor}", marks=marks))
    return cells


@pytest.mark.parametrize(("op", "actor"), _cells(OPS))
def test_object(world: World, op: Op, actor: str) -> None:
    check_cell(world, op, actor)


@pytest.mark.parametrize(("op", "actor"), _cells(COLLECTIONS))
def test_collection(world: World, op: Op, actor: str) -> None:
    check_cell(world, op, actor)


@pytest.mark.parametrize(("method", "path", "marker", "actor"), [
    pytest.param(m, p, k, a, id=f"{m} {p}-{k}-{a}")
    for m, p, k, who in LEAKS for a in sorted(who)])
def test_listing_shows_nothing_of_others(world: World, method: str, path: str, marker: str,
                                         actor: str) -> None:
    r = world.clients[actor].request(method, path, follow_redirects=False)
    assert r.status_code == 200, r.text[:300]
    assert world.markers[marker] not in r.text


def test_listings_do_show_the_owner_its_objects(world: World) -> None:
    """The leak checks above would pass on empty pages: the owners do see the markers."""
    shown = {("ceop.officer", "/"): "case_reference",
             ("ceop.officer", "/console/watch/alerts?state=all"): "alert",
             ("ceop.officer", "/console/watch/roster"): "note",
             ("ceop.admin", "/console/watch/roster"): "shift",
             ("ceop.admin", "/admin/officers"): "officer_account",
             ("provider.alpha", "/api/v1/rooms"): "room",
             ("ceop.supervisor", "/audit/export"): "case_reference"}
    for (actor, path), marker in shown.items():
        r = world.clients[actor].get(path)
        assert r.status_code == 200 and world.markers[marker] in r.text, (actor, path)


def test_every_route_is_covered(world: World) -> None:
    """A new route must join the matrix, or the allowlist with a reason, to pass."""
    declared = {(op.method, op.path) for op in OPS + COLLECTIONS}
    rules = route_rules(world.app)
    uncovered = sorted(k for k in rules if k not in declared and k not in NOT_OBJECT_SCOPED)
    assert uncovered == []
    assert sorted(k for k in declared if k not in rules) == []  # no stale matrix rows
    allowlisted_with_rule = sorted(k for k in NOT_OBJECT_SCOPED
                                   if k in rules and rules[k].kind != "public")
    assert allowlisted_with_rule == []  # the allowlist holds public routes only


def test_every_object_type_and_actor_is_in_the_matrix() -> None:
    objects = {op.obj for op in OPS}
    assert {"report", "evidence", "case", "alert", "room", "list_entry", "shift",
            "intervention", "sharing_request", "officer_account"} <= objects
    assert {op.obj for op in COLLECTIONS} >= {"audit", "handover_note", "handoff"}
    assert {op.action for op in OPS + COLLECTIONS} == {"read", "write", "export"}
    assert len(ACTORS) == 12


def test_handoff_link_opens_in_one_browser_only(world: World) -> None:
    """The hand-off link is a capability: the first browser to open it owns it; any other
    (another officer's, a provider's, anyone's) is refused (409), and the refusal audited."""
    r = world.clients["provider.alpha"].post("/api/v1/report-handoffs", json={
        "conversation": _capture(world), "reporter": {"name": "Kim Example", "country": "GB"}})
    assert r.status_code == 201, r.text
    path = "/report/start/" + r.json()["url"].rsplit("/", 1)[1]
    from fastapi.testclient import TestClient
    first = TestClient(world.app, base_url="https://testserver")
    assert first.get(path).status_code == 200
    assert first.get(path).status_code == 200  # the same browser again
    for actor in ("hsi.officer", "ceop.officer", "provider.beta", ANONYMOUS):
        before = world.audit_head()
        refused = world.clients[actor].get(path)
        assert refused.status_code == 409 and "Kim Example" not in refused.text
        assert any(e.action == "report_handoff.open" and e.outcome == "denied"
                   for e in world.audit_after(before)), actor
    first.close()


def _capture(world: World) -> dict[str, object]:
    from datetime import timedelta

    from tests.reports.case_factory import conversation
    return conversation(world.clock.now - timedelta(minutes=1))


def test_refusal_entries_never_say_whether_the_object_exists(world: World) -> None:
    """The denial entry for another agency's case and for a made-up id read the same."""
    op = next(o for o in OPS if o.path == "/cases/{case_id}" and o.target == "case")
    before = world.audit_head()
    send(world, op, "hsi.officer", world.targets["case"])
    send(world, op, "hsi.officer", {"case_id": "00000000-0000-4000-8000-000000000000"})
    first, second = [e for e in world.audit_after(before) if e.outcome == "denied"]
    assert (first.action, first.detail, first.object_type) == \
        (second.action, second.detail, second.object_type)


@pytest.mark.parametrize(("actor", "role", "own"), [
    ("ceop.admin", "platform-admin", False),  # only platform admins grant it
    ("ceop.admin", "agency-admin", True),  # nobody changes their own roles
])
def test_role_escalation_is_refused_and_audited(world: World, actor: str, role: str,
                                                own: bool) -> None:
    target = str(world.user_ids[actor]) if own else world.fresh("officer_account")["user_id"]
    before = world.audit_head()
    r = world.clients[actor].post(f"/admin/officers/{target}/roles",
                                  data={"role": role, "csrf": world.csrf[actor]},
                                  follow_redirects=False)
    assert r.status_code == 422 and 'role="alert"' in r.text
    entries = world.audit_after(before)
    assert [(e.action, e.outcome, e.actor, e.object_id) for e in entries] == [
        ("access.denied", "denied", actor, target)]
    r = world.clients[actor].post("/admin/officers", data={
        "username": f"esc.{secrets.token_hex(3)}", "display_name": "Escalation",
        "email": "esc@example.com", "role": "platform-admin",
        "password": "correct-horse-battery-staple", "csrf": world.csrf[actor]})
    assert r.status_code == 422
    assert world.audit_after(before)[-1].action == "access.denied"
