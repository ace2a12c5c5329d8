"""README "Integrate your chat app": every ```python block runs, in order and in one
namespace, against a live server (uvicorn on loopback, the real app and store), with the
provider's URL, API key and webhook secret injected through the environment variables the
README names. The HTML snippets must name scripts the platform serves, with the attributes
those scripts read."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from sqlalchemy import select

from childsafe.store.handoff_models import ReportHandoffRow
from childsafe.store.report_models import ReportRow
from childsafe.store.watch_models import RoomRow

README = Path(__file__).resolve().parents[2] / "README.md"
HEADING = "## Integrate your chat app"


def section() -> str:
    text = README.read_text(encoding="utf-8")
    assert HEADING + "\n" in text, f"README has no {HEADING!r} section"
    body = text.split(HEADING + "\n", 1)[1]
    return body.split("\n## ", 1)[0]


def fenced(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```$", section(), re.S | re.M)


def test_the_section_shows_every_part_of_the_kit():
    code = "\n".join(fenced("python"))
    assert len(fenced("python")) >= 7
    for call in ("client.me()", "client.rooms.register(", "client.rooms.badge(",
                 "client.messages.send(", "client.reports.handoff(", "client.reports.create(",
                 "client.reports.add_evidence(", "client.reports.get(", "verify_webhook(",
                 "AsyncClient("):
        assert call in code, call


def test_python_blocks_run_against_a_live_server(platform, monkeypatch, capsys):
    secret = platform.set_webhook("http://127.0.0.1:9/childsafe-webhook")  # nothing listens
    monkeypatch.setenv("CHILDSAFE_URL", platform.url)
    monkeypatch.setenv("CHILDSAFE_API_KEY", platform.key)
    monkeypatch.setenv("CHILDSAFE_WEBHOOK_SECRET", secret)
    namespace: dict[str, object] = {"__name__": "readme_integration"}
    for number, code in enumerate(fenced("python"), start=1):
        exec(compile(code, f"README.md ({HEADING}, python block {number})", "exec"),  # noqa: S102
             namespace)
    out = capsys.readouterr().out
    assert out.startswith("ExampleChat ")
    assert "refused: bad_signature" in out and "404 not_found" in out
    assert "invalid_input {'external_id':" in out
    assert "badge of teen-lounge-3 is now monitored" in out
    with platform.db.transaction() as s:
        room = s.scalar(select(RoomRow).where(RoomRow.provider_id == platform.provider_id,
                                              RoomRow.external_id == "teen-lounge-3"))
        assert room is not None and room.title == "Teen lounge"
        assert s.scalar(select(ReportHandoffRow).where(
            ReportHandoffRow.provider_id == platform.provider_id)) is not None
        filed = s.scalars(select(ReportRow).where(
            ReportRow.provider_id == platform.provider_id)).all()
        assert filed and all(r.channel == "api" for r in filed)
    handoff = namespace["handoff"]
    page = httpx.get(handoff.url)  # type: ignore[attr-defined]
    assert page.status_code == 200 and "is attached (3 messages)" in page.text


def test_html_snippets_name_scripts_the_platform_serves(platform):
    html = "\n".join(fenced("html"))
    scripts = re.findall(r'<script src="https://childsafe\.example(/static/[a-z]+\.js)"', html)
    assert sorted(scripts) == ["/static/badge.js", "/static/embed.js"]
    for path in scripts:
        served = httpx.get(platform.url + path)
        assert served.status_code == 200 and "javascript" in served.headers["content-type"]
        assert served.headers["cross-origin-resource-policy"] == "cross-origin"
        for attribute in re.findall(r'(data-[a-z]+)="', html.split(path, 1)[1].split("</script>")[0]):
            assert f'"{attribute}"' in served.text, f"{path} does not read {attribute}"
