"""docs/SECURITY.md cannot rot: every test it cites exists, every compliance row cites one (or
says plainly that it is partial or not met), and its table of encrypted columns is the schema's.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

from childsafe.store.schema import metadata

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "SECURITY.md"
NODE = re.compile(r"`(tests/[\w/]+\.py)::([\w:]+)`")
TABLE_ROW = re.compile(r"^\|(.+)\|\s*$")


def _text() -> str:
    return DOC.read_text(encoding="utf-8")


@cache
def _definitions(path: str) -> frozenset[str]:
    """`name` for each module-level function, `Class::name` for each method."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.add(node.name)
        elif isinstance(node, ast.ClassDef):
            found |= {f"{node.name}::{item.name}" for item in node.body
                      if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)}
    return frozenset(found)


def _section(title: str) -> str:
    text = _text()
    start = text.index(title)
    end = text.find("\n### ", start + len(title))
    end2 = text.find("\n## ", start + len(title))
    ends = [e for e in (end, end2) if e != -1]
    return text[start:min(ends)] if ends else text[start:]


def _rows(section: str) -> list[list[str]]:
    rows = []
    for line in section.splitlines():
        match = TABLE_ROW.match(line.strip())
        if not match:
            continue
        cells = [c.strip() for c in match.group(1).split("|")]
        if set("".join(cells)) <= set("-: ") or cells[-1] == "Proof":
            continue
        rows.append(cells)
    return rows


def test_every_cited_test_exists() -> None:
    cited = NODE.findall(_text())
    assert len(cited) >= 60
    missing = []
    for path, name in cited:
        if not (ROOT / path).is_file():
            missing.append(f"{path} (no such file)")
        elif not name.split("::")[-1].startswith("test_") or name not in _definitions(path):
            missing.append(f"{path}::{name}")
    assert missing == []


@pytest.mark.parametrize("title", ["### FBI CJIS Security Policy", "### OWASP ASVS 4.0.3"])
def test_every_row_cites_a_test_or_says_what_is_missing(title: str) -> None:
    rows = _rows(_section(title))
    assert len(rows) >= 15
    for cells in rows:
        assert len(cells) == 3, cells
        requirement, what, proof = cells
        if NODE.search(proof):
            continue
        assert proof == "—" and re.search(r"\*\*(Partial|Not met)\*\*", what), requirement


def test_the_required_areas_are_mapped() -> None:
    cjis = " ".join(r[0] for r in _rows(_section("### FBI CJIS Security Policy")))
    for area in ("5.4.", "5.5.", "5.6.", "5.8", "5.10."):
        assert area in cjis, area
    asvs = " ".join(r[0] for r in _rows(_section("### OWASP ASVS 4.0.3")))
    for chapter in ("V2.", "V3.", "V4.", "V5.", "V7.", "V8.", "V9.", "V12.", "V13.", "V14."):
        assert chapter in asvs, chapter


def test_the_doc_says_what_is_not_met() -> None:
    section = _section("## 10. Not met, or not proven")
    assert section.count("\n* ") >= 8


def test_encrypted_columns_table_is_the_schema() -> None:
    """§4 lists every `*_enc` column of the schema, and nothing else."""
    section = _section("## 4. What is encrypted, with which key")
    listed = set(re.findall(r"`(\w+\.\w+_enc)`", section))
    schema = {f"{t.name}.{c.name}" for t in metadata.sorted_tables for c in t.columns
              if c.name.endswith("_enc")}
    assert listed == schema
