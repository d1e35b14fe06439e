"""`propscope narratives discover`: recurring claims across a stored corpus, as clusters.

Claims (or, for documents without a claims layer, their sentences) are embedded with the
bundled MiniLM encoder and grouped by average-linkage agglomerative clustering on cosine
distance. Each cluster is labelled with its top class-based TF-IDF keywords (c-TF-IDF: word
frequency in the cluster against its spread over clusters), its most central claims and the
nearest catalogue narrative, and can be exported as a draft catalogue YAML file.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import yaml

from propscope.analyzers.narratives import Matcher
from propscope.document import Result
from propscope.models import encoder
from propscope.narratives import load_catalogue

# Cosine distance at which clusters stop merging (similarity 0.45, as NARRATIVE_THRESHOLD).
MERGE_DISTANCE = 0.55
MAX_ITEMS = 5000  # average linkage needs the (n^2)/2 distance matrix: 5000 items is ~100 MB
KEYWORDS = 8
EXAMPLES = 4
_WORD = re.compile(r"[^\W\d_][\w'’-]{2,}")
_STOPWORDS = frozenset(
    [
        "the",
        "and",
        "that",
        "this",
        "with",
        "from",
        "have",
        "has",
        "had",
        "was",
        "were",
        "are",
        "been",
        "being",
        "for",
        "not",
        "but",
        "its",
        "their",
        "they",
        "them",
        "there",
        "which",
        "what",
        "who",
        "whom",
        "whose",
        "will",
        "would",
        "could",
        "should",
        "can",
        "may",
        "might",
        "into",
        "onto",
        "over",
        "under",
        "about",
        "after",
        "before",
        "than",
        "then",
        "also",
        "just",
        "only",
        "very",
        "more",
        "most",
        "such",
        "said",
        "says",
        "his",
        "her",
        "him",
        "she",
        "our",
        "you",
        "your",
        "all",
        "any",
        "some",
        "one",
        "two",
        "out",
        "has",
        "who",
        "how",
        "when",
        "where",
        "why",
        "these",
        "those",
        "other",
        "being",
        "because",
        "while",
        "during",
        "against",
        "between",
        "through",
        "without",
        "within",
        "upon",
        "like",
        "even",
        "still",
        "said",
        "it's",
        "don't",
    ]
)


@dataclass(frozen=True, slots=True)
class Cluster:
    """A group of similar claims found in several documents."""

    size: int
    documents: int
    keywords: tuple[str, ...]
    examples: tuple[str, ...]
    nearest: str | None  # closest catalogue narrative id
    nearest_score: float


def claim_texts(results: Iterable[Result]) -> list[tuple[str, str]]:
    """(document id, text) of every claim; sentences of documents that have no claims layer."""
    from propscope.analyzers import _spacy

    items: list[tuple[str, str]] = []
    for result in results:
        text = result.document.text
        spans = [(c.start, c.end) for c in result.claims] or _spacy.plain_sentences(text)
        items += [(result.document.id, text[s:e]) for s, e in spans if len(text[s:e].split()) > 4]
    unique = list(dict.fromkeys(items))
    return unique[:MAX_ITEMS]


def cluster_labels(vectors: np.ndarray, distance: float = MERGE_DISTANCE) -> np.ndarray:
    """Flat cluster labels from average-linkage clustering on cosine distance."""
    from scipy.cluster.hierarchy import (  # type: ignore[import-untyped,unused-ignore]
        fcluster,
        linkage,
    )

    if len(vectors) < 2:
        return np.ones(len(vectors), dtype=np.int64)
    tree = linkage(vectors, method="average", metric="cosine")
    return np.asarray(fcluster(tree, t=distance, criterion="distance"), dtype=np.int64)


def ctfidf_keywords(groups: Sequence[Sequence[str]], top: int = KEYWORDS) -> list[list[str]]:
    """Top words per group by c-TF-IDF: tf within the group times log(1 + avg words / freq)."""
    counts = [Counter(_words(" ".join(g))) for g in groups]
    total = Counter[str]()
    for c in counts:
        total.update(c)
    average = sum(total.values()) / max(len(groups), 1)
    keywords = []
    for c in counts:
        size = max(sum(c.values()), 1)
        scored = {w: n / size * math.log(1 + average / total[w]) for w, n in c.items()}
        keywords.append(sorted(scored, key=lambda w: (-scored[w], w))[:top])
    return keywords


def _words(text: str) -> list[str]:
    return [w for w in (m.lower() for m in _WORD.findall(text)) if w not in _STOPWORDS]


def discover(results: Iterable[Result], min_cluster_size: int = 5) -> list[Cluster]:
    """Clusters of at least `min_cluster_size` claims, largest first."""
    items = claim_texts(results)
    if not items:
        return []
    vectors = encoder.embed([t for _, t in items])
    labels = cluster_labels(vectors)
    members = [np.flatnonzero(labels == k) for k in np.unique(labels)]
    members = [m for m in members if len(m) >= min_cluster_size]
    members.sort(key=lambda m: -len(m))
    keywords = ctfidf_keywords([[items[i][1] for i in m] for m in members])
    return [_cluster(items, vectors, m, k) for m, k in zip(members, keywords, strict=True)]


def _cluster(
    items: Sequence[tuple[str, str]], vectors: np.ndarray, member: np.ndarray, keywords: list[str]
) -> Cluster:
    centroid = vectors[member].mean(axis=0)
    centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
    central = member[np.argsort(-(vectors[member] @ centroid))][:EXAMPLES]
    nearest, score = _nearest_narrative(centroid)
    return Cluster(
        size=len(member),
        documents=len({items[i][0] for i in member}),
        keywords=tuple(keywords),
        examples=tuple(items[i][1] for i in central),
        nearest=nearest,
        nearest_score=score,
    )


def _nearest_narrative(centroid: np.ndarray) -> tuple[str | None, float]:
    matcher = _matcher()
    scores = matcher.scores(centroid[None, :])[0]
    best = int(np.argmax(scores))
    return matcher.entries[best].id, round(float(scores[best]), 4)


@cache
def _matcher() -> Matcher:
    return Matcher.build(load_catalogue())


def draft_yaml(cluster: Cluster, number: int) -> str:
    """A draft catalogue entry for a cluster; edit title, description and examples before use."""
    slug = "-".join(cluster.keywords[:3]) or f"cluster-{number}"
    entry = {
        "id": "discovered-" + re.sub(r"[^a-z0-9]+", "-", slug.lower()).strip("-"),
        "title": "DRAFT: " + ", ".join(cluster.keywords[:5]),
        "description": (
            f"Discovered from {cluster.size} claims in {cluster.documents} documents. "
            "Rewrite the title, description and examples in our own words."
        ),
        "examples": list(cluster.examples),
        "tags": list(cluster.keywords),
        "sources": ["propscope narratives discover"],
    }
    return yaml.safe_dump(entry, sort_keys=False, allow_unicode=True, width=100)


def export(clusters: Sequence[Cluster], target: Path) -> list[Path]:
    """Write drafts: the largest cluster to `target` if it ends in .yaml, else one file each."""
    if target.suffix in (".yaml", ".yml"):
        target.write_text(draft_yaml(clusters[0], 1), encoding="utf-8")
        return [target]
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for n, cluster in enumerate(clusters, 1):
        path = target / f"cluster-{n:03d}.yaml"
        path.write_text(draft_yaml(cluster, n), encoding="utf-8")
        written.append(path)
    return written


def render(clusters: Sequence[Cluster]) -> str:
    """Plain-text report: one block per cluster."""
    if not clusters:
        return "No cluster of recurring claims found (lower --min-cluster-size or store more)."
    lines = []
    for n, c in enumerate(clusters, 1):
        lines.append(
            f"#{n} {c.size} claims in {c.documents} documents | {', '.join(c.keywords)} | "
            f"nearest narrative: {c.nearest} ({c.nearest_score:.2f})"
        )
        lines += [f"    - {text[:160]}" for text in c.examples]
    return "\n".join(lines)


def discover_command(db: str | None, min_cluster_size: int, export_yaml: Path | None) -> str:
    """What `propscope narratives discover --db URL` prints.

    Args:
        db: store URL (None: $PROPSCOPE_DB or the default SQLite file).
        min_cluster_size: smallest cluster reported.
        export_yaml: write draft catalogue YAML there (a .yaml file: the largest cluster; a
            folder: one file per cluster).

    Returns:
        The report text.
    """
    from propscope.store import Store

    with Store.open(db) as store:
        clusters = discover(store.iter_results(), min_cluster_size)
    report = render(clusters)
    if export_yaml is not None and clusters:
        written = export(clusters, export_yaml)
        report += "\n" + "\n".join(f"wrote {p}" for p in written)
    return report
