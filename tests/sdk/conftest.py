"""SDK tests run against the real app served by uvicorn on loopback (see platform.py)."""

from tests.sdk.platform import platform  # noqa: F401 - the fixture
