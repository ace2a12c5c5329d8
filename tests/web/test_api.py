"""The JSON API: problem+json errors, isolation (404 across agencies), provider keys, health."""

from childsafe.store import agencies, cases, providers


def test_agencies_and_routing_public(client):
    r = client.get("/api/v1/agencies")
    assert r.status_code == 200
    codes = {a["code"] for a in r.json()}
    assert "UK-NCA-CEOP" in codes and "INT-INTERPOL" in codes
    assert client.get("/api/v1/routing/gb").json()["agency_code"] == "UK-NCA-CEOP"
    fr = client.get("/api/v1/routing/FR").json()
    assert fr["agency_code"] == "INT-INTERPOL" and fr["fallback"] is True


def test_invalid_input_is_problem_json(client):
    r = client.get("/api/v1/routing/G1")
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 422 and body["type"] == "/problems/invalid_input"
    assert body["errors"][0]["field"] == "country"


def test_unauthenticated_api_is_401_problem(client):
    r = client.get("/api/v1/cases")
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"


def test_cross_agency_objects_are_404(client, db, logged_in, make_officer):
    logged_in("ceop.iso")
    other = make_officer("hsi.iso", agency="US-DHS-HSI")
    with db.transaction() as s:
        mine = cases.create_case(s, agency=agencies.get_by_code(s, "UK-NCA-CEOP"), title="mine")
        theirs = cases.create_case(s, agency=agencies.get_by_code(s, "US-DHS-HSI"),
                                   title="theirs")
    assert client.get(f"/api/v1/cases/{mine.id}").status_code == 200
    for path in (f"/api/v1/cases/{theirs.id}", f"/api/v1/officers/{other.id}",
                 f"/cases/{theirs.id}"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert "theirs" not in r.text
    missing = client.get("/api/v1/cases/00000000-0000-0000-0000-000000000000")
    assert missing.json()["detail"] == client.get(f"/api/v1/cases/{theirs.id}").json()["detail"]
    assert [c["title"] for c in client.get("/api/v1/cases").json()] == ["mine"]


def test_role_without_permission_is_403(client, logged_in):
    logged_in("ceop.admin1", roles="agency-admin")
    assert client.get("/api/v1/cases").status_code == 403
    assert client.get("/api/v1/officers").status_code == 200


def test_provider_api_key(client, db):
    with db.transaction() as s:
        p = providers.create_provider(s, "ExampleChat")
        issued = providers.issue_key(s, p, ["provider:report:write"])
    r = client.get("/api/v1/provider/me", headers={"authorization": f"Bearer {issued.plaintext}"})
    assert r.status_code == 200 and r.json()["scopes"] == ["provider:report:write"]
    assert client.get("/api/v1/provider/me").status_code == 401
    bad = client.get("/api/v1/provider/me", headers={"authorization": "Bearer csk_x_y"})
    assert bad.status_code == 401 and bad.headers["content-type"] == "application/problem+json"


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok", "checks": {}}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["checks"] == {"database": "ok", "schema": "ok",
                                                           "keys": "ok"}


def test_openapi_and_docs(client):
    spec = client.get("/api/openapi.json").json()
    assert "/api/v1/cases/{case_id}" in spec["paths"]
    assert "/login" not in spec["paths"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and "/api/v1/routing/{country}" in docs.text


def test_case_view_is_audited(client, db, logged_in):
    logged_in("ceop.aud")
    with db.transaction() as s:
        c = cases.create_case(s, agency=agencies.get_by_code(s, "UK-NCA-CEOP"), title="t")
    client.get(f"/cases/{c.id}")
    client.get(f"/api/v1/cases/{c.id}")
    from childsafe.store import audit
    with db.transaction() as s:
        views = [r for r in audit.recent(s) if r.action == "case.view" and r.object_id == c.id]
    assert len(views) == 2 and {v.actor for v in views} == {"ceop.aud"}


def test_queue_summary(client, db, logged_in):
    logged_in("ceop.queue")
    with db.transaction() as s:
        agency = agencies.get_by_code(s, "UK-NCA-CEOP")
        cases.create_case(s, agency=agency, title="a", priority="P1")
        cases.create_case(s, agency=agency, title="b")
        cases.create_case(s, agency=agencies.get_by_code(s, "US-DHS-HSI"), title="c")
    r = client.get("/api/v1/queue").json()
    assert r["open"] == 2 and r["by_priority"] == {"P1": 1, "untriaged": 1}
