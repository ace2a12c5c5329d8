"""Data-preservation requests to the provider: signed webhook via the outbox, both stores."""

import httpx
import pytest

from childsafe.core.errors import InvalidInput
from childsafe.mail import MemorySender
from childsafe.ratelimit import MemoryRateLimiter
from childsafe.reports import catalog, intake, preservation
from childsafe.reports.core import engine
from childsafe.reports.core.evidence.conversation import parse_conversation
from childsafe.reports.core.identity import parse_reporter
from childsafe.store import accounts, providers
from childsafe.store.report_models import ReportRow
from childsafe.worker import default_handlers, drain_once
from tests.reports.webhook_receiver import Receiver


def _file(db, settings, f, provider=None):
    ctx = intake.IntakeContext(settings.keyring, settings.verification_key,
                               "https://childsafe.example.com", MemoryRateLimiter())
    result = engine.evaluate(catalog.load_flow(), f.answers(danger="yes"), "en", now=f.now,
                             routing=catalog.load_routing())
    with db.transaction() as s:
        receipt = intake.submit_report(
            s, ctx, result=result, channel=intake.Channel.API, now=f.now, provider=provider,
            evidence=[parse_conversation(f.conversation(), now=f.now)],
            reporter=parse_reporter({"name": "Kim", "phone": "020 7946 0018", "country": "GB",
                                     "age_band": "13_15", "relationship": "self"}))
    with db.transaction() as s:
        return s.get(ReportRow, receipt.report_id).case_id


def test_signed_request_reaches_the_provider(db, settings, f, make_officer):
    make_officer("ceop.keep")
    with db.transaction() as s:
        row = providers.create_provider(s, "ExampleChat")
        issued = providers.issue_key(s, row, ["provider:report:write"])
    with db.transaction() as s:
        principal = providers.authenticate_key(s, issued.plaintext)
    case_id = _file(db, settings, f, provider=principal)
    with Receiver("placeholder") as receiver:
        with db.transaction() as s:
            receiver.secret = preservation.set_webhook(
                s, settings.keyring, preservation.provider_by_name(s, "ExampleChat"),
                receiver.url, actor="test")
        with db.transaction() as s:
            officer = accounts.principal_for(s, accounts.get_user(s, "ceop.keep"))
            assert preservation.request_preservation(s, settings.keyring, officer, case_id,
                                                     f.now) == 1
        result = drain_once(db, default_handlers(MemorySender(), keyring=settings.keyring,
                                                 http=lambda: httpx.Client(timeout=5)),
                            keyring=settings.keyring)
        assert result.retried == 0 and receiver.rejected == 0  # (+ the welcome mail)
        (body,) = receiver.cases.values()
    assert body["type"] == "preservation_request" and body["agency"] == "UK-NCA-CEOP"
    assert body["reports"][0]["rooms"] == ["room-42"]
    assert body["reports"][0]["reported_accounts"] == ["sam_99", "u2"]
    assert "Kim" not in str(body)  # never the reporter


def test_no_provider_no_request(db, settings, f, make_officer):
    make_officer("ceop.keep2")
    case_id = _file(db, settings, f)
    with pytest.raises(InvalidInput), db.transaction() as s:
        officer = accounts.principal_for(s, accounts.get_user(s, "ceop.keep2"))
        preservation.request_preservation(s, settings.keyring, officer, case_id, f.now)
