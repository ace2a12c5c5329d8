"""Rooms in the store: validation, upsert, monitoring choices (audited), console search."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from childsafe.core.errors import InvalidInput, NotFound
from childsafe.store.models import AuditRow
from childsafe.watch import rooms
from tests.watch import room_factory as rf


@pytest.mark.parametrize(("args", "field"), [
    (("", "T", "teen", "en", "GB"), "external_id"),
    (("a b", "T", "teen", "en", "GB"), "external_id"),
    (("x" * 129, "T", "teen", "en", "GB"), "external_id"),
    (("r", "  ", "teen", "en", "GB"), "title"),
    (("r", "T", "toddler", "en", "GB"), "audience"),
    (("r", "T", "teen", "english", "GB"), "language"),
    (("r", "T", "teen", "en", "ZZ"), "region"),
])
def test_validation_names_the_field(args, field):
    with pytest.raises(InvalidInput) as err:
        rooms.validate_room(*args)
    assert err.value.field == field


def test_validation_normalises():
    spec = rooms.validate_room(" r1 ", "  Teen   lounge ", "teen", "pt-BR", "uk")
    assert (spec.external_id, spec.title, spec.region) == ("r1", "Teen lounge", "GB")
    assert rooms.validate_room("r1", "T", "general", "en", "*").region == "*"


def test_register_creates_once_then_updates(db):
    provider_id, _ = rf.provider(db)
    first = rf.room(db, provider_id)
    assert first == rf.room(db, provider_id, title="Teen lounge 2")
    other_id, _ = rf.provider(db, "OtherChat")
    assert rf.room(db, other_id) != first  # same external id, other provider: another room
    with db.transaction() as s:
        assert rooms.provider_room(s, provider_id, first).title == "Teen lounge 2"
        with pytest.raises(NotFound):
            rooms.provider_room(s, other_id, first)
        actions = list(s.scalars(select(AuditRow.action).where(AuditRow.object_id == first)))
    assert actions == ["watch.room_register", "watch.room_update"]


def test_monitoring_is_chosen_per_agency_and_audited(db, make_officer):
    provider_id, _ = rf.provider(db)
    teen = rf.room(db, provider_id)
    general = rf.room(db, provider_id, "general-1", title="General chat", audience="general",
                      region="US")
    make_officer("ceop.sup", roles="supervisor")
    make_officer("hsi.sup", agency="US-DHS-HSI", roles="supervisor")
    ceop, hsi = rf.principal(db, "ceop.sup"), rf.principal(db, "hsi.sup")
    assert rf.monitor(db, ceop, teen) and not rf.monitor(db, ceop, teen)  # second: no change
    assert rf.monitor(db, hsi, teen)
    with db.transaction() as s:
        listed, total = rooms.search_rooms(s, ceop.agency_id)
        assert total == 2
        by_id = {item.room.id: item for item in listed}
        assert by_id[teen].monitored_by == ("UK-NCA-CEOP", "US-DHS-HSI") and by_id[teen].mine
        assert by_id[general].monitored_by == () and not by_id[general].mine
        assert [i.room.id for i in rooms.search_rooms(s, ceop.agency_id, audience="general")[0]
                ] == [general]
        assert [i.room.id for i in rooms.search_rooms(s, ceop.agency_id, region="us")[0]
                ] == [general]
        assert [i.room.id for i in rooms.search_rooms(s, ceop.agency_id, mine=True)[0]] == [teen]
        assert [i.room.id for i in rooms.search_rooms(s, hsi.agency_id, mine=False)[0]
                ] == [general]
        assert [i.room.id for i in rooms.search_rooms(s, ceop.agency_id,
                                                      provider_id=provider_id + 99)[0]] == []
    assert rf.monitor(db, ceop, teen, on=False)
    with db.transaction() as s:
        assert [r.id for r in rooms.monitored_rooms(s, ceop.agency_id)] == []
        assert [r.id for r in rooms.monitored_rooms(s, hsi.agency_id)] == [teen]
        actions = list(s.scalars(select(AuditRow.action).where(
            AuditRow.object_id == teen, AuditRow.agency == "UK-NCA-CEOP")))
    assert actions == ["watch.room_monitor", "watch.room_unmonitor"]
    with pytest.raises(NotFound):
        rf.monitor(db, ceop, "rm_000000000000000000000000")
