"""Human layers in the store: reviews imported from annotation tools, kept next to the model layers.

`Store.add_human_layer` and `Store.human_layers` are thin wrappers over these functions, so
store.py keeps to documents and analyses. Nothing here reads or writes `analyses` or
`technique_spans`: a review never changes what the model found, it is a second opinion beside it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, select

from propscope.annotation._common import text_sha256
from propscope.annotation.checks import checked_spans
from propscope.annotation.records import HumanLayer, ReviewedDocument, ReviewedSpan
from propscope.errors import AnnotationError
from propscope.store import _rows
from propscope.store.schema import documents, human_layers, human_spans

CHUNK = 500  # ids per IN (...) clause, as in store.py


@dataclass(frozen=True, slots=True)
class AddedLayer:
    """What one `add_human_layer` call did: `added` is False when the same review was stored."""

    id: int
    document_id: str
    annotator: str
    added: bool
    spans: int


def add(conn: Connection, review: ReviewedDocument, annotator: str, now: datetime) -> AddedLayer:
    """Store `review` (matched to a stored document) as a layer of `annotator`, once.

    The spans are checked against the stored text here too (E716-E720), whoever calls, so the
    store never holds a span that points past or beside the words it claims. A review is a
    repeat (nothing is added) when it equals the annotator's current layer of the document, or
    a stored layer with the same spans and the same review time (an older export imported
    again); so v1, v2, then v1 reviewed anew makes v1 current again. The document's row is
    locked first (FOR UPDATE on PostgreSQL; SQLite writes one at a time anyway), so two imports
    of the same review at once store it once.
    """
    doc_id = review.document_id or ""
    found_text = select(documents.c.text).where(documents.c.id == doc_id).with_for_update()
    text = conn.execute(found_text).scalar()
    if text is None:
        key = f"document id {doc_id!r}"
        source = review.source or "record"
        raise AnnotationError(AnnotationError.E_UNKNOWN_DOCUMENT.format(source=source, key=key))
    spans = checked_spans(review, doc_id, text)
    digest = _rows.review_sha256(spans)
    row = _rows.human_layer_row(doc_id, annotator, review, digest, now)
    found = _repeat_of(conn, doc_id, annotator, digest, row["reviewed_at"])
    if found is not None:
        return AddedLayer(found, doc_id, annotator, False, len(spans))
    layer_id = _insert_layer(conn, row)
    if spans:
        conn.execute(human_spans.insert(), [_rows.human_span_row(layer_id, s) for s in spans])
    return AddedLayer(layer_id, doc_id, annotator, True, len(spans))


def _insert_layer(conn: Connection, row: dict[str, Any]) -> int:
    key = conn.execute(human_layers.insert().values(**row)).inserted_primary_key
    if key is None:  # every backend we support reports the new id; this guards the type only
        raise RuntimeError("the database did not report the new human layer's id")
    return int(key[0])


def _newest_first() -> tuple[ColumnElement[Any], ...]:
    """Latest first: by the tool's review time where it gave one, else the import time; then id."""
    layers = human_layers.c
    return (func.coalesce(layers.reviewed_at, layers.imported_at).desc(), layers.id.desc())


def _repeat_of(
    conn: Connection, doc_id: str, annotator: str, digest: str, reviewed_at: datetime | None
) -> int | None:
    """The id of the stored layer this review repeats, or None (see `add`)."""
    layers = human_layers.c
    mine = (layers.document_id == doc_id, layers.annotator == annotator)
    current = conn.execute(
        select(layers.id, layers.content_sha256).where(*mine).order_by(*_newest_first()).limit(1)
    ).first()
    if current is not None and current.content_sha256 == digest:
        return int(current.id)
    if reviewed_at is None:
        return None
    same = select(layers.id).where(*mine, layers.content_sha256 == digest, layers.reviewed_at == reviewed_at)
    found = conn.execute(same.limit(1)).scalar()
    return None if found is None else int(found)


def latest(conn: Connection, *where: ColumnElement[bool]) -> list[HumanLayer]:
    """The newest layer per document and annotator among the rows `where` selects (by review
    time, else import time), by document id then annotator: a re-review supersedes the
    earlier one but never deletes it."""
    newest_first = select(human_layers).where(*where).order_by(*_newest_first())
    chosen: dict[tuple[str, str], Any] = {}
    for row in conn.execute(newest_first):
        chosen.setdefault((row.document_id, row.annotator), row)
    rows = [chosen[key] for key in sorted(chosen)]
    texts = dict(_in_chunks(conn, select(documents.c.id, documents.c.text), documents.c.id,
                            sorted({row.document_id for row in rows})))
    spans = _spans(conn, [row.id for row in rows])
    return [_layer(row, texts[row.document_id], spans.get(row.id, [])) for row in rows]


def _spans(conn: Connection, layer_ids: Sequence[int]) -> dict[int, list[tuple[int, int, str, str]]]:
    columns = human_spans.c
    query = select(columns.layer_id, columns.start, columns.end, columns.label, columns.layer)
    found: dict[int, list[tuple[int, int, str, str]]] = {}
    for layer_id, start, end, label, layer in _in_chunks(conn, query, columns.layer_id, layer_ids):
        found.setdefault(layer_id, []).append((start, end, label, layer))
    return found


def _layer(row: Any, text: str, spans: list[tuple[int, int, str, str]]) -> HumanLayer:
    reviewed = tuple(sorted(
        ReviewedSpan(start, end, label, layer, text[start:end]) for start, end, label, layer in spans
    ))
    return HumanLayer(
        document_id=row.document_id,
        text=text,
        annotator=row.annotator,
        imported_at=row.imported_at.replace(tzinfo=UTC).isoformat(),
        source_format=row.source_format,
        spans=reviewed,
        reviewed_at=None if row.reviewed_at is None else row.reviewed_at.replace(tzinfo=UTC).isoformat(),
    )


def _in_chunks(conn: Connection, statement: Any, column: Any, values: Sequence[Any]) -> Iterator[Any]:
    stream = iter(values)
    while chunk := list(islice(stream, CHUNK)):
        yield from conn.execute(statement.where(column.in_(chunk)))


def text_sha256_index(conn: Connection, page: int = CHUNK) -> dict[str, str]:
    """Hex SHA-256 of every stored text -> its document id, read a page of texts at a time.

    Only needed for a review that lost its document id and carries no text (a rare export);
    documents have no hash column, so this reads the corpus once per import.
    """
    index: dict[str, str] = {}
    after = ""
    query = select(documents.c.id, documents.c.text).order_by(documents.c.id).limit(page)
    while rows := conn.execute(query.where(documents.c.id > after)).all():
        index.update((text_sha256(text), doc_id) for doc_id, text in rows)
        after = rows[-1][0]
    return index
