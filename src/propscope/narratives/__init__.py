"""The narrative catalogue: recurring disinformation narratives, one YAML file each.

Every file holds one narrative: `id`, `title`, `description`, `examples` (claims in our own
words, at least MIN_EXAMPLES), `tags` and `sources` (the public debunking databases consulted,
by name). The narratives analyser embeds the examples; `propscope narratives discover
--export-yaml` writes new files in the same shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from propscope.errors import PropscopeError

CATALOGUE_DIR = Path(__file__).resolve().parent
REQUIRED = ("id", "title", "description", "examples", "tags", "sources")
MIN_EXAMPLES = 4


class CatalogueError(PropscopeError):
    """A narrative file that does not follow the catalogue schema."""

    code = "E210"
    E_SCHEMA = "E210 narrative file {path}: {problem}. See propscope/narratives/README.md."


@dataclass(frozen=True, slots=True)
class NarrativeEntry:
    """One catalogue narrative."""

    id: str
    title: str
    description: str
    examples: tuple[str, ...]
    tags: tuple[str, ...]
    sources: tuple[str, ...]


def problems(data: Any) -> list[str]:
    """What is wrong with one parsed narrative file (empty when it is valid)."""
    if not isinstance(data, Mapping):
        return ["not a mapping"]
    found = [f"missing key {key!r}" for key in REQUIRED if key not in data]
    if found:
        return found
    if not str(data["id"]).replace("-", "").isalnum():
        found.append(f"id {data['id']!r} is not kebab-case")
    for key in ("examples", "tags", "sources"):
        if not isinstance(data[key], list) or not all(isinstance(x, str) for x in data[key]):
            found.append(f"{key!r} must be a list of strings")
    if isinstance(data["examples"], list) and len(data["examples"]) < MIN_EXAMPLES:
        found.append(f"needs at least {MIN_EXAMPLES} examples, has {len(data['examples'])}")
    return found


def load_file(path: Path) -> NarrativeEntry:
    """One narrative file, checked against the schema (E210)."""
    data = yaml.safe_load(path.read_text("utf-8"))
    if issues := problems(data):
        raise CatalogueError(CatalogueError.E_SCHEMA.format(path=path, problem="; ".join(issues)))
    return NarrativeEntry(
        id=str(data["id"]),
        title=str(data["title"]),
        description=str(data["description"]),
        examples=tuple(data["examples"]),
        tags=tuple(data["tags"]),
        sources=tuple(data["sources"]),
    )


def load_catalogue(folder: Path = CATALOGUE_DIR) -> tuple[NarrativeEntry, ...]:
    """Every narrative in `folder`, sorted by id; ids must be unique."""
    entries = tuple(load_file(p) for p in sorted(folder.glob("*.yaml")))
    ids = [e.id for e in entries]
    if dupes := sorted({i for i in ids if ids.count(i) > 1}):
        raise CatalogueError(CatalogueError.E_SCHEMA.format(path=folder, problem=f"duplicate ids {dupes}"))
    return entries
