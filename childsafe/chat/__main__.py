"""`python -m childsafe.chat serve`: the chat app's commands without the platform's CLI."""

from childsafe.chat.cli import app

app(prog_name="childsafe chat")
