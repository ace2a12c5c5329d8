"""What every command needs: settings, the store, and friendly failure."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.orm import Session

from childsafe.config import Settings
from childsafe.core.errors import DomainError
from childsafe.store.db import Database

console = Console()
err_console = Console(stderr=True)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ()))
        fail(f"configuration error in CHILDSAFE_{field.upper()}: {first.get('msg')}")
        raise  # unreachable


def fail(message: str, code: int = 1) -> None:
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


@contextmanager
def transaction(settings: Settings) -> Iterator[Session]:
    """A store transaction whose domain errors become one clear line and exit status 1."""
    db = Database(settings.effective_database_url)
    try:
        with db.transaction() as session:
            yield session
    except DomainError as exc:
        fail(exc.detail)
    except ValueError as exc:
        fail(str(exc))
    finally:
        db.dispose()
