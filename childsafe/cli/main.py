"""The `childsafe` command."""

from __future__ import annotations

import signal
import sys
from types import FrameType

import typer
from rich.table import Table

from childsafe import __version__
from childsafe.chat import cli as chat_cli
from childsafe.cli import admin, block, watch
from childsafe.cli.common import console, fail, load_settings, transaction
from childsafe.store import migrate
from childsafe.store.db import make_engine

app = typer.Typer(help="childsafe: report abuse, watch chat rooms, block listed URLs.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(admin.app, name="admin")
app.add_typer(block.app, name="block")
app.add_typer(watch.app, name="watch")
app.add_typer(chat_cli.app, name="chat")


def _version(value: bool) -> None:
    if value:
        console.print(f"childsafe {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Print the version and exit.")) -> None:
    """Settings come from CHILDSAFE_* environment variables (see the README)."""


def _check_schema() -> None:
    settings = load_settings()
    engine = make_engine(settings.effective_database_url)
    try:
        current = migrate.current_revision(engine)
    except Exception as exc:  # noqa: BLE001 - any connection failure is reported plainly
        fail(f"cannot reach the store at {engine.url.render_as_string(hide_password=True)}: "
             f"{type(exc).__name__}: {exc}")
        return
    finally:
        engine.dispose()
    if current != migrate.head_revision():
        fail(f"the store schema is at {current or 'nothing'}, not {migrate.head_revision()}; "
             "run `childsafe admin migrate` first")
    _ = settings.keyring  # fail now, not at the first login, if keys are missing


@app.command()
def serve(host: str = typer.Option("127.0.0.1", help="Address to listen on"),
          port: int = typer.Option(8000, help="TCP port"),
          workers: int = typer.Option(1, help="Worker processes (one per core; several "
                                              "need CHILDSAFE_RATE_LIMITER=redis)"),
          access_log: bool = typer.Option(True, "--access-log/--no-access-log",
                                          help="Log every request (leave it to the proxy "
                                               "in front when it logs them)")) -> None:
    """Serve the platform (public pages, provider API, officer console)."""
    import uvicorn

    _check_schema()
    console.print(f"childsafe on http://{host}:{port}  (API reference: /api/docs)")
    uvicorn.run("childsafe.web.asgi:app", host=host, port=port, workers=workers,
                proxy_headers=False, server_header=False, log_level="info",
                access_log=access_log)


@app.command()
def demo(host: str = typer.Option("127.0.0.1"), port: int = typer.Option(8000),
         no_serve: bool = typer.Option(False, "--no-serve", help="Set up and seed only"),
         chat_port: int = typer.Option(8001, help="Port of the demo chat app"),
         no_chat: bool = typer.Option(False, "--no-chat", help="The platform alone")) -> None:
    """Set up the embedded platform (SQLite, demo keys, demo data) and serve it, with the
    demo chat app (Chatty) beside it, connected through the SDK."""
    from childsafe.core.crypto import new_keyring
    from childsafe.store.demo import seed_demo

    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if not settings.keys and not settings.keyring_path.exists():
        settings.write_keyring(new_keyring())
        console.print(f"Generated a demo encryption key at {settings.keyring_path}")
    engine = make_engine(settings.effective_database_url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    from childsafe.ratelimit import MemoryRateLimiter
    from childsafe.web.app import intake_context

    with transaction(settings) as session:
        logins = seed_demo(session, settings.data_dir / "demo-logins.json",
                           intake_context(settings, MemoryRateLimiter()))
    table = Table("username", "password", "role", "agency", title="Demo logins")
    for login in logins:
        table.add_row(login.username, login.password, login.role, login.agency)
    console.print(table)
    console.print("At first login each officer sets up two-factor authentication: scan the QR "
                  "code with an authenticator app (or use the key shown under it).")
    if no_chat:
        if not no_serve:
            serve(host=host, port=port, workers=1, access_log=True)
        return
    from childsafe.chat.demo_setup import demo_chat_settings, run_together, set_up

    chat = demo_chat_settings(settings, chat_port)
    _, chat_logins = set_up(settings, chat)
    console.print(chat_cli.accounts_table(list(chat_logins)))
    if not no_serve:

        def ready() -> None:
            console.print(table)
            console.print(chat_cli.accounts_table(list(chat_logins)))

        raise typer.Exit(run_together(settings, chat, host=host, port=port, echo=console.print,
                                      on_ready=ready))


@app.command()
def worker(once: bool = typer.Option(False, "--once", help="Drain what is due, then exit"),
           poll: float = typer.Option(1.0, help="Seconds between polls when idle"),
           watch_: bool = typer.Option(False, "--watch", help="Score Watch messages instead "
                                       "(Redis transport; run as many as you like)"),
           threads: int = typer.Option(1, "--threads", min=1, max=64,
                                       help="--watch: consumers in this process")) -> None:
    """Deliver queued side effects (mail, case webhooks and exports) from the outbox; with
    --watch, score Watch messages from the Redis stream (a separate process role)."""
    if watch_:
        from childsafe.watch.transport import run_watch_worker

        try:
            run_watch_worker(load_settings(), once=once, threads=threads, echo=console.print)
        except ValueError as exc:
            fail(str(exc))
        return
    from childsafe.mail import mail_senders
    from childsafe.store.db import Database
    from childsafe.store.models import utcnow
    from childsafe.store.retention import RetentionPolicy
    from childsafe.worker import default_handlers, drain_once, housekeeping, run_forever

    settings = load_settings()
    sender = mail_senders(settings.smtp_host, settings.smtp_port, settings.mail_from,
                          settings.data_dir / "mail").get(
        settings.mail_sender)
    # Case deliveries need the keyring (channel secrets, reporter identities).
    handlers = default_handlers(sender, keyring=settings.keyring)
    db = Database(settings.effective_database_url)
    retention = RetentionPolicy.of_days(settings.retention_unfounded_days,
                                        settings.retention_watch_days)
    if once:
        try:
            purged = housekeeping(db, utcnow(), settings.keyring, retention)
            result = drain_once(db, handlers, limit=10_000, keyring=settings.keyring)
        finally:
            db.dispose()
        console.print(f"sent {result.sent}, retrying later {result.retried}; "
                      f"purged {purged} unverified report(s)")
        return
    stopping = False

    def _stop(_sig: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    console.print("worker running; Ctrl-C to stop")
    run_forever(db, handlers, poll_seconds=poll, should_stop=lambda: stopping,
                keyring=settings.keyring, retention=retention,
                on_result=lambda r: console.print(f"sent {r.sent}, retrying later {r.retried}"))
    db.dispose()


def run() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
