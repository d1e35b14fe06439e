"""Initial schema: documents, analyses per analyser version, technique spans, errors.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=64)
NAME = sa.String(length=128)


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", ID, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("author", sa.Text(), nullable=True),
        sa.Column("outlet", sa.String(length=255), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("published", sa.String(length=64), nullable=True),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
    )
    op.create_index(op.f("ix_documents_outlet"), "documents", ["outlet"])
    op.create_index(op.f("ix_documents_published_at"), "documents", ["published_at"])

    op.create_table(
        "errors",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("job", NAME, nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_errors")),
    )
    op.create_index(op.f("ix_errors_job"), "errors", ["job"])

    op.create_table(
        "analyses",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document_id", ID, nullable=False),
        sa.Column("analyzer", NAME, nullable=False),
        sa.Column("version", NAME, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_analyses_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analyses")),
        sa.UniqueConstraint(
            "document_id",
            "analyzer",
            "version",
            name=op.f("uq_analyses_document_id_analyzer_version"),
        ),
    )

    op.create_table(
        "technique_spans",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document_id", ID, nullable=False),
        sa.Column("analyzer", NAME, nullable=False),
        sa.Column("version", NAME, nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("technique", NAME, nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id", "analyzer", "version"],
            ["analyses.document_id", "analyses.analyzer", "analyses.version"],
            name=op.f("fk_technique_spans_document_id_analyzer_version_analyses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_technique_spans")),
    )
    op.create_index(
        op.f("ix_technique_spans_document_id_analyzer_version"),
        "technique_spans",
        ["document_id", "analyzer", "version"],
    )
    op.create_index(op.f("ix_technique_spans_technique"), "technique_spans", ["technique"])


def downgrade() -> None:
    op.drop_table("technique_spans")
    op.drop_table("analyses")
    op.drop_table("errors")
    op.drop_table("documents")
