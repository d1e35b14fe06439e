"""Sightings: every outlet, url and publication time a document was seen with (issue 5).

A document's id is the hash of its text, so byte-identical copies from several outlets were one
`documents` row and all but one outlet was lost. Backfills one sighting per stored document from
its own metadata, with `seen_at` = when it was stored.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL_PAGE = 2_000  # documents per round trip: the backfill never holds a whole corpus


def origin_hash(outlet: str | None, url: str | None, published: str | None) -> str:
    """Frozen copy of `propscope.store._rows.origin_hash` (a migration must not change with it)."""
    key = json.dumps([outlet, url, published], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def upgrade() -> None:
    sightings = op.create_table(
        "sightings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document_id", sa.String(length=64), nullable=False),
        sa.Column("outlet", sa.String(length=255), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("published", sa.String(length=64), nullable=True),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("origin_hash", sa.String(length=64), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_sightings_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sightings")),
        sa.UniqueConstraint("document_id", "origin_hash", name=op.f("uq_sightings_document_id_origin_hash")),
    )
    _backfill(sightings)


def _backfill(sightings: sa.Table) -> None:
    """One sighting per existing document, from its own metadata, a page at a time by id."""
    documents = sa.table(
        "documents",
        *(sa.column(name) for name in ("id", "outlet", "url", "published", "source")),
        sa.column("published_at", sa.DateTime()),  # typed: SQLite hands back datetimes, not strings
        sa.column("created_at", sa.DateTime()),
    )
    bind = op.get_bind()
    query = sa.select(documents).order_by(documents.c.id).limit(BACKFILL_PAGE)
    after = ""
    while page := bind.execute(query.where(documents.c.id > after)).all():
        bind.execute(sightings.insert(), [_row(doc) for doc in page])
        after = page[-1].id


def _row(doc: sa.Row) -> dict[str, object]:
    return {
        "document_id": doc.id,
        "outlet": doc.outlet,
        "url": doc.url,
        "published": doc.published,
        "published_at": doc.published_at,
        "source": doc.source,
        "origin_hash": origin_hash(doc.outlet, doc.url, doc.published),
        "seen_at": doc.created_at,
    }


def downgrade() -> None:
    op.drop_table("sightings")
