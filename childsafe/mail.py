"""Mail senders, chosen by `CHILDSAFE_MAIL_SENDER`: console (demo), memory (tests), smtp."""

from __future__ import annotations

import smtplib
import sys
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from childsafe.core.registry import Registry


@dataclass(frozen=True, slots=True)
class Mail:
    to: str
    subject: str
    body: str


class MailSender(Protocol):
    name: str

    def send(self, mail: Mail, *, idempotency_key: str) -> None:
        """Deliver or raise; the worker retries on any exception."""


class ConsoleSender:
    name = "console"

    def send(self, mail: Mail, *, idempotency_key: str) -> None:
        print(f"--- mail to {mail.to} [{idempotency_key}]\nSubject: {mail.subject}\n\n"
              f"{mail.body}\n---", file=sys.stderr, flush=True)


@dataclass
class MemorySender:
    name: str = "memory"
    outbox: list[tuple[Mail, str]] = field(default_factory=list)

    def send(self, mail: Mail, *, idempotency_key: str) -> None:
        self.outbox.append((mail, idempotency_key))


@dataclass
class SmtpSender:
    host: str = "localhost"
    port: int = 25
    sender: str = "childsafe@example.com"
    name: str = "smtp"

    def send(self, mail: Mail, *, idempotency_key: str) -> None:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = self.sender, mail.to, mail.subject
        msg["Message-ID"] = f"<{idempotency_key}@childsafe>"
        msg.set_content(mail.body)
        with smtplib.SMTP(self.host, self.port, timeout=30) as smtp:
            smtp.send_message(msg)


@dataclass
class FileSender:
    """Writes each mail as an .eml file (the demo's sink: read what reporters would get)."""

    directory: Path = Path("var/mail")
    name: str = "file"

    def send(self, mail: Mail, *, idempotency_key: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        msg = EmailMessage()
        msg["To"], msg["Subject"] = mail.to, mail.subject
        msg["Message-ID"] = f"<{idempotency_key}@childsafe>"
        msg.set_content(mail.body)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in idempotency_key)[:120]
        target = self.directory / f"{safe}.eml"
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(bytes(msg))
        tmp.replace(target)  # the same key twice overwrites: one file per message


def mail_senders(smtp_host: str, smtp_port: int, sender: str,
                 mail_dir: Path = Path("var/mail")) -> Registry[MailSender]:
    registry: Registry[MailSender] = Registry("mail sender")
    registry.register(ConsoleSender())
    registry.register(FileSender(mail_dir))
    registry.register(MemorySender())
    registry.register(SmtpSender(smtp_host, smtp_port, sender))
    return registry
