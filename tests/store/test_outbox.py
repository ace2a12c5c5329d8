"""Outbox: nothing leaves for a rolled-back transaction; failures retry; keys dedupe."""

import pytest

from childsafe.mail import MemorySender
from childsafe.store import outbox
from childsafe.worker import MAIL_TOPIC, default_handlers, drain_once

MAIL = {"to": "a@example.com", "subject": "s", "body": "b"}


def test_delivered_after_commit_only(db):
    sender = MemorySender()
    with pytest.raises(RuntimeError), db.transaction() as s:
        outbox.enqueue(s, MAIL_TOPIC, MAIL, "k-rolled-back")
        raise RuntimeError
    with db.transaction() as s:
        assert outbox.enqueue(s, MAIL_TOPIC, MAIL, "k1")
        assert not outbox.enqueue(s, MAIL_TOPIC, MAIL, "k1")
    result = drain_once(db, default_handlers(sender))
    assert result.sent == 1 and [k for _, k in sender.outbox] == ["k1"]
    assert drain_once(db, default_handlers(sender)).sent == 0


def test_failed_delivery_is_retried_later(db):
    class Failing(MemorySender):
        def send(self, mail, *, idempotency_key):
            raise ConnectionError("smtp down")

    with db.transaction() as s:
        outbox.enqueue(s, MAIL_TOPIC, MAIL, "k2")
    result = drain_once(db, default_handlers(Failing()))
    assert result.retried == 1
    with db.transaction() as s:
        assert outbox.pending_count(s) == 1
        assert outbox.claim(s) == []  # backed off, not due yet


def test_account_notices_go_through_the_outbox(db, make_officer):

    from childsafe.core.accounts import SecurityPolicy
    from childsafe.store import accounts
    from childsafe.store.models import utcnow

    make_officer("notice.me")
    now = utcnow()
    for _ in range(5):
        with db.transaction() as s:
            accounts.check_password(s, "notice.me", "wrong-password-x", now=now,
                                    policy=SecurityPolicy())
    with db.transaction() as s:
        accounts.reset_mfa(s, accounts.get_user(s, "notice.me"), actor="test")
    sender = MemorySender()
    drain_once(db, default_handlers(sender))
    subjects = [m.subject for m, _ in sender.outbox]
    assert subjects == ["Your childsafe account", "Your childsafe account was locked",
                        "Your two-factor authentication was reset"]
    assert all(m.to == "notice.me@example.com" for m, _ in sender.outbox)


def test_file_sender_writes_one_eml_per_message(tmp_path):
    from childsafe.mail import FileSender, Mail

    sender = FileSender(tmp_path / "mail")
    sender.send(Mail("a@example.com", "Hello", "Body <b>x</b>"), idempotency_key="k:1/../x")
    sender.send(Mail("a@example.com", "Hello", "Body <b>x</b>"), idempotency_key="k:1/../x")
    files = list((tmp_path / "mail").iterdir())
    assert len(files) == 1 and files[0].parent == tmp_path / "mail"
    assert "Subject: Hello" in files[0].read_text()
