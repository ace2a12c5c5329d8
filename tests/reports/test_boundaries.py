"""House rules that keep the core pure and our own material safe."""

from __future__ import annotations

import ast
import re
from importlib import resources
from pathlib import Path

import childsafe.reports.core as core_pkg

FORBIDDEN = ("sqlalchemy", "fastapi", "starlette", "httpx", "psycopg", "uvicorn", "redis",
             "childsafe.store", "childsafe.web", "childsafe.cli", "requests", "urllib.request",
             "socket", "pathlib", "importlib.resources", "yaml")
CORE = Path(core_pkg.__file__).parent


def test_core_imports_nothing_that_does_io():
    for path in CORE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert not name.startswith(FORBIDDEN), f"{path.name} imports {name}"
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "open":
                raise AssertionError(f"{path.name} opens a file")


def test_no_core_module_over_400_lines():
    for path in [*CORE.rglob("*.py"), CORE.parent / "catalog.py"]:
        assert len(path.read_text().splitlines()) <= 400, path


def test_data_files_name_only_reserved_domains():
    """URLs in our own material use reserved names only (example.com, .test, .invalid)."""
    root = resources.files("childsafe.reports")
    for folder in ("flows", "tips"):
        for item in root.joinpath(folder).iterdir():
            text = item.read_text(encoding="utf-8")
            for url in re.findall(r"https?://[^\s\"')]+", text):
                host = url.split("/")[2]
                assert host == "example.com" or host.endswith((".test", ".invalid")), url
