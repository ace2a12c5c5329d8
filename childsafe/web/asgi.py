"""ASGI entry point for uvicorn/gunicorn: `childsafe.web.asgi:app`, configured from the env."""

from childsafe.web.app import create_app

app = create_app()
