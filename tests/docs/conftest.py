"""Docs tests run the README's code against the real app served by uvicorn on loopback."""

from tests.sdk.platform import platform  # noqa: F401 - the fixture
