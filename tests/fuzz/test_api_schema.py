"""Schemathesis against /api/openapi.json, in process: no 5xx, every answer as documented.

Every operation of the published schema (a new route joins by itself) through Schemathesis'
phases: the schema's own examples, coverage (boundary values, each constraint broken in
turn), then fuzzing with positive data (valid by the schema) and negative data (invalid by
it, which must be refused with a documented 4xx). Both credentials go on every call: a real
officer session (with its CSRF token) and a provider key holding every scope. A fixed number
of examples per operation (`MAX_EXAMPLES`) and no randomness (`derandomize`): the same run
every time. Reproduce: `pytest tests/fuzz -k api_`.
"""

from __future__ import annotations

import json
import tempfile
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.python import asgi

from childsafe.config import Settings
from childsafe.web.app import create_app
from tests.fuzz.figures import DERANDOMIZE, FIGURES, examples

MAX_EXAMPLES = examples(40)
BASE_URL = "https://testserver"
CHECKS = ["not_a_server_error", "response_schema_conformance", "status_code_conformance",
          "content_type_conformance"]


def published_schema() -> dict[str, Any]:
    """The OpenAPI document exactly as served, taken from an app with an empty store."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(data_dir=tmp, database_url=f"sqlite:///{tmp}/schema.db"))
        spec = app.openapi()
        app.state.db.dispose()
    return spec


@schemathesis.serializer("application/csp-report")
def _csp_report(ctx: Any, value: Any) -> bytes:
    """Browsers send legacy CSP reports as JSON under their own media type."""
    return json.dumps(value, default=str).encode()


CONFIG = schemathesis.Config.from_dict({
    "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
    "generation": {"mode": "all"},
})
schema = schemathesis.openapi.from_dict(published_schema(), config=CONFIG)


@pytest.fixture(scope="module")
def api(fuzz_env):
    """The fuzzing app, called in process through its ASGI interface."""
    with asgi.get_client(fuzz_env.app) as client:
        fuzz_env.extra["client"] = client
        yield fuzz_env


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=DERANDOMIZE, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_conforms(case, api):
    response = case.call_and_validate(base_url=BASE_URL, session=api.extra["client"],
                                      headers=api.headers)
    FIGURES["api"][case.operation.label][response.status_code] += 1


OBJECT_PARAMETERS = {"case_id", "reference", "room_id", "user_id", "request_id"}


def _with_path_parameters() -> list[Any]:
    found = []
    for result in schema.get_all_operations():
        operation = result.ok()
        names = {p.name for p in operation.path_parameters}
        if not names or not names <= OBJECT_PARAMETERS:
            continue
        others = operation.query or operation.headers or operation.body
        for mode in [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if others else []):
            found.append(pytest.param(operation.method.upper(), operation.path, mode,
                                          id=f"{operation.label} {mode.value}"))
    return found


@pytest.mark.parametrize(("method", "path", "mode"), _with_path_parameters())
def test_api_on_real_objects(method, path, mode, api):
    """The same checks with the path naming real objects (the officer's case, the provider's
    report and monitored room, a pending sharing request): the code behind the 404s."""
    operation = schema[path][method]
    pinned = {p.name: api.path_values[p.name] for p in operation.path_parameters}
    seen = FIGURES["api"][f"{method} {path} (real objects)"]

    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=pinned))
    @settings(max_examples=MAX_EXAMPLES, derandomize=DERANDOMIZE, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        response = case.call_and_validate(base_url=BASE_URL, session=api.extra["client"],
                                          headers=api.headers)
        seen[response.status_code] += 1

    run()
