"""Triage on a table of cases: priority and the reasons an officer reads."""

from datetime import UTC, datetime, timedelta

import pytest

from childsafe.reports import catalog
from childsafe.reports.core.triage import (
    Priority,
    TriageFacts,
    TriageRulesError,
    decide,
    parse_rules,
)

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
RULES = catalog.load_triage_rules()


def facts(**kw):
    kw.setdefault("now", NOW)
    kw.setdefault("evidence_count", 1)
    return TriageFacts(**kw)


TABLE = [
    # (facts, expected priority, a reason that must be given)
    (facts(category="grooming", immediate=True), "P1", "in danger now"),
    (facts(category="grooming", meeting_at=NOW + timedelta(days=1)), "P1", "meeting arranged"),
    (facts(category="grooming", meeting_at=NOW + timedelta(days=5)), "P2", "grooming"),
    (facts(category="grooming", meeting_at=NOW - timedelta(days=3)), "P2", "grooming"),
    (facts(category="sextortion"), "P1", "sextortion"),
    (facts(category="image_request", cues=frozenset({"threatened_share"})), "P1", "threatened"),
    (facts(category="indecent_images_seen"), "P2", "indecent images seen"),
    (facts(category="meeting_pressure"), "P2", "pressure to meet"),
    (facts(category="sexual_talk"), "P2", "sexual talk"),
    (facts(category="grooming", victim_age=12), "P1", "victim aged 12"),
    (facts(category="grooming", victim_age_band="under_13"), "P1", "victim aged under 13"),
    (facts(category="grooming", victim_age=14), "P2", "grooming"),
    (facts(category="grooming", suspect_prior_cases=2), "P1", "2 other case(s)"),
    (facts(category="other_concern"), "P3", "fits no listed pattern"),
    (facts(category="other_concern", evidence_count=0), "P4", "no messages or files"),
    (facts(category="other_concern", victim_age=10, evidence_count=0), "P3", "victim aged 10"),
    (facts(category="sextortion", victim_age=9, suspect_prior_cases=1), "P1", "victim aged 9"),
]


@pytest.mark.parametrize(("f", "expected", "reason"), TABLE)
def test_priority_table(f, expected, reason):
    decision = decide(RULES, f)
    assert decision.priority == Priority(expected)
    assert any(reason in r for r in decision.reasons), decision.reasons
    assert decision.rules_version == "triage@1"


def test_explanation_reads_like_a_sentence():
    d = decide(RULES, facts(category="grooming", victim_age=12,
                            meeting_at=datetime(2026, 11, 24, 18, tzinfo=UTC)))
    assert d.explain() == ("P1 because: meeting arranged for Tue 24 Nov 18:00 UTC; grooming; "
                           "victim aged 12")


@pytest.mark.parametrize("raw", [
    {"id": "t", "version": 1, "rules": []},
    {"id": "t", "version": 1, "rules": [{"id": "a", "priority": "P9", "reason": "x"}]},
    {"id": "t", "version": 1, "rules": [{"id": "a", "priority": "P1", "raise_by": 1,
                                         "reason": "x"}]},
    {"id": "t", "version": 1, "rules": [{"id": "a", "priority": "P1", "when": {"moon": 1},
                                         "reason": "x"}]},
    {"id": "t", "version": 1, "rules": [{"id": "a", "priority": "P1", "reason": "{nope}"}]},
    {"id": "t", "version": 1, "rules": [{"id": "a", "priority": "P1", "reason": "x"},
                                        {"id": "a", "priority": "P2", "reason": "y"}]},
])
def test_broken_rules_are_refused(raw):
    with pytest.raises(TriageRulesError):
        parse_rules(raw)
