"""The CyberTipline mapping (pure): only the documented fields, mapped and escaped."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from childsafe.reports.core import cybertip
from childsafe.reports.core.casefile import (
    CaseFile,
    ConversationFacts,
    EvidenceFacts,
    ReportedUser,
    ReporterFacts,
    ReportFacts,
)

# The field list of the CyberTipline report (shared/data/cybertipline_fields.md), by parent.
# `fileSize` is childsafe's one documented extension.
ALLOWED: dict[str, set[str]] = {
    "report": {"incidentSummary", "internetDetails", "reporter", "personOrUserReported",
               "victim", "intendedRecipient", "lawEnforcement", "fileDetails"},
    "incidentSummary": {"incidentType", "incidentDateTime", "incidentDateTimeDescription",
                        "platform", "escalateToHighPriority", "reportAnnotations"},
    "reportAnnotations": {"sextortion", "csamSolicitation", "minorToMinorInteraction", "spam",
                          "sadisticOnlineExploitation", "informational"},
    "internetDetails": {"chatImIncident", "webPageIncident", "email", "onlineGaming",
                        "cellPhone", "peer2peer", "nonInternet"},
    "chatImIncident": {"chatClient", "chatRoomName", "content", "additionalInfo"},
    "webPageIncident": {"url"},
    "reporter": {"reportingPerson", "contactPerson", "termsOfService", "legalURL"},
    "reportingPerson": {"firstName", "lastName", "phone", "email", "address"},
    "personOrUserReported": {"espIdentifier", "espService", "screenName", "displayName",
                             "profileUrl", "ipCaptureEvent", "deviceId", "estimatedLocation",
                             "associatedAccount"},
    "victim": {"person", "espIdentifier", "espService", "screenName", "displayName",
               "schoolName"},
    "person": {"name", "age", "dateOfBirth", "contact"},
    "lawEnforcement": {"agencyName", "caseNumber", "officerContact", "reportedToLe",
                       "fleaCountry"},
    "fileDetails": {"reportId", "fileId", "originalFileName", "originalFileHash",
                    "fileRelevance", "fileAnnotations", "fileViewedByEsp", "publiclyAvailable",
                    "ipCaptureEvent", "fileSize"},
}
LEAVES = {"incidentType", "incidentDateTime", "incidentDateTimeDescription", "platform",
          "escalateToHighPriority", "chatClient", "chatRoomName", "content", "additionalInfo",
          "url", "firstName", "lastName", "phone", "email", "espIdentifier", "espService",
          "screenName", "displayName", "age", "agencyName", "caseNumber", "fileId",
          "originalFileName", "originalFileHash", "fileRelevance", "fileViewedByEsp",
          "publiclyAvailable", "fileSize"} | ALLOWED["reportAnnotations"]
NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)


def validate(root: ET.Element) -> None:
    """Every element sits under a parent that allows it; leaves carry no children."""
    assert root.tag == "report"

    def walk(node: ET.Element) -> None:
        for child in node:
            assert child.tag in ALLOWED.get(node.tag, set()), f"{child.tag} under {node.tag}"
            if child.tag in LEAVES:
                assert len(child) == 0, child.tag
            walk(child)

    walk(root)
    details = root.find("internetDetails")
    assert details is not None and len(details) == 1  # exactly one subtype
    assert root.findtext("incidentSummary/incidentType") in cybertip.INCIDENT_TYPE_VALUES
    for hashed in root.iter("originalFileHash"):
        assert hashed.get("hashType") in {"MD5", "SHA1", "SHA256", "PDQ"}
    for relevance in root.iter("fileRelevance"):
        assert relevance.text in {"Reported", "Supplemental Reported"}


def case(**report_changes) -> CaseFile:
    conversation = ConversationFacts("ev-1", "chatty.test", "room-42", 2, 6,
                                     NOW - timedelta(hours=2), NOW - timedelta(hours=1))
    report = ReportFacts(
        id="r1", reference="R-ABCD-EFGH", received_at=NOW, category="sextortion",
        immediate=False, channel="api", country="US", language="en", platform="Chatty",
        incident_when="2026-11-19",
        reporter=ReporterFacts("Kim Ann Example", "kim@example.com", "+12025550143", "US",
                               "13_15", "self"),
        victim_age=None, victim_age_band="13_15", conversations=(conversation,),
        reported_users=(ReportedUser("chatty.test", "u2", "Sam", None),),
        evidence=(EvidenceFacts("ev-1", "conversation", "ev-1.json", "application/json", 812,
                                "a" * 64, "b" * 32, NOW, "provider"),
                  EvidenceFacts("ev-2", "file", "ev-2.png", "image/png", 2048, "c" * 64,
                                "d" * 32, NOW, "reporter")))
    report = dataclasses.replace(report, **report_changes)
    return CaseFile("c1", "CS-ABCD-EFGH", "US-DHS-HSI", "U.S. Department of Homeland Security",
                    "Threats over an image (sextortion) — reported from US", "new", "P1",
                    ("threat to share an image", "victim aged 13-15"), "US", NOW, (report,))


def parse(file: CaseFile, **kwargs) -> ET.Element:
    data = cybertip.to_xml(file, **kwargs)
    assert data.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    root = ET.fromstring(data)
    validate(root)
    return root


def test_full_report_maps_every_section():
    root = parse(case())
    summary = root.find("incidentSummary")
    assert summary.findtext("incidentType") == "Online Enticement of Children for Sexual Acts"
    assert summary.findtext("incidentDateTime") == "2026-11-20T16:00:00Z"  # first message
    assert summary.findtext("platform") == "chatty.test"
    assert summary.findtext("escalateToHighPriority") == \
        "P1 because: threat to share an image; victim aged 13-15"
    assert [a.tag for a in summary.find("reportAnnotations")] == ["sextortion"]
    chat = root.find("internetDetails/chatImIncident")
    assert chat.findtext("chatClient") == "chatty.test"
    assert chat.findtext("chatRoomName") == "room-42"
    assert "6 message(s) between 2 participant(s)" in chat.findtext("content")
    assert "CS-ABCD-EFGH" in chat.findtext("additionalInfo")
    person = root.find("reporter/reportingPerson")
    assert (person.findtext("firstName"), person.findtext("lastName")) == ("Kim Ann", "Example")
    assert person.findtext("email") == "kim@example.com"
    assert person.findtext("phone") == "+12025550143"
    reported = root.find("personOrUserReported")
    assert (reported.findtext("espIdentifier"), reported.findtext("espService"),
            reported.findtext("displayName")) == ("u2", "chatty.test", "Sam")
    assert root.findtext("victim/person/age") == "13-15"
    assert root.findtext("lawEnforcement/caseNumber") == "CS-ABCD-EFGH"
    files = root.findall("fileDetails")
    assert [f.findtext("fileRelevance") for f in files] == ["Supplemental Reported", "Reported"]
    assert [f.findtext("fileSize") for f in files] == ["812", "2048"]
    assert {h.get("hashType"): h.text for h in files[1].iter("originalFileHash")} == {
        "MD5": "d" * 32, "SHA256": "c" * 64}


@pytest.mark.parametrize(("category", "incident", "notes"), [
    ("grooming", "Online Enticement of Children for Sexual Acts", []),
    ("image_request", "Online Enticement of Children for Sexual Acts", ["csamSolicitation"]),
    ("unsolicited_material", "Unsolicited Obscene Material Sent to a Child", []),
    ("indecent_images_seen", "Child Pornography", []),
    ("other_concern", "Online Enticement of Children for Sexual Acts", []),
])
def test_category_mapping(category, incident, notes):
    root = parse(case(category=category))
    assert root.findtext("incidentSummary/incidentType") == incident
    assert [a.tag for a in root.iterfind("incidentSummary/reportAnnotations/*")] == notes


def test_every_category_is_mapped_to_a_valid_value():
    from childsafe.reports.core.model import Category

    for category in Category:
        if category.in_scope:
            incident, notes = cybertip.INCIDENT_TYPES[category.value]
            assert incident in cybertip.INCIDENT_TYPE_VALUES
            assert set(notes) <= cybertip.ANNOTATION_VALUES


def test_not_urgent_no_escalation_and_minor_suspect_annotated():
    file = dataclasses.replace(case(reported_users=(ReportedUser("chatty.test", "u2", None, 15),)),
                               priority="P3", priority_reasons=())
    root = parse(file)
    assert root.find("incidentSummary/escalateToHighPriority") is None
    assert "minorToMinorInteraction" in [a.tag for a in
                                         root.iterfind("incidentSummary/reportAnnotations/*")]


def test_immediate_report_escalates_even_before_triage():
    file = dataclasses.replace(case(immediate=True), priority=None, priority_reasons=())
    assert "immediate" in parse(file).findtext("incidentSummary/escalateToHighPriority")


def test_without_conversation_uses_reporter_date_and_url():
    root = parse(case(conversations=(), seen_where="on https://images.example.com/p/1 today",
                      category="indecent_images_seen", reported_users=(
                          ReportedUser("Chatty", "sam_99", None, None, "reporter"),)))
    assert root.findtext("incidentSummary/incidentDateTime") == "2026-11-19T00:00:00Z"
    assert root.findtext("internetDetails/webPageIncident/url") == \
        "https://images.example.com/p/1"
    assert root.findtext("personOrUserReported/screenName") == "sam_99"
    assert root.find("personOrUserReported/espIdentifier") is None


def test_reporter_left_out_when_not_the_owner_and_no_victim_when_unknown():
    root = parse(case(victim_age_band=None), include_reporter=False)
    assert root.find("reporter") is None and root.find("victim") is None


def test_hostile_text_is_escaped_and_made_valid_xml():
    nasty = "</content><script>x</script> & ]]> \x00\x07\x1b \ud800 ok"
    root = parse(case(reported_users=(ReportedUser("chatty.test", nasty, nasty, None),),
                      seen_where=nasty, reporter=ReporterFacts(nasty, None, None, "US", "13_15",
                                                               "self")))
    text = root.findtext("personOrUserReported/espIdentifier")
    assert text.startswith("</content><script>x</script> & ]]>")
    assert "\x00" not in text and "\ufffd" in text and text.endswith(" ok")


def test_a_case_without_reports_cannot_be_exported():
    with pytest.raises(ValueError, match="no report"):
        cybertip.to_xml(dataclasses.replace(case(), reports=()))


def test_split_name():
    assert cybertip.split_name("Kim") == ("Kim", None)
    assert cybertip.split_name(" Kim  Example ") == ("Kim", "Example")
