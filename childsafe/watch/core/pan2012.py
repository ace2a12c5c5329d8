"""Parse the PAN 2012 sexual-predator-identification corpus into our conversation format.

The XML is `<conversations><conversation id><message line><author/><time/><text/></message>`
and the ground truth is a text list of predator author ids, one per line. Both arrive as
strings or bytes: reading files stays outside the core. A document type declaration is
refused, since PAN files have none and entity tricks are the classic XML attack.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405 - DTDs are refused before parsing
from typing import Any


class PanFormatError(ValueError):
    """The input is not in the PAN 2012 format; the message says where."""


def parse_predators(text: str | bytes) -> frozenset[str]:
    """The predator id list: one author id per line, blank lines ignored."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def _minutes(clock: str) -> float:
    """PAN times are HH:MM within a conversation; turned into seconds for our `ts`."""
    try:
        hours, minutes = clock.strip().split(":")[:2]
        return float(int(hours) * 3600 + int(minutes) * 60)
    except ValueError:
        return 0.0


def parse_conversations(xml: str | bytes, predators: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """Conversations in our JSONL shape; labelled grooming when a listed predator speaks."""
    head = xml[:2048].lower() if isinstance(xml, str) else xml[:2048].lower().decode("latin-1")
    if "<!doctype" in head or "<!entity" in head:
        raise PanFormatError("document type declarations are not accepted")
    try:
        root = ET.fromstring(xml)  # noqa: S314 - no DTD, see above
    except ET.ParseError as exc:
        raise PanFormatError(f"not well-formed XML: {exc}") from exc
    if root.tag != "conversations":
        raise PanFormatError(f"root element is <{root.tag}>, expected <conversations>")
    items: list[dict[str, Any]] = []
    for n, conv in enumerate(root.iter("conversation")):
        conv_id = conv.get("id")
        if not conv_id:
            raise PanFormatError(f"conversation #{n + 1} has no id")
        messages: list[dict[str, Any]] = []
        last, day = -1.0, 0.0
        for i, msg in enumerate(conv.iter("message")):
            author = (msg.findtext("author") or "").strip()
            if not author:
                raise PanFormatError(f"conversation {conv_id}: message #{i + 1} has no author")
            ts = _minutes(msg.findtext("time") or "") + day
            if ts < last:  # the clock wrapped past midnight
                day += 86400.0
                ts += 86400.0
            last = ts
            messages.append({"id": f"{conv_id}:{msg.get('line') or i + 1}", "author": author,
                             "ts": ts, "text": msg.findtext("text") or ""})
        groomers = sorted({m["author"] for m in messages} & predators)
        items.append({"id": conv_id, "kind": "pan2012", "label": "grooming" if groomers else "benign",
                      "groomer": groomers[0] if groomers else None, "messages": messages})
    return items
