"""One populated store per test module (building it logs nine officers in, files reports,
raises alerts); the matrix's allowed writes act on fresh objects, so sharing it is safe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import _truncate_pg
from tests.isolation.world import World, build_world, sqlite_copy


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("isolation")
    with build_world(tmp, sqlite_copy(sqlite_template, tmp)) as built:
        yield built


@pytest.fixture(scope="module")
def pg_world(tmp_path_factory: pytest.TempPathFactory, pg_database: str) -> Iterator[World]:
    _truncate_pg(pg_database)
    with build_world(tmp_path_factory.mktemp("isolation-pg"), pg_database) as built:
        yield built
