"""Near-duplicate documents and shared passages, found with MinHash LSH and verified exactly.

LSH (16 bands over the stored 64-permutation signatures) only proposes candidates; every pair is
then checked on the real text: the Jaccard similarity of the two passages' 4-word shingle sets
must reach the threshold. So no pair below the threshold is ever reported; what LSH can do is
miss a pair (recall, measured by `benchmarks/corpus.py`). Passages linked by verified pairs form
a group; groups over (nearly) the same documents are one copied text and are merged.

Identical copies are one document (its id hashes the text), seen from several outlets: the store
keeps each outlet, url and date as a sighting. A group lists such a document once per sighting
(so the same id can appear with several outlets), in the one group that is about it (its home:
see `_with_copies`); a document seen from two or more outlets that shares no text with any other
document is a group of its own, its passages being the shared text.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from propscope.corpus import _text
from propscope.corpus._unionfind import UnionFind
from propscope.corpus.index import (
    DocMeta,
    LoadedIndex,
    Sightings,
    fetch_texts,
    load_index,
    load_sightings,
    publication_order,
    update_index,
)
from propscope.store import Store

# A verified copy shares at least half of its 4-word shingles: a passage reposted with a few
# edits (5-10% of words) scores 0.5-0.8, two articles on one topic in their own words < 0.15.
PASSAGE_JACCARD = 0.5
# Copies edited on both sides (a word inserted here and there) can fall below that Jaccard while
# their words still align almost entirely: between ALIGN_FLOOR and the threshold, a pair also
# passes when difflib's SequenceMatcher finds >= ALIGNED_RATIO of the words in matching blocks.
# On the synthetic corpus (3% of words inserted per copy) copy pairs align at >= 0.93, while
# unrelated passages never reach a Jaccard of 0.15 (99.99th percentile 0.09).
ALIGN_FLOOR = 0.25
ALIGNED_RATIO = 0.8
DUPLICATE_JACCARD = 0.8  # whole documents: a repost with its own header/footer still scores > 0.8
# Passage groups whose document sets overlap this much (Jaccard) are one copied article; the same
# share of a group's sightings makes it the home of a copied document (`_with_copies`).
GROUP_MERGE = 0.5


@dataclass(frozen=True)
class ReuseGroup:
    """Documents (one entry per sighting) that share a passage, by publication, undated last."""

    passage: str
    documents: tuple[DocMeta, ...]
    similarity: float  # the lowest score (Jaccard or aligned ratio) among the links in the group

    @property
    def first(self) -> DocMeta:
        return self.documents[0]

    @property
    def outlets(self) -> list[str]:
        return sorted({d.outlet for d in self.documents if d.outlet})

    @property
    def spread(self) -> timedelta | None:
        """First to last publication among the dated documents."""
        times = [d.published_at for d in self.documents if d.published_at]
        return max(times) - min(times) if len(times) > 1 else None

    def to_json(self) -> dict[str, Any]:
        spread = self.spread
        return {
            "passage": self.passage,
            "documents": [d.to_json() for d in self.documents],
            "first": self.first.to_json(),
            "outlets": self.outlets,
            "spread_seconds": spread.total_seconds() if spread is not None else None,
            "similarity": round(self.similarity, 4),
        }


@dataclass
class ReuseReport:
    """What `propscope corpus reuse` found, and what it cost."""

    groups: list[ReuseGroup]
    duplicates: list[ReuseGroup]
    documents: int = 0
    passages: int = 0
    hashed: int = 0
    index_bytes: int = 0
    stats: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "groups": [g.to_json() for g in self.groups],
            "duplicates": [g.to_json() for g in self.duplicates],
            "index": {
                "documents": self.documents,
                "passages": self.passages,
                "newly_hashed": self.hashed,
                "index_bytes": self.index_bytes,
                **self.stats,
            },
        }


def find_reuse(
    store: Store,
    threshold: float = PASSAGE_JACCARD,
    duplicate_threshold: float = DUPLICATE_JACCARD,
    on_progress: Callable[[int], None] | None = None,
) -> ReuseReport:
    """Index what is new in the store, then find shared passages and near-duplicate documents.

    Args:
        store: the corpus.
        threshold: minimum exact Jaccard (4-word shingles) for two passages to count as copies.
        duplicate_threshold: the same for whole documents.
        on_progress: called with the number of documents hashed after each indexing batch.

    Returns:
        The groups, most outlets first, and index figures.
    """
    hashed = update_index(store, on_progress)
    seen = load_sightings(store)
    passages = load_index(store, "passage")
    groups, stats = _groups(store, passages, threshold, seen, merge=True)
    whole = load_index(store, "document")
    duplicates, _ = _groups(store, whole, duplicate_threshold, seen, merge=False)
    return ReuseReport(
        groups, duplicates, len(whole), len(passages), hashed, passages.nbytes + whole.nbytes, stats
    )


def _groups(
    store: Store, index: LoadedIndex, threshold: float, seen: Sightings, merge: bool
) -> tuple[list[ReuseGroup], dict[str, int]]:
    linker = _Linker(store, index, threshold)
    for bucket in _buckets(index):
        linker.link(bucket)
    components = linker.components()
    if merge:
        components = _merge_by_documents(index, components)
    groups = [_group(index, rows, linker) for rows in components]
    groups = _with_copies(store, groups, seen, whole=not merge)
    groups.sort(key=lambda g: (-len(g.outlets), -len(g.documents), g.first.id))
    return groups, {"candidates": len(linker.hashes), "verified_pairs": linker.checked}


def _buckets(index: LoadedIndex) -> Iterator[npt.NDArray[np.int64]]:
    """Rows that share a band key, band by band, when they come from more than one document."""
    for band in range(index.keys.shape[1]):
        column = index.keys[:, band]
        order = np.argsort(column, kind="stable")
        ordered = column[order]
        cuts = np.flatnonzero(ordered[1:] != ordered[:-1]) + 1
        starts, ends = np.r_[0, cuts], np.r_[cuts, len(ordered)]
        for start, end in zip(starts[ends - starts > 1], ends[ends - starts > 1], strict=True):
            bucket = order[start:end]
            if len(np.unique(index.doc[bucket])) > 1:
                yield bucket


class _Linker:
    """Union-find over passages, joined only by pairs verified on their text (`_score`)."""

    def __init__(self, store: Store, index: LoadedIndex, threshold: float) -> None:
        self.index = index
        self.threshold = threshold
        self.sets = UnionFind(len(index))
        self.texts = _candidate_texts(store, index)
        self.hashes = {row: _text.shingle_hashes(text) for row, text in self.texts.items()}
        self.similarity: dict[int, float] = {}
        self.checked = 0

    def link(self, bucket: npt.NDArray[np.int64]) -> None:
        """Leader clustering inside one bucket: a row joins the first leader it verifies against."""
        leaders: list[int] = []
        for row in bucket.tolist():
            if not any(self._join(leader, row) for leader in leaders):
                leaders.append(row)

    def _join(self, a: int, b: int) -> bool:
        if self.sets.find(a) == self.sets.find(b):
            return True
        if self.index.doc[a] == self.index.doc[b]:
            return False
        # No memo of rejected pairs: a pair that meets again in another band is checked again.
        # That costs a few percent more checks but no memory (at 100k documents the memo held
        # ~10M pairs, 1 GB).
        self.checked += 1
        score = self._score(a, b)
        if score is None:
            return False
        low = min(
            score, self.similarity.get(self.sets.find(a), 1.0), self.similarity.get(self.sets.find(b), 1.0)
        )
        self.similarity[self.sets.union(a, b)] = low
        return True

    def _score(self, a: int, b: int) -> float | None:
        """The pair's Jaccard, or its aligned-word ratio for edited copies; None if not a copy."""
        score = _text.jaccard(self.hashes[a], self.hashes[b])
        if score >= self.threshold:
            return score
        if score < ALIGN_FLOOR:
            return None
        ratio = _text.aligned_ratio(self.texts[a], self.texts[b])
        return ratio if ratio >= ALIGNED_RATIO else None

    def components(self) -> list[list[int]]:
        """Linked rows by set, keeping sets that span at least two documents."""
        by_root: dict[int, list[int]] = defaultdict(list)
        for row in self.texts:
            by_root[self.sets.find(row)].append(row)
        return [rows for rows in by_root.values() if len({int(self.index.doc[r]) for r in rows}) > 1]


def _candidate_texts(store: Store, index: LoadedIndex) -> dict[int, str]:
    """The text of every row that is in some bucket: only these are ever verified."""
    mask = np.zeros(len(index), dtype=bool)
    for bucket in _buckets(index):
        mask[bucket] = True
    rows = np.flatnonzero(mask)
    by_doc: dict[str, list[int]] = defaultdict(list)
    for row in rows.tolist():
        by_doc[index.docs[index.doc[row]].id].append(row)
    texts: dict[int, str] = {}
    for doc_id, text in fetch_texts(store, list(by_doc)):
        for row in by_doc[doc_id]:
            texts[row] = text[index.start[row] : index.end[row]]
    return texts


def _merge_by_documents(index: LoadedIndex, components: list[list[int]]) -> list[list[int]]:
    """Join passage sets over (nearly) the same documents: one copied article, not N campaigns."""
    doc_sets = [frozenset(int(index.doc[r]) for r in rows) for rows in components]
    sets = UnionFind(len(components))
    by_doc: dict[int, list[int]] = defaultdict(list)
    for i, docs in enumerate(doc_sets):
        for j in {j for doc in docs for j in by_doc[doc]}:  # earlier sets sharing a document
            common = len(docs & doc_sets[j])  # sizes only: an outlet footer's set is huge
            if common / (len(docs) + len(doc_sets[j]) - common) >= GROUP_MERGE:
                sets.union(i, j)
        for doc in docs:
            by_doc[doc].append(i)
    merged: dict[int, list[int]] = defaultdict(list)
    for i, rows in enumerate(components):
        merged[sets.find(i)].extend(rows)
    return list(merged.values())


def _group(index: LoadedIndex, rows: list[int], linker: _Linker) -> ReuseGroup:
    """A group: its documents by publication, and the shared text as the first publisher has it."""
    by_doc: dict[int, list[int]] = defaultdict(list)
    for row in rows:
        by_doc[int(index.doc[row])].append(row)
    docs = sorted((index.docs[d] for d in by_doc), key=publication_order)
    first = next(d for d in by_doc if index.docs[d].id == docs[0].id)
    passage = "\n\n".join(linker.texts[r] for r in sorted(by_doc[first], key=lambda r: int(index.start[r])))
    similarity = min(linker.similarity.get(linker.sets.find(r), 1.0) for r in rows)
    return ReuseGroup(passage, tuple(docs), similarity)


def _with_copies(store: Store, groups: list[ReuseGroup], seen: Sightings, whole: bool) -> list[ReuseGroup]:
    """List each document seen more than once by sighting, in the group that is about it.

    Its home is the group where its sightings are at least GROUP_MERGE of all the group's entries
    (the test that merges passage groups, counting sightings instead of documents; a
    whole-document group holds a document at most once, so there any group is home). Elsewhere,
    e.g. in an outlet footer's group, it stays one entry, its earliest sighting: else an article
    copied whole would make its footer a second campaign. A document seen from two or more
    outlets without a home is a group of its own.
    """
    homes = _homes(groups, seen, 0.0 if whole else GROUP_MERGE)
    spread = [_spread(group, position, homes, seen) for position, group in enumerate(groups)]
    alone = sorted(doc_id for doc_id, metas in seen.items() if doc_id not in homes and _outlets(metas) > 1)
    return spread + _own_groups(store, alone, seen, whole)


def _homes(groups: list[ReuseGroup], seen: Sightings, floor: float) -> dict[str, int]:
    """Document id -> position of the group where its sightings weigh most (at least `floor`)."""
    best: dict[str, tuple[float, int]] = {}
    for position, group in enumerate(groups):
        copied = [d.id for d in group.documents if d.id in seen]
        total = sum(len(seen.get(d.id, (d,))) for d in group.documents) if copied else 0
        for doc_id in copied:
            share = len(seen[doc_id]) / total
            if share >= floor and share > best.get(doc_id, (-1.0, 0))[0]:
                best[doc_id] = (share, position)
    return {doc_id: position for doc_id, (_, position) in best.items()}


def _spread(group: ReuseGroup, position: int, homes: dict[str, int], seen: Sightings) -> ReuseGroup:
    if not any(d.id in seen for d in group.documents):
        return group
    entries = [
        entry for doc in group.documents for entry in _entries(doc, homes.get(doc.id) == position, seen)
    ]
    return ReuseGroup(group.passage, tuple(sorted(entries, key=publication_order)), group.similarity)


def _entries(doc: DocMeta, home: bool, seen: Sightings) -> tuple[DocMeta, ...]:
    copies = seen.get(doc.id)
    if copies is None:
        return (doc,)
    return copies if home else copies[:1]


def _outlets(metas: tuple[DocMeta, ...]) -> int:
    return len({m.outlet for m in metas if m.outlet})


def _own_groups(store: Store, ids: list[str], seen: Sightings, whole: bool) -> list[ReuseGroup]:
    """A group per document copied whole by several outlets: identical copies, similarity 1."""
    texts = sorted(fetch_texts(store, ids))
    return [ReuseGroup(_own_passage(text, whole), seen[doc_id], 1.0) for doc_id, text in texts]


def _own_passage(text: str, whole: bool) -> str:
    """As other groups show it: the whole text, or its passages (all are shared) in reading order."""
    parts = [] if whole else [text[p.start : p.end] for p in _text.passages(text)]
    return "\n\n".join(parts) or text
