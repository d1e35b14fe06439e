"""Defaults in one place: an `Options` object rather than loose keyword arguments."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from platformdirs import user_data_dir

DEFAULT_MAX_BYTES = 5_000_000  # 5 MB of text: ~10x the longest news article we have seen
FETCH_TIMEOUT_S = 20.0
FETCH_MAX_BYTES = 10_000_000
FETCH_MAX_REDIRECTS = 5


def default_db_url() -> str:
    """The embedded store: $PROPSCOPE_DB, else a SQLite file in the user data dir."""
    if url := os.environ.get("PROPSCOPE_DB"):
        return url
    folder = Path(user_data_dir("propscope", appauthor=False))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'propscope.db'}"


@dataclass(frozen=True)
class FieldMap:
    """Which columns of a JSONL or CSV record hold which document fields."""

    text: str = "text"
    title: str = "title"
    author: str = "author"
    outlet: str = "outlet"
    url: str = "url"
    published: str = "published"
    id: str | None = None


@dataclass(frozen=True)
class IngestOptions:
    """How inputs are read: limits, field mapping, URL policy."""

    max_bytes: int = DEFAULT_MAX_BYTES
    encoding: str | None = None
    fields: FieldMap = field(default_factory=FieldMap)
    glob: str = "*"
    allow_private_urls: bool = False
    fetch_timeout: float = FETCH_TIMEOUT_S
    fetch_max_bytes: int = FETCH_MAX_BYTES
    fetch_max_redirects: int = FETCH_MAX_REDIRECTS
    fetch_feed_links: bool = False
