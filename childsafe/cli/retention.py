"""`childsafe admin retention [--dry-run]` and `childsafe admin legal-hold CASE --on/--off`."""

from __future__ import annotations

import typer
from rich.table import Table

from childsafe.cli.common import console, fail, load_settings, transaction
from childsafe.store import accounts, retention
from childsafe.store.db import Database
from childsafe.store.models import utcnow

_SHOWN = 50


def retention_cmd(dry_run: bool = typer.Option(False, "--dry-run", help="Only print what "
                                               "would be deleted")) -> None:
    """Apply the retention rules now (the worker does so every minute): unverified reports
    after 72 h, closed-unfounded cases after CHILDSAFE_RETENTION_UNFOUNDED_DAYS unless on
    legal hold, unalerted watched messages after CHILDSAFE_RETENTION_WATCH_DAYS. Audited."""
    settings = load_settings()
    policy = retention.RetentionPolicy.of_days(settings.retention_unfounded_days,
                                               settings.retention_watch_days)
    db = Database(settings.effective_database_url)
    try:
        done = retention.run(db, utcnow(), policy, dry_run=dry_run, actor="cli")
    except ValueError as exc:
        fail(str(exc))
        return
    finally:
        db.dispose()
    verb = "would delete" if dry_run else "deleted"
    console.print(f"Unverified reports (72 h): {verb} {len(done.unverified_reports)} "
                  f"with {done.unverified_evidence} evidence item(s).")
    if done.cases or done.held:
        table = Table()
        table.add_column("case", no_wrap=True)
        table.add_column("agency", no_wrap=True)
        for name in ("outcome", "last change", "reports/evidence", "action"):
            table.add_column(name)
        for item in done.cases[:_SHOWN]:
            table.add_row(item.reference, item.agency, item.outcome or "",
                          f"{item.last_change:%Y-%m-%d}", f"{len(item.reports)}/{item.evidence}",
                          verb)
        for item in done.held[:_SHOWN]:
            table.add_row(item.reference, item.agency, item.outcome or "",
                          f"{item.last_change:%Y-%m-%d}", f"{len(item.reports)}/{item.evidence}",
                          f"kept: legal hold ({item.hold_reason})")
        console.print(table)
    console.print(f"Closed-unfounded cases older than {policy.unfounded_after.days} days: "
                  f"{verb} {len(done.cases)}; kept under legal hold {len(done.held)}.")
    console.print(f"Watched messages without alert older than {policy.watch_after.days} days: "
                  f"{verb} {done.watch_total} in {len(done.watch_messages)} conversation(s).")
    if dry_run:
        console.print("Dry run: nothing was deleted.")


def legal_hold_cmd(case_ref: str = typer.Argument(..., metavar="CASE_REF",
                                                  help="Case reference (CS-XXXX-XXXX) or id"),
                   on: bool = typer.Option(..., "--on/--off", help="Place or lift the hold"),
                   reason: str = typer.Option(..., "--reason", help="Why (e.g. the court "
                                              "order's reference); audited"),
                   by: str = typer.Option("", "--by", help="Username of the supervisor "
                                          "placing or lifting it (else the operator)")) -> None:
    """Place or lift a legal hold on a case: a held case is never deleted by retention."""
    with transaction(load_settings()) as session:
        principal = accounts.principal_for(session, accounts.get_user(session, by)) if by \
            else None
        case = retention.find_case(session, case_ref)
        changed = retention.set_legal_hold(session, case, on, reason, utcnow(), by=principal,
                                           actor="cli")
        reference = case.reference
    state = "on" if on else "off"
    console.print(f"Legal hold {state} for {reference}." if changed
                  else f"Legal hold was already {state} for {reference}; nothing changed.")


def register(app: typer.Typer) -> None:
    app.command("retention")(retention_cmd)
    app.command("legal-hold")(legal_hold_cmd)
