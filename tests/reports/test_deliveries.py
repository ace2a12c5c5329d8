"""Case deliveries on both stores: scheduled with the case, sent by the worker, logged."""

from __future__ import annotations

import json
import os
import stat
import xml.etree.ElementTree as ET
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from childsafe.cli.main import app as cli_app
from childsafe.core.crypto import key_id
from childsafe.core.errors import InvalidInput
from childsafe.mail import MemorySender
from childsafe.reports import deliveries
from childsafe.reports.core import webhooks
from childsafe.store import encrypted, outbox
from childsafe.store.case_models import AgencyChannelRow, DeliveryRow
from childsafe.store.models import AuditRow, OutboxRow, utcnow
from childsafe.store.report_models import EvidenceRow
from childsafe.worker import default_handlers, drain_once
from tests.reports.case_factory import context, file_report


@pytest.fixture
def ctx(settings):
    return context(settings)


class Receiver:
    """An in-memory webhook receiver (httpx.MockTransport) that checks signatures."""

    def __init__(self, secret: str, status: int = 200) -> None:
        self.secret, self.status = secret, status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        ok = webhooks.verify_signature(self.secret, request.headers.get("x-childsafe-timestamp"),
                                       request.content,
                                       request.headers.get("x-childsafe-signature"))
        return httpx.Response(self.status if ok else 401)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))


def add(db, settings, kind="webhook", target="https://hooks.example.com/childsafe",
        agency="UK-NCA-CEOP"):
    with db.transaction() as s:
        row, secret = deliveries.add_channel(s, settings.keyring, agency, kind, target)
        return row.id, secret


def handlers(settings, receiver=None):
    return default_handlers(MemorySender(), keyring=settings.keyring,
                            http=receiver.client if receiver else None)


def delivery(db, case_id) -> list[DeliveryRow]:
    with db.transaction() as s:
        return deliveries.deliveries_for_case(s, case_id)


def test_new_case_is_scheduled_to_each_enabled_channel(db, settings, ctx, tmp_path):
    hook, _ = add(db, settings)
    export, _ = add(db, settings, "export", str(tmp_path / "exports"))
    off, _ = add(db, settings, target="https://other.example.com/hook")
    add(db, settings, agency="US-DHS-HSI")  # another agency's channel: not for this case
    with db.transaction() as s:
        deliveries.set_channel_enabled(s, off, False)
    _, case = file_report(db, ctx)
    rows = delivery(db, case.id)
    assert [(r.channel_id, r.kind, r.status) for r in rows] == [
        (hook, "webhook", "pending"), (export, "export", "pending")]
    with db.transaction() as s:
        queued = s.scalars(select(OutboxRow).where(OutboxRow.topic.like("delivery.%"))
                           .order_by(OutboxRow.id)).all()
        assert [(m.topic, m.idempotency_key) for m in queued] == [
            ("delivery.webhook", f"case:{case.id}:channel:{hook}"),
            ("delivery.export", f"case:{case.id}:channel:{export}")]
        # Ids only: the case is read at delivery time, nothing personal waits in the queue.
        assert queued[0].payload == {"case_id": case.id, "channel_id": hook}
        assert deliveries.schedule_for_case(s, case, utcnow()) == []  # idempotent


def test_duplicate_report_linked_to_the_case_is_not_delivered_again(db, settings, ctx):
    add(db, settings)
    now = utcnow()
    first, case = file_report(db, ctx, now=now)
    second, same = file_report(db, ctx, now=now)  # same capture, same suspect: linked
    assert second.duplicate_of == first.id and same.id == case.id
    assert len(delivery(db, case.id)) == 1


def test_webhook_sends_signed_case_without_evidence_bytes(db, settings, ctx):
    channel, secret = add(db, settings)
    report, case = file_report(db, ctx, reporter_name="Kim Example")
    receiver = Receiver(secret)
    assert drain_once(db, handlers(settings, receiver)).sent == 1
    [request] = receiver.requests
    assert str(request.url) == "https://hooks.example.com/childsafe"
    key = f"case:{case.id}:channel:{channel}"
    assert request.headers["x-childsafe-delivery"] == key == request.headers["idempotency-key"]
    assert request.headers["x-childsafe-signature"].startswith("sha256=")
    assert request.headers["content-type"] == "application/json"
    body = json.loads(request.content)
    assert body["delivery"] == key and body["case"]["reference"] == case.reference
    assert body["case"]["priority"] and body["case"]["priority_reasons"]
    [sent] = body["reports"]
    assert sent["reporter"]["name"] == "Kim Example"  # the owner's own channel
    assert sent["reported_users"][0] == {"platform": "chatty.test", "identifier": "u2",
                                         "display_name": "Sam", "declared_age": None,
                                         "source": "conversation"}
    with db.transaction() as s:
        ev = s.scalars(select(EvidenceRow).where(EvidenceRow.report_id == report.id)).one()
    assert sent["evidence"][0]["sha256"] == ev.sha256 and sent["evidence"][0]["md5"] == ev.md5
    assert b"keep this chat our secret" not in request.content  # hashes, never content
    [row] = delivery(db, case.id)
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", 1, 200)
    assert row.delivered_at is not None
    with db.transaction() as s:
        logged = s.scalars(select(AuditRow).where(AuditRow.action == "case.deliver")).one()
        assert (logged.object_id, logged.outcome, logged.actor) == (case.id, "success", "worker")


def test_failed_webhook_retries_with_backoff_then_gives_up(db, settings, ctx):
    _, secret = add(db, settings)
    _, case = file_report(db, ctx)
    receiver = Receiver(secret, status=503)
    result = drain_once(db, handlers(settings, receiver))
    assert (result.sent, result.retried) == (0, 1)
    [row] = delivery(db, case.id)
    assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, 503)
    with db.transaction() as s:
        msg = s.scalars(select(OutboxRow).where(OutboxRow.topic == "delivery.webhook")).one()
        assert msg.available_at > utcnow() + timedelta(seconds=20)  # backed off
        assert "HTTP 503" in msg.last_error
        s.execute(update(OutboxRow).where(OutboxRow.id == msg.id).values(
            attempts=outbox.MAX_ATTEMPTS - 1, available_at=utcnow() - timedelta(seconds=1)))
    assert drain_once(db, handlers(settings, receiver)).retried == 1
    [row] = delivery(db, case.id)
    assert (row.status, row.attempts) == ("failed", 2)
    with db.transaction() as s:
        assert outbox.pending_count(s) == 0
        outcomes = s.scalars(select(AuditRow.outcome).where(AuditRow.action == "case.deliver")
                             .order_by(AuditRow.seq)).all()
        assert outcomes == ["failure", "failure"]


def test_unreachable_webhook_is_retried(db, settings, ctx):
    add(db, settings, target="http://127.0.0.1:9/closed")  # discard port: refused
    _, case = file_report(db, ctx)
    assert drain_once(db, handlers(settings)).retried == 1
    [row] = delivery(db, case.id)
    assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, None)


def test_export_writes_cybertip_xml_atomically(db, settings, ctx, tmp_path):
    directory = tmp_path / "exports" / "hsi"
    add(db, settings, "export", str(directory), agency="US-DHS-HSI")
    report, case = file_report(db, ctx, agency="US-DHS-HSI", reporter_name="Kim Example")
    assert drain_once(db, handlers(settings)).sent == 1
    files = os.listdir(directory)
    assert files == [f"childsafe-{case.reference}.xml"]  # no temporary file left behind
    path = directory / files[0]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    root = ET.fromstring(path.read_bytes())
    assert root.findtext("incidentSummary/incidentType") == \
        "Online Enticement of Children for Sexual Acts"
    assert root.findtext("internetDetails/chatImIncident/chatClient") == "chatty.test"
    assert root.findtext("internetDetails/chatImIncident/chatRoomName") == "room-42"
    assert root.findtext("reporter/reportingPerson/firstName") == "Kim"
    assert root.findtext("reporter/reportingPerson/lastName") == "Example"
    assert root.findtext("personOrUserReported/espIdentifier") == "u2"
    assert root.findtext("victim/person/age") == "12"
    assert root.findtext("lawEnforcement/caseNumber") == case.reference
    with db.transaction() as s:
        ev = s.scalars(select(EvidenceRow).where(EvidenceRow.report_id == report.id)).one()
    hashes = {h.get("hashType"): h.text for h in root.iter("originalFileHash")}
    assert hashes == {"MD5": ev.md5, "SHA256": ev.sha256}
    assert root.findtext("fileDetails/fileSize") == str(ev.size)
    assert root.findtext("fileDetails/fileRelevance") == "Supplemental Reported"
    [row] = delivery(db, case.id)
    assert (row.status, row.last_status_code) == ("delivered", None)


def test_unwritable_export_is_retried(db, settings, ctx, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    add(db, settings, "export", str(blocker))
    _, case = file_report(db, ctx)
    assert drain_once(db, handlers(settings)).retried == 1
    with db.transaction() as s:
        msg = s.scalars(select(OutboxRow).where(OutboxRow.topic == "delivery.export")).one()
        assert "cannot write the export" in msg.last_error
    assert delivery(db, case.id)[0].status == "pending"


def test_channel_disabled_before_delivery_cancels_it(db, settings, ctx):
    channel, secret = add(db, settings)
    _, case = file_report(db, ctx)
    with db.transaction() as s:
        deliveries.set_channel_enabled(s, channel, False)
    receiver = Receiver(secret)
    assert drain_once(db, handlers(settings, receiver)).sent == 1
    assert receiver.requests == []
    assert delivery(db, case.id)[0].status == "cancelled"


def test_channel_targets_are_checked(db, settings):
    for bad in ("http://hooks.example.com/x", "ftp://hooks.example.com/x", "hooks.example.com",
                "https://user:pw@hooks.example.com/x"):
        with pytest.raises(InvalidInput), db.transaction() as s:
            deliveries.add_channel(s, settings.keyring, "UK-NCA-CEOP", "webhook", bad)
    with pytest.raises(InvalidInput), db.transaction() as s:
        deliveries.add_channel(s, settings.keyring, "UK-NCA-CEOP", "export", "relative/dir")
    with pytest.raises(InvalidInput), db.transaction() as s:
        deliveries.add_channel(s, settings.keyring, "UK-NCA-CEOP", "fax", "x")


def test_secret_is_sealed_and_survives_key_rotation(db, settings):
    channel, secret = add(db, settings)
    assert secret and secret.startswith("whsec_")
    ring = settings.keyring.with_new_key("k2")
    with db.transaction() as s:
        row = s.get(AgencyChannelRow, channel)
        assert secret.encode() not in row.secret_enc
        assert encrypted.rewrap_all(s, ring) >= 1
    with db.transaction() as s:
        row = s.get(AgencyChannelRow, channel)
        assert key_id(row.secret_enc) == "k2"
        assert deliveries.channel_secret(ring, row) == secret


def test_channel_cli(settings, db, monkeypatch, tmp_path):
    monkeypatch.setenv("CHILDSAFE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CHILDSAFE_DATABASE_URL", settings.effective_database_url)
    key_file = settings.data_dir / "keys.json"
    key_file.write_text(settings.keyring.to_json())
    monkeypatch.setenv("CHILDSAFE_KEY_FILE", str(key_file))
    runner = CliRunner()
    r = runner.invoke(cli_app, ["admin", "add-channel", "UK-NCA-CEOP", "--webhook",
                                "https://hooks.example.com/ceop"])
    assert r.exit_code == 0, r.output
    assert "whsec_" in r.output and "not shown again" in r.output
    r = runner.invoke(cli_app, ["admin", "add-channel", "US-DHS-HSI", "--export",
                                str(tmp_path / "cybertip")])
    assert r.exit_code == 0 and "whsec_" not in r.output
    r = runner.invoke(cli_app, ["admin", "add-channel", "UK-NCA-CEOP"])
    assert r.exit_code == 1 and "exactly one" in r.output
    r = runner.invoke(cli_app, ["admin", "list-channels"])
    assert r.exit_code == 0 and "whsec_" not in r.output
    assert all(word in r.output for word in ("UK-NCA-CEOP", "US-DHS-HSI", "webhook", "export"))
    with db.transaction() as s:
        ids = [row.id for row, _ in deliveries.list_channels(s, "UK-NCA-CEOP")]
    r = runner.invoke(cli_app, ["admin", "disable-channel", str(ids[0])])
    assert r.exit_code == 0 and "disabled" in r.output
    with db.transaction() as s:
        assert s.get(AgencyChannelRow, ids[0]).enabled is False
    r = runner.invoke(cli_app, ["admin", "disable-channel", "9999"])
    assert r.exit_code == 1
