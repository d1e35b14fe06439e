"""The persistent, incremental reuse index: passage signatures kept in the store.

`update_index` hashes only documents that have no signature yet under the current `SCHEME`, so
adding 1,000 documents to an indexed corpus of a million hashes 1,000. `load_index` streams the
stored signatures back into flat numpy arrays (band keys plus offsets, ~150 bytes per passage)
from which the LSH buckets are rebuilt; nothing else of the corpus is held in memory.
`load_sightings` adds the outlets and dates of documents seen more than once (identical copies
share one document id, so the index holds them once).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, delete, exists, func, select
from sqlalchemy.dialects import postgresql, sqlite

from propscope.corpus import _text
from propscope.corpus import signatures as sigs
from propscope.store import Store
from propscope.store._engine import writer  # SQLite: take the write lock up front (BEGIN IMMEDIATE)
from propscope.store.schema import documents, reuse_signatures, sightings

WHOLE_DOCUMENT = -1  # `part` of the document-level signature; passages count from 0
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


@dataclass
class LoadedIndex:
    """Signatures of one level (passages or whole documents) as parallel arrays."""

    docs: list[DocMeta]
    doc: Ints  # index into `docs`
    start: Ints
    end: Ints
    keys: sigs.BandKeys  # (n, BANDS)

    def __len__(self) -> int:
        return len(self.doc)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.doc, self.start, self.end, self.keys))


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
        conn.execute(delete(reuse_signatures).where(reuse_signatures.c.scheme != sigs.SCHEME))
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
    """The rows that index one document: its whole text, then each passage."""
    shingled = _text.Shingled(text)  # tokenised and shingled once; passages take slices
    whole = _text.Passage(0, len(text), len(shingled.tokens))
    rows = [_row(doc_id, WHOLE_DOCUMENT, whole, sigs.signature(shingled.grams))]
    for part, passage in enumerate(_text.passages(text)):
        signature = sigs.signature(shingled.grams_of(passage.start, passage.end))
        rows.append(_row(doc_id, part, passage, signature))
    return rows


def _row(doc_id: str, part: int, passage: _text.Passage, signature: sigs.Signature) -> dict[str, Any]:
    return {
        "document_id": doc_id,
        "scheme": sigs.SCHEME,
        "part": part,
        "start": passage.start,
        "end": passage.end,
        "words": passage.words,
        "signature": sigs.to_bytes(signature),
    }


def _unindexed(store: Store, batch: int) -> Iterator[list[tuple[str, str]]]:
    """Pages of (id, text) of documents without a whole-document signature, by id."""
    signed = exists().where(
        reuse_signatures.c.document_id == documents.c.id,
        reuse_signatures.c.scheme == sigs.SCHEME,
        reuse_signatures.c.part == WHOLE_DOCUMENT,
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
        .where(reuse_signatures.c.scheme == sigs.SCHEME, reuse_signatures.c.part == WHOLE_DOCUMENT)
    )
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def load_index(store: Store, level: str = "passage") -> LoadedIndex:
    """Stream the stored signatures of one level ("passage" or "document") into arrays."""
    docs: list[DocMeta] = []
    positions: dict[str, int] = {}
    columns: list[list[Any]] = [[], [], [], []]
    for chunk in _signature_pages(store, level):
        for row in chunk:
            if row.document_id not in positions:
                positions[row.document_id] = len(docs)
                docs.append(DocMeta(row.document_id, row.outlet, row.published, row.published_at))
        columns[0].append(np.fromiter((positions[r.document_id] for r in chunk), np.int32))
        columns[1].append(np.fromiter((r.start for r in chunk), np.int32))
        columns[2].append(np.fromiter((r.end for r in chunk), np.int32))
        columns[3].append(_keys(sigs.from_blobs([r.signature for r in chunk]), level))
    if not docs:
        empty = np.zeros(0, np.int32)
        return LoadedIndex([], empty, empty, empty, _keys(np.zeros((0, sigs.NUM_PERM), np.uint32), level))
    doc, start, end = (np.concatenate(c) for c in columns[:3])
    return LoadedIndex(docs, doc, start, end, np.concatenate(columns[3]))


def _keys(signatures: npt.NDArray[np.uint32], level: str) -> sigs.BandKeys:
    if level == "document":
        return sigs.band_keys(signatures, sigs.DOCUMENT_BANDS, sigs.DOCUMENT_ROWS)
    return sigs.band_keys(signatures)


def _signature_pages(store: Store, level: str) -> Iterator[Sequence[Any]]:
    s, d = reuse_signatures.c, documents.c
    part = s.part == WHOLE_DOCUMENT if level == "document" else s.part >= 0
    query = (
        select(s.id, s.document_id, s.start, s.end, s.signature, d.outlet, d.published, d.published_at)
        .join(documents, d.id == s.document_id)
        .where(s.scheme == sigs.SCHEME, part)
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
