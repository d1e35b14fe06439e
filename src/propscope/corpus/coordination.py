"""Coordinated publication: the same passage put out by several outlets within a short window.

A reuse group becomes a campaign when at least `min_outlets` distinct outlets published it within
`window`. The campaign is then the whole burst around them: every publication within `window` of
the one before, so late joiners of a campaign are listed too. Publications are the group's
entries, one per sighting, so an article copied byte for byte by several outlets (one document
id, seen from each outlet) is a campaign as an edited copy is; `documents` in the JSON lists each
document id once, `sightings` each publication. Defaults:
- `DEFAULT_MIN_OUTLETS = 3`: two outlets sharing a passage is everyday syndication (a wire story,
  a partner site); three or more at once is the smallest pattern syndication does not explain.
- the window is estimated from the corpus unless given (`estimate_window`): for every group with
  enough outlets, its first-to-last spread; if those spreads split into a fast class and a slow
  one at least `SEPARATION` times apart (Otsu's split on a log scale) with the slow one beyond a
  day, the window is the fast class's longest spread, rounded up; otherwise `FALLBACK_WINDOW`.
  The choice and its reason are always reported, never applied silently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import combinations
from typing import Any

import networkx as nx
import numpy as np

from propscope.corpus.durations import format_duration, round_up
from propscope.corpus.index import DocMeta
from propscope.corpus.reuse import Member, ReuseGroup

DEFAULT_MIN_OUTLETS = 3
FALLBACK_WINDOW = timedelta(hours=24)  # a news cycle: pickup within a day is the common case
SEPARATION = 4.0  # the slow class must start at least 4x later than the fast class ends
MIN_GROUPS_TO_ESTIMATE = 5  # fewer bursts than this say nothing about the corpus
UNKNOWN_OUTLET = "(unknown outlet)"
# A burst is a campaign only when one window of it holds at least half of the outlets that ever
# published the passage: text that dozens of outlets carry all year (a site's poll widget, a
# stock disclaimer, a much-quoted statement) always has some three within a few days, and chains
# of such pickups make bursts that last weeks; neither is coordination. On the PTC articles
# (benchmarks/reuse_planted.py) such text made 4 of 17 reported campaigns without the rule, and
# 7-11 of ~20 when the articles' dates span only two to four weeks with the share counted over
# the whole burst instead of one window.
MIN_BURST_SHARE = 0.5


@dataclass(frozen=True)
class Window:
    """The coordination window in force, and where it came from ("given", "estimated", "default")."""

    value: timedelta
    source: str
    note: str

    def to_json(self) -> dict[str, Any]:
        return {
            "window": format_duration(self.value),
            "window_seconds": self.value.total_seconds(),
            "window_source": self.source,
            "window_note": self.note,
        }


@dataclass(frozen=True)
class Campaign:
    """A passage published by `len(outlets)` outlets between `start` and `end`."""

    passage: str  # as the first publisher of the burst has it
    documents: tuple[DocMeta, ...]  # by publication time
    members: tuple[Member, ...] = ()  # the aligned span in each document, parallel to `documents`

    @property
    def outlets(self) -> list[str]:
        """Distinct outlets in order of first publication."""
        return list(dict.fromkeys(_outlet(d) for d in self.documents))

    @property
    def start(self) -> datetime:
        return _time(self.documents[0])

    @property
    def end(self) -> datetime:
        return _time(self.documents[-1])

    def to_json(self) -> dict[str, Any]:
        return {
            "passage": self.passage,
            "outlets": self.outlets,
            "first_outlet": self.outlets[0],
            "first_document": self.documents[0].id,
            "start": self.start.isoformat() + "Z",
            "end": self.end.isoformat() + "Z",
            "span_seconds": (self.end - self.start).total_seconds(),
            "documents": list(dict.fromkeys(d.id for d in self.documents)),
            "sightings": [d.to_json() for d in self.documents],
            "members": [m.to_json() for m in self.members],
        }


def _outlet(doc: DocMeta) -> str:
    return doc.outlet or UNKNOWN_OUTLET


def _time(doc: DocMeta) -> datetime:
    assert doc.published_at is not None  # campaigns hold dated documents only
    return doc.published_at


def _dated(group: ReuseGroup) -> list[DocMeta]:
    return sorted((d for d in group.documents if d.published_at), key=lambda d: (_time(d), d.id, _outlet(d)))


def time_to_outlets(group: ReuseGroup, count: int) -> timedelta | None:
    """The shortest time in which `count` distinct outlets published the group's passage."""
    return _time_to_outlets(_dated(group), count)


def _time_to_outlets(docs: list[DocMeta], count: int) -> timedelta | None:
    """Smallest window holding `count` distinct outlets (sliding window: linear, since one
    outlet's footer can put thousands of its own articles into a single group)."""
    seen: Counter[str] = Counter()
    best: timedelta | None = None
    left = 0
    for doc in docs:
        seen[_outlet(doc)] += 1
        while len(seen) >= count:
            span = _time(doc) - _time(docs[left])
            best = span if best is None or span < best else best
            seen[_outlet(docs[left])] -= 1
            if not seen[_outlet(docs[left])]:
                del seen[_outlet(docs[left])]
            left += 1
    return best


def _most_outlets_within(docs: list[DocMeta], window: timedelta) -> int:
    """The most distinct outlets any span of `window` holds (sliding window, linear)."""
    seen: Counter[str] = Counter()
    best = left = 0
    for doc in docs:
        seen[_outlet(doc)] += 1
        while _time(doc) - _time(docs[left]) > window:
            seen[_outlet(docs[left])] -= 1
            if not seen[_outlet(docs[left])]:
                del seen[_outlet(docs[left])]
            left += 1
        best = max(best, len(seen))
    return best


def estimate_window(groups: Sequence[ReuseGroup], min_outlets: int) -> Window:
    """The window that separates fast (coordinated) pickup from slow pickup in this corpus.

    Looks at the first-to-last spread of every group that `min_outlets` outlets published; when
    the spreads fall into a fast class and a slow class far apart, the fast class's longest
    spread (rounded up) is the window, so a whole fast campaign fits in it.
    """
    spreads = [s for g in groups if _reaches(g, min_outlets) and (s := g.spread) is not None]
    fallback = f"default {format_duration(FALLBACK_WINDOW)}"
    if len(spreads) < MIN_GROUPS_TO_ESTIMATE:
        note = f"{len(spreads)} groups reached {min_outlets} outlets, too few to estimate: {fallback}"
        return Window(FALLBACK_WINDOW, "default", note)
    seconds = np.sort(np.array([s.total_seconds() for s in spreads]))
    split = _otsu(np.log1p(seconds))
    fast, slow = seconds[:split], seconds[split:]
    if not len(slow) or slow[0] <= FALLBACK_WINDOW.total_seconds() or slow[0] < SEPARATION * fast[-1]:
        note = (
            f"the first-to-last spreads of {len(spreads)} groups with {min_outlets}+ outlets show "
            f"no fast class well apart from a slow one: {fallback}"
        )
        return Window(FALLBACK_WINDOW, "default", note)
    window = round_up(timedelta(seconds=float(fast[-1])))
    note = (
        f"estimated from {len(spreads)} groups with {min_outlets}+ outlets: their first-to-last "
        f"spreads split into {len(fast)} fast groups (at most "
        f"{format_duration(timedelta(seconds=float(fast[-1])))}) and {len(slow)} slow ones (at least "
        f"{format_duration(timedelta(seconds=float(slow[0])))}); window = the fast class's longest "
        "spread, rounded up"
    )
    return Window(window, "estimated", note)


def _reaches(group: ReuseGroup, count: int) -> bool:
    return len({_outlet(d) for d in group.documents if d.published_at}) >= count


def _otsu(values: np.ndarray[Any, np.dtype[np.float64]]) -> int:
    """The index that splits sorted `values` into two classes with the most between-class variance."""
    n = len(values)
    best, best_score = n, -1.0
    total = float(values.sum())
    running = np.cumsum(values)
    for k in range(1, n):
        low, high = running[k - 1] / k, (total - running[k - 1]) / (n - k)
        score = k * (n - k) * (high - low) ** 2
        if score > best_score:
            best, best_score = k, score
    return best


def find_campaigns(groups: Sequence[ReuseGroup], min_outlets: int, window: timedelta) -> list[Campaign]:
    """Campaigns in the reuse groups, most outlets first, then fastest first."""
    found = [c for g in groups for c in _group_campaigns(g, min_outlets, window)]
    found.sort(key=lambda c: (-len(c.outlets), c.end - c.start, c.start))
    return found


def _group_campaigns(group: ReuseGroup, min_outlets: int, window: timedelta) -> list[Campaign]:
    """Bursts of one group that reach `min_outlets` outlets within `window`.

    A burst is a run of publications each within `window` of the one before, so a campaign is
    reported whole (all its outlets, from the first publisher on) even when it lasts a little
    longer than the window itself; one window of it must hold MIN_BURST_SHARE of the group's
    outlets.
    """
    if group.repetitive:  # a template (poll widget, share buttons), not a talking point
        return []
    found = []
    spans = {m.doc: m for m in group.members}
    everyone = len({_outlet(d) for d in group.documents})
    for burst in _bursts(_dated(group), window):
        reach = _time_to_outlets(burst, min_outlets)
        if reach is None or reach > window:
            continue
        if _most_outlets_within(burst, window) >= MIN_BURST_SHARE * everyone:
            members = tuple(spans[d] for d in burst if d in spans)
            passage = members[0].text if members and members[0].doc == burst[0] else group.passage
            found.append(Campaign(passage, tuple(burst), members))
    return found


def _bursts(docs: list[DocMeta], window: timedelta) -> list[list[DocMeta]]:
    runs: list[list[DocMeta]] = []
    for doc in docs:
        if runs and _time(doc) - _time(runs[-1][-1]) <= window:
            runs[-1].append(doc)
        else:
            runs.append([doc])
    return runs


def outlet_graph(groups: Sequence[ReuseGroup], campaigns: Sequence[Campaign], window: timedelta) -> nx.Graph:
    """Outlets as nodes; an edge counts the passages two outlets published in one burst."""
    graph = nx.Graph()
    for group in groups:
        for a, b in _pairs_within(_dated(group), window):
            if graph.has_edge(a, b):
                graph[a][b]["weight"] += 1
            else:
                graph.add_edge(a, b, weight=1, campaigns=0)
    for campaign in campaigns:
        for a, b in combinations(sorted(set(campaign.outlets)), 2):
            graph[a][b]["campaigns"] += 1
    _node_counts(graph, campaigns)
    return graph


def _pairs_within(docs: list[DocMeta], window: timedelta) -> set[tuple[str, str]]:
    """Outlet pairs that published the passage in one burst (each within `window` of the last)."""
    pairs: set[tuple[str, str]] = set()
    for burst in _bursts(docs, window):
        outlets = sorted({_outlet(d) for d in burst})
        pairs.update(combinations(outlets, 2))
    return pairs


def _node_counts(graph: nx.Graph, campaigns: Sequence[Campaign]) -> None:
    joined = Counter(o for c in campaigns for o in set(c.outlets))
    first = Counter(c.outlets[0] for c in campaigns)
    for node in graph.nodes:
        graph.nodes[node]["campaigns"] = joined[node]
        graph.nodes[node]["first"] = first[node]


def graph_json(graph: nx.Graph) -> dict[str, Any]:
    """Nodes and weighted edges, heaviest first: the web UI draws this directly."""
    nodes = [{"id": n, **graph.nodes[n]} for n in sorted(graph.nodes)]
    edges = [{"source": a, "target": b, **data} for a, b, data in graph.edges(data=True)]
    edges.sort(key=lambda e: (-e["weight"], e["source"], e["target"]))
    return {"nodes": nodes, "edges": edges}


@dataclass
class CoordinationReport:
    """What `propscope corpus coordination` prints: the settings, the ranked campaigns, the graph."""

    window: Window
    min_outlets: int
    campaigns: list[Campaign]
    graph: nx.Graph

    def to_json(self) -> dict[str, Any]:
        return {
            **self.window.to_json(),
            "min_outlets": self.min_outlets,
            "campaigns": [c.to_json() for c in self.campaigns],
            "graph": graph_json(self.graph),
        }


def coordinate(
    groups: Sequence[ReuseGroup],
    min_outlets: int = DEFAULT_MIN_OUTLETS,
    window: timedelta | None = None,
) -> CoordinationReport:
    """Find campaigns among reuse groups.

    Args:
        groups: from `find_reuse`.
        min_outlets: distinct outlets a burst needs to count as coordinated.
        window: the time the outlets must publish within; None estimates it from `groups`.

    Returns:
        The window used (with why), the campaigns ranked, and the outlet graph.
    """
    chosen = (
        Window(window, "given", "given with --window") if window else estimate_window(groups, min_outlets)
    )
    campaigns = find_campaigns(groups, min_outlets, chosen.value)
    return CoordinationReport(chosen, min_outlets, campaigns, outlet_graph(groups, campaigns, chosen.value))
