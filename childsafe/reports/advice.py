"""Advice templates for officers (data: `advice_data/templates.yaml`), per category and audience."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml


@dataclass(frozen=True, slots=True)
class AdviceTemplate:
    id: str
    title: str
    categories: tuple[str, ...]
    text: dict[str, str]

    def render(self, audience: str | None) -> str:
        return self.text.get(audience or "", self.text["default"])


@cache
def load_templates() -> tuple[AdviceTemplate, ...]:
    raw = yaml.safe_load(resources.files("childsafe.reports").joinpath(
        "advice_data", "templates.yaml").read_text(encoding="utf-8"))
    out = []
    for item in raw["templates"]:
        if "default" not in item["text"]:
            raise ValueError(f"advice template {item['id']} has no default text")
        out.append(AdviceTemplate(item["id"], item["title"], tuple(item["categories"]),
                                  dict(item["text"])))
    return tuple(out)


def templates_for(category: str) -> list[AdviceTemplate]:
    """Templates for this category first, then the general ones."""
    all_ = load_templates()
    return [t for t in all_ if category in t.categories] + \
        [t for t in all_ if not t.categories]
