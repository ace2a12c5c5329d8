"""The chat app on its own (no platform key: nothing is streamed) with a webhook secret."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from childsafe.chat.app import create_app
from childsafe.chat.config import ChatSettings
from tests.chat.helpers import SECRET, Chat
from tests.chat.live import live_chat, live_platform  # noqa: F401 - fixtures for the live tests


@pytest.fixture
def chat_settings(tmp_path: Path) -> ChatSettings:
    return ChatSettings(data_dir=tmp_path / "chat", api_key="", webhook_secret=SECRET,
                        credentials_file=tmp_path / "none.json", messages_per_window=50)


@pytest.fixture
def chat(chat_settings: ChatSettings) -> Iterator[Chat]:
    with TestClient(create_app(chat_settings), base_url="http://chat.test") as client:
        yield Chat(client)
