"""The isolation matrix as data: each object's routes, what to send, and who is entitled.

`OPS` lists every operation on every object type (read, write/act, export) with the route
template exactly as the app declares it, and the actors entitled to it (names from
`world.ACTORS`). `test_matrix.py` crosses it with every actor and derives the expected answer:

* entitled → allowed (2xx, or 303 to somewhere other than the login page);
* not signed in for the route's realm (anonymous, a provider key on a console page, an
  officer's cookie on the provider API) → sent to log in (303 /login, or 401);
* signed in, lacking the route's permission, or the object is visible to them but the action
  is not theirs (a case shared read-only) → 403;
* signed in, holding the permission, but the object is another agency's (or provider's) →
  404, byte-for-byte the answer for an object that does not exist;
and every refusal of a signed-in caller leaves an audit entry with outcome `denied`.

`COLLECTIONS` are routes that name no object (queues, lists, forms that create): their
refusals are 403 (never 404), and `LEAKS` checks their content shows nothing of another
agency's or provider's objects. `NOT_OBJECT_SCOPED` lists, with the reason, the routes that
need neither (public pages, capability links); a test fails for any route in none of these.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from childsafe.core.permissions import Permission
from tests.isolation.world import ACTORS, CEOP, HSI, OFFICERS, PROVIDERS, World
from tests.reports.case_factory import answers, conversation

Body = Callable[[World, str, dict[str, str]], dict[str, Any]]


def actors(*groups: str) -> frozenset[str]:
    """Actors by name, or by group: `ceop:officer`, `*:supervisor`, `hsi:*`."""
    out: set[str] = set()
    for group in groups:
        if group in ACTORS:
            out.add(group)
            continue
        agency_part, _, role = group.partition(":")
        prefix = {"ceop": CEOP, "hsi": HSI, "*": None}[agency_part]
        for name, (agency, granted) in OFFICERS.items():
            if (prefix is None or agency == prefix) and role in ("*", granted):
                out.add(name)
    assert out, f"no actor matches {groups}"
    return frozenset(out)


CEOP_CASEWORK = actors("ceop:officer", "ceop:supervisor")
HSI_CASEWORK = actors("hsi:officer", "hsi:supervisor")
CASEWORK = CEOP_CASEWORK | HSI_CASEWORK
CEOP_SUPERVISOR = actors("ceop:supervisor")
SUPERVISORS = actors("*:supervisor")
WATCH_MANAGERS = actors("*:supervisor", "*:agency-admin")
WATCH_STAFF = CASEWORK | actors("*:agency-admin")
LISTERS = actors("*:list-editor")
AUDIT_READERS = actors("*:supervisor", "*:agency-admin", "platform.admin")
USER_MANAGERS = actors("*:agency-admin", "platform.admin")
USER_READERS = CASEWORK | USER_MANAGERS
ALL_OFFICERS = frozenset(OFFICERS)
ALPHA = frozenset({"provider.alpha"})
ALL_PROVIDERS = frozenset(PROVIDERS)


@dataclass(frozen=True)
class Op:
    obj: str  # the object type (or the collection) the route acts on
    action: str  # read | write | export
    method: str
    path: str  # the route template, exactly as declared
    target: str  # key of `World.targets`: the object the request names
    entitled: frozenset[str]
    visible: frozenset[str] = frozenset()  # know it exists: refused with 403 (or 404)
    body: Body | None = None
    fresh: str | None = None  # allowed requests act on a new object of this kind
    params: dict[str, str] = field(default_factory=dict)  # fixed path parameters
    hide: bool = True  # 404 for a permitted caller who may not see the object
    stream: bool = False  # server-sent events: only refusals are requested
    also_needs: tuple[Permission, ...] = ()  # the route checks these too (any of them)

    @property
    def id(self) -> str:
        return f"{self.obj}-{self.action}-{self.method} {self.path}[{self.target}]"


def form(**fields: Any) -> Body:
    def build(world: World, actor: str, params: dict[str, str]) -> dict[str, Any]:
        return {"data": {k: (v(world, actor, params) if callable(v) else v)
                         for k, v in fields.items()}}
    return build


def json_body(build_doc: Callable[[World, str, dict[str, str]], Any]) -> Body:
    def build(world: World, actor: str, params: dict[str, str]) -> dict[str, Any]:
        return {"json": build_doc(world, actor, params)}
    return build


def _own_officer(world: World, actor: str, params: dict[str, str]) -> str:
    """An officer of the actor's own agency (bulk assignment checks the officer first)."""
    agency = OFFICERS.get(actor, (CEOP, ""))[0]
    mine = [n for n, (a, role) in OFFICERS.items() if a == agency and role == "officer"]
    return str(world.user_ids[mine[0] if mine else "ceop.officer"])


def _report_doc(world: World, actor: str, params: dict[str, str]) -> Any:
    return {"answers": answers(country="GB", suspect=f"s-{secrets.token_hex(3)}"),
            "reporter": {"name": "Kim Example", "phone": "020 7946 0018", "country": "GB",
                         "age_band": "13_15", "relationship": "self"}}


def _handoff_doc(world: World, actor: str, params: dict[str, str]) -> Any:
    return {"conversation": conversation(world.clock.now - timedelta(minutes=1)),
            "reporter": {"name": "Kim Example", "country": "GB"}}


def _messages_doc(world: World, actor: str, params: dict[str, str]) -> Any:
    sent = (world.clock.now - timedelta(minutes=1)).isoformat()
    return {"messages": [{"message_id": f"m-{secrets.token_hex(6)}", "author_id": "u-1",
                          "sent_at": sent, "text": "anyone here like drawing?"}]}


def _room_doc(world: World, actor: str, params: dict[str, str]) -> Any:
    return {"external_id": f"room-{secrets.token_hex(4)}", "title": "Homework help",
            "audience": "teen", "language": "en", "region": "GB"}


def _import_file(world: World, actor: str, params: dict[str, str]) -> dict[str, Any]:
    line = f"http://import-{secrets.token_hex(4)}.test/p/a.html,page,csam,{actor},ticket 9,2030-01-01\n"
    csv = "url,scope,category,added_by,reason,review_date\n" + line
    return {"files": {"file": ("entries.csv", csv.encode(), "text/csv")}}


def _detector(world: World, actor: str, params: dict[str, str]) -> str:
    from childsafe.watch import thresholds
    return thresholds.detector_names()[0]


# ---- objects -----------------------------------------------------------------------------------

def _case_ops(target: str, *, shared: bool) -> list[Op]:
    """Every case route on the CEOP-owned `target`; HSI reads the shared one, never writes it."""
    readers = CASEWORK if shared else CEOP_CASEWORK
    visible = HSI_CASEWORK if shared else frozenset()
    fresh = "shared_case" if shared else "case"

    def op(action: str, method: str, path: str, entitled: frozenset[str], **kw: Any) -> Op:
        return Op("case", action, method, path, target, entitled, visible=visible, **kw)

    return [
        op("read", "GET", "/cases/{case_id}", readers),
        op("read", "GET", "/api/v1/cases/{case_id}", readers),
        op("read", "GET", "/api/v1/cases/{case_id}/pooling", readers),
        op("write", "POST", "/cases/{case_id}/claim", CEOP_CASEWORK, body=form(), fresh=fresh),
        op("write", "POST", "/cases/{case_id}/release", CEOP_CASEWORK, body=form(),
           fresh=fresh),
        # Notes are the one thing an agency a case is shared with may add (the page offers it).
        op("write", "POST", "/cases/{case_id}/note", readers,
           body=form(note="isolation matrix note"), fresh=fresh),
        op("write", "POST", "/cases/{case_id}/advise", CEOP_CASEWORK,
           body=form(advice="Keep the messages and do not reply."), fresh=fresh),
        op("write", "POST", "/cases/{case_id}/escalate", CEOP_CASEWORK,
           body=form(station=lambda w, a, p: str(w.station_id), reason="child at risk"),
           fresh=fresh),
        op("write", "POST", "/cases/{case_id}/close", CEOP_CASEWORK,
           body=form(outcome="no_further_action"), fresh=fresh),
        op("write", "POST", "/cases/{case_id}/preserve", CEOP_CASEWORK, body=form(),
           fresh=fresh),
        op("write", "POST", "/cases/{case_id}/transfer", CEOP_SUPERVISOR,
           body=form(agency="AU-AFP-ACCCE", reason="isolation test", mode="share"),
           fresh=fresh),
        op("write", "POST", "/cases/bulk-assign", CEOP_SUPERVISOR,
           body=form(case_ids=lambda w, a, p: [p["case_id"]], officer=_own_officer),
           fresh=fresh),
        op("export", "GET", "/cases/{case_id}/referral", CEOP_CASEWORK),
    ]


OPS: list[Op] = [
    # Reports: a provider sees the state of the reports it filed, nothing else.
    Op("report", "read", "GET", "/api/v1/reports/{reference}", "report", ALPHA),
    Op("evidence", "write", "POST", "/api/v1/reports/{reference}/evidence", "report", ALPHA,
       body=form(text="later message: asked to keep it secret")),
    # Cases, private and shared read-only with HSI.
    *_case_ops("case", shared=False),
    *_case_ops("shared_case", shared=True),
    Op("case", "write", "POST", "/cases/{case_id}/sharing-request", "pooled_case",
       CEOP_SUPERVISOR, body=form(agency=HSI, reason="same suspect"), fresh="pooled_case"),
    Op("case", "write", "POST", "/api/v1/sharing-requests", "pooled_case", CEOP_SUPERVISOR,
       body=json_body(lambda w, a, p: {"case_id": p["case_id"], "to_agency": HSI,
                                       "reason": "same suspect"}), fresh="pooled_case"),
    # Evidence, served only through a case the caller may read and that holds it.
    Op("evidence", "read", "GET", "/cases/{case_id}/evidence/{evidence_id}", "evidence",
       CEOP_CASEWORK),
    Op("evidence", "read", "GET", "/cases/{case_id}/evidence/{evidence_id}", "shared_evidence",
       CASEWORK),
    Op("evidence", "read", "GET", "/cases/{case_id}/evidence/{evidence_id}",
       "crossed_evidence", frozenset()),
    # Sharing requests CEOP sent to HSI: only HSI's supervisors decide them.
    Op("sharing_request", "write", "POST", "/sharing/{request_id}/{decision}",
       "sharing_request", actors("hsi:supervisor"), body=form(note="ok"),
       fresh="sharing_request"),
    Op("sharing_request", "write", "POST", "/api/v1/sharing-requests/{request_id}/approve",
       "sharing_request", actors("hsi:supervisor"), body=json_body(lambda w, a, p: {}),
       fresh="sharing_request"),
    Op("sharing_request", "write", "POST", "/api/v1/sharing-requests/{request_id}/refuse",
       "sharing_request", actors("hsi:supervisor"), body=json_body(lambda w, a, p: {}),
       fresh="sharing_request"),
    # Watch alerts of CEOP, and the interventions and cases officers make of them.
    Op("alert", "read", "GET", "/console/watch/alerts/{alert_id}", "alert", CEOP_CASEWORK),
    Op("alert", "write", "POST", "/console/watch/alerts/{alert_id}/acknowledge", "alert",
       CEOP_CASEWORK, body=form(), fresh="alert"),
    Op("alert", "write", "POST", "/console/watch/alerts/{alert_id}/dismiss", "alert",
       CEOP_CASEWORK, body=form(reason="false_alarm"), fresh="alert"),
    Op("intervention", "write", "POST", "/console/watch/alerts/{alert_id}/intervene", "alert",
       CEOP_CASEWORK, body=form(kind="suspend"), fresh="alert"),
    Op("alert", "write", "POST", "/console/watch/alerts/{alert_id}/case", "alert",
       CEOP_CASEWORK, body=form(), fresh="alert"),
    # Rooms belong to the provider that registered them; agencies choose which they monitor
    # (a directory every agency's Watch managers see, so no 404 policy there).
    Op("room", "read", "GET", "/api/v1/rooms/{room_id}", "room", ALPHA),
    Op("room", "write", "POST", "/api/v1/rooms/{room_id}/messages", "room", ALPHA,
       body=json_body(_messages_doc)),
    Op("room", "write", "POST", "/console/watch/rooms/{room_id}/monitor", "room",
       WATCH_MANAGERS, body=form(monitor="1"), hide=False),
    # The CEOP roster: a shift only CEOP's Watch managers remove.
    Op("shift", "write", "POST", "/console/watch/roster/shifts/{shift_id}/remove", "shift",
       actors("ceop:supervisor", "ceop:agency-admin"), body=form(), fresh="shift"),
    # The URL list is one list for the platform: list editors of any agency.
    Op("list_entry", "write", "POST", "/block/entries/{entry_id}/remove", "entry", LISTERS,
       body=form(reason="isolation test"), fresh="entry"),
    # Officer accounts: read by the agency's staff, managed by its admin only.
    Op("officer_account", "read", "GET", "/api/v1/officers/{user_id}", "officer_account",
       actors("ceop:officer", "ceop:supervisor", "ceop:agency-admin")),
    Op("officer_account", "write", "POST", "/admin/officers/{user_id}/roles", "officer_account",
       actors("ceop:agency-admin"), body=form(role="officer,list-editor"),
       fresh="officer_account"),
    Op("officer_account", "write", "POST", "/admin/officers/{user_id}/{action}",
       "officer_account", actors("ceop:agency-admin"), body=form(), params={"action": "unlock"},
       fresh="officer_account"),
]


def _collection(obj: str, action: str, method: str, path: str, entitled: frozenset[str],
                **kw: Any) -> Op:
    return Op(obj, action, method, path, "none", entitled, hide=False, **kw)


_WATCH_VIEWERS = (Permission.WATCH_VIEW, Permission.WATCH_MANAGE)
COLLECTIONS: list[Op] = [
    _collection("console", "read", "GET", "/", ALL_OFFICERS),
    _collection("case_queue", "read", "GET", "/dashboard", CASEWORK),
    _collection("case_queue", "read", "GET", "/api/v1/cases", CASEWORK),
    _collection("case_queue", "read", "GET", "/api/v1/queue", CASEWORK),
    _collection("case_queue", "read", "GET", "/console/events", CASEWORK, stream=True),
    _collection("officer_account", "read", "GET", "/api/v1/me", ALL_OFFICERS),
    _collection("officer_account", "read", "GET", "/api/v1/officers", USER_READERS),
    _collection("officer_account", "read", "GET", "/admin/officers", USER_MANAGERS),
    _collection("officer_account", "write", "POST", "/admin/officers", USER_MANAGERS,
                body=form(username=lambda w, a, p: f"new.{secrets.token_hex(3)}",
                          display_name="New Officer", role="officer",
                          email=lambda w, a, p: f"new.{secrets.token_hex(3)}@example.com",
                          password="correct-horse-battery-staple")),
    _collection("sharing_request", "read", "GET", "/sharing", SUPERVISORS),
    _collection("sharing_request", "read", "GET", "/api/v1/sharing-requests", SUPERVISORS),
    _collection("audit", "export", "GET", "/audit/export", AUDIT_READERS),
    _collection("alert", "read", "GET", "/console/watch/alerts", CASEWORK),
    _collection("alert", "read", "GET", "/console/watch/events", CASEWORK, stream=True),
    _collection("room", "read", "GET", "/console/watch/rooms", WATCH_STAFF,
                also_needs=_WATCH_VIEWERS),
    _collection("shift", "read", "GET", "/console/watch/roster", WATCH_STAFF,
                also_needs=_WATCH_VIEWERS),
    _collection("shift", "write", "POST", "/console/watch/roster/shifts", WATCH_MANAGERS,
                body=form(timezone="Europe/London", days="sat,sun", start="10:00",
                          end="12:00", label="weekend cover")),
    _collection("handover_note", "write", "POST", "/console/watch/roster/notes", CASEWORK,
                body=form(body="quiet shift, nothing pending")),
    _collection("room", "read", "GET", "/console/watch/coverage", WATCH_STAFF,
                also_needs=_WATCH_VIEWERS),
    _collection("threshold", "read", "GET", "/console/watch/thresholds", WATCH_STAFF,
                also_needs=_WATCH_VIEWERS),
    _collection("threshold", "write", "POST", "/console/watch/thresholds", WATCH_MANAGERS,
                body=form(detector=_detector, threshold="0.7")),
    _collection("list_entry", "read", "GET", "/block", LISTERS),
    _collection("list_entry", "read", "GET", "/block/history", LISTERS),
    _collection("list_entry", "export", "GET", "/block/public-key", LISTERS),
    _collection("list_entry", "write", "POST", "/block/entries", LISTERS,
                body=form(url=lambda w, a, p: f"http://new-{secrets.token_hex(4)}.test/x.html",
                          scope="page", category="csam", reason="ticket 8",
                          review_date="2030-01-01")),
    _collection("list_entry", "write", "POST", "/block/import", LISTERS, body=_import_file),
    _collection("list_entry", "write", "POST", "/block/publish", LISTERS, body=form()),
    # Provider API collections: a key sees and writes only its own provider's.
    _collection("report", "write", "POST", "/api/v1/reports", ALL_PROVIDERS,
                body=json_body(_report_doc)),
    _collection("report", "read", "GET", "/api/v1/reports/flow/questions", ALL_PROVIDERS),
    _collection("provider", "read", "GET", "/api/v1/provider/me", ALL_PROVIDERS),
    _collection("room", "read", "GET", "/api/v1/rooms", ALL_PROVIDERS),
    _collection("room", "write", "POST", "/api/v1/rooms", ALL_PROVIDERS,
                body=json_body(_room_doc)),
    _collection("handoff", "write", "POST", "/api/v1/report-handoffs", ALL_PROVIDERS,
                body=json_body(_handoff_doc)),
]

# Routes that name no object a role or tenant could be refused: public by design, each with
# the reason. Every other route must be in OPS or COLLECTIONS (test_every_route_is_covered).
NOT_OBJECT_SCOPED: dict[tuple[str, str], str] = {
    ("GET", "/login"): "login form",
    ("POST", "/login"): "password step (rate limited, failures audited)",
    ("GET", "/login/enrol"): "TOTP enrolment (needs the password step's cookie)",
    ("POST", "/login/enrol"): "TOTP enrolment (needs the password step's cookie)",
    ("GET", "/login/mfa"): "second factor (needs the password step's cookie)",
    ("POST", "/login/mfa"): "second factor (needs the password step's cookie)",
    ("POST", "/logout"): "ends the caller's own session",
    ("GET", "/report"): "public report wizard",
    ("POST", "/report"): "public report wizard",
    ("POST", "/report/details"): "public report wizard",
    ("POST", "/report/evidence"): "public report wizard",
    ("GET", "/report/receipt/{token}"): "capability link: unguessable token of one report",
    ("GET", "/report/status/{token}"): "capability link: unguessable token of one report",
    ("POST", "/report/status/{token}/verify"): "capability link of one report",
    ("POST", "/report/status/{token}/resend"): "capability link of one report",
    ("POST", "/report/status/{token}/note"): "capability link of one report",
    ("POST", "/report/status/{token}/evidence"): "capability link of one report",
    ("GET", "/report/verify/{report_id}/{link_token}"): "e-mailed one-time verification link",
    ("GET", "/report/start/{token}"): "hand-off capability link, bound to the first browser "
                                      "(test_matrix.py::test_handoff_link_opens_in_one_browser_only)",
    ("GET", "/report/help/capture"): "public guidance",
    ("GET", "/report/tips"): "public safety tips",
    ("GET", "/report/tips.json"): "public safety tips",
    ("GET", "/report/embed-demo"): "public demo page",
    ("GET", "/api/v1/agencies"): "public directory of member agencies",
    ("GET", "/api/v1/routing/{country}"): "public routing table",
    ("GET", "/api/v1/rooms/{room_id}/badge"): "public badge: monitored or not, nothing else",
    ("GET", "/api/v1/rooms/{room_id}/badge.svg"): "public badge: monitored or not, nothing else",
    ("GET", "/block/list/{name}"): "published list files: keyed hashes and a signature",
    ("GET", "/healthz"): "liveness",
    ("GET", "/readyz"): "readiness",
    ("GET", "/api/docs"): "API reference",
    ("POST", "/csp-report"): "browsers' CSP violation reports",
}

# Content that must not appear in a listing for these actors (it is another agency's, or
# another provider's): (method, path) → (world marker, actors who must not see it).
LEAKS: list[tuple[str, str, str, frozenset[str]]] = [
    ("GET", "/", "case_reference", HSI_CASEWORK),
    ("GET", "/api/v1/cases", "case_reference", HSI_CASEWORK),
    ("GET", "/dashboard", "case_reference", HSI_CASEWORK),
    ("GET", "/console/watch/alerts?state=all", "alert", HSI_CASEWORK),
    ("GET", "/console/watch/roster", "note", actors("hsi:officer", "hsi:supervisor",
                                                    "hsi:agency-admin", "ceop:agency-admin")),
    ("GET", "/console/watch/roster", "shift", actors("hsi:officer", "hsi:supervisor",
                                                     "hsi:agency-admin")),
    ("GET", "/api/v1/officers", "officer_account", actors("hsi:officer", "hsi:supervisor",
                                                          "hsi:agency-admin",
                                                          "platform.admin")),
    ("GET", "/admin/officers", "officer_account", actors("hsi:agency-admin", "platform.admin")),
    ("GET", "/api/v1/rooms", "room", frozenset({"provider.beta"})),
    ("GET", "/api/v1/rooms?external_id=alpha-room-marker", "room", frozenset({"provider.beta"})),
    ("GET", "/audit/export", "case_reference", actors("hsi:supervisor", "hsi:agency-admin",
                                                      "platform.admin")),
]
