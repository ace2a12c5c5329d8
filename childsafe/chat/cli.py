"""`childsafe chat ...`: run the demo chat app, and connect it to a platform for the demo."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from childsafe.chat.config import ChatSettings

app = typer.Typer(help="Chatty, the demo chat app that integrates childsafe through the SDK.",
                  no_args_is_help=True)
console = Console()


@app.command()
def serve(host: str = typer.Option("", help="Address (default CHILDSAFE_CHAT_HOST or "
                                            "127.0.0.1)"),
          port: int = typer.Option(0, help="TCP port (default CHILDSAFE_CHAT_PORT or 8001)")) -> None:
    """Serve the chat. Platform URL, API key and webhook secret come from CHILDSAFE_CHAT_*
    (or the credentials file written by `childsafe chat setup-demo`)."""
    import uvicorn

    from childsafe.chat.app import create_app

    settings = ChatSettings()
    host, port = host or settings.host, port or settings.port
    key, secret = settings.credentials()
    if not key or not secret:
        console.print("[yellow]No platform API key or webhook secret: the chat runs alone "
                      "(no badges, no streaming, no reports). Run `childsafe chat setup-demo`."
                      "[/]")
    console.print(f"{settings.name} on http://{host}:{port}  (platform: {settings.platform_url})")
    uvicorn.run(create_app(settings), host=host, port=port, proxy_headers=False,
                server_header=False, log_level="warning")


def accounts_table(accounts: list[object]) -> Table:
    table = Table("username", "password", "who", title="Chat logins")
    for account in accounts:
        table.add_row(getattr(account, "username", ""), getattr(account, "password", ""),
                      getattr(account, "role", ""))
    return table


@app.command("setup-demo")
def setup_demo() -> None:
    """Platform side of the demo: give the chat's provider an API key and a webhook pointing
    at the chat (saved to the chat's credentials file), and create the demo chat accounts.
    Uses the platform's CHILDSAFE_* settings; run `childsafe demo --no-serve` first."""
    from childsafe.chat.demo_setup import set_up
    from childsafe.config import Settings

    chat = ChatSettings()
    credentials, accounts = set_up(Settings(), chat)
    console.print(f"Provider {credentials.provider}: API key issued, webhook → "
                  f"{credentials.webhook_url}; saved to {chat.credentials_path} (mode 0600).")
    console.print(accounts_table(list(accounts)))
