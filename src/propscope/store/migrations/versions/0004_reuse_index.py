"""Reuse index: compact per-document rows for `propscope corpus` (`reuse_signatures`).

Written for MinHash signatures; since issue 15 the same table holds each document's winnowed
shingle fingerprints (part -1) and its verified alignments (part 1), told apart by `scheme`
(propscope/corpus/index.py). The table's shape did not change, so no migration was needed.

Revises 0003 (api tokens), which already revised 0001: the chain stays linear.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reuse_signatures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document_id", sa.String(length=64), nullable=False),
        sa.Column("scheme", sa.String(length=128), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("words", sa.Integer(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_reuse_signatures_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reuse_signatures")),
        sa.UniqueConstraint(
            "document_id",
            "scheme",
            "part",
            name=op.f("uq_reuse_signatures_document_id_scheme_part"),
        ),
    )


def downgrade() -> None:
    op.drop_table("reuse_signatures")
