"""Factories for report-intake tests: flows, answer sets, synthetic evidence files.

All material is synthetic and non-explicit: conversations show grooming *cues* only, files
are random noise or minimal headers, URLs use reserved names.
"""

from __future__ import annotations

import copy
import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from childsafe.reports import catalog
from childsafe.reports.core.model import Flow

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
KEY = b"test-verification-key-0123456789"


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture(scope="session")
def flow() -> Flow:
    return catalog.load_flow()


@pytest.fixture(scope="session")
def raw_flow() -> dict[str, Any]:
    from importlib import resources

    text = resources.files("childsafe.reports").joinpath("flows", "report.yaml").read_text()
    return yaml.safe_load(text)


@pytest.fixture
def broken_flow(raw_flow: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of the packaged flow, for a test to break one thing in."""
    return copy.deepcopy(raw_flow)


@dataclass(frozen=True)
class FakeJurisdiction:
    emergency_number: str
    help_line: str


class FakeRouting:
    """Dict-backed stand-in for the platform's RoutingTable."""

    def __init__(self, table: dict[str, FakeJurisdiction], fallback: FakeJurisdiction) -> None:
        self.table, self.fallback = table, fallback

    def route(self, country: str) -> FakeJurisdiction:
        return self.table.get(country, self.fallback)


@pytest.fixture
def fake_routing() -> FakeRouting:
    return FakeRouting({"GB": FakeJurisdiction("999", "Childline 0800 1111; NSPCC 0808 800 5000"),
                        "US": FakeJurisdiction("911", "Test Line 1-800-555-0100")},
                       FakeJurisdiction("112", ""))


@pytest.fixture(scope="session")
def routing() -> Any:
    return catalog.load_routing()


def answers(**overrides: Any) -> dict[str, Any]:
    """A minimal in-scope answer set (a young person, age question + secrecy), overridable.
    Pass a value of None to drop a key."""
    base: dict[str, Any] = {"danger": "no", "who": "young_person", "country": "GB",
                            "what": "contact", "cues": ["asked_age", "asked_secret"],
                            "platform": "Chatty", "when": "2024-05-30", "suspect": "sam_99"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


@pytest.fixture
def make_answers() -> Callable[..., dict[str, Any]]:
    return answers


# ---- synthetic files -------------------------------------------------------------------

def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def make_png(width: int = 8, height: int = 8, *, seed: bytes | None = None) -> bytes:
    """A valid RGB PNG of random noise."""
    noise = seed or os.urandom(width * height * 3)
    rows = b"".join(b"\x00" + noise[y * width * 3:(y + 1) * width * 3] for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)
            + _chunk(b"IDAT", zlib.compress(rows)) + _chunk(b"IEND", b""))


def make_gif() -> bytes:
    """A 1x1 GIF89a: header, screen descriptor, 2-colour table, one image, trailer."""
    return (b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
            + b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00" + b"\x3b")


def make_jpeg() -> bytes:
    """SOI + JFIF APP0 + filler + EOI: enough structure for a magic-byte check."""
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return (b"\xff\xd8\xff\xe0" + struct.pack(">H", len(app0) + 2) + app0
            + os.urandom(64) + b"\xff\xd9")


def make_pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n"
            b"%%EOF\n")


@pytest.fixture
def png() -> bytes:
    return make_png()


def conversation(**overrides: Any) -> dict[str, Any]:
    """A capture showing grooming cues only, in plain non-explicit words."""
    start = NOW - timedelta(hours=2)
    lines = [("u2", "hi, how old are you?"), ("u1", "12"),
             ("u2", "cool. are you alone right now?"),
             ("u2", "let's keep this chat our secret ok"),
             ("u2", "add me on another app, it's more private"),
             ("u2", "i can send you game credits. want to meet up at the park?")]
    body: dict[str, Any] = {
        "platform": "chatty.test", "room_id": "room-42",
        "participants": [{"user_id": "u1", "display_name": "Kid", "declared_age": 12,
                          "role": "reporter"},
                         {"user_id": "u2", "display_name": "Sam", "role": "reported"}],
        "messages": [{"id": f"m{i}", "sender": who,
                      "sent_at": (start + timedelta(minutes=i)).isoformat(), "text": text}
                     for i, (who, text) in enumerate(lines)]}
    body.update(overrides)
    return body


class Factories:
    """Access to the factory functions from tests (conftest is not importable by name)."""

    answers = staticmethod(answers)
    conversation = staticmethod(conversation)
    png = staticmethod(make_png)
    gif = staticmethod(make_gif)
    jpeg = staticmethod(make_jpeg)
    pdf = staticmethod(make_pdf)
    now = NOW
    key = KEY


@pytest.fixture
def f() -> type[Factories]:
    return Factories
