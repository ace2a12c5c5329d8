"""Settings of the chat app, from CHILDSAFE_CHAT_* environment variables.

The chat app is a separate application: it has its own database file and knows the platform
only by its URL, an API key and the webhook signing secret the platform gave it. When the key
or the secret is not set in the environment, they are read from `credentials_file` (written
by `childsafe chat setup-demo`), so a demo runs without copying secrets by hand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


@dataclass(frozen=True, slots=True)
class RoomSpec:
    """A room of the chat: its own id (the platform's `external_id`), how it is shown."""

    slug: str
    title: str
    audience: str  # teen | general
    language: str
    region: str  # ISO 3166-1 alpha-2, or * for anywhere
    topic: str = ""
    direct: bool = False  # carries direct messages to Watch (not shown as a room)


# The rooms a fresh chat offers. Their ids match the platform demo's rooms of "Chatty".
DEFAULT_ROOMS: tuple[RoomSpec, ...] = (
    RoomSpec("teen-lounge-3", "Teen lounge", "teen", "en", "GB", "Chat with other teens"),
    RoomSpec("homework-help", "Homework help", "teen", "en", "US", "Stuck on homework? Ask here"),
    RoomSpec("game-chat-au", "Game chat", "general", "en", "AU", "Games, mods and servers"),
    RoomSpec("music-fans", "Music fans", "general", "en", "*", "What are you listening to?"),
    RoomSpec("direct-messages", "Direct messages", "general", "en", "*",
             "Private conversations between two people", direct=True),
)
DIRECT_ROOM = "direct-messages"


class ChatSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHILDSAFE_CHAT_", extra="ignore")

    name: str = Field("Chatty", description="The chat's name (the provider's name on the "
                                            "platform).")
    host: str = "127.0.0.1"
    port: int = 8001
    data_dir: Path = Field(Path("var/chat"), description="Own database, preserved data.")
    db_path: Path | None = Field(None, description="SQLite file; default data_dir/chat.db.")
    platform_url: str = Field("http://127.0.0.1:8000", description="Where the server reaches "
                                                                    "the platform's API.")
    platform_public_url: str = Field("", description="Where browsers reach the platform (JS "
                                                     "snippets, badge images); default "
                                                     "platform_url.")
    api_key: str = Field("", description="The provider API key (csk_…).")
    webhook_secret: str = Field("", description="The secret the platform signs webhooks with.")
    credentials_file: Path | None = Field(None, description="JSON with api_key and "
                                                            "webhook_secret; default "
                                                            "data_dir/platform.json.")
    secure_cookies: bool = Field(False, description="Set Secure on cookies (behind https).")
    max_message_chars: int = Field(1000, ge=1, le=4000)
    messages_per_window: int = Field(20, ge=1, description="Posts per user per window.")
    rate_window_s: float = Field(30.0, gt=0)
    signups_per_hour: int = Field(30, ge=1, description="Sign-ups per client address.")
    logins_per_window: int = Field(10, ge=1, description="Failed log-ins per name per 5 min.")
    stream_batch: int = Field(200, ge=1, le=500)
    stream_queue: int = Field(5000, ge=1, description="Messages waiting in memory at most.")
    badge_refresh_s: float = Field(300.0, gt=0)
    session_hours: int = Field(12, ge=1)

    @property
    def database_path(self) -> Path:
        return self.db_path or self.data_dir / "chat.db"

    @property
    def public_platform(self) -> str:
        return (self.platform_public_url or self.platform_url).rstrip("/")

    @property
    def credentials_path(self) -> Path:
        return self.credentials_file or self.data_dir / "platform.json"

    def credentials(self) -> tuple[str, str]:
        """(api key, webhook secret): the environment first, then the credentials file."""
        key, secret = self.api_key, self.webhook_secret
        path = self.credentials_path
        if (not key or not secret) and path.exists():
            saved = json.loads(path.read_text(encoding="utf-8"))
            key = key or str(saved.get("api_key", ""))
            secret = secret or str(saved.get("webhook_secret", ""))
        return key, secret
