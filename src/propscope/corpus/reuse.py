"""Shared passages, found by alignment wherever they sit in a document, and near-duplicates.

1. Index: every document's winnowed 4-word shingle fingerprints (`winnow`, stored by `index`).
2. Boilerplate: text in several articles of one outlet and (nearly) no other (`winnow.boilerplate`)
   seeds nothing and is reported apart, per outlet, so footers never become campaigns.
3. Candidates: document pairs sharing at least `winnow.MIN_SEEDS` other fingerprints; only pairs
   with a document not aligned before are new work (the rest are read back from the store).
4. Verification: every candidate pair is aligned on its real words (`align.align`); an alignment
   counts when at least `align.MIN_MATCHED` words match and its similarity (matched words over the
   longer span) reaches the threshold. So every reported pair is verified on the text; what seeding
   can do is miss a pair (recall, measured by `benchmarks/reuse_planted.py`).
5. Groups: in each document, aligned spans that overlap are one passage; passages linked by
   alignments form a group (union-find). A member is a document with the character span of the
   passage in its own text; members are in publication order, the first publisher first.

Identical copies are one document (its id hashes the text), seen from several outlets: the store
keeps each outlet, url and date as a sighting. A group lists such a document once per sighting in
the one group that is about it (its home: see `_with_copies`); a document seen from two or more
outlets that shares no text with any other document is a group of its own, its whole text shared.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from functools import cached_property
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from propscope.corpus import align, verify, winnow
from propscope.corpus._text import SHINGLE_WORDS, Shingled, gram_hashes, words
from propscope.corpus._unionfind import UnionFind
from propscope.corpus.index import (
    DocMeta,
    Sightings,
    fetch_texts,
    load_alignments,
    load_fingerprints,
    load_sightings,
    publication_order,
    save_alignments,
    update_index,
)
from propscope.corpus.verify import ENGINES, Engine, Record
from propscope.errors import UsageError
from propscope.store import Store

# An alignment is a copy when at least half of the longer span's words match in runs of 3+: a
# passage reposted with 10% of its words edited scores ~0.75, with a sentence added ~0.8; two
# outlets telling one story in their own words stay under 0.3 (benchmarks/reuse_planted.py).
PASSAGE_SIMILARITY = 0.5
# Whole documents: near-duplicates when the alignments cover this share of both texts' words.
DUPLICATE_COVERAGE = 0.8
SPAN_OVERLAP = 0.5  # two spans of one document overlapping by half the shorter are one passage
# Shared text whose typical copy repeats 20% of its 4-word shingles within TANDEM_WORDS words is a
# template: the PTC articles' poll widgets ask their question two or three times in a row (whole
# widgets score 0.15-0.28, the parts that align more), while of 6,562 PTC paragraphs of 30+
# words outside them the 99.9th percentile is 0.16 and the highest 0.22. Repeats further apart do
# not count: a PTC paragraph quoting one sentence again 25 words on scored 0.6 when they did.
REPEATED_SHARE = 0.2
TANDEM_WORDS = 20
# Spans that are mostly (by fingerprints) an outlet's boilerplate are dropped from groups: an
# alignment stored before the text became boilerplate (its outlet's third article) goes too.
BOILERPLATE_SPAN = 0.5
# A document's sightings this share of a group's entries make that group its home (`_with_copies`).
GROUP_MERGE = 0.5
ALIGN_BLOCK = 5_000  # candidate pairs whose texts are fetched and tokenised at once

Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Member:
    """One document's copy of a group's passage: a character span of its own text."""

    doc: DocMeta
    start: int
    end: int
    text: str
    similarity: float  # its best alignment with another member

    def to_json(self) -> dict[str, Any]:
        return {
            "document": self.doc.id,
            "outlet": self.doc.outlet,
            "published": self.doc.published,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "similarity": round(self.similarity, 4),
        }


@dataclass(frozen=True)
class ReuseGroup:
    """Documents (one entry per sighting) that share a passage, by publication, undated last."""

    passage: str
    documents: tuple[DocMeta, ...]
    similarity: float  # the lowest similarity among the alignments that link the group
    members: tuple[Member, ...] = ()  # parallel to `documents` (empty for hand-made groups)

    @property
    def first(self) -> DocMeta:
        return self.documents[0]

    @cached_property
    def repetitive(self) -> bool:
        """Does the shared text mostly repeat itself (a poll widget asking its question three
        times, a list of share buttons)? Then it is a template, not a talking point, and
        `coordinate` never makes it a campaign (see REPEATED_SHARE)."""
        shares = sorted(_repeated_share(text) for text in {m.text for m in self.members})
        return bool(shares) and shares[len(shares) // 2] >= REPEATED_SHARE

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
            "members": [m.to_json() for m in self.members],
            "first": self.first.to_json(),
            "outlets": self.outlets,
            "spread_seconds": spread.total_seconds() if spread is not None else None,
            "similarity": round(self.similarity, 4),
            "repetitive": self.repetitive,
        }


def _repeated_share(text: str) -> float:
    """The share of the text's 4-word shingles that repeat one seen at most TANDEM_WORDS words
    before: a question asked three times over is a poll widget, while prose that quotes a
    sentence again further on is not."""
    last: dict[int, int] = {}
    repeats = 0
    grams = gram_hashes(words(text), SHINGLE_WORDS).tolist()
    for position, gram in enumerate(grams):
        if position - last.get(gram, -TANDEM_WORDS - 1) <= TANDEM_WORDS:
            repeats += 1
        last[gram] = position
    return repeats / len(grams) if len(grams) > 1 else 0.0


@dataclass(frozen=True)
class Boilerplate:
    """Text an outlet repeats across its own articles (footers, share buttons, bylines)."""

    outlet: str
    documents: int
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"outlet": self.outlet, "documents": self.documents, "text": self.text}


@dataclass
class ReuseReport:
    """What `propscope corpus reuse` found, and what it cost."""

    groups: list[ReuseGroup]
    duplicates: list[ReuseGroup]
    boilerplate: list[Boilerplate] = field(default_factory=list)
    documents: int = 0
    fingerprints: int = 0
    hashed: int = 0
    index_bytes: int = 0
    stats: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "groups": [g.to_json() for g in self.groups],
            "duplicates": [g.to_json() for g in self.duplicates],
            "boilerplate": [b.to_json() for b in self.boilerplate],
            "index": {
                "documents": self.documents,
                "fingerprints": self.fingerprints,
                "newly_hashed": self.hashed,
                "index_bytes": self.index_bytes,
                **self.stats,
            },
        }


def find_reuse(
    store: Store,
    threshold: float = PASSAGE_SIMILARITY,
    duplicate_threshold: float = DUPLICATE_COVERAGE,
    on_progress: Callable[[int], None] | None = None,
    engine: Engine | None = None,
) -> ReuseReport:
    """Index and align what is new in the store, then group shared passages and near-duplicates.

    Args:
        store: the corpus.
        threshold: minimum alignment similarity (matched words over the longer span) of a copy.
        duplicate_threshold: share of both documents' words that alignments must cover for the
            two to be near-duplicates.
        on_progress: called with the number of documents hashed after each indexing batch.
        engine: where candidate pairs are aligned (default: in this process); with Ray, each
            task opens the store by its URL, so use PostgreSQL when workers run elsewhere.

    Returns:
        The groups (most outlets first), near-duplicates, each outlet's boilerplate, index figures.
    """
    engine = engine or Engine()
    if engine.name not in ENGINES:
        raise UsageError(UsageError.E_ENGINE.format(engine=engine.name, engines=", ".join(ENGINES)))
    clock = _Clock()
    hashed = clock.lap("hash", update_index(store, on_progress))
    index, done = clock.lap("load", load_fingerprints(store))
    boiler = winnow.boilerplate(index)
    pairs = clock.lap("candidates", winnow.candidate_pairs(index, boiler, new=~done))
    masks = _Masks(index, boiler)
    save_alignments(store, _align_new(store, index, masks, pairs, ~done, engine))
    clock.lap("align", None)
    links = list(_links(store, index, masks, threshold))
    seen = load_sightings(store)
    groups = _with_copies(store, _groups(store, index, links), seen, whole=False)
    duplicates = _with_copies(store, _duplicates(index, links, duplicate_threshold), seen, whole=True)
    for found in (groups, duplicates):
        found.sort(key=lambda g: (-len(g.outlets), -len(g.documents), g.first.id))
    boilerplate = clock.lap("group", _boilerplate(store, index, masks))
    stats = {
        "candidate_pairs": len(pairs),
        "aligned_links": len(links),
        "newly_aligned": int((~done).sum()),
        **clock.seconds,
    }
    return ReuseReport(
        groups, duplicates, boilerplate, len(index.docs), len(index), hashed, index.nbytes, stats
    )


T = TypeVar("T")


class _Clock:
    """Seconds spent per step, for the index figures (`benchmarks/corpus.py` reports them)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.last = time.perf_counter()

    def lap(self, name: str, value: T) -> T:
        now = time.perf_counter()
        self.seconds[f"{name}_seconds"] = round(now - self.last, 3)
        self.last = now
        return value


class _Masks:
    """Which fingerprints are boilerplate, and the hashes that may not seed an alignment."""

    def __init__(self, index: winnow.Fingerprints, boiler: Mask) -> None:
        self.index, self.boiler = index, boiler
        self.boiler_hashes = winnow.sorted_unique(index.hash[boiler])  # once each: every text is tested
        # Boilerplate and stock phrases (`winnow.stock_hashes`): neither is evidence of copying.
        self.hashes = winnow.sorted_unique(np.concatenate([self.boiler_hashes, winnow.stock_hashes(index)]))

    def share(self, doc: int, start: int, stop: int) -> float:
        """The share of the document's fingerprints in words [start, stop) that are boilerplate."""
        where = self.index.of(doc)
        pos = self.index.pos[where]
        inside = (pos >= start) & (pos < stop)
        return float(self.boiler[where][inside].mean()) if inside.any() else 0.0


def _align_new(
    store: Store,
    index: winnow.Fingerprints,
    masks: _Masks,
    pairs: npt.NDArray[np.int64],
    new: Mask,
    engine: Engine,
) -> dict[str, list[Record]]:
    """Align each candidate pair; every new document gets its (maybe empty) list of records.

    A pair's alignments are stored with its new document (the later one, if both are new), so a
    later run finds them there and never aligns the pair again.
    """
    found: dict[str, list[Record]] = {index.docs[d].id: [] for d in np.flatnonzero(new).tolist()}
    owned = [(a, b) if new[a] else (b, a) for a, b in pairs.tolist()]
    blocks = [
        [(index.docs[a].id, index.docs[b].id) for a, b in owned[start : start + ALIGN_BLOCK]]
        for start in range(0, len(owned), ALIGN_BLOCK)
    ]
    if engine.name == "ray" and blocks:
        from propscope.corpus.distributed import align_on_ray  # Ray loads only when asked for

        results: Iterable[list[tuple[str, Record]]] = align_on_ray(store, blocks, masks.hashes, engine)
    else:
        results = (verify.align_block(store, block, masks.hashes) for block in blocks)
    for result in results:
        for owner, record in result:
            found[owner].append(record)
    return found


@dataclass(frozen=True, slots=True)
class _Link:
    """A verified alignment: word and character spans in documents a and b (index positions)."""

    a: int
    b: int
    words: tuple[int, int, int, int]
    chars: tuple[int, int, int, int]
    matched: int

    @property
    def similarity(self) -> float:
        w = self.words
        return self.matched / max(w[1] - w[0], w[3] - w[2])


def _links(store: Store, index: winnow.Fingerprints, masks: _Masks, threshold: float) -> Iterator[_Link]:
    """Stored alignments at or above the threshold between indexed documents, boilerplate left out."""
    position = {d.id: n for n, d in enumerate(index.docs)}
    for doc_id, records in load_alignments(store):
        own = position.get(doc_id)
        for other_id, *spans in records:
            other = position.get(other_id)
            if own is None or other is None:
                continue  # a document deleted since
            link = _Link(own, other, tuple(spans[0:4]), tuple(spans[4:8]), spans[8])
            if link.similarity >= threshold and not _is_boilerplate(masks, link):
                yield link


def _is_boilerplate(masks: _Masks, link: _Link) -> bool:
    w = link.words
    return max(masks.share(link.a, w[0], w[1]), masks.share(link.b, w[2], w[3])) >= BOILERPLATE_SPAN


@dataclass
class _Node:
    """One passage of one document: the union of overlapping aligned spans."""

    doc: int
    start: int  # characters
    end: int
    similarity: float = 0.0


class _Passages:
    """Spans per document clustered into passages; alignments link passages across documents."""

    def __init__(self, links: list[_Link]) -> None:
        spans: dict[int, list[tuple[int, int, int, int]]] = defaultdict(list)  # doc -> (c0, c1, link, side)
        for n, link in enumerate(links):
            spans[link.a].append((link.chars[0], link.chars[1], n, 0))
            spans[link.b].append((link.chars[2], link.chars[3], n, 1))
        self.nodes: list[_Node] = []
        self.ends: dict[tuple[int, int], int] = {}  # (link, side) -> node
        for doc, found in spans.items():
            self._cluster(doc, sorted(found))
        self.sets = UnionFind(len(self.nodes))
        for n, link in enumerate(links):
            a, b = self.ends[(n, 0)], self.ends[(n, 1)]
            self.sets.union(a, b)
            for node in (a, b):
                self.nodes[node].similarity = max(self.nodes[node].similarity, link.similarity)

    def _cluster(self, doc: int, spans: list[tuple[int, int, int, int]]) -> None:
        node: _Node | None = None
        for start, end, link, side in spans:
            if node is None or _overlap(node.start, node.end, start, end) < SPAN_OVERLAP:
                node = _Node(doc, start, end)
                self.nodes.append(node)
            node.end = max(node.end, end)
            self.ends[(link, side)] = len(self.nodes) - 1

    def components(self) -> list[tuple[int, list[_Node]]]:
        """(root, passages): one passage per document (its longest), sets over 2+ documents."""
        by_root: dict[int, dict[int, _Node]] = defaultdict(dict)
        for n, node in enumerate(self.nodes):
            kept = by_root[self.sets.find(n)]
            if node.doc not in kept or node.end - node.start > kept[node.doc].end - kept[node.doc].start:
                kept[node.doc] = node
        return [(root, list(nodes.values())) for root, nodes in by_root.items() if len(nodes) > 1]


def _overlap(start: int, end: int, other_start: int, other_end: int) -> float:
    """Overlap of two spans as a share of the shorter one."""
    shorter = min(end - start, other_end - other_start)
    return max(0, min(end, other_end) - max(start, other_start)) / shorter if shorter > 0 else 0.0


def _groups(store: Store, index: winnow.Fingerprints, links: list[_Link]) -> list[ReuseGroup]:
    """One group per set of linked passages, members in publication order."""
    passages = _Passages(links)
    components = passages.components()
    wanted = sorted({index.docs[node.doc].id for _, nodes in components for node in nodes})
    texts = dict(fetch_texts(store, wanted))
    lowest: dict[int, float] = {}
    for n, link in enumerate(links):
        root = passages.sets.find(passages.ends[(n, 0)])
        lowest[root] = min(lowest.get(root, 1.0), link.similarity)
    groups = []
    for root, nodes in components:
        members = sorted(
            (_member(index.docs[node.doc], node, texts[index.docs[node.doc].id]) for node in nodes),
            key=lambda m: publication_order(m.doc),
        )
        groups.append(_group(members, lowest[root]))
    return groups


def _member(doc: DocMeta, node: _Node, text: str) -> Member:
    return Member(doc, node.start, node.end, text[node.start : node.end], node.similarity)


def _group(members: list[Member], similarity: float) -> ReuseGroup:
    return ReuseGroup(members[0].text, tuple(m.doc for m in members), similarity, tuple(members))


def _duplicates(index: winnow.Fingerprints, links: list[_Link], threshold: float) -> list[ReuseGroup]:
    """Documents whose alignments cover `threshold` of both texts' words, grouped (whole texts)."""
    covered: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for link in links:
        pair = covered[(link.a, link.b) if link.a < link.b else (link.b, link.a)]
        first, second = (
            (link.words[:2], link.words[2:]) if link.a < link.b else (link.words[2:], link.words[:2])
        )
        pair[0] += first[1] - first[0]
        pair[1] += second[1] - second[0]
    sets = UnionFind(len(index.docs))
    joined: set[int] = set()
    for (a, b), (in_a, in_b) in covered.items():
        if min(in_a / max(int(index.words[a]), 1), in_b / max(int(index.words[b]), 1)) >= threshold:
            sets.union(a, b)
            joined.update((a, b))
    by_root: dict[int, list[int]] = defaultdict(list)
    for doc in sorted(joined):
        by_root[sets.find(doc)].append(doc)
    return [_whole(sorted((index.docs[d] for d in docs), key=publication_order)) for docs in by_root.values()]


def _whole(docs: list[DocMeta]) -> ReuseGroup:
    """A near-duplicate group: members are whole documents (spans filled in by `_filled`)."""
    return ReuseGroup("", tuple(docs), 1.0)


def _boilerplate(store: Store, index: winnow.Fingerprints, masks: _Masks) -> list[Boilerplate]:
    """Per outlet: how many of its articles carry boilerplate, and the longest piece in one of them."""
    carriers = index.doc[masks.boiler]  # sorted, as `index.doc` is
    docs = carriers[np.r_[True, carriers[1:] != carriers[:-1]]].tolist() if len(carriers) else []
    by_outlet: dict[str, list[int]] = defaultdict(list)
    for doc in docs:
        by_outlet[index.docs[doc].outlet or ""].append(doc)
    texts = dict(fetch_texts(store, [index.docs[found[0]].id for found in by_outlet.values()]))
    found = []
    for outlet, members in sorted(by_outlet.items()):
        found.append(Boilerplate(outlet, len(members), _longest(texts[index.docs[members[0]].id], masks)))
    return found


def _longest(text: str, masks: _Masks) -> str:
    """The text of the longest run of boilerplate words."""
    tokens = Shingled(text, align.ANCHOR_WORDS)
    mask = verify.skipped_words(tokens, masks.boiler_hashes)
    edges = np.flatnonzero(np.diff(np.r_[False, mask, False].astype(np.int8)))
    if not len(edges):
        return ""
    starts, stops = edges[::2], edges[1::2]
    best = int(np.argmax(stops - starts))
    return text[int(tokens.starts[starts[best]]) : int(tokens.ends[stops[best] - 1])]


def _with_copies(store: Store, groups: list[ReuseGroup], seen: Sightings, whole: bool) -> list[ReuseGroup]:
    """List each document seen more than once by sighting, in the group that is about it.

    Its home is the group where its sightings are at least GROUP_MERGE of all the group's entries
    (a whole-document group holds a document at most once, so there any group is home).
    Elsewhere, e.g. in a group of a passage its first publisher wrote, it stays one entry, its
    earliest sighting: else an article copied whole would make every passage in it a second
    campaign. A document seen from two or more outlets without a home is a group of its own.
    Near-duplicate groups (`whole`) get their members' whole texts here.
    """
    homes = _homes(groups, seen, 0.0 if whole else GROUP_MERGE)
    spread = [_spread(group, position, homes, seen) for position, group in enumerate(groups)]
    alone = sorted(doc_id for doc_id, metas in seen.items() if doc_id not in homes and _outlets(metas) > 1)
    found = spread + _own_groups(store, alone, seen)
    return _filled(store, found) if whole else found


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
    members = group.members or tuple(Member(d, 0, 0, "", 1.0) for d in group.documents)
    entries = [
        replace(member, doc=meta)
        for member in members
        for meta in _entries(member.doc, homes.get(member.doc.id) == position, seen)
    ]
    entries.sort(key=lambda m: publication_order(m.doc))
    kept = tuple(entries) if group.members else ()
    return ReuseGroup(group.passage, tuple(m.doc for m in entries), group.similarity, kept)


def _entries(doc: DocMeta, home: bool, seen: Sightings) -> tuple[DocMeta, ...]:
    copies = seen.get(doc.id)
    if copies is None:
        return (doc,)
    return copies if home else copies[:1]


def _outlets(metas: tuple[DocMeta, ...]) -> int:
    return len({m.outlet for m in metas if m.outlet})


def _own_groups(store: Store, ids: list[str], seen: Sightings) -> list[ReuseGroup]:
    """A group per document copied whole by several outlets: identical copies, similarity 1."""
    groups = []
    for doc_id, text in sorted(fetch_texts(store, ids)):
        members = tuple(Member(meta, 0, len(text), text, 1.0) for meta in seen[doc_id])
        groups.append(ReuseGroup(text, seen[doc_id], 1.0, members))
    return groups


def _filled(store: Store, groups: list[ReuseGroup]) -> list[ReuseGroup]:
    """Near-duplicate groups with whole-text members, the first publisher's text as the passage."""
    texts = dict(fetch_texts(store, sorted({d.id for g in groups for d in g.documents})))
    filled = []
    for group in groups:
        members = tuple(
            Member(d, 0, len(texts[d.id]), texts[d.id], group.similarity) for d in group.documents
        )
        filled.append(ReuseGroup(texts[group.first.id], group.documents, group.similarity, members))
    return filled
