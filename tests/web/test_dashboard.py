"""Dashboard charts and the live queue stream."""

from childsafe.store import agencies, cases
from childsafe.web import dashboard


def test_dashboard_charts(client, logged_in, db):
    logged_in("ceop.dash")
    with db.transaction() as s:
        agency = agencies.get_by_code(s, "UK-NCA-CEOP")
        cases.create_case(s, agency=agency, title="Online enticement / grooming — reported from GB",
                          priority="P1")
    r = client.get("/dashboard")
    assert r.status_code == 200
    for title in ("Intake per day", "Intake by category", "Open cases by age",
                  "Open cases past their SLA"):
        assert f'aria-label="{title}' in r.text
    assert "<script" not in r.text.split("<footer")[0].replace('<script src="/static/', "")


def test_queue_events_stream(client, logged_in, monkeypatch):
    monkeypatch.setattr(dashboard, "SSE_MAX_SECONDS", 0.2)
    monkeypatch.setattr(dashboard, "SSE_POLL_SECONDS", 0.1)
    logged_in("ceop.sse")
    with client.stream("GET", "/console/events") as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        body = "".join(r.iter_text())
    assert "event: queue" in body and '"open": 0' in body


def test_events_need_login(client):
    assert client.get("/console/events", follow_redirects=False).status_code == 303
