"""Bearer tokens in paths never reach the access log."""

import logging

from childsafe.web.access_log import RedactTokens, install, redact


def test_token_paths_are_redacted_and_others_kept():
    assert redact("/report/status/abcDEF123_-x") == "/report/status/…"
    assert redact("/report/status/abc/verify") == "/report/status/…/verify"
    assert redact("/report/receipt/tok?lang=fr") == "/report/receipt/…?lang=fr"
    assert redact("/report/start/tok") == "/report/start/…"
    assert redact("/report/verify/5f1c-uuid/linktok") == "/report/verify/5f1c-uuid/…"
    assert redact("/report/help/capture") == "/report/help/capture"
    assert redact("/api/v1/rooms/rm_abc/badge") == "/api/v1/rooms/rm_abc/badge"


def test_uvicorn_access_records_are_rewritten(caplog):
    install()
    install()  # idempotent
    logger = logging.getLogger("uvicorn.access")
    assert sum(isinstance(f, RedactTokens) for f in logger.filters) == 1
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET",
                    "/report/status/secret-token-value", "1.1", 200)
    assert "secret-token-value" not in caplog.text
    assert "/report/status/…" in caplog.text
