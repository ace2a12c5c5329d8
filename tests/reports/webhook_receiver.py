"""A real webhook receiver on 127.0.0.1 for tests (not collected): verifies the signature,
deduplicates on X-Childsafe-Delivery, and can hold the first request until released."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from childsafe.reports.core import webhooks


class Receiver:
    def __init__(self, secret: str, *, hold_first: bool = False) -> None:
        self.secret = secret
        self.seen: list[str] = []  # delivery keys, in arrival order (repeats included)
        self.cases: dict[str, dict[str, Any]] = {}  # delivery key -> the case, recorded once
        self.rejected = 0
        self.first_arrived = threading.Event()
        self.release = threading.Event()
        self.hold_first = hold_first
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.on_post(self, body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/childsafe"

    def on_post(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        headers = handler.headers
        if not webhooks.verify_signature(self.secret, headers.get(webhooks.TIMESTAMP_HEADER),
                                         body, headers.get(webhooks.SIGNATURE_HEADER)):
            with self._lock:
                self.rejected += 1
            handler.send_response(401)
            handler.end_headers()
            return
        key = headers.get(webhooks.DELIVERY_HEADER, "")
        with self._lock:
            first = not self.seen
            self.seen.append(key)
            if key not in self.cases:  # a repeat is acknowledged, not recorded again
                self.cases[key] = json.loads(body)
        if first and self.hold_first:
            self.first_arrived.set()
            self.release.wait(timeout=60)
        try:
            handler.send_response(200)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
        except OSError:
            pass  # the sender died while we held the request

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
