"""Demo set-up: connect the chat to a platform, and run both for `make demo`.

This module plays the *platform operator's* part (what `childsafe admin create-provider`,
`issue-key` and `set-provider-webhook` do), so it may use the platform's store; it is the one
module of `childsafe.chat` the import-linter contract lets do so. The chat app itself, at
run time, knows the platform only through the SDK.

`connect_chat` gives the chat's provider an API key and points its webhook at the chat,
then writes both secrets to the chat's credentials file (mode 0600), revoking the key a
previous run wrote there. It also registers the chat's direct-messages room and lets the
three follow-the-sun demo agencies monitor it, so that direct messages are watched too.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx
from sqlalchemy import select

from childsafe.chat.config import DEFAULT_ROOMS, ChatSettings, RoomSpec
from childsafe.chat.demo import DemoAccount, seed_accounts
from childsafe.chat.store import ChatStore, utcnow
from childsafe.config import Settings
from childsafe.core.crypto import Keyring
from childsafe.core.permissions import PROVIDER_SCOPES
from childsafe.store import agencies, providers
from childsafe.store.db import Database
from childsafe.store.models import ApiKeyRow, ProviderRow
from childsafe.store.watch_models import RoomAssignmentRow

DIRECT_ROOM_AGENCIES = ("UK-NCA-CEOP", "US-DHS-HSI", "AU-AFP-ACCCE")


@dataclass(frozen=True, slots=True)
class Credentials:
    provider: str
    api_key: str
    webhook_secret: str
    webhook_url: str


def webhook_url(chat: ChatSettings) -> str:
    return f"http://{chat.host}:{chat.port}/platform/webhook"


def connect_chat(db: Database, keyring: Keyring, chat: ChatSettings, *,
                 rooms: Sequence[RoomSpec] = DEFAULT_ROOMS, url: str | None = None,
                 monitor_direct: Sequence[str] = DIRECT_ROOM_AGENCIES) -> Credentials:
    """Provider, API key (every provider scope), webhook; saved to the credentials file."""
    from childsafe.reports.preservation import set_webhook
    from childsafe.watch import rooms as watch_rooms

    url = url or webhook_url(chat)
    path = chat.credentials_path
    previous = _read(path).get("api_key", "")
    now = utcnow()
    with db.transaction() as session:
        provider = session.scalar(select(ProviderRow).where(ProviderRow.name == chat.name))
        if provider is None:
            provider = providers.create_provider(session, chat.name, actor="demo",
                                                 contact_email="safety@chatty.example.com")
        old_id = previous[4:16] if previous.startswith("csk_") else ""
        old = session.scalar(select(ApiKeyRow).where(ApiKeyRow.key_id == old_id,
                                                     ApiKeyRow.provider_id == provider.id,
                                                     ApiKeyRow.revoked_at.is_(None)))
        if old is not None:
            providers.revoke_key(session, old.key_id, actor="demo")
        issued = providers.issue_key(session, provider, sorted(s.value for s in PROVIDER_SCOPES),
                                     label="chat demo", actor="demo")
        secret = set_webhook(session, keyring, provider, url, actor="demo")
        for spec in rooms:
            if not spec.direct:
                continue
            checked = watch_rooms.validate_room(spec.slug, spec.title, spec.audience,
                                                spec.language, spec.region)
            room, _ = watch_rooms.register_room(session, provider.id, checked, now=now,
                                                actor="demo")
            have = set(session.scalars(select(RoomAssignmentRow.agency_id)
                                       .where(RoomAssignmentRow.room_id == room.id)))
            for code in monitor_direct:
                agency = agencies.get_by_code(session, code)
                if agency.id not in have:
                    session.add(RoomAssignmentRow(room_id=room.id, agency_id=agency.id,
                                                  created_at=now))
    credentials = Credentials(chat.name, issued.plaintext, secret, url)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump({"provider": credentials.provider, "api_key": credentials.api_key,
                   "webhook_secret": credentials.webhook_secret, "webhook_url": url}, out)
    return credentials


def _read(path: Path) -> dict[str, str]:
    try:
        return {str(k): str(v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()}
    except (OSError, ValueError):
        return {}


def demo_chat_settings(platform: Settings, port: int) -> ChatSettings:
    """The chat's settings for the demo: its data beside the platform's (data_dir/chat)
    unless CHILDSAFE_CHAT_DATA_DIR says otherwise."""
    chat = ChatSettings(port=port)
    if not os.environ.get("CHILDSAFE_CHAT_DATA_DIR"):
        chat = chat.model_copy(update={"data_dir": platform.data_dir / "chat"})
    return chat


def set_up(platform: Settings, chat: ChatSettings) -> tuple[Credentials, list[DemoAccount]]:
    """Connect the chat to the platform (already migrated and seeded) and seed chat accounts."""
    db = Database(platform.effective_database_url)
    try:
        credentials = connect_chat(db, platform.keyring, chat)
    finally:
        db.dispose()
    store = ChatStore(chat.database_path)
    try:
        store.sync_rooms(DEFAULT_ROOMS)
        demo_accounts = seed_accounts(store)
    finally:
        store.close()
    return credentials, demo_accounts


def _childsafe_command(*args: str) -> list[str]:
    script = shutil.which("childsafe", path=str(Path(sys.executable).parent))
    if script:
        return [script, *args]
    return [sys.executable, "-c", "import sys; from childsafe.cli.main import run; "
            "sys.argv[0] = 'childsafe'; run()", *args]


def _wait_healthy(url: str, processes: list[subprocess.Popen[bytes]], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            return False
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    return False


def run_together(platform: Settings, chat: ChatSettings, *, host: str, port: int,
                 echo: Callable[[str], None], on_ready: Callable[[], None] = lambda: None) -> int:
    """Start the platform, its worker and the chat; stop all three on Ctrl-C or SIGTERM."""
    env = os.environ | {"CHILDSAFE_CHAT_HOST": chat.host, "CHILDSAFE_CHAT_PORT": str(chat.port),
                        "CHILDSAFE_CHAT_DATA_DIR": str(chat.data_dir),
                        "CHILDSAFE_CHAT_PLATFORM_URL": f"http://{host}:{port}"}
    commands = {
        "platform": [sys.executable, "-m", "uvicorn", "childsafe.web.asgi:app", "--host", host,
                     "--port", str(port), "--no-server-header", "--log-level", "warning"],
        "worker": _childsafe_command("worker"),
        "chat": [sys.executable, "-m", "childsafe.chat", "serve", "--host", chat.host,
                 "--port", str(chat.port)],
    }
    processes: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def _stop(_sig: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    old_int = signal.signal(signal.SIGINT, _stop)
    old_term = signal.signal(signal.SIGTERM, _stop)
    try:
        for name, command in commands.items():
            # Own process groups: Ctrl-C reaches us only, and we stop the children in order.
            processes[name] = subprocess.Popen(command, env=env,  # noqa: S603 - our own commands
                                               start_new_session=True)
        running = list(processes.values())
        ok = (_wait_healthy(f"http://{host}:{port}/healthz", running, 60)
              and _wait_healthy(f"http://{chat.host}:{chat.port}/healthz", running, 60))
        if not ok:
            echo("A process did not start; stopping the others.")
            return 1
        on_ready()
        echo(f"\nPlatform (officers' console, report form): http://{host}:{port}")
        echo(f"Chat app ({chat.name}):                      http://{chat.host}:{chat.port}")
        echo("Both run until Ctrl-C.")
        while not stopping:
            dead = [n for n, p in processes.items() if p.poll() is not None]
            if dead:
                echo(f"{', '.join(dead)} stopped unexpectedly; stopping the others.")
                return 1
            time.sleep(0.3)
        return 0
    finally:
        for name in ("chat", "worker", "platform"):
            proc = processes.get(name)
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in processes.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(5)
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
        echo("Stopped the platform, its worker and the chat.")
