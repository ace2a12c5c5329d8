"""Keep secrets out of the access log.

A reporter's status link, receipt, e-mail verification link and a provider's hand-off link
carry bearer tokens in their path: whoever reads the log could open the report. The filter
rewrites those path segments to `…` in uvicorn's access records (and any other record that
logs the path the same way) before a handler sees them.
"""

from __future__ import annotations

import logging
import re

_SECRET_PATHS = re.compile(
    r"(/report/(?:status|receipt|start)/)[^/?#\s\"]+|(/report/verify/[^/?#\s\"]+/)[^/?#\s\"]+")
_REDACTED = "…"


def redact(text: str) -> str:
    return _SECRET_PATHS.sub(lambda m: (m.group(1) or m.group(2)) + _REDACTED, text)


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install() -> None:
    """Attach the filter to uvicorn's access logger once (idempotent)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactTokens) for f in logger.filters):
        logger.addFilter(RedactTokens())
