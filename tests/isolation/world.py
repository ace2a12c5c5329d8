"""One populated store for the isolation matrix: two agencies' staff, two providers, and one of
every object, owned by UK-NCA-CEOP (or by provider `alpha`), plus factories for fresh ones.

Everything is synthetic and non-explicit (grooming *cues* only), URLs use reserved names.
Built once per test module: the matrix's refused requests change nothing, and the allowed
writes act on fresh objects (`World.fresh`), so the tests do not depend on their order.
"""

from __future__ import annotations

import secrets
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from childsafe.block import authority_store
from childsafe.block.authority import generate_keys
from childsafe.core.crypto import new_keyring
from childsafe.core.principal import Principal, ProviderPrincipal
from childsafe.ratelimit import MemoryRateLimiter
from childsafe.reports import catalog, intake, pooling, preservation
from childsafe.reports.core import engine
from childsafe.reports.core.evidence.conversation import parse_conversation
from childsafe.reports.core.evidence.text import accept_pasted_text
from childsafe.reports.core.identity import parse_reporter
from childsafe.store import accounts, agencies, cases, providers
from childsafe.store.case_models import PoliceStationRow
from childsafe.store.db import Database
from childsafe.store.models import AuditRow, CaseRow
from childsafe.store.report_models import EvidenceRow, ReportRow
from childsafe.watch import roster
from childsafe.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import STRONG_PASSWORD, Clock, OfficerFactory, csrf_from
from tests.reports.case_factory import COUNTRY_OF as _COUNTRIES
from tests.reports.case_factory import answers, conversation
from tests.watch.alert_factory import WatchFactory
from tests.watch.room_factory import room as register_room
from tests.web.conftest import login

CEOP, HSI, OPS = "UK-NCA-CEOP", "US-DHS-HSI", "PLATFORM-OPS"
COUNTRY_OF = {**_COUNTRIES, OPS: "GB"}
# name → (agency, role). Officers of two member agencies in every role, and a platform admin.
OFFICERS: dict[str, tuple[str, str]] = {
    "ceop.officer": (CEOP, "officer"), "ceop.supervisor": (CEOP, "supervisor"),
    "ceop.admin": (CEOP, "agency-admin"), "ceop.lister": (CEOP, "list-editor"),
    "hsi.officer": (HSI, "officer"), "hsi.supervisor": (HSI, "supervisor"),
    "hsi.admin": (HSI, "agency-admin"), "hsi.lister": (HSI, "list-editor"),
    "platform.admin": (OPS, "platform-admin"),
}
PROVIDERS = ("provider.alpha", "provider.beta")  # alpha filed the reports and owns the rooms
ANONYMOUS = "anonymous"
ACTORS: tuple[str, ...] = (*OFFICERS, *PROVIDERS, ANONYMOUS)
ALL_SCOPES = ("provider:report:write,provider:evidence:write,provider:room:write,"
              "provider:message:write,provider:intervention:read")
# Markers that must never show up on another agency's (or provider's) pages.
NOTE_MARKER = "handover-marker-ceop-7f3a"
SHIFT_MARKER = "ceop-shift-marker"
ROOM_MARKER = "alpha-room-marker"


def provider_name(actor: str) -> str:
    return actor.removeprefix("provider.")


@dataclass
class World:
    """The app on a populated store, a logged-in client per actor, and the objects' ids."""

    app: Any
    db: Database
    settings: Any
    clock: Clock
    clients: dict[str, TestClient]
    csrf: dict[str, str]
    user_ids: dict[str, int]
    targets: dict[str, dict[str, str]]
    markers: dict[str, str]
    station_id: int
    makers: dict[str, Callable[[], dict[str, str]]] = field(default_factory=dict)

    def fresh(self, kind: str) -> dict[str, str]:
        return self.makers[kind]()

    def audit_head(self) -> int:
        with self.db.reading() as s:
            return int(s.scalar(select(AuditRow.seq).order_by(AuditRow.seq.desc()).limit(1))
                       or 0)

    def audit_after(self, seq: int) -> list[AuditRow]:
        with self.db.reading() as s:
            return list(s.scalars(select(AuditRow).where(AuditRow.seq > seq)
                                  .order_by(AuditRow.seq)))


class _Builder:
    def __init__(self, db: Database, settings: Any, clock: Clock) -> None:
        self.db, self.settings, self.clock = db, settings, clock
        self.ctx = intake.IntakeContext(settings.keyring, settings.verification_key,
                                        "https://childsafe.example.com", MemoryRateLimiter(),
                                        per_ip_per_hour=100_000, per_contact_per_day=100_000,
                                        evidence_per_report_per_day=100_000)
        self.watch = WatchFactory(db, settings.keyring)
        self.provider_ids: dict[str, int] = {}
        self.provider_principals: dict[str, ProviderPrincipal] = {}
        self.keys: dict[str, str] = {}

    def principal(self, username: str) -> Principal:
        with self.db.transaction() as s:
            return accounts.principal_for(s, accounts.get_user(s, username))

    # ---- reports, evidence, cases ---------------------------------------------------------

    def file(self, agency: str = CEOP, *, suspect: str | None = None,
             provider: str | None = "provider.alpha") -> tuple[str, str, list[str]]:
        """A report (phone contact: reaches officers at once) with a capture and pasted
        text; returns (case id, report reference, evidence ids)."""
        suspect = suspect or f"u-{secrets.token_hex(4)}"
        now = self.clock.now - timedelta(minutes=5)
        result = engine.evaluate(catalog.load_flow(),
                                 answers(country=COUNTRY_OF[agency], suspect=suspect), "en",
                                 now=now, routing=catalog.load_routing())
        reporter = parse_reporter({"name": "Kim Example", "phone": "020 7946 0018",
                                   "country": "GB", "age_band": "13_15",
                                   "relationship": "self"})
        room = f"room-{secrets.token_hex(4)}"  # distinct captures: never merged as duplicates
        evidence = [parse_conversation(conversation(now, suspect=suspect, room=room), now=now),
                    accept_pasted_text("are you alone? keep it our secret")]
        with self.db.transaction() as s:
            receipt = intake.submit_report(
                s, self.ctx, result=result, reporter=reporter, evidence=evidence,
                channel=intake.Channel.API, now=now,
                provider=self.provider_principals[provider] if provider else None)
        with self.db.transaction() as s:
            report = s.get(ReportRow, receipt.report_id)
            assert report is not None and report.case_id is not None
            ids = list(s.scalars(select(EvidenceRow.id).where(
                EvidenceRow.report_id == report.id).order_by(EvidenceRow.received_at)))
            return report.case_id, report.reference, ids

    def share(self, case_id: str, to: str, by: str = "ceop.supervisor") -> None:
        who = self.principal(by)
        with self.db.transaction() as s:
            case = s.get(CaseRow, case_id)
            assert case is not None
            cases.share_case(s, who, case, agencies.get_by_code(s, to), "isolation test")

    def pooled(self) -> tuple[str, str]:
        """A CEOP case and an HSI case about the same suspect: (CEOP case, HSI case)."""
        suspect = f"pool-{secrets.token_hex(4)}"
        mine = self.file(CEOP, suspect=suspect)[0]
        theirs = self.file(HSI, suspect=suspect)[0]
        return mine, theirs

    def sharing_request(self) -> int:
        """A pending request from CEOP to HSI, which only HSI's supervisors decide."""
        mine, _ = self.pooled()
        who = self.principal("ceop.supervisor")
        with self.db.transaction() as s:
            return pooling.request_sharing(s, who, mine, HSI, "same suspect",
                                           self.clock.now).id

    # ---- watch, roster, list, accounts ------------------------------------------------------

    def alert(self) -> str:
        return self.watch.alert(CEOP, provider_id=self.provider_ids["provider.alpha"]).id

    def shift(self, label: str = "") -> int:
        who = self.principal("ceop.supervisor")
        with self.db.transaction() as s:
            return roster.add_shift(s, self.settings.keyring, who, timezone="Europe/London",
                                    days="mon-fri", start="08:00", end="16:00",
                                    label=label or f"shift {secrets.token_hex(3)}",
                                    now=self.clock.now).id

    def entry(self) -> int:
        actor = authority_store.Actor("ceop.lister", CEOP)
        with self.db.transaction() as s:
            return authority_store.add_entry(
                s, actor, url=f"http://listed-{secrets.token_hex(4)}.test/p/a.html",
                scope="page", category="csam", reason="isolation test",
                review_date="2030-01-01").id

    def officer_account(self, agency: str = CEOP) -> tuple[int, str]:
        username = f"target.{secrets.token_hex(3)}"
        with self.db.transaction() as s:
            return accounts.create_user(s, agency=agencies.get_by_code(s, agency),
                                        username=username, display_name="Target Officer",
                                        password=STRONG_PASSWORD, roles="officer",
                                        email=f"{username}@example.com").id, username


@contextmanager
def build_world(tmp: Path, url: str) -> Iterator[World]:
    keyring = new_keyring()
    settings = make_settings(tmp, url, keyring)
    db = Database(settings.effective_database_url)
    clock = Clock()
    with db.transaction() as s:
        agencies.seed_agencies(s)
        agencies.create_agency(s, OPS, "childsafe platform operations (test)")
        station = PoliceStationRow(country="GB", name="Example Town Police", region="Test",
                                   email="desk@police.example", phone="+44 20 7946 0000",
                                   address="1 Example Road")
        s.add(station)
        s.flush()
        station_id = station.id
    key_path = authority_store.signing_key_path(settings)
    key_path.parent.mkdir(parents=True, exist_ok=True)
    generate_keys(key_path, key_path.with_suffix(".pub"))

    make_officer = OfficerFactory(db, keyring)
    officers = {name: make_officer(name, agency=agency, roles=role)
                for name, (agency, role) in OFFICERS.items()}
    b = _Builder(db, settings, clock)
    for actor in PROVIDERS:
        with db.transaction() as s:
            row = providers.create_provider(s, provider_name(actor))
            b.provider_ids[actor] = row.id
            b.keys[actor] = providers.issue_key(s, row, ALL_SCOPES).plaintext
            preservation.set_webhook(s, keyring, row, f"https://hooks.example.com/{row.id}",
                                     actor="test")
        with db.transaction() as s:
            found = providers.lookup_key(s, b.keys[actor])
            assert found is not None
            b.provider_principals[actor] = found[0]

    case_id, reference, evidence = b.file(CEOP)
    shared_case, _, shared_evidence = b.file(CEOP)
    b.share(shared_case, HSI)
    pooled_mine, _ = b.pooled()
    room_id = register_room(db, b.provider_ids["provider.alpha"], external_id=ROOM_MARKER,
                            title="Alpha teen lounge")
    with db.transaction() as s:
        note_author = accounts.principal_for(s, accounts.get_user(s, "ceop.officer"))
        roster.add_note(s, note_author, NOTE_MARKER, now=clock.now)
    with db.transaction() as s:
        case_reference = s.get(CaseRow, case_id).reference  # type: ignore[union-attr]
    alert_id = b.alert()
    account_id, account_name = b.officer_account()
    targets: dict[str, dict[str, str]] = {
        "none": {},
        "case": {"case_id": case_id},
        "shared_case": {"case_id": shared_case},
        "pooled_case": {"case_id": pooled_mine},
        "evidence": {"case_id": case_id, "evidence_id": evidence[0]},
        "shared_evidence": {"case_id": shared_case, "evidence_id": shared_evidence[0]},
        # Another case's evidence through a case the caller can see: nobody gets it.
        "crossed_evidence": {"case_id": shared_case, "evidence_id": evidence[0]},
        "report": {"reference": reference},
        "alert": {"alert_id": alert_id},
        "room": {"room_id": room_id},
        "shift": {"shift_id": str(b.shift(SHIFT_MARKER))},
        "entry": {"entry_id": str(b.entry())},
        "officer_account": {"user_id": str(account_id)},
        "sharing_request": {"request_id": str(b.sharing_request()), "decision": "approve"},
    }

    def fresh_shared() -> dict[str, str]:
        case = b.file(CEOP)[0]
        b.share(case, HSI)
        return {"case_id": case}

    makers: dict[str, Callable[[], dict[str, str]]] = {
        "case": lambda: {"case_id": b.file(CEOP)[0]},
        "shared_case": fresh_shared,
        "pooled_case": lambda: {"case_id": b.pooled()[0]},
        "alert": lambda: {"alert_id": b.alert()},
        "shift": lambda: {"shift_id": str(b.shift())},
        "entry": lambda: {"entry_id": str(b.entry())},
        "officer_account": lambda: {"user_id": str(b.officer_account()[0])},
        "sharing_request": lambda: {"request_id": str(b.sharing_request()),
                                    "decision": "approve"},
    }

    app = create_app(settings, db)
    app.state.clock = clock
    clients: dict[str, TestClient] = {}
    csrf: dict[str, str] = {}
    try:
        with TestClient(app, base_url="https://testserver",
                        raise_server_exceptions=False) as anonymous:  # runs the lifespan once
            clients[ANONYMOUS] = anonymous
            for name, officer in officers.items():
                client = TestClient(app, base_url="https://testserver",
                                    raise_server_exceptions=False)
                r = login(client, clock, officer)
                assert r.status_code == 303 and r.headers["location"] == "/", r.text
                csrf[name] = csrf_from(client.get("/").text)
                clients[name] = client
            for actor in PROVIDERS:
                clients[actor] = TestClient(
                    app, base_url="https://testserver", raise_server_exceptions=False,
                    headers={"authorization": f"Bearer {b.keys[actor]}"})
            yield World(app=app, db=db, settings=settings, clock=clock, clients=clients,
                        csrf=csrf, user_ids={n: o.id for n, o in officers.items()},
                        targets=targets, makers=makers, station_id=station_id,
                        markers={"case_reference": case_reference, "report": reference,
                                 "note": NOTE_MARKER, "shift": SHIFT_MARKER,
                                 "room": ROOM_MARKER, "alert": alert_id,
                                 "officer_account": account_name})
    finally:
        for name, client in clients.items():
            if name != ANONYMOUS:
                client.close()
        db.dispose()


ID_PARAMS = ("case_id", "evidence_id", "alert_id", "room_id", "reference", "shift_id",
             "entry_id", "user_id", "request_id")


def missing(params: dict[str, str]) -> dict[str, str]:
    """The same parameters with the object they name (the last id of the path) replaced by
    one that does not exist (for the 404 comparison)."""
    ids = [k for k in params if k in ID_PARAMS]
    out = dict(params)
    for key, value in params.items():
        if key != ids[-1]:
            continue
        if key in {"case_id", "evidence_id", "alert_id"}:
            out[key] = str(uuid.uuid4())
        elif key == "room_id":
            out[key] = "rm_" + secrets.token_hex(12)
        elif key == "reference":
            out[key] = "R-ZZZZ-ZZZZ"
        else:
            out[key] = str(987_654_321)
    return out


def sqlite_copy(template: Path, tmp: Path) -> str:
    path = tmp / "childsafe.db"
    shutil.copy(template, path)
    return f"sqlite:///{path}"
