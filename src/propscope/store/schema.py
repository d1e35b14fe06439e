"""The store's tables, declared once for SQLite and PostgreSQL alike.

Migrations under `migrations/versions/` must create exactly these tables; a test compares this
metadata with a freshly migrated database (Alembic autogenerate) so the two cannot drift.

Portability choices, so both backends return the same rows:
- timestamps are naive `DateTime` columns that always hold UTC (SQLite has no time zones, and a
  timezone-aware column would round-trip differently on the two backends);
- `documents.published` keeps the original ISO 8601 string as given, `published_at` its UTC
  reading for range queries and sorting (NULL when the string is not a parseable date);
- payloads are plain `JSON` (json on PostgreSQL, text on SQLite).

Later issues add tables by new migrations (0003 API tokens, 0004 reuse index, 0005 sightings,
0006 jobs, 0007 human layers), never by editing an applied one; each table is declared here too,
so the drift test sees it.

A document is keyed by its text, so the same article published by several outlets is one row of
`documents` (holding the metadata of its first sighting) and one row of `sightings` per outlet,
url and publication time it was seen with: reuse and coordination count outlets over sightings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Explicit constraint names, so migrations can alter them by name on both backends.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID_LENGTH = 64  # document ids are 20 hex chars today; room for longer user-given ids
NAME_LENGTH = 128


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class DocumentRow(Base):
    """One article, keyed by `Document.id`. Its text is never rewritten: spans point into it."""

    __tablename__ = "documents"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    outlet: Mapped[str | None] = mapped_column(String(255), index=True)
    url: Mapped[str | None] = mapped_column(Text)
    published: Mapped[str | None] = mapped_column(String(64))
    published_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    language: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str | None] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class AnalysisRow(Base):
    """What one analyser version found in one document: the layers it produced, as JSON."""

    __tablename__ = "analyses"
    __table_args__ = (UniqueConstraint("document_id", "analyzer", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("documents.id", ondelete="CASCADE")
    )
    analyzer: Mapped[str] = mapped_column(String(NAME_LENGTH))
    version: Mapped[str] = mapped_column(String(NAME_LENGTH))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class TechniqueSpanRow(Base):
    """Technique spans copied out of `analyses.payload`, so corpus queries can filter and facet."""

    __tablename__ = "technique_spans"
    __table_args__ = (
        ForeignKeyConstraint(
            ["document_id", "analyzer", "version"],
            ["analyses.document_id", "analyses.analyzer", "analyses.version"],
            ondelete="CASCADE",
        ),
        Index(None, "document_id", "analyzer", "version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    analyzer: Mapped[str] = mapped_column(String(NAME_LENGTH))
    version: Mapped[str] = mapped_column(String(NAME_LENGTH))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    technique: Mapped[str] = mapped_column(String(NAME_LENGTH), index=True)
    score: Mapped[float] = mapped_column(Float)


class ErrorRow(Base):
    """A per-document failure, kept so a batch can report (and retry) what it could not do."""

    __tablename__ = "errors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    job: Mapped[str | None] = mapped_column(String(NAME_LENGTH), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ApiTokenRow(Base):
    """An API token for `propscope serve` (migration 0003): only its SHA-256 hash is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class ReuseSignatureRow(Base):
    """A document's row in the reuse index, for `propscope corpus`: its winnowed shingle
    fingerprints (`part` -1) or its verified alignments (`part` 1), see corpus/index.py. (The
    table was made for MinHash signatures of passages; the shape fits both.)

    Kept so adding documents to an indexed corpus hashes only the new ones; `scheme` names the
    shingling and hashing, so a change of either re-hashes instead of mixing incomparable rows.
    Created by migration 0004; used by `propscope.corpus.index`.
    """

    __tablename__ = "reuse_signatures"
    __table_args__ = (UniqueConstraint("document_id", "scheme", "part"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("documents.id", ondelete="CASCADE")
    )
    scheme: Mapped[str] = mapped_column(String(NAME_LENGTH))
    part: Mapped[int] = mapped_column(Integer)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    words: Mapped[int] = mapped_column(Integer)
    signature: Mapped[bytes] = mapped_column(LargeBinary)


class SightingRow(Base):
    """One place a document was seen: an outlet, url and publication time it came with.

    Byte-identical copies share one `documents` row (the id hashes the text), so this is where
    the other outlets of a copy-paste campaign are kept. `origin_hash` is the SHA-256 of
    (outlet, url, published) (`_rows.origin_hash`): unique per document, so re-ingesting a file
    adds nothing, and NULLs cannot defeat the key (a NULL is never equal to another in a UNIQUE
    constraint, on SQLite and PostgreSQL alike). Created (and backfilled) by migration 0005.
    """

    __tablename__ = "sightings"
    __table_args__ = (UniqueConstraint("document_id", "origin_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("documents.id", ondelete="CASCADE")
    )
    outlet: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(Text)
    published: Mapped[str | None] = mapped_column(String(64))
    published_at: Mapped[datetime | None] = mapped_column(DateTime)
    source: Mapped[str | None] = mapped_column(Text)
    origin_hash: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime] = mapped_column(DateTime)


class JobRow(Base):
    """A batch job of `POST /api/analyze` (migration 0006), kept so a restart loses none.

    `status` is queued, running, done or failed; `restarts` counts the server restarts it was
    resumed after. Its articles are rows of `job_items`.
    """

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    total: Mapped[int] = mapped_column(Integer)
    restarts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class JobItemRow(Base):
    """One article of a job: its input until it is done, then the stored document or the error.

    `payload` is the request item as ASCII-only JSON text (a NUL or a lone surrogate cannot
    break either backend); it is cleared once the item is finished, since the stored document
    holds it from then on. `attempts` counts how often analysing it began, so an article that
    was in progress at several restarts is reported (E626) instead of retried for ever.
    """

    __tablename__ = "job_items"

    job_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    payload: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    document_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    title: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(16))
    error_message: Mapped[str | None] = mapped_column(Text)


class HumanLayerRow(Base):
    """One person's review of one document, from one import (migration 0007, issue 18).

    Kept apart from the model layers (`analyses`, `technique_spans`), which an import never
    touches. `content_sha256` hashes the review's spans (`_rows.review_sha256`); it is not
    unique, since a reviewer may return to an earlier version (v1, v2, v1): importing the same
    review again adds nothing because store/human.py compares it with the current layer. The
    latest row per document and annotator (by `reviewed_at`, the tool's review time, else
    `imported_at`; then `id`) is that person's current view.
    """

    __tablename__ = "human_layers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    annotator: Mapped[str] = mapped_column(String(NAME_LENGTH), index=True)
    imported_at: Mapped[datetime] = mapped_column(DateTime)
    source_format: Mapped[str] = mapped_column(String(32))
    source: Mapped[str | None] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)


class HumanSpanRow(Base):
    """One span of a human layer: offsets into the stored text, its layer and label (its text
    is read from the stored document, which is never rewritten once a layer points into it)."""

    __tablename__ = "human_spans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    layer_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("human_layers.id", ondelete="CASCADE"), index=True
    )
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    layer: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(NAME_LENGTH))


documents = Base.metadata.tables["documents"]
analyses = Base.metadata.tables["analyses"]
technique_spans = Base.metadata.tables["technique_spans"]
errors = Base.metadata.tables["errors"]

api_tokens = Base.metadata.tables["api_tokens"]
reuse_signatures = Base.metadata.tables["reuse_signatures"]
sightings = Base.metadata.tables["sightings"]
jobs = Base.metadata.tables["jobs"]
job_items = Base.metadata.tables["job_items"]
human_layers = Base.metadata.tables["human_layers"]
human_spans = Base.metadata.tables["human_spans"]
