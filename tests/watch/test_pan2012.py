"""The PAN 2012 parser on a tiny synthetic file (reserved ids, non-explicit text)."""

from __future__ import annotations

from pathlib import Path

import pytest

from childsafe.watch.core.pan2012 import PanFormatError, parse_conversations, parse_predators
from childsafe.watch.corpus import load_pan2012

XML = """<?xml version="1.0" encoding="UTF-8"?>
<conversations>
  <conversation id="c0001">
    <message line="1"><author>aaaa1111</author><time>23:58</time><text>hey how old are you?</text></message>
    <message line="2"><author>bbbb2222</author><time>23:59</time><text>13/f</text></message>
    <message line="3"><author>aaaa1111</author><time>00:01</time><text>don't tell anyone</text></message>
  </conversation>
  <conversation id="c0002">
    <message line="1"><author>cccc3333</author><time>10:00</time><text>see you at practice</text></message>
    <message line="2"><author>dddd4444</author><time>10:01</time><text></text></message>
  </conversation>
</conversations>
"""


def test_parse_predators() -> None:
    assert parse_predators(b"aaaa1111\n\n  eeee5555 \n") == {"aaaa1111", "eeee5555"}


def test_parse_conversations_labels_and_times() -> None:
    items = parse_conversations(XML.encode(), parse_predators("aaaa1111\n"))
    assert [i["id"] for i in items] == ["c0001", "c0002"]
    first, second = items
    assert first["label"] == "grooming" and first["groomer"] == "aaaa1111" and first["kind"] == "pan2012"
    assert [m["author"] for m in first["messages"]] == ["aaaa1111", "bbbb2222", "aaaa1111"]
    assert first["messages"][0]["id"] == "c0001:1"
    ts = [m["ts"] for m in first["messages"]]
    assert ts == sorted(ts), "times stay ordered across midnight"
    assert second["label"] == "benign" and second["groomer"] is None
    assert second["messages"][1]["text"] == ""


@pytest.mark.parametrize(("xml", "problem"), [
    ("<conversations><conversation>", "well-formed"),
    ("<chats/>", "root element"),
    ("<conversations><conversation><message/></conversation></conversations>", "no id"),
    ('<conversations><conversation id="x"><message><text>hi</text></message></conversation></conversations>',
     "no author"),
    ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><conversations/>', "document type"),
])
def test_bad_input(xml: str, problem: str) -> None:
    with pytest.raises(PanFormatError, match=problem):
        parse_conversations(xml)


def test_load_from_files(tmp_path: Path) -> None:
    (tmp_path / "c.xml").write_text(XML, encoding="utf-8")
    (tmp_path / "p.txt").write_text("aaaa1111\n", encoding="utf-8")
    items = load_pan2012(tmp_path / "c.xml", tmp_path / "p.txt")
    assert [i["label"] for i in items] == ["grooming", "benign"]
    assert all(i["label"] == "benign" for i in load_pan2012(tmp_path / "c.xml"))
