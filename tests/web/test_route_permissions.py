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
    from childsafe.web.deps import _api_routes

    missing = []
    checked = 0
    for route in _api_routes(app.routes):  # included routers too (not in app.routes)
        if not isinstance(route, APIRoute):
            continue
        checked += 1
        rules = _rules(route.dependant)
        if len(rules) != 1:
            missing.append((route.path, len(rules)))
    assert missing == [] and checked > 40


def test_every_sync_endpoint_commits_in_its_own_thread(app):
    """Guards the FastAPI-internals dependency of `commit_in_endpoint_thread` on upgrades."""
    import inspect

    from childsafe.web.deps import _api_routes

    routes = list(_api_routes(app.routes))
    assert len(routes) > 40
    unwrapped = [r.path for r in routes if not inspect.iscoroutinefunction(r.endpoint)
                 and not getattr(r.endpoint, "__childsafe_tx__", False)]
    assert unwrapped == []
