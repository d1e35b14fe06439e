"""The persistent, incremental reuse index, kept in the store's `reuse_signatures` table.

Two rows per document, under the current `SCHEME`:
- part `FINGERPRINTS` (-1): its winnowed shingle fingerprints (`winnow.fingerprints`), written by
  `update_index`, which hashes only documents that have none yet: adding 1,000 documents to an
  indexed million hashes 1,000.
- part `ALIGNED` (1): its verified alignments with documents indexed before it, written once
  `find_reuse` has aligned it (`save_alignments`); a later run aligns only documents without one,
  against the whole index, and reads the rest back.
`load_fingerprints` streams the fingerprints back into flat numpy arrays (12 bytes a
fingerprint); nothing else of the corpus is held in memory. `load_sightings` adds the outlets and
dates of documents seen more than once (identical copies share one document id, so the index
holds them once).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, delete, exists, func, select
from sqlalchemy.dialects import postgresql, sqlite

from propscope.corpus import _text, winnow
from propscope.store import Store
from propscope.store._engine import writer  # SQLite: take the write lock up front (BEGIN IMMEDIATE)
from propscope.store.schema import documents, reuse_signatures, sightings

FINGERPRINTS = -1  # `part` of a document's fingerprint row
ALIGNED = 1  # `part` of a document's alignment row
# Stored with every row: a change of tokenising, shingling or winnowing re-indexes the corpus.
SCHEME = f"winnow-w{_text.SHINGLE_WORDS}-k{winnow.WINDOW}-crc32-fmix"
INDEX_BATCH = 500  # documents hashed per transaction: a crash loses at most one batch of work
LOAD_PAGE = 5_000  # signature rows per round trip while loading: bounds the transient memory
ID_CHUNK = 500  # ids per IN (...) clause

Ints = npt.NDArray[np.int32]


@dataclass(frozen=True, slots=True)
class DocMeta:
    """What reuse reports say about a document: who published it and when."""

    id: str
    outlet: str | None
    published: str | None
    published_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "outlet": self.outlet, "published": self.published}


def publication_order(doc: DocMeta) -> tuple[bool, datetime, str, str]:
    """Sort key: earliest publication first, undated last; ties by id, then outlet."""
    return (doc.published_at is None, doc.published_at or datetime.min, doc.id, doc.outlet or "")


Sightings = dict[str, tuple[DocMeta, ...]]  # document id -> where it was seen, earliest first


def update_index(
    store: Store, on_progress: Callable[[int], None] | None = None, batch: int = INDEX_BATCH
) -> int:
    """Hash every stored document that the index does not cover yet.

    Args:
        store: an open store (migrated, so `reuse_signatures` exists).
        on_progress: called with the number of documents hashed after each batch.
        batch: documents per transaction.

    Returns:
        How many documents were hashed (0 when the index was already complete).
    """
    with writer(store.engine).begin() as conn:  # signatures of an older scheme cannot be compared
        conn.execute(delete(reuse_signatures).where(reuse_signatures.c.scheme != SCHEME))
    done = 0
    for page in _unindexed(store, batch):
        rows = [row for doc_id, text in page for row in signature_rows(doc_id, text)]
        with writer(store.engine).begin() as conn:
            _insert_ignore(conn, rows)
        done += len(page)
        if on_progress:
            on_progress(len(page))
    return done


def signature_rows(doc_id: str, text: str) -> list[dict[str, Any]]:
    """The row that indexes one document: its fingerprints."""
    tokens = _text.words(text)
    hashes, positions = winnow.fingerprints(tokens)
    return [_row(doc_id, FINGERPRINTS, len(tokens), winnow.to_blob(hashes, positions), len(text))]


def _row(doc_id: str, part: int, count: int, blob: bytes, end: int = 0) -> dict[str, Any]:
    return {
        "document_id": doc_id,
        "scheme": SCHEME,
        "part": part,
        "start": 0,
        "end": end,
        "words": count,
        "signature": blob,
    }


def _unindexed(store: Store, batch: int) -> Iterator[list[tuple[str, str]]]:
    """Pages of (id, text) of documents without fingerprints, by id."""
    signed = exists().where(
        reuse_signatures.c.document_id == documents.c.id,
        reuse_signatures.c.scheme == SCHEME,
        reuse_signatures.c.part == FINGERPRINTS,
    )
    query = select(documents.c.id, documents.c.text).where(~signed).order_by(documents.c.id)
    after = ""
    while True:
        with store.engine.connect() as conn:
            page = [(r.id, r.text) for r in conn.execute(query.where(documents.c.id > after).limit(batch))]
        if not page:
            return
        yield page
        after = page[-1][0]


def _insert_ignore(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert, skipping rows another indexer wrote meanwhile (same document, scheme and part)."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(reuse_signatures).on_conflict_do_nothing(), rows)


def indexed_count(store: Store) -> int:
    """How many documents the index covers under the current scheme."""
    query = (
        select(func.count())
        .select_from(reuse_signatures)
        .where(reuse_signatures.c.scheme == SCHEME, reuse_signatures.c.part == FINGERPRINTS)
    )
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def load_fingerprints(store: Store) -> tuple[winnow.Fingerprints, npt.NDArray[np.bool_]]:
    """Every indexed document's fingerprints as flat arrays, and per document: aligned yet?"""
    docs: list[DocMeta] = []
    columns: list[list[npt.NDArray[Any]]] = [[], [], []]
    counts: list[int] = []
    for chunk in _pages(store, FINGERPRINTS):
        for row in chunk:
            counts.append(row.words)
            hashes, positions = winnow.from_blob(row.signature)
            columns[0].append(hashes)
            columns[1].append(np.full(len(hashes), len(docs), dtype=np.int32))
            columns[2].append(positions)
            docs.append(DocMeta(row.document_id, row.outlet, row.published, row.published_at))
    aligned = _aligned_ids(store)
    done = np.fromiter((d.id in aligned for d in docs), bool, len(docs))
    words = np.array(counts, dtype=np.int32)
    if not docs:
        empty = np.zeros(0, np.uint32)
        return winnow.Fingerprints([], empty, np.zeros(0, np.int32), empty, words), done
    arrays = [np.concatenate(c) for c in columns]
    return winnow.Fingerprints(docs, arrays[0], arrays[1], arrays[2], words), done


def _aligned_ids(store: Store) -> set[str]:
    s = reuse_signatures.c
    query = select(s.document_id).where(s.scheme == SCHEME, s.part == ALIGNED)
    with store.engine.connect() as conn:
        return {row.document_id for row in conn.execute(query)}


def _pages(store: Store, part: int) -> Iterator[Sequence[Any]]:
    s, d = reuse_signatures.c, documents.c
    query = (
        select(s.id, s.document_id, s.words, s.signature, d.outlet, d.published, d.published_at)
        .join(documents, d.id == s.document_id)
        .where(s.scheme == SCHEME, s.part == part)
        .order_by(s.id)
    )
    after = 0
    while True:
        with store.engine.connect() as conn:
            page = conn.execute(query.where(s.id > after).limit(LOAD_PAGE)).all()
        if not page:
            return
        yield page
        after = page[-1].id


def save_alignments(store: Store, found: dict[str, list[list[Any]]]) -> None:
    """Record each newly aligned document's alignments (a JSON list per document, maybe empty)."""
    rows = [
        _row(doc_id, ALIGNED, len(pairs), json.dumps(pairs, separators=(",", ":")).encode())
        for doc_id, pairs in found.items()
    ]
    for start in range(0, len(rows), INDEX_BATCH):
        with writer(store.engine).begin() as conn:
            _insert_ignore(conn, rows[start : start + INDEX_BATCH])


def load_alignments(store: Store) -> Iterator[tuple[str, list[list[Any]]]]:
    """(document id, its stored alignments) for every aligned document."""
    for chunk in _pages(store, ALIGNED):
        for row in chunk:
            yield row.document_id, json.loads(row.signature)


def load_sightings(store: Store) -> Sightings:
    """Documents seen with more than one (outlet, publication), and each of those, earliest first.

    Sightings without an outlet are left out when the document has some with one (the same
    publication read once without its metadata), and sightings that differ only by url are one.
    Documents seen once are left out: their `documents` row says all there is.
    """
    s = sightings.c
    repeated = select(s.document_id).group_by(s.document_id).having(func.count() > 1)
    query = (
        select(s.document_id, s.outlet, s.published, s.published_at)
        .where(s.document_id.in_(repeated))
        .order_by(s.document_id, s.id)
    )
    seen: dict[str, list[DocMeta]] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(query):
            meta = DocMeta(row.document_id, row.outlet, row.published, row.published_at)
            seen.setdefault(row.document_id, []).append(meta)
    informative = {doc_id: _informative(metas) for doc_id, metas in seen.items()}
    return {doc_id: metas for doc_id, metas in informative.items() if len(metas) > 1}


def _informative(metas: list[DocMeta]) -> tuple[DocMeta, ...]:
    with_outlet = [m for m in metas if m.outlet]
    distinct = dict.fromkeys(with_outlet or metas)
    return tuple(sorted(distinct, key=publication_order))


def fetch_texts(store: Store, ids: Sequence[str]) -> Iterator[tuple[str, str]]:
    """(id, text) of the given documents, a chunk at a time."""
    stream = iter(ids)
    while chunk := list(islice(stream, ID_CHUNK)):
        with store.engine.connect() as conn:
            rows = conn.execute(select(documents.c.id, documents.c.text).where(documents.c.id.in_(chunk)))
            yield from ((r.id, r.text) for r in rows)
