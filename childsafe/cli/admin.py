"""`childsafe admin ...`: the operator's commands for keys, schema, tenants and accounts."""

from __future__ import annotations

import getpass
import os

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import select

from childsafe.cli.common import console, fail, load_settings, transaction
from childsafe.core.audit import AuditEvent
from childsafe.core.crypto import new_keyring
from childsafe.core.errors import DomainError
from childsafe.core.permissions import PROVIDER_SCOPES, Role
from childsafe.store import accounts, agencies, audit, encrypted, migrate, providers
from childsafe.store.db import make_engine

app = typer.Typer(help="Administer keys, schema, agencies, officers, providers and the audit log.",
                  no_args_is_help=True)
ROLE_NAMES = ", ".join(r.value for r in Role)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=console, transient=False)


@app.command("init-keys")
def init_keys(force: bool = typer.Option(False, help="Replace an existing key file (data "
                                                     "encrypted with it becomes unreadable).")) -> None:
    """Create the encryption keyring (AES-256) at CHILDSAFE_KEY_FILE or data_dir/keys.json."""
    settings = load_settings()
    if settings.keyring_path.exists() and not force:
        fail(f"{settings.keyring_path} already exists; use rotate-keys to add a key")
    path = settings.write_keyring(new_keyring())
    console.print(f"Wrote a new keyring to {path} (mode 0600). Back it up: without it, "
                  "encrypted data cannot be read.")


@app.command("migrate")
def migrate_schema(seed: bool = typer.Option(True, help="Seed VGT agencies and jurisdictions."),
                revision: str = typer.Option("head", help="Target Alembic revision.")) -> None:
    """Upgrade the store schema (SQLite or PostgreSQL) and seed the agency table."""
    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.effective_database_url)
    try:
        before = migrate.current_revision(engine)
        migrate.upgrade(engine, revision)
        after = migrate.current_revision(engine)
    finally:
        engine.dispose()
    console.print(f"Schema: {before or 'empty'} → {after}")
    if seed:
        with transaction(settings) as session:
            n_agencies, n_rows = agencies.seed_agencies(session)
        console.print(f"Seeded {n_agencies} agencies and {n_rows} jurisdictions "
                      "(INTERPOL is the fallback).")


@app.command("list-agencies")
def list_agencies() -> None:
    """Show agencies and the countries routed to them."""
    from childsafe.store.models import JurisdictionRow

    with transaction(load_settings()) as session:
        countries: dict[int, list[str]] = {}
        for j in session.scalars(select(JurisdictionRow).order_by(JurisdictionRow.country)):
            countries.setdefault(j.agency_id, []).append(j.country)
        table = Table("code", "name", "countries", "emergency")
        for row in agencies.list_agencies(session):
            routed = countries.get(row.id, [])
            table.add_row(row.code, row.name,
                          "every other country" if "*" in routed else ", ".join(routed),
                          row.emergency_number)
    console.print(table)


@app.command("create-agency")
def create_agency(code: str = typer.Argument(..., help="e.g. FR-OFMIN"),
                  name: str = typer.Argument(...),
                  emergency_number: str = typer.Option("", help="e.g. 112"),
                  help_line: str = typer.Option("")) -> None:
    """Add an agency (tenant) that is not in the VGT table."""
    with transaction(load_settings()) as session:
        row = agencies.create_agency(session, code, name, emergency_number=emergency_number,
                                     help_line=help_line)
        audit.append(session, AuditEvent("agency.create", actor="cli", agency=row.code,
                                         object_type="agency", object_id=str(row.id)))
    console.print(f"Created agency {row.code}.")


def _password(option: str | None) -> str:
    if option:
        return option
    env = os.environ.get("CHILDSAFE_NEW_PASSWORD")
    if env:
        return env
    first = getpass.getpass("Password (12+ characters): ")
    if first != getpass.getpass("Repeat: "):
        fail("passwords differ")
    return first


@app.command("create-officer")
def create_officer(
    username: str = typer.Argument(..., help="3-64 chars: a-z 0-9 . _ -"),
    agency: str = typer.Option(..., "--agency", help="Agency code, e.g. UK-NCA-CEOP"),
    role: list[str] = typer.Option(["officer"], "--role", help=f"Repeatable: {ROLE_NAMES}"),
    name: str = typer.Option(..., "--name", help="Display name"),
    email: str = typer.Option("", help="For account notices"),
    password: str | None = typer.Option(None, help="Prompted (or CHILDSAFE_NEW_PASSWORD) "
                                                   "when omitted"),
) -> None:
    """Create an officer account. They enrol TOTP (QR code) at first login."""
    secret = _password(password)
    with transaction(load_settings()) as session:
        row = accounts.create_user(session, agency=agencies.get_by_code(session, agency),
                                   username=username, display_name=name, password=secret,
                                   roles=role, email=email, actor="cli")
    console.print(f"Created {row.username} ({row.roles}) in {agency}. Two-factor set-up is "
                  "required at first login.")


@app.command("create-provider")
def create_provider(
    name: str = typer.Argument(..., help="Provider (chat service) name"),
    scope: list[str] = typer.Option(sorted(s.value for s in PROVIDER_SCOPES), "--scope",
                                    help="Repeatable API key scope"),
    contact_email: str = typer.Option(""),
    abuse_desk_url: str = typer.Option("", help="https:// URL shown to out-of-scope reporters"),
) -> None:
    """Register a chat/IM provider and issue its first API key (shown once)."""
    with transaction(load_settings()) as session:
        row = providers.create_provider(session, name, contact_email=contact_email,
                                        abuse_desk_url=abuse_desk_url, actor="cli")
        issued = providers.issue_key(session, row, scope, label="first key", actor="cli")
    console.print(f"Provider {row.name} created. API key (store it now; it is not shown again):")
    console.print(issued.plaintext, soft_wrap=True, highlight=False)


@app.command("issue-key")
def issue_key(provider: str = typer.Argument(...),
              scope: list[str] = typer.Option(..., "--scope", help="Repeatable API key scope"),
              label: str = typer.Option("")) -> None:
    """Issue another API key for a provider (e.g. before rotating the old one)."""
    with transaction(load_settings()) as session:
        issued = providers.issue_key(session, providers.get_provider(session, provider), scope,
                                     label=label, actor="cli")
    console.print(issued.plaintext, soft_wrap=True, highlight=False)


@app.command("revoke-key")
def revoke_key(key_id_: str = typer.Argument(..., metavar="KEY_ID",
                                             help="The 12 hex digits after csk_")) -> None:
    """Revoke a provider API key at once."""
    with transaction(load_settings()) as session:
        providers.revoke_key(session, key_id_, actor="cli")
    console.print(f"Revoked {key_id_}.")


@app.command("set-provider-webhook")
def set_provider_webhook(provider: str = typer.Argument(..., help="Provider name"),
                         url: str = typer.Argument(..., help="https:// URL of the provider's "
                                                             "endpoint")) -> None:
    """Set where data-preservation requests go; prints the signing secret once."""
    from childsafe.reports.preservation import provider_by_name, set_webhook

    settings = load_settings()
    with transaction(settings) as session:
        secret = set_webhook(session, settings.keyring, provider_by_name(session, provider), url,
                             actor="cli")
    console.print("Webhook set. Signing secret (give it to the provider; not shown again):")
    console.print(secret, soft_wrap=True, highlight=False)


@app.command("reset-mfa")
def reset_mfa(username: str) -> None:
    """Forget a user's TOTP device; they enrol a new one at next login. Ends their sessions."""
    with transaction(load_settings()) as session:
        accounts.reset_mfa(session, accounts.get_user(session, username), actor="cli")
    console.print(f"Two-factor reset for {username}; they will enrol again at next login.")


@app.command("disable-user")
def disable_user(username: str,
                 enable: bool = typer.Option(False, "--enable", help="Re-enable instead")) -> None:
    """Disable a user (ending every session they hold) or re-enable them."""
    with transaction(load_settings()) as session:
        killed = accounts.set_disabled(session, accounts.get_user(session, username),
                                       not enable, actor="cli")
    console.print(f"{username} {'enabled' if enable else f'disabled; {killed} session(s) ended'}.")


@app.command("unlock")
def unlock(username: str) -> None:
    """Clear a lockout before its 10 minutes are up."""
    with transaction(load_settings()) as session:
        accounts.unlock(session, accounts.get_user(session, username), actor="cli")
    console.print(f"{username} unlocked.")


@app.command("verify-audit")
def verify_audit(anchor: str = typer.Option("", help="SEQ:HASH printed earlier by audit-head; "
                                                     "detects deletion from the end")) -> None:
    """Prove the audit chain; name the first broken entry if a row was edited or deleted."""
    parsed: tuple[int, str] | None = None
    if anchor:
        seq, _, digest = anchor.partition(":")
        if not seq.isdigit() or len(digest) != 64:
            fail("anchor must look like 1234:<64 hex digits>")
        parsed = (int(seq), digest)
    with transaction(load_settings()) as session:
        total = audit.count(session)
        with _progress() as progress:
            task = progress.add_task("Verifying audit chain", total=total)
            report = audit.verify(session, anchor=parsed,
                                  progress=lambda _e: progress.advance(task))
    if report.ok:
        console.print(f"[green]OK[/]: {report.checked} entries, head {report.head_seq}:"
                      f"{report.head_hash}")
        return
    fail(f"audit chain BROKEN at entry {report.first_broken_seq}: {report.reason} "
         f"({report.checked} entries verified before it)", code=2)


@app.command("audit-head")
def audit_head() -> None:
    """Print SEQ:HASH of the newest audit entry; keep it elsewhere as an anchor."""
    with transaction(load_settings()) as session:
        report = audit.verify(session)
    console.print(f"{report.head_seq}:{report.head_hash}", highlight=False)


@app.command("rotate-keys")
def rotate_keys(key_id_: str = typer.Option("", "--key-id", help="Id for the new key")) -> None:
    """Add a new active encryption key and re-wrap every encrypted field's data key with it.

    Old keys stay in the keyring so backups remain readable; payloads are not re-encrypted.
    """
    settings = load_settings()
    if settings.keys:
        fail("keys come from CHILDSAFE_KEYS; rotate them where that variable is managed")
    try:
        ring = settings.keyring.with_new_key(key_id_ or None)
    except DomainError as exc:
        fail(exc.detail)
    with transaction(settings) as session:
        with _progress() as progress:
            task = progress.add_task("Re-wrapping data keys", total=encrypted.total(session))
            done = encrypted.rewrap_all(session, ring, lambda _n: progress.advance(task))
        audit.append(session, AuditEvent("keys.rotate", actor="cli",
                                         detail={"active": ring.active, "rewrapped": done}))
        # The new keyring must be on disk before the re-wrapped rows commit.
        settings.write_keyring(ring)
    console.print(f"Active key is now {ring.active}; re-wrapped {done} value(s).")


@app.command("add-channel")
def add_channel(agency: str = typer.Argument(..., help="Agency code, e.g. US-DHS-HSI"),
                webhook: str = typer.Option("", "--webhook",
                                            help="https:// URL that receives signed case JSON"),
                export: str = typer.Option("", "--export",
                                           help="Absolute directory for CyberTipline-style XML "
                                                "files, one per case")) -> None:
    """Deliver the agency's new cases to its own systems too (besides the console queue).

    A webhook's signing secret is printed once; give it to the receiver, which checks
    X-Childsafe-Signature with childsafe.reports.core.webhooks.verify_signature.
    """
    from childsafe.reports import deliveries

    if bool(webhook) == bool(export):
        fail("give exactly one of --webhook URL or --export DIR")
    settings = load_settings()
    kind, target = ("webhook", webhook) if webhook else ("export", export)
    with transaction(settings) as session:
        row, secret = deliveries.add_channel(session, settings.keyring, agency, kind, target)
    console.print(f"Channel {row.id}: {kind} → {row.target} for {agency}.")
    if secret is not None:
        console.print("Signing secret (store it now; it is not shown again):")
        console.print(secret, soft_wrap=True, highlight=False)


@app.command("list-channels")
def list_channels(agency: str = typer.Option("", "--agency", help="Only this agency")) -> None:
    """Show delivery channels (never their secrets)."""
    from childsafe.reports import deliveries

    with transaction(load_settings()) as session:
        table = Table("id", "agency", "kind", "enabled", "created")
        table.add_column("target", overflow="fold")
        for row, code in deliveries.list_channels(session, agency or None):
            table.add_row(str(row.id), code, row.kind, "yes" if row.enabled else "no",
                          f"{row.created_at:%Y-%m-%d %H:%M}", row.target)
    console.print(table)


@app.command("disable-channel")
def disable_channel(channel_id: int = typer.Argument(..., help="Id from list-channels"),
                    enable: bool = typer.Option(False, "--enable", help="Re-enable instead")) -> None:
    """Stop (or resume) deliveries on a channel; queued deliveries to it are cancelled."""
    from childsafe.reports import deliveries

    with transaction(load_settings()) as session:
        deliveries.set_channel_enabled(session, channel_id, enable)
    console.print(f"Channel {channel_id} {'enabled' if enable else 'disabled'}.")


def _register_more() -> None:
    from childsafe.cli import backup, retention

    backup.register(app)
    retention.register(app)


_register_more()
