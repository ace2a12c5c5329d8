"""A case as a CyberTipline-compatible XML report (NCMEC's Reporting API vocabulary).

Pure mapping from `CaseFile` to bytes: the export channel writes the file, nothing here does
I/O. Field names follow the CyberTipline report schema (incidentSummary, internetDetails,
reporter, personOrUserReported, victim, lawEnforcement, fileDetails); one childsafe
extension, `fileDetails/fileSize`, carries the size in bytes. Every text value is escaped by
ElementTree, and characters XML 1.0 cannot carry (controls, lone surrogates) are replaced
by U+FFFD first, so hostile chat content can never break or inject into the document.

Decisions:
- incidentType comes from our category (`INCIDENT_TYPES`); sextortion and image requests
  also carry the matching reportAnnotations; a reported account declaring an age under 18
  adds `minorToMinorInteraction`.
- escalateToHighPriority is set for P1 cases (or reports marked immediate) with the triage
  reasons as its text; NCMEC escalates on any value.
- The conversation file is "Supplemental Reported"; other evidence is "Reported".
- victim/person/age is the age the child declared in the capture when known, else the age
  band the child gave about themselves ("13-15"); no victim element when neither is known.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # noqa: S405 - we only build and serialise, never parse
from datetime import datetime

from childsafe.reports.core.casefile import CaseFile, ReportFacts, iso

ENTICEMENT = "Online Enticement of Children for Sexual Acts"
UNSOLICITED = "Unsolicited Obscene Material Sent to a Child"
CSAM = "Child Pornography"

INCIDENT_TYPE_VALUES = frozenset({
    CSAM, "Child Sex Trafficking", "Child Sex Tourism", "Child Sexual Molestation",
    "Misleading Domain Name", "Misleading Words or Digital Images", ENTICEMENT, UNSOLICITED})
ANNOTATION_VALUES = frozenset({"sextortion", "csamSolicitation", "minorToMinorInteraction",
                               "spam", "sadisticOnlineExploitation", "informational"})

# our category -> (incidentType, reportAnnotations)
INCIDENT_TYPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "grooming": (ENTICEMENT, ()),
    "image_request": (ENTICEMENT, ("csamSolicitation",)),
    "sextortion": (ENTICEMENT, ("sextortion",)),
    "meeting_pressure": (ENTICEMENT, ()),
    "sexual_talk": (ENTICEMENT, ()),
    "unsolicited_material": (UNSOLICITED, ()),
    "indecent_images_seen": (CSAM, ()),
    "other_concern": (ENTICEMENT, ()),
}

_AGE_BAND_TEXT = {"under_13": "under 13", "13_15": "13-15", "16_17": "16-17"}
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_URL = re.compile(r"https?://\S+", re.IGNORECASE)


def xml_text(value: object) -> str:
    """Text XML 1.0 can carry: forbidden code points become U+FFFD (escaping is ET's job)."""
    return _NOT_XML.sub("\ufffd", str(value))


def _add(parent: ET.Element, tag: str, value: object | None = None,
         **attrs: str) -> ET.Element:
    child = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrs.items()})
    if value is not None:
        child.text = xml_text(value)
    return child


def _add_opt(parent: ET.Element, tag: str, value: object | None) -> None:
    if value is not None and str(value) != "":
        _add(parent, tag, value)


def split_name(name: str) -> tuple[str, str | None]:
    """("Ada", "Lovelace") from "Ada Lovelace"; a single word is a first name only."""
    parts = name.strip().rsplit(None, 1)
    if len(parts) == 2:
        return parts[0], parts[1]
    return (parts[0] if parts else ""), None


def _incident_moment(report: ReportFacts) -> tuple[str, str]:
    firsts = [c.first_at for c in report.conversations if c.first_at is not None]
    if firsts:
        return iso(min(firsts)) or "", "Time of the first message in the captured conversation."
    if report.incident_when:
        try:
            moment = datetime.fromisoformat(report.incident_when.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None:
            return iso(moment) or "", f"As given by the reporter: {report.incident_when}."
    return iso(report.received_at) or "", "Unknown; this is when the report was received."


def escalation(case: CaseFile) -> str | None:
    """The escalateToHighPriority text, or None when the case is not urgent."""
    immediate = any(r.immediate for r in case.reports)
    if case.priority != "P1" and not immediate:
        return None
    reasons = "; ".join(case.priority_reasons)
    if case.priority == "P1" and reasons:
        return f"P1 because: {reasons}"
    return "Reported as immediate: someone may be in danger now."


def report_annotations(case: CaseFile) -> list[str]:
    found: list[str] = []
    for report in case.reports:
        found += INCIDENT_TYPES.get(report.category, (ENTICEMENT, ()))[1]
        if any(u.declared_age is not None and u.declared_age < 18
               for u in report.reported_users):
            found.append("minorToMinorInteraction")
    return sorted(set(found))


def _content_summary(report: ReportFacts) -> str:
    parts = []
    for c in report.conversations:
        span = ""
        if c.first_at and c.last_at:
            span = f", {iso(c.first_at)} to {iso(c.last_at)}"
        parts.append(f"Captured conversation: {c.messages} message(s) between "
                     f"{c.participants} participant(s) in room {c.room_id}{span}; attached as "
                     f"file {c.evidence_id} (Supplemental Reported).")
    if not parts:
        parts.append("No conversation was captured; see the attached evidence, if any.")
    return " ".join(parts)


def _internet_details(root: ET.Element, case: CaseFile, report: ReportFacts) -> None:
    details = _add(root, "internetDetails")
    conversation = report.conversations[0] if report.conversations else None
    url = _URL.search(report.seen_where or "")
    if conversation is None and url is not None:
        page = _add(details, "webPageIncident")
        _add(page, "url", url.group(0))
        return
    chat = _add(details, "chatImIncident")
    _add_opt(chat, "chatClient", conversation.platform if conversation else report.platform)
    _add_opt(chat, "chatRoomName", conversation.room_id if conversation else None)
    _add(chat, "content", _content_summary(report))
    info = [f"childsafe case {case.reference} ({case.agency_code}): {case.title}."]
    if case.priority:
        info.append(f"Priority {case.priority}" + (
            f" because: {'; '.join(case.priority_reasons)}." if case.priority_reasons else "."))
    if report.seen_where and url is None:
        info.append(f"Seen: {report.seen_where}")
    _add(chat, "additionalInfo", " ".join(info))


def _reported_person(root: ET.Element, report: ReportFacts) -> None:
    for user in report.reported_users:
        person = _add(root, "personOrUserReported")
        if user.source == "conversation":
            _add(person, "espIdentifier", user.identifier)
        else:
            _add(person, "screenName", user.identifier)
        _add_opt(person, "espService", user.platform)
        _add_opt(person, "displayName", user.display_name)


def _victim(root: ET.Element, report: ReportFacts) -> None:
    age: str | None = None
    if report.victim_age is not None:
        age = str(report.victim_age)
    elif report.victim_age_band in _AGE_BAND_TEXT:
        age = _AGE_BAND_TEXT[report.victim_age_band]
    if age is None:
        return
    person = _add(_add(root, "victim"), "person")
    _add(person, "age", age)


def _file_details(root: ET.Element, case: CaseFile) -> None:
    for report in case.reports:
        for item in report.evidence:
            files = _add(root, "fileDetails")
            _add(files, "fileId", item.id)
            _add(files, "originalFileName", item.server_name)
            _add(files, "originalFileHash", item.md5, hashType="MD5")
            _add(files, "originalFileHash", item.sha256, hashType="SHA256")
            _add(files, "fileSize", item.size)
            _add(files, "fileRelevance",
                 "Supplemental Reported" if item.kind == "conversation" else "Reported")
            _add(files, "fileViewedByEsp", "false")
            _add(files, "publiclyAvailable", "false")


def to_element(case: CaseFile, *, include_reporter: bool = True) -> ET.Element:
    """The `<report>` element for a case; its first report describes the incident."""
    report = case.first_report
    if report is None:
        raise ValueError(f"case {case.reference} has no report to export")
    root = ET.Element("report")
    summary = _add(root, "incidentSummary")
    _add(summary, "incidentType", INCIDENT_TYPES.get(report.category, (ENTICEMENT, ()))[0])
    moment, description = _incident_moment(report)
    _add(summary, "incidentDateTime", moment)
    _add(summary, "incidentDateTimeDescription", description)
    platform = (report.conversations[0].platform if report.conversations else report.platform)
    _add_opt(summary, "platform", platform)
    _add_opt(summary, "escalateToHighPriority", escalation(case))
    found = report_annotations(case)
    if found:
        notes = _add(summary, "reportAnnotations")
        for name in found:
            _add(notes, name)
    _internet_details(root, case, report)
    reporter = report.reporter if include_reporter else None
    if reporter is not None:
        first, last = split_name(reporter.name)
        person = _add(_add(root, "reporter"), "reportingPerson")
        _add_opt(person, "firstName", first)
        _add_opt(person, "lastName", last)
        _add_opt(person, "phone", reporter.phone)
        _add_opt(person, "email", reporter.email)
    for r in case.reports:
        _reported_person(root, r)
    _victim(root, report)
    law = _add(root, "lawEnforcement")
    _add(law, "agencyName", case.agency_name)
    _add(law, "caseNumber", case.reference)
    _file_details(root, case)
    return root


def to_xml(case: CaseFile, *, include_reporter: bool = True) -> bytes:
    """UTF-8 XML with a declaration, indented for a human reading the export directory."""
    root = to_element(case, include_reporter=include_reporter)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
