"""The `Store`: documents and their analyses in SQLite (default) or PostgreSQL.

Guarantees the rest of propscope builds on:
- documents are upserted by id: saving the same document twice changes nothing, and a later save
  only fills in metadata that is still missing, so a document keeps the metadata it was first
  stored with (the text itself is never rewritten: spans point into it);
- every save also records a sighting (outlet, url, published) per document, once: a copy of a
  stored text from another outlet, which has the same id, is kept there instead of being lost;
- analyses are kept per analyser name *and* version: a newer version adds a row, re-running the
  same version replaces only its own row, and `get` shows the most recently saved version of
  each analyser;
- every `save` is one transaction: a failure mid-batch leaves nothing of that batch behind;
- reviews imported from annotation tools are human layers (`store/human.py`), kept per document
  and annotator beside the model layers and never over them; once a document has a human layer
  (or an analysis) its text is never replaced, since their spans point into it.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice
from types import TracebackType
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    and_,
    bindparam,
    delete,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from propscope.annotation.records import HumanLayer, ReviewedDocument
from propscope.config import default_db_url
from propscope.document import Document, Result
from propscope.errors import StoreError
from propscope.store import _engine, _rows, human
from propscope.store.human import AddedLayer
from propscope.store.schema import (
    analyses,
    documents,
    errors,
    human_layers,
    sightings,
    technique_spans,
)

CHUNK = 500  # ids per IN (...) clause: well under SQLite's bound-parameter limit
EXPORT_PAGE = 200  # documents per query while exporting, to keep memory flat

Moment = datetime | date | str


class FailureLike(Protocol):
    """Anything that says which input failed and why (e.g. `propscope.api.Failure`)."""

    @property
    def source(self) -> str: ...
    @property
    def code(self) -> str: ...
    @property
    def message(self) -> str: ...


@dataclass(frozen=True, slots=True)
class StoredFailure:
    """A failure as recorded in the store, with the job that hit it."""

    source: str
    code: str
    message: str
    job: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Sighting:
    """One outlet, url and publication time a document was seen with, and when it first was."""

    document_id: str
    outlet: str | None
    url: str | None
    published: str | None
    published_at: datetime | None
    source: str | None
    seen_at: datetime


@dataclass(frozen=True, slots=True)
class DocumentSummary:
    """One line of `propscope list`: a document's metadata without its text."""

    id: str
    title: str | None
    author: str | None
    outlet: str | None
    url: str | None
    published: str | None
    language: str | None
    source: str | None
    chars: int

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


class Store:
    """Documents and analyses in a SQL database. Open with `Store.open(url)`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = _engine.writer(engine)

    @classmethod
    def open(cls, url: str | None = None) -> Store:
        """Connect and migrate to the current schema.

        Args:
            url: `sqlite:///PATH` or `postgresql+psycopg://USER:PASSWORD@HOST/DB`; None means
                `$PROPSCOPE_DB` or a SQLite file in the user data dir.

        Returns:
            An open store. Raises StoreError (E300, E303, E308) when it cannot be used.
        """
        engine = _engine.connect(url or default_db_url())
        try:
            _engine.upgrade(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine)

    @property
    def url(self) -> str:
        """The database URL without its password."""
        return _engine.redact(str(self.engine.url))

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- writing -------------------------------------------------------------------------------

    def save(
        self,
        results: Sequence[Result],
        produced: Mapping[str, Sequence[str]] | None = None,
        sighted: bool = True,
    ) -> int:
        """Store documents and their analyses, all or nothing.

        Args:
            results: pipeline results; `Result.analyzers` maps each analyser to its version.
            produced: analyser name -> the layers it produces (`Pipeline` analysers' `produces`),
                used to file each layer under the analyser that made it. Without it an analyser
                owns the layer named like it ("techniques" -> techniques), and layers nobody
                claims go to the last analyser.
            sighted: record each document's outlet, url and publication as a sighting. False
                for documents read back from the store (batch workers): nothing new was seen.

        Returns:
            The number of results saved. Raises StoreError (E304, E306, E307, E309); then
            nothing of the batch is saved.
        """
        batch = _dedupe(results)
        now = _rows.utcnow()
        rows = [row for r in batch for row in _rows.analysis_rows(r, produced, now)]
        with self._write() as conn:
            _reconcile_texts(conn, [r.document for r in batch if r.analyzers])
            _upsert_documents(conn, [r.document for r in batch], now)
            if sighted:
                _insert_sightings(conn, [r.document for r in results], now)
            _upsert_analyses(conn, rows)
        return len(results)

    def save_documents(self, docs: Sequence[Document]) -> int:
        """Store documents without analyses (plain ingest); same upsert rules as `save`."""
        first: dict[str, Document] = {}
        for doc in docs:  # copies of one text in the batch: the first one seen is the document
            first.setdefault(doc.id, doc)
        batch = list(first.values())
        now = _rows.utcnow()
        with self._write() as conn:
            _upsert_documents(conn, batch, now)
            _insert_sightings(conn, docs, now)
        return len(docs)

    def record_sightings(self, docs: Sequence[Document]) -> int:
        """Record where already stored documents were seen again, e.g. ingest's skipped duplicates.

        The stored document and its metadata stay as they are; only `sightings` grows, by one row
        per new (outlet, url, published) of a document (a known one is left alone, so this is
        idempotent). Documents that are not in the store are skipped: their first copy failed.

        Returns:
            How many of `docs` are stored, i.e. have their sighting recorded now or before.
        """
        ids = {doc.id for doc in docs}
        if not ids:
            return 0
        with self._write() as conn:
            stored = {r[0] for r in _in_chunks(conn, select(documents.c.id), documents.c.id, sorted(ids))}
            known = [doc for doc in docs if doc.id in stored]
            _insert_sightings(conn, known, _rows.utcnow())
        return len(known)

    def record_errors(self, failures: Iterable[FailureLike], job: str | None = None) -> int:
        """Keep per-document failures, so a batch can report them and a later run retry them."""
        now = _rows.utcnow()
        rows = [
            {"source": f.source, "code": f.code, "message": f.message, "job": job} | {"created_at": now}
            for f in failures
        ]
        if rows:
            with self._write() as conn:
                conn.execute(errors.insert(), rows)
        return len(rows)

    def add_human_layer(self, review: ReviewedDocument, annotator: str) -> AddedLayer:
        """Keep a person's review of a stored document as their human layer, once.

        Args:
            review: the review, its `document_id` already the stored document's id (see
                `propscope.annotation.importing`, which matches tool records to documents).
            annotator: who reviewed it.

        Returns:
            The layer's id and whether it was added: the same spans by the same annotator on
            the same document are stored once, so importing a file again changes nothing.
            Raises AnnotationError (E715 unknown document, E716-E720 a text, offset or label
            that does not fit the stored text); then nothing is stored.
        """
        with self._write() as conn:
            return human.add(conn, review, annotator, _rows.utcnow())

    def _write(self) -> _Transaction:
        return _Transaction(self._writer, self.url)

    # --- reading -------------------------------------------------------------------------------

    def resolve(self, id_or_prefix: str) -> str:
        """The full id of the one document whose id is or starts with `id_or_prefix` (E301/E302)."""
        key = id_or_prefix.strip()
        query = select(documents.c.id).where(documents.c.id.startswith(key, autoescape=True))
        with self.engine.connect() as conn:
            if key and conn.execute(select(documents.c.id).where(documents.c.id == key)).first():
                return key
            found = conn.execute(query.limit(2)).scalars().all() if key else []
            if len(found) > 1:
                total = select(func.count()).select_from(query.subquery())
                count = conn.execute(total).scalar_one()
                raise StoreError(StoreError.E_AMBIGUOUS.format(id=key, count=count))
        if not found:
            raise StoreError(StoreError.E_NOT_FOUND.format(id=key))
        return str(found[0])

    def get(self, id_or_prefix: str) -> Result:
        """A stored document with the latest saved version of each analyser's layers merged."""
        doc_id = self.resolve(id_or_prefix)
        with self.engine.connect() as conn:
            return _results(conn, [doc_id])[0]

    def list(
        self,
        limit: int = 50,
        offset: int = 0,
        outlet: str | None = None,
        since: Moment | None = None,
        until: Moment | None = None,
        query: str | None = None,
        technique: str | None = None,
    ) -> builtins.list[DocumentSummary]:
        """Documents newest first (by publication, then by when they were stored).

        Args:
            limit, offset: the page.
            outlet: exact outlet name.
            since, until: publication time bounds (inclusive), ISO 8601 strings or datetimes;
                documents without a parseable date are left out when either is given.
            query: case-insensitive substring of the title or text (ASCII case folding on SQLite).
            technique: only documents where some analyser version found this technique.
        """
        conditions = _filters(outlet, since, until, query, technique)
        statement = (
            select(*_SUMMARY_COLUMNS)
            .where(*conditions)
            .order_by(
                documents.c.published_at.desc().nulls_last(),
                documents.c.created_at.desc(),
                documents.c.id,
            )
            .limit(limit)
            .offset(offset)
        )
        with self.engine.connect() as conn:
            return [DocumentSummary(**row._mapping) for row in conn.execute(statement)]

    def count(
        self,
        outlet: str | None = None,
        since: Moment | None = None,
        until: Moment | None = None,
        query: str | None = None,
        technique: str | None = None,
    ) -> int:
        """How many documents `list` would page through with the same filters."""
        conditions = _filters(outlet, since, until, query, technique)
        statement = select(func.count()).select_from(documents).where(*conditions)
        with self.engine.connect() as conn:
            return int(conn.execute(statement).scalar_one())

    def analysed_ids(self, analyzer: str, version: str, ids: Iterable[str]) -> set[str]:
        """Which of `ids` already have results from this analyser version (to resume a batch)."""
        statement = select(analyses.c.document_id).where(
            analyses.c.analyzer == analyzer, analyses.c.version == version
        )
        with self.engine.connect() as conn:
            found = _in_chunks(conn, statement, analyses.c.document_id, builtins.list(ids))
            return {row[0] for row in found}

    def errors(self, job: str | None = None) -> builtins.list[StoredFailure]:
        """Recorded failures, oldest first; only those of `job` when given."""
        statement = select(errors).order_by(errors.c.id)
        if job is not None:
            statement = statement.where(errors.c.job == job)
        with self.engine.connect() as conn:
            return [
                StoredFailure(r.source, r.code, r.message, r.job, r.created_at)
                for r in conn.execute(statement)
            ]

    def sighting_count(self) -> int:
        """How many sightings are stored: grows when a copy arrives, which `count` does not see."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(sightings)).scalar_one())

    def sightings(self, id_or_prefix: str) -> builtins.list[Sighting]:
        """Where a document was seen, first seen first (E301/E302 as for `get`)."""
        doc_id = self.resolve(id_or_prefix)
        columns = [sightings.c[name] for name in Sighting.__slots__]
        query = select(*columns).where(sightings.c.document_id == doc_id).order_by(sightings.c.id)
        with self.engine.connect() as conn:
            return [Sighting(**row._mapping) for row in conn.execute(query)]

    def human_layers(self, annotator: str | None = None) -> builtins.list[HumanLayer]:
        """The current human layer of each document and annotator (the latest import of theirs),
        by document id then annotator; only `annotator`'s when given."""
        where = [] if annotator is None else [human_layers.c.annotator == annotator]
        with self.engine.connect() as conn:
            return human.latest(conn, *where)

    def has_document(self, doc_id: str) -> bool:
        """Whether a document with exactly this id is stored (no prefix matching)."""
        with self.engine.connect() as conn:
            return conn.execute(select(documents.c.id).where(documents.c.id == doc_id)).first() is not None

    def text_sha256_index(self) -> dict[str, str]:
        """Hex SHA-256 of each stored text -> document id (reads every text once)."""
        with self.engine.connect() as conn:
            return human.text_sha256_index(conn)

    def document_human_layers(self, id_or_prefix: str) -> builtins.list[HumanLayer]:
        """The current human layer of each annotator of one document (E301/E302 as for `get`)."""
        doc_id = self.resolve(id_or_prefix)
        with self.engine.connect() as conn:
            return human.latest(conn, human_layers.c.document_id == doc_id)

    def iter_results(self) -> Iterator[Result]:
        """Every document with its merged analyses, by id, a page at a time (for export)."""
        after = ""
        while True:
            page = select(documents.c.id).where(documents.c.id > after).order_by(documents.c.id)
            with self.engine.connect() as conn:
                ids = conn.execute(page.limit(EXPORT_PAGE)).scalars().all()
                results = _results(conn, ids) if ids else []
            yield from results
            if len(ids) < EXPORT_PAGE:
                return
            after = ids[-1]


class _Transaction:
    """One write transaction; driver errors become StoreError E306 (after the rollback)."""

    def __init__(self, engine: Engine, url: str) -> None:
        self._engine = engine
        self._url = url
        self._connection: Connection | None = None

    def __enter__(self) -> Connection:
        self._context = self._engine.begin()
        try:
            return self._context.__enter__()
        except SQLAlchemyError as exc:
            raise _write_error(self._url, exc) from exc

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self._context.__exit__(kind, exc, tb)
        except SQLAlchemyError as error:  # the COMMIT itself failed
            raise _write_error(self._url, error) from error
        if isinstance(exc, SQLAlchemyError):
            raise _write_error(self._url, exc) from exc


def _write_error(url: str, exc: SQLAlchemyError) -> StoreError:
    return StoreError(StoreError.E_WRITE.format(url=url, reason=_engine.reason(exc)))


_SUMMARY_COLUMNS = (
    documents.c.id,
    documents.c.title,
    documents.c.author,
    documents.c.outlet,
    documents.c.url,
    documents.c.published,
    documents.c.language,
    documents.c.source,
    func.length(documents.c.text).label("chars"),
)


# A later save fills in metadata an earlier one lacked, but never blanks it out or replaces it:
# a copy of the same text from another outlet must not take over the first one's metadata (it is
# kept as a sighting instead).
_KEEP_IF_MISSING = (
    "title",
    "author",
    "outlet",
    "url",
    "published",
    "published_at",
    "language",
    "source",
)


def _dedupe(results: Sequence[Result]) -> builtins.list[Result]:
    """The last result per document id: one statement must not upsert the same row twice."""
    return list({r.document.id: r for r in results}.values())


def _filters(
    outlet: str | None,
    since: Moment | None,
    until: Moment | None,
    query: str | None,
    technique: str | None,
) -> builtins.list[ColumnElement[bool]]:
    conditions: builtins.list[ColumnElement[bool]] = []
    if outlet is not None:
        conditions.append(documents.c.outlet == outlet)
    if since is not None:
        conditions.append(documents.c.published_at >= _rows.query_moment(since))
    if until is not None:
        conditions.append(documents.c.published_at <= _rows.query_moment(until))
    if query:
        conditions.append(
            or_(
                documents.c.title.icontains(query, autoescape=True),
                documents.c.text.icontains(query, autoescape=True),
            )
        )
    if technique is not None:
        spans = technique_spans.c
        found = exists().where(spans.document_id == documents.c.id, spans.technique == technique)
        conditions.append(found)
    return conditions


def _in_chunks(conn: Connection, statement: Select[Any], column: Any, values: Sequence[str]) -> Iterator[Any]:
    stream = iter(values)
    while chunk := builtins.list(islice(stream, CHUNK)):
        yield from conn.execute(statement.where(column.in_(chunk)))


def _reconcile_texts(conn: Connection, docs: Sequence[Document]) -> None:
    """Same id (same normalised text) but another raw text, e.g. CRLF: adopt the new text while
    nothing points into the stored one; refuse it (E304) once analyses' or human layers' spans do."""
    texts = select(documents.c.id, documents.c.text)
    stored = dict(_in_chunks(conn, texts, documents.c.id, [d.id for d in docs]))
    changed = [d for d in docs if stored.get(d.id, d.text) != d.text]
    if not changed:
        return
    ids = [d.id for d in changed]
    used = select(analyses.c.document_id).distinct()
    reviewed = select(human_layers.c.document_id).distinct()
    analysed = sorted(
        {r[0] for r in _in_chunks(conn, used, analyses.c.document_id, ids)}
        | {r[0] for r in _in_chunks(conn, reviewed, human_layers.c.document_id, ids)}
    )
    if analysed:
        raise StoreError(StoreError.E_TEXT_CHANGED.format(id=analysed[0]))
    replace = update(documents).where(documents.c.id == bindparam("doc_id"))
    conn.execute(
        replace.values(text=bindparam("new_text")), [{"doc_id": d.id, "new_text": d.text} for d in changed]
    )


def _insert(conn: Connection, table: Any) -> Any:
    """The dialect's INSERT, which has `on_conflict_do_update` on SQLite and PostgreSQL alike."""
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


def _upsert_documents(conn: Connection, docs: Sequence[Document], now: datetime) -> None:
    if not docs:
        return
    statement = _insert(conn, documents)
    new = statement.excluded
    changes = {name: func.coalesce(documents.c[name], new[name]) for name in _KEEP_IF_MISSING}
    changes["updated_at"] = new.updated_at
    conn.execute(
        statement.on_conflict_do_update(index_elements=[documents.c.id], set_=changes),
        [_rows.document_row(doc, now) for doc in docs],
    )


def _insert_sightings(conn: Connection, docs: Iterable[Document], now: datetime) -> None:
    """One row per new (document, outlet, url, published); those already recorded are skipped."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for doc in docs:  # one statement must not insert the same key twice; the first one seen wins
        row = _rows.sighting_row(doc, now)
        rows.setdefault((row["document_id"], row["origin_hash"]), row)
    if rows:
        conn.execute(_insert(conn, sightings).on_conflict_do_nothing(), list(rows.values()))


def _upsert_analyses(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """One statement per table for the whole batch: round trips, not rows, dominate on PostgreSQL."""
    if not rows:
        return
    statement = _insert(conn, analyses)
    keys = [analyses.c.document_id, analyses.c.analyzer, analyses.c.version]
    set_ = {"payload": statement.excluded.payload, "created_at": statement.excluded.created_at}
    conn.execute(statement.on_conflict_do_update(index_elements=keys, set_=set_), rows)
    _replace_spans(conn, rows)


def _replace_spans(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    spans = technique_spans.c
    conn.execute(
        delete(technique_spans).where(
            and_(
                spans.document_id == bindparam("d"),
                spans.analyzer == bindparam("a"),
                spans.version == bindparam("v"),
            )
        ),
        [{"d": r["document_id"], "a": r["analyzer"], "v": r["version"]} for r in rows],
    )
    new = [
        span
        for r in rows
        for span in _rows.span_rows(r["document_id"], r["analyzer"], r["version"], r["payload"])
    ]
    if new:
        conn.execute(technique_spans.insert(), new)


def _results(conn: Connection, ids: Sequence[str]) -> builtins.list[Result]:
    stored = _in_chunks(conn, select(documents), documents.c.id, ids)
    docs = {row.id: _rows.document_from_row(row) for row in stored}
    newest_first = select(analyses).order_by(analyses.c.created_at.desc(), analyses.c.id.desc())
    by_doc: dict[str, builtins.list[Any]] = {doc_id: [] for doc_id in ids}
    for row in _in_chunks(conn, newest_first, analyses.c.document_id, ids):
        by_doc[row.document_id].append(row)
    merged = {doc_id: _rows.merge_analyses(rows) for doc_id, rows in by_doc.items()}
    return [Result(docs[i], *merged[i]) for i in ids if i in docs]
