"""List authority on both stores: add/remove/import/publish, history, audit, signed deltas."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from childsafe.block import authority_store as store
from childsafe.block.core.listfile import ListDelta, ListSnapshot, apply_delta, decode_signed
from childsafe.block.core.matcher import Matcher
from childsafe.block.core.publish import LATEST, delta_name, snapshot_name
from childsafe.core.errors import Conflict, InvalidInput, NotFound
from childsafe.store import audit
from childsafe.store.block_models import BlockChangeRow, BlockEntryRow
from childsafe.store.models import AuditRow

ACTOR = store.Actor("list.editor", "UK-NCA-CEOP", "192.0.2.1")
REVIEW = "2030-01-01"
HEADER = "url,scope,category,added_by,reason,review_date\n"


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _add(session, url="http://listed.test/a/page.html", scope="page", **kw):
    return store.add_entry(session, ACTOR, url=url, scope=scope, category=kw.get("category", "csam"),
                           reason=kw.get("reason", "report 1"), review_date=kw.get("review", REVIEW))


def test_add_validates_canonicalises_and_refuses_duplicates(db):
    with db.transaction() as s:
        row = _add(s, url="HTTP://Listed.TEST/a/./page.html")
        assert row.expression == "listed.test/a/page.html" and row.created_by == "list.editor"
    with db.transaction() as s, pytest.raises(Conflict, match="already listed"):
        _add(s, url="http://listed.test/a/page.html#frag")
    with db.transaction() as s, pytest.raises(InvalidInput, match="scope"):
        _add(s, scope="everything")
    with db.transaction() as s, pytest.raises(InvalidInput, match="whole host"):
        _add(s, url="http://other.test/", scope="page")
    with db.transaction() as s, pytest.raises(InvalidInput, match="review_date"):
        _add(s, url="http://other.test/x", review="soon")


def test_remove_is_soft_needs_reason_and_allows_relisting(db):
    with db.transaction() as s:
        entry_id = _add(s).id
    with db.transaction() as s, pytest.raises(InvalidInput, match="reason"):
        store.remove_entry(s, ACTOR, entry_id, "  ")
    with db.transaction() as s, pytest.raises(NotFound):
        store.remove_entry(s, ACTOR, 9999, "gone")
    with db.transaction() as s:
        store.remove_entry(s, ACTOR, entry_id, "content taken down")
    with db.transaction() as s, pytest.raises(Conflict, match="already removed"):
        store.remove_entry(s, ACTOR, entry_id, "again")
    with db.transaction() as s:
        row = s.get(BlockEntryRow, entry_id)
        assert row.removed_at is not None and row.removal_reason == "content taken down"
        assert store.active_entries(s) == []
        _add(s)  # the same URL may be listed again after removal
        assert len(store.active_entries(s)) == 1
        assert s.scalar(select(BlockEntryRow.id).where(BlockEntryRow.id == entry_id))


def test_history_and_audit_record_every_change_without_urls(db, key):
    with db.transaction() as s:
        entry_id = _add(s).id
        store.remove_entry(s, ACTOR, entry_id, "taken down")
        store.publish(s, ACTOR, key, created=1)
    with db.transaction() as s:
        changes = store.history(s)
        assert [c.action for c in changes] == ["publish", "remove", "add"]
        assert changes[1].reason == "taken down" and changes[1].expression == "listed.test/a/page.html"
        assert all(c.actor == "list.editor" and c.agency == "UK-NCA-CEOP" for c in changes)
        rows = list(s.scalars(select(AuditRow).order_by(AuditRow.seq)))
        assert [r.action for r in rows] == ["block.add", "block.remove", "block.publish"]
        assert rows[0].object_type == "block_entry" and rows[0].object_id == str(entry_id)
        assert rows[2].object_id == "1" and rows[0].ip == "192.0.2.1"
        assert not any("listed.test" in str(r.detail) for r in rows)
        assert audit.verify(s).ok


def test_history_is_append_only(db):
    with db.transaction() as s:
        _add(s)
    with pytest.raises(DBAPIError), db.transaction() as s:
        s.execute(text("UPDATE block_changes SET reason = 'rewritten'"))
    with pytest.raises(DBAPIError), db.transaction() as s:
        s.execute(text("DELETE FROM block_changes"))


def test_import_is_all_or_nothing_with_per_line_errors(db):
    bad = (HEADER
           + "http://one.test/a,prefix,csam,analyst,r,2030-01-01\n"
           + "http://two.test/,page,csam,analyst,r,2030-01-01\n"          # line 3: whole host
           + "http://three.test/x.html,page,csam,analyst,r,someday\n"     # line 4: date
           + "http://ONE.test/a,prefix,csam,analyst,r,2030-01-01\n"       # line 5: repeats 2
           + "http://listed.test/a/page.html,page,csam,a,r,2030-01-01\n"  # line 6: listed
           + "http://four.test/q,page,csam\n")                            # line 7: columns
    with db.transaction() as s:
        _add(s)
    with db.transaction() as s:
        result = store.import_csv(s, ACTOR, bad.encode(), name="bad.csv")
    assert not result.ok and result.added == 0
    assert [e.line for e in result.errors] == [3, 4, 5, 6, 7]
    assert "repeats line 2" in str(result.errors[2]) and "already listed" in str(result.errors[3])
    with db.transaction() as s:
        assert len(store.active_entries(s)) == 1
    with db.transaction() as s, pytest.raises(InvalidInput, match="header lacks"):
        store.import_csv(s, ACTOR, b"url,scope\nhttp://x.test/,host\n")
    with db.transaction() as s, pytest.raises(InvalidInput, match="UTF-8"):
        store.import_csv(s, ACTOR, HEADER.encode() + b"\xff\xfe,page\n")


def test_import_good_file_adds_every_row_and_one_audit_entry(db):
    good = HEADER + "".join(
        f"http://host{i}.test/p{i}.html,page,cat{i % 3},analyst,r{i},2030-01-0{1 + i % 9}\n"
        for i in range(25))
    ticks = []
    with db.transaction() as s:
        result = store.import_csv(s, ACTOR, "\ufeff" + good, name="good.csv",
                                  on_row=lambda: ticks.append(1))
    assert result.ok and result.added == 25 and len(ticks) == 25
    with db.transaction() as s:
        assert len(store.active_entries(s)) == 25
        assert dict(store.category_counts(s)) == {"cat0": 9, "cat1": 8, "cat2": 8}
        assert {c.action for c in store.history(s)} == {"import"}
        assert [r.action for r in s.scalars(select(AuditRow))] == ["block.import"]
        assert s.scalar(select(BlockChangeRow.detail).limit(1)) == {"file": "good.csv"}


def test_search_filters_and_pages(db):
    with db.transaction() as s:
        for i in range(7):
            _add(s, url=f"http://h{i}.test/p.html", category="a" if i % 2 else "b",
                 review="2020-01-01" if i < 3 else REVIEW, reason=f"ticket {i}")
        _add(s, url="http://h9.test/dir", scope="prefix", category="b")
    with db.transaction() as s:
        assert store.search_entries(s).total == 8
        assert store.search_entries(s, query="H3.TEST").total == 1
        assert store.search_entries(s, query="ticket 5").total == 1
        assert store.search_entries(s, query="%").total == 0  # LIKE wildcards are literal
        assert store.search_entries(s, category="a").total == 3
        assert store.search_entries(s, scope="prefix").total == 1
        assert store.search_entries(s, overdue_on=dt.date(2025, 1, 1)).total == 3
        assert store.overdue_count(s, dt.date(2025, 1, 1)) == 3
        p2 = store.search_entries(s, page=2, per_page=3)
        assert p2.pages == 3 and [r.expression for r in p2.rows] == [
            "h4.test/p.html", "h3.test/p.html", "h2.test/p.html"]


def test_publish_numbers_snapshots_signs_and_deltas_remove(db, key, tmp_path):
    out = tmp_path / "pub"
    with db.transaction() as s:
        keep = _add(s, url="http://listed.test/keep.html").id
        gone = _add(s, url="http://listed.test/dir", scope="prefix").id
        first = store.publish(s, ACTOR, key, created=100)
    store.write_files(out, [first])
    assert first.seq == 1 and first.delta_file is None and first.entry_count == 2
    assert (out / LATEST).read_text() == "1\n"
    snap1 = decode_signed((out / snapshot_name(1)).read_bytes(), key.public_key())
    assert isinstance(snap1, ListSnapshot) and len(snap1) == 3  # page + prefix (2 expressions)
    assert Matcher(snap1).listed(b"http://listed.test/dir/x")

    with db.transaction() as s:
        store.remove_entry(s, ACTOR, gone, "taken down")
        second = store.publish(s, ACTOR, key, created=200)
    store.write_files(out, [second])
    assert second.seq == 2 and (out / LATEST).read_text() == "2\n"
    assert (second.digests_added, second.digests_removed) == (0, 2)
    delta = decode_signed((out / delta_name(1, 2)).read_bytes(), key.public_key())
    assert isinstance(delta, ListDelta) and len(delta.del_digests) == 64 and not delta.add_digests
    snap2 = apply_delta(snap1, delta)
    assert snap2.content_hash.hex() == second.content_hash and snap2.list_key == snap1.list_key
    matcher = Matcher(snap2)
    assert matcher.listed(b"http://listed.test/keep.html")
    assert not matcher.listed(b"http://listed.test/dir/x")
    assert keep
    # The signature is the authority's: another key does not verify it.
    with pytest.raises(ValueError):
        decode_signed((out / snapshot_name(2)).read_bytes(),
                      Ed25519PrivateKey.generate().public_key())


def test_publish_refuses_a_changed_key_and_files_can_be_rebuilt(db, key, tmp_path):
    with db.transaction() as s:
        _add(s)
        store.publish(s, ACTOR, key, created=1)
        store.publish(s, ACTOR, key, created=2)
    with db.transaction() as s, pytest.raises(Conflict, match="does not verify"):
        store.publish(s, ACTOR, Ed25519PrivateKey.generate())
    with db.transaction() as s:
        written = store.rewrite_dir(s, tmp_path / "lost")
    assert sorted(written) == sorted([snapshot_name(1), snapshot_name(2), delta_name(1, 2), LATEST])
    assert (tmp_path / "lost" / LATEST).read_text() == "2\n"
    with db.transaction() as s:
        assert store.rewrite_dir(s, tmp_path / "lost") == [LATEST]  # idempotent


def test_publish_and_write_commits_before_writing(db, key, tmp_path):
    with db.transaction() as s:
        _add(s)
    row = store.publish_and_write(db, ACTOR, key, tmp_path / "pub")
    assert row.seq == 1 and (tmp_path / "pub" / LATEST).read_text() == "1\n"
    with db.transaction() as s:
        assert store.latest_publication(s).seq == 1


def test_fingerprint_and_key_loading(settings, key, tmp_path):
    with pytest.raises(InvalidInput, match="childsafe block keygen"):
        store.load_signing_key(settings)
    from childsafe.block.authority import generate_keys

    path = store.signing_key_path(settings)
    path.parent.mkdir(parents=True)
    generate_keys(path, path.with_suffix(".pub"))
    loaded = store.load_signing_key(settings)
    fp = store.fingerprint(loaded.public_key())
    assert len(fp) == 79 and fp.count(" ") == 15
    assert store.public_key_pem(loaded.public_key()) == path.with_suffix(".pub").read_bytes()
