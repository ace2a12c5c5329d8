"""Every route declares exactly one access rule (permission, provider scope, or public)."""

from fastapi.routing import APIRoute

from childsafe.web.deps import rule_of


def _rules(dependant):
    found = []
    for dep in dependant.dependencies:
        rule = rule_of(dep)
        if rule is not None:
            found.append(rule)
        found.extend(_rules(dep))
    return found


def test_every_route_declares_a_rule(app):
    missing = []
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        rules = _rules(route.dependant)
        if len(rules) != 1:
            missing.append((route.path, len(rules)))
    assert missing == []
