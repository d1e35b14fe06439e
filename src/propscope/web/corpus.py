"""Corpus views for the web: outlets, narratives and reuse, from the store.

Reuse groups come from `propscope.corpus.reuse` (issue 5); if it is missing or fails, the
views degrade to empty lists with `"available": false` rather than fail the page.
"""

from __future__ import annotations

import logging
import math
import threading
from typing import Any

from propscope.corpus.outlets import OutletProfile, build_profiles
from propscope.errors import WebError
from propscope.web import queries
from propscope.web.queries import Filters
from propscope.web.service import Workbench, links

JSON = dict[str, Any]

_cache_lock = threading.Lock()
_narrative_cache: dict[int, tuple[int, dict[str, JSON]]] = {}
_reuse_cache: dict[int, tuple[tuple[int, int, int], JSON]] = {}
log = logging.getLogger("propscope.web")


def outlets(bench: Workbench) -> list[JSON]:
    return queries.outlets(bench.store.engine)


def outlet_profile(bench: Workbench, outlet: str) -> JSON:
    """Articles, technique mix, months, top narratives and blamed actors of one outlet."""
    engine = bench.store.engine
    found = [row for row in queries.outlets(engine) if row["outlet"] == outlet]
    if not found:
        raise WebError(WebError.E_NOT_FOUND.format(path=f"/outlets/{outlet}"), 404)
    f = Filters(outlet=outlet)
    rows, _ = queries.list_documents(engine, f, 20, 0)
    for row in rows:
        row["links"] = links(row["id"])
    top = [
        {"id": n["id"], "title": n["title"], "documents": sum(1 for d in n["documents"]
                                                              if d["outlet"] == outlet)}
        for n in _index(bench).values()
    ]
    return {
        **found[0],
        "techniques": queries.technique_mix(engine, outlet),
        "months": queries.monthly(engine, f),
        "narratives": sorted((t for t in top if t["documents"]), key=lambda t: -t["documents"])[:10],
        "blamed": queries.blamed_actors(engine, outlet),
        "recent": rows,
        "reuse": _outlet_reuse(bench, outlet),
        "profile": _corpus_profile(bench, outlet),
    }


def compare_outlets(bench: Workbench, a: str, b: str) -> JSON:
    """Two outlet profiles side by side: technique rates per 1,000 words and their difference."""
    left, right = _profile(bench, a), _profile(bench, b)
    if left is None or right is None:
        missing = a if left is None else b
        raise WebError(WebError.E_NOT_FOUND.format(path=f"/outlets/{missing}"), 404)
    from propscope.corpus.outlets import compare

    found = compare(left, right)
    names = sorted(found["technique_rate_difference"])
    rates = [left.technique_rates(), right.technique_rates()]
    rows = [{"technique": n, "a": rates[0].get(n, 0.0), "b": rates[1].get(n, 0.0),
             "difference": found["technique_rate_difference"][n]} for n in names]
    return {"a": a, "b": b, **found, "rows": rows}


PROFILE_DOCS = 500  # the newest articles an outlet page profiles; the CLI does whole corpora


def _profile(bench: Workbench, outlet: str) -> OutletProfile | None:
    """`propscope.corpus.outlets`'s profile of an outlet's newest PROFILE_DOCS articles."""
    ids = [row.id for row in bench.store.list(limit=PROFILE_DOCS, outlet=outlet)]
    return build_profiles(bench.store.get(doc_id) for doc_id in ids).get(outlet)


def _corpus_profile(bench: Workbench, outlet: str) -> JSON | None:
    """Rates per 1,000 words by technique and month, from `propscope.corpus.outlets`."""
    profile = _profile(bench, outlet)
    if profile is None:
        return None
    rates = sorted(profile.technique_rates().items(), key=lambda kv: -kv[1])
    return {**profile.to_json(), "rates": [{"technique": t, "per_1000_words": r} for t, r in rates]}


def _index(bench: Workbench) -> dict[str, JSON]:
    """The narrative index, recomputed only after this server stored something new."""
    key = id(bench)
    with _cache_lock:
        cached = _narrative_cache.get(key)
        if cached and cached[0] == bench.generation:
            return cached[1]
    index = queries.narrative_index(bench.store.engine)
    with _cache_lock:
        _narrative_cache[key] = (bench.generation, index)
    return index


def narratives(bench: Workbench) -> list[JSON]:
    entries = sorted(_index(bench).values(), key=lambda e: (-len(e["documents"]), e["title"]))
    return [queries.narrative_summary(e) for e in entries]


def narrative(bench: Workbench, narrative_id: str) -> JSON:
    entry = _index(bench).get(narrative_id)
    if entry is None:
        raise WebError(WebError.E_NOT_FOUND.format(path=f"/narratives/{narrative_id}"), 404)
    docs = sorted(entry["documents"], key=lambda d: d["published"] or "", reverse=True)
    return {**queries.narrative_summary(entry), "articles": docs[:200]}


def reuse(bench: Workbench) -> JSON:
    """Shared-passage groups, coordinated campaigns and the outlet graph (issue 5's corpus code)."""
    found = _reuse_report(bench)
    if found is None:
        return {"available": False, "groups": [], "campaigns": [], "window": None,
                "graph": {"nodes": [], "edges": []}}
    return {"available": True, **found, "_layout": graph_layout(found["graph"])}


def _reuse_report(bench: Workbench) -> JSON | None:
    """`find_reuse` + `coordinate` as JSON, cached until the corpus changes; None if unavailable."""
    key = (bench.generation, bench.store.count(), bench.store.sighting_count())  # copies: sightings only
    with _cache_lock:
        cached = _reuse_cache.get(id(bench))
    if cached and cached[0] == key:
        return cached[1]
    try:
        from propscope.corpus.coordination import coordinate
        from propscope.corpus.reuse import find_reuse

        groups = find_reuse(bench.store).groups
        report = coordinate(groups).to_json()
    except Exception:  # the reuse index is someone else's module: a failure must not break pages
        log.exception("reuse view unavailable")
        return None
    found = {"groups": [g.to_json() for g in groups], "campaigns": report["campaigns"],
             "window": {k: report.get(k) for k in ("window", "window_source", "window_note")},
             "min_outlets": report.get("min_outlets"), "graph": report["graph"]}
    with _cache_lock:
        _reuse_cache[id(bench)] = (key, found)
    return found


GRAPH_SIZE = 420  # SVG units; the outlet graph is drawn on a circle, heaviest outlets first
GRAPH_NODES = 40  # more outlets than this are listed in the table only


def graph_layout(graph: JSON) -> JSON:
    """Positions on a circle for the outlet graph's SVG (sizes as attributes: CSP forbids styles)."""
    degree: dict[str, int] = {}
    for edge in graph.get("edges", []):
        for end in (edge["source"], edge["target"]):
            degree[end] = degree.get(end, 0) + int(edge.get("weight", 1))
    names = sorted(degree, key=lambda n: (-degree[n], n))[:GRAPH_NODES]
    centre, radius = GRAPH_SIZE / 2, GRAPH_SIZE / 2 - 90
    spot = {n: (round(centre + radius * math.cos(2 * math.pi * i / len(names)), 1),
                round(centre + radius * math.sin(2 * math.pi * i / len(names)), 1))
            for i, n in enumerate(names)}
    heaviest = max((int(e.get("weight", 1)) for e in graph.get("edges", [])), default=1)
    edges = [{"x1": spot[e["source"]][0], "y1": spot[e["source"]][1], "x2": spot[e["target"]][0],
              "y2": spot[e["target"]][1], "width": round(1 + 5 * int(e.get("weight", 1)) / heaviest, 1),
              "label": f"{e['source']} – {e['target']}: {e.get('weight', 1)}"}
             for e in graph.get("edges", []) if e["source"] in spot and e["target"] in spot]
    nodes = [{"name": n, "x": x, "y": y, "anchor": "start" if x >= centre else "end",
              "dx": 8 if x >= centre else -8} for n, (x, y) in spot.items()]
    return {"size": GRAPH_SIZE, "nodes": nodes, "edges": edges}


def _reuse_groups(bench: Workbench) -> tuple[list[JSON], bool]:
    found = _reuse_report(bench)
    return (found["groups"], True) if found else ([], False)


def _outlet_reuse(bench: Workbench, outlet: str) -> JSON:
    """How often this outlet published a shared passage first (out) or later (in)."""
    groups, available = _reuse_groups(bench)
    first = sum(1 for g in groups if (g.get("first") or {}).get("outlet") == outlet)
    shared = sum(1 for g in groups if any(d.get("outlet") == outlet for d in g.get("documents", [])))
    return {"available": available, "first": first, "copied": shared - first}
