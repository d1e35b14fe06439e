"""Outlet profiles: what each outlet publishes, how it persuades, and how its text travels.

A profile is built in one pass over the stored results (`Store.iter_results`), so it works on
whatever analysers have run: without the technique model the technique rates are simply empty.
Rates are per 1,000 words (the `stats` analyser's word count, or a plain word count), so long-form
and short-form outlets compare fairly. Reuse in/out comes from `find_reuse` groups with more than
one outlet: "in" counts passages the outlet published after another outlet had, "out" passages it
published first that another outlet then published too. An article copied byte for byte is one
stored document seen from several outlets (`load_sightings`): it counts as an article of each,
and its copies count as reuse like edited copies do (the groups list it once per sighting).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from propscope.corpus._text import words
from propscope.corpus.index import Sightings
from propscope.corpus.reuse import ReuseGroup
from propscope.document import Document, Result
from propscope.store._rows import parse_moment

TOP = 5  # narratives and blamed actors listed per outlet
UNKNOWN = "(unknown outlet)"


@dataclass
class _Month:
    articles: int = 0
    words: int = 0
    techniques: int = 0


@dataclass
class OutletProfile:
    """Counts for one outlet; `to_json` turns them into rates."""

    outlet: str
    articles: int = 0
    words: int = 0
    techniques: Counter[str] = field(default_factory=Counter)
    narratives: Counter[str] = field(default_factory=Counter)
    blamed: Counter[str] = field(default_factory=Counter)
    months: dict[str, _Month] = field(default_factory=lambda: defaultdict(_Month))
    reuse_in: int = 0
    reuse_out: int = 0
    first: str | None = None
    last: str | None = None

    def rate(self, count: int, words: int | None = None) -> float:
        """Per 1,000 words."""
        total = self.words if words is None else words
        return round(1000 * count / total, 3) if total else 0.0

    def technique_rates(self) -> dict[str, float]:
        return {name: self.rate(n) for name, n in sorted(self.techniques.items())}

    def to_json(self) -> dict[str, Any]:
        return {
            "outlet": self.outlet,
            "articles": self.articles,
            "words": self.words,
            "first_published": self.first,
            "last_published": self.last,
            "technique_rate": self.rate(sum(self.techniques.values())),
            "technique_rates": self.technique_rates(),
            "top_narratives": [{"narrative": n, "articles": c} for n, c in self.narratives.most_common(TOP)],
            "top_blamed": [{"actor": a, "articles": c} for a, c in self.blamed.most_common(TOP)],
            "reuse": {"copied_from_others": self.reuse_in, "copied_by_others": self.reuse_out},
            "months": [
                {
                    "month": m,
                    "articles": v.articles,
                    "words": v.words,
                    "technique_rate": self.rate(v.techniques, v.words),
                }
                for m, v in sorted(self.months.items())
            ],
        }


def build_profiles(
    results: Iterable[Result], groups: Sequence[ReuseGroup] = (), seen: Sightings | None = None
) -> dict[str, OutletProfile]:
    """Profiles of every outlet in `results`, with reuse counts from `groups`.

    Args:
        results: stored results (e.g. `Store.iter_results()`), each read once.
        groups: reuse groups from `find_reuse`; empty leaves reuse counts at 0.
        seen: documents seen from several outlets (`load_sightings`); each such document counts
            once for every outlet that published it, dated as that outlet published it. None
            counts every document for its own outlet only.

    Returns:
        Profiles by outlet name, most articles first.
    """
    profiles: dict[str, OutletProfile] = {}
    for result in results:
        for outlet, published in _publications(result.document, seen or {}):
            _add(profiles.setdefault(outlet, OutletProfile(outlet)), result, published)
    _add_reuse(profiles, groups)
    return dict(sorted(profiles.items(), key=lambda kv: (-kv[1].articles, kv[0])))


def _publications(doc: Document, seen: Sightings) -> list[tuple[str, str | None]]:
    """(outlet, published) for each outlet that published `doc`, at its earliest sighting there."""
    first: dict[str, str | None] = {}
    for meta in seen.get(doc.id, ()):
        first.setdefault(meta.outlet or UNKNOWN, meta.published)
    return list(first.items()) or [(doc.outlet or UNKNOWN, doc.published)]


def _add(profile: OutletProfile, result: Result, published: str | None) -> None:
    count = result.stats.get("words")
    n_words = int(count) if isinstance(count, int) else len(words(result.document.text))
    techniques = [t.technique for t in result.techniques]
    profile.articles += 1
    profile.words += n_words
    profile.techniques.update(techniques)
    profile.narratives.update({n.title for n in result.narratives})
    profile.blamed.update({e.actor for e in result.entities if e.role == "blamed"})
    moment = parse_moment(published)
    if moment is not None:
        stamp = moment.isoformat()
        profile.first = min(profile.first or stamp, stamp)
        profile.last = max(profile.last or stamp, stamp)
        month = profile.months[moment.strftime("%Y-%m")]
        month.articles += 1
        month.words += n_words
        month.techniques += len(techniques)


def _add_reuse(profiles: dict[str, OutletProfile], groups: Sequence[ReuseGroup]) -> None:
    for group in groups:
        if len(group.outlets) < 2:
            continue
        first = group.first.outlet or UNKNOWN
        later = {d.outlet or UNKNOWN for d in group.documents[1:]} - {first}
        if first in profiles:
            profiles[first].reuse_out += 1
        for outlet in later:
            if outlet in profiles:
                profiles[outlet].reuse_in += 1


def compare(a: OutletProfile, b: OutletProfile) -> dict[str, Any]:
    """Two profiles side by side, with the per-technique rate difference (a minus b)."""
    rates_a, rates_b = a.technique_rates(), b.technique_rates()
    names = sorted(set(rates_a) | set(rates_b))
    return {
        "outlets": [a.to_json(), b.to_json()],
        "technique_rate_difference": {n: round(rates_a.get(n, 0.0) - rates_b.get(n, 0.0), 3) for n in names},
    }
