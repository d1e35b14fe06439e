"""Defaults in one place: an `Options` object rather than loose keyword arguments."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from platformdirs import user_data_dir

# Per input file, record or API article. The full default pipeline reads 1.5 MB of prose in
# 70 s at 1.55 GB peak on 2 cores, linear in size (benchmarks/results/large.json); 2 MB leaves
# an HTML page room for its markup. Several times the longest news article we have seen.
DEFAULT_MAX_BYTES = 2_000_000
FETCH_TIMEOUT_S = 20.0  # per read: the longest silence accepted from a server
FETCH_DEADLINE_S = 30.0  # per fetch, all hops and the whole body: a slow drip cannot hold a batch
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
    allow_link_local_urls: bool = False  # link-local and cloud metadata: never opened by the above
    fetch_timeout: float = FETCH_TIMEOUT_S
    fetch_deadline: float = FETCH_DEADLINE_S
    fetch_max_bytes: int = FETCH_MAX_BYTES
    fetch_max_redirects: int = FETCH_MAX_REDIRECTS
    fetch_feed_links: bool = False


RATE_PER_ADDRESS = 300  # requests a minute from one client address: a busy newsroom desk's bot
RATE_PER_TOKEN = 600  # requests a minute with one API token (several desks may share one)


@dataclass(frozen=True)
class RateLimits:
    """Requests a minute allowed per client address and per API token (0: that limit is off).

    Each limit is a token bucket holding a minute's requests, refilled continuously, so a client
    may burst up to the limit and then goes at the limit's pace. `propscope serve` applies these
    defaults only when served beyond loopback; `RateLimits.off()` is the loopback default.
    """

    per_address: int = RATE_PER_ADDRESS
    per_token: int = RATE_PER_TOKEN

    @classmethod
    def off(cls) -> RateLimits:
        return cls(per_address=0, per_token=0)

    @property
    def active(self) -> bool:
        return self.per_address > 0 or self.per_token > 0
