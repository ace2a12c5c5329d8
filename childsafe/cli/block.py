"""`childsafe block ...`: list authority (keygen, publish, rpz, import-entries, publish-db)
and ISP node (sync, filter).

Thin wrappers: every command parses options, calls one function of `childsafe.block` and
turns its domain errors into a message and a non-zero exit status.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from childsafe.block.core.canon import try_canonicalize
from childsafe.block.core.expressions import expressions as url_expressions
from childsafe.block.core.matcher import Matcher

app = typer.Typer(help="Block: URL list sync, matching and filtering for ISPs.", no_args_is_help=True)
err = Console(stderr=True)


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", markup=True, highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _inputs(args: list[str] | None, stdin: bool) -> list[str]:
    if stdin or not args:
        data = sys.stdin.buffer.read()
        return [ln.decode("utf-8", "surrogateescape") for ln in data.split(b"\n") if ln.strip()]
    return list(args)


def _print(line: str) -> None:
    sys.stdout.buffer.write(line.encode("utf-8", "surrogateescape").replace(b"\n", b" ") + b"\n")


@app.command()
def keygen(
    out: Path = typer.Option(Path("."), help="Directory for list-signing.key and .pub"),
) -> None:
    """Create the authority's Ed25519 signing key pair (keep the .key file offline)."""
    from childsafe.block.authority import AuthorityError, generate_keys

    out.mkdir(parents=True, exist_ok=True)
    try:
        generate_keys(out / "list-signing.key", out / "list-signing.pub")
    except AuthorityError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"wrote {out / 'list-signing.key'} (private, 0600) and {out / 'list-signing.pub'}")


@app.command()
def publish(
    entries: Path = typer.Option(..., help="CSV: url,scope,category,added_by,reason,review_date"),
    out: Path = typer.Option(..., help="Publication directory (serve it over HTTP as is)"),
    key: Path = typer.Option(Path("list-signing.key"), help="Ed25519 signing key (PEM)"),
) -> None:
    """Validate the entries and publish snapshot N and delta N-1 -> N."""
    from childsafe.block.authority import (
        AuthorityError,
        count_rows,
        load_private_key,
        publish_to_dir,
        read_entries,
    )

    try:
        signing_key = load_private_key(key)
        total = count_rows(entries)
        with Progress(
            TextColumn("reading entries"), BarColumn(), MofNCompleteColumn(), console=err
        ) as progress:
            task = progress.add_task("rows", total=total)
            rows, errors = read_entries(entries, lambda: progress.advance(task))
        if errors:
            for e in errors[:200]:
                err.print(f"{entries}:{e}", highlight=False, markup=False, soft_wrap=True)
            if len(errors) > 200:
                err.print(f"... and {len(errors) - 200} more", highlight=False)
            raise _fail(f"{len(errors)} invalid row(s); nothing published")
        pub = publish_to_dir(rows, out, signing_key)
    except (AuthorityError, OSError) as exc:
        raise _fail(str(exc)) from None
    delta = pub.delta
    typer.echo(
        f"published list {pub.snapshot.seq}: {len(rows)} entries, {len(pub.snapshot)} hashed "
        "expressions"
        + (
            f"; delta {delta.base_seq}->{delta.seq}: +{len(delta.add_digests) // 32} "
            f"-{len(delta.del_digests) // 32}"
            if delta
            else ""
        )
    )


@app.command("import-entries")
def import_entries(
    file: Path = typer.Argument(..., help="CSV: url,scope,category,added_by,reason,review_date"),
    actor: str = typer.Option("cli", help="Who imports (recorded in the history and audit log)"),
) -> None:
    """Import entries into the authority database (all or nothing; every bad line listed)."""
    from childsafe.block import authority_store as store
    from childsafe.block.authority import count_rows
    from childsafe.cli.common import load_settings, transaction

    try:
        data = file.read_bytes()
        total = count_rows(file)
    except OSError as exc:
        raise _fail(f"cannot read {file}: {exc}") from None
    with transaction(load_settings()) as session:
        with Progress(
            TextColumn("checking entries"), BarColumn(), MofNCompleteColumn(), console=err
        ) as progress:
            task = progress.add_task("rows", total=total)
            result = store.import_csv(session, store.Actor(actor), data, name=file.name,
                                      on_row=lambda: progress.advance(task))
        if not result.ok:
            session.rollback()
            for e in result.errors[:200]:
                err.print(f"{file}:{e}", highlight=False, markup=False, soft_wrap=True)
            if len(result.errors) > 200:
                err.print(f"... and {len(result.errors) - 200} more", highlight=False)
            raise _fail(f"{len(result.errors)} invalid row(s); nothing imported")
    typer.echo(f"imported {result.added} entries; publish with `childsafe block publish-db`")


@app.command("publish-db")
def publish_db(
    out: Path = typer.Option(None, help="Publication directory (default: the "
                                        "CHILDSAFE_BLOCK_PUBLICATION_DIR setting)"),
    actor: str = typer.Option("cli", help="Who publishes (recorded in the history)"),
    rewrite: bool = typer.Option(False, help="Only re-write recent files from the database"),
) -> None:
    """Publish the authority database's active entries as the next signed list."""
    from childsafe.block import authority_store as store
    from childsafe.cli.common import load_settings, transaction
    from childsafe.core.errors import DomainError
    from childsafe.store.db import Database

    settings = load_settings()
    out_dir = out or store.publication_dir(settings)
    if rewrite:
        with transaction(settings) as session:
            written = store.rewrite_dir(session, out_dir)
        typer.echo(f"wrote {len(written)} file(s) to {out_dir}")
        return
    db = Database(settings.effective_database_url)
    try:
        row = store.publish_and_write(db, store.Actor(actor), store.load_signing_key(settings),
                                      out_dir)
    except DomainError as exc:
        raise _fail(exc.detail) from None
    except OSError as exc:
        raise _fail(f"published in the database but writing {out_dir} failed ({exc}); "
                    "run `childsafe block publish-db --rewrite`") from None
    finally:
        db.dispose()
    typer.echo(f"published list {row.seq}: {row.entry_count} entries, {row.expression_count} "
               f"hashed expressions (+{row.digests_added} -{row.digests_removed}) to {out_dir}")
    typer.echo(f"signing key fingerprint: {store.fingerprint(store.load_signing_key(settings).public_key())}")


@app.command()
def sync(
    state: Path = typer.Option(..., help="Node state directory"),
    source: str = typer.Option(None, help="Publication URL (http/https) or directory"),
    public_key: Path = typer.Option(None, help="Authority public key (PEM)"),
    rollback: bool = typer.Option(False, help="Swap back to the previous good list"),
) -> None:
    """Fetch, verify and install the newest list (or roll back to the previous one)."""
    from childsafe.block.authority import AuthorityError, load_public_key
    from childsafe.block.sources import SourceError, open_source
    from childsafe.block.state import StateDir, StateError
    from childsafe.block.sync import SyncError
    from childsafe.block.sync import sync as do_sync

    st = StateDir(state)
    if rollback:
        try:
            frm, to = st.rollback()
        except StateError as exc:
            raise _fail(str(exc)) from None
        typer.echo(f"rolled back from list {frm} to list {to}")
        return
    if not source or not public_key:
        raise _fail("--source and --public-key are required", 2)
    try:
        result = do_sync(open_source(source), st, load_public_key(public_key))
    except (SyncError, SourceError, AuthorityError) as exc:
        raise _fail(f"sync failed, last good list kept: {exc}") from None
    for note in result.notes:
        err.print(f"note: {note}", highlight=False, markup=False)
    if result.method == "up-to-date":
        typer.echo(f"list {result.new_seq} is current ({result.entries} hashed expressions)")
    else:
        typer.echo(
            f"installed list {result.new_seq} via {result.method} (was {result.old_seq}); "
            f"{result.entries} hashed expressions"
        )


@app.command("squid-helper")
def squid_helper(
    state: Path = typer.Option(..., help="Node state directory"),
    warning_url: str = typer.Option(..., help="URL of the warning page"),
    mode: str = typer.Option("rewrite", help="rewrite | redirect | acl"),
    reload_interval: float = typer.Option(5.0, help="Seconds between list change checks"),
    channels: str = typer.Option("auto", help="Channel ids: auto | on | off"),
) -> None:
    """Squid url_rewrite_program / external_acl_type helper (stdin -> stdout)."""
    from childsafe.block.squid import main

    raise typer.Exit(main(str(state), warning_url, mode, reload_interval, channels))


def _load_matcher(state: Path) -> Matcher:
    from childsafe.block.state import StateDir, StateError

    try:
        snap = StateDir(state).current()
    except StateError as exc:
        raise _fail(str(exc)) from None
    if snap is None:
        raise _fail(f"no list in {state}; run `childsafe block sync` first")
    return Matcher(snap)


@app.command()
def check(
    urls: list[str] = typer.Argument(None),
    state: Path = typer.Option(..., help="Node state directory"),
    stdin: bool = typer.Option(False, "--stdin", help="Read URLs from stdin, one a line"),
) -> None:
    """Print one decision a line: listed, unlisted or invalid, a TAB, the URL."""
    matcher = _load_matcher(state)
    for url in _inputs(urls, stdin):
        _print(f"{matcher.decide(url).value}\t{url}")


@app.command()
def canon(
    urls: list[str] = typer.Argument(None),
    stdin: bool = typer.Option(False, "--stdin", help="Read URLs from stdin, one a line"),
) -> None:
    """Print the canonical URL a line, or !INVALID for input with no valid host."""
    for url in _inputs(urls, stdin):
        c = try_canonicalize(url)
        _print(str(c) if c else "!INVALID")


@app.command()
def expressions(url: str) -> None:
    """Print the expressions looked up for URL (at most 30)."""
    c = try_canonicalize(url)
    if c is None:
        raise _fail("!INVALID: no valid host")
    for expr in url_expressions(c):
        _print(expr)


@app.command()
def rpz(
    entries: Path = typer.Option(..., help="Entries CSV (plaintext: authority side only)"),
    out: Path = typer.Option(..., help="Zone file to write"),
    policy: str = typer.Option("nxdomain", help="nxdomain | cname"),
    warning_host: str = typer.Option(None, help="CNAME target for --policy cname"),
    zone: str = typer.Option("rpz.childsafe.invalid", help="RPZ zone name"),
) -> None:
    """Export whole-host entries as a DNS RPZ zone (page entries are never exported)."""
    from childsafe.block.authority import AuthorityError, read_entries
    from childsafe.block.core.rpz import Policy, render_rpz
    from childsafe.block.state import write_atomic

    try:
        rows, errors = read_entries(entries)
        if errors:
            for e in errors[:200]:
                err.print(f"{entries}:{e}", highlight=False, markup=False, soft_wrap=True)
            raise _fail(f"{len(errors)} invalid row(s); no zone written")
        text, skipped = render_rpz(
            rows,
            serial=int(time.time()),
            policy=Policy(policy),
            warning_host=warning_host,
            zone=zone.rstrip("."),
        )
        write_atomic(out, text.encode("ascii"))
    except (AuthorityError, ValueError, OSError) as exc:
        raise _fail(str(exc)) from None
    for host in skipped:
        err.print(f"skipped (not a DNS name): {host}", highlight=False, markup=False)
    typer.echo(f"wrote {out}")


@app.command("warning-server")
def warning_server(
    config: Path = typer.Option(None, help="YAML/JSON page config (see block README)"),
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8451),
) -> None:
    """Serve the warning page (status 403/451, help resources, appeal route)."""
    import uvicorn

    from childsafe.block.warning import create_app, load_config

    try:
        cfg = load_config(config)
    except (OSError, ValueError) as exc:
        raise _fail(f"bad warning page config: {exc}") from None
    uvicorn.run(create_app(cfg), host=host, port=port, server_header=False, log_level="warning")


if __name__ == "__main__":
    app()
