"""Human layers: people's reviews of the model's spans, imported from annotation tools (issue 18).

One `human_layers` row per document, annotator and review, its spans in `human_spans`; the
model layers (`analyses`, `technique_spans`) are left as they are. `reviewed_at` is the tool's
review time where it records one. No unique key on the content: the same review may come back
after another (v1, v2, v1 makes v1 current again), so idempotence is checked in code against
the current layer (store/human.py).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "human_layers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document_id", sa.String(length=64), nullable=False),
        sa.Column("annotator", sa.String(length=128), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.Column("source_format", sa.String(length=32), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_human_layers_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_human_layers")),
    )
    op.create_index(op.f("ix_human_layers_document_id"), "human_layers", ["document_id"], unique=False)
    op.create_index(op.f("ix_human_layers_annotator"), "human_layers", ["annotator"], unique=False)
    op.create_table(
        "human_spans",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("layer_id", sa.Integer(), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("layer", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["layer_id"],
            ["human_layers.id"],
            name=op.f("fk_human_spans_layer_id_human_layers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_human_spans")),
    )
    op.create_index(op.f("ix_human_spans_layer_id"), "human_spans", ["layer_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_human_spans_layer_id"), table_name="human_spans")
    op.drop_table("human_spans")
    op.drop_index(op.f("ix_human_layers_annotator"), table_name="human_layers")
    op.drop_index(op.f("ix_human_layers_document_id"), table_name="human_layers")
    op.drop_table("human_layers")
