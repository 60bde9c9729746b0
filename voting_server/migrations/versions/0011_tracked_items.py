"""Tracked items (督办事项): livelihood projects, topics, rectifications (issue 18).

Revision ID: 0011_tracked_items
Revises: 0010_display_stage
Create Date: 2026-12-06

Three new tables: ``tracked_items`` (an item, its state and the vote it awaits),
``item_documents`` (its reports) and ``item_events`` (every change of state, who made
it and the ``item_changed`` log entry that records it). Nothing existing changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_tracked_items"
down_revision: str | None = "0010_display_stage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tracked_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("body_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("proposer_member_id", sa.Integer(), nullable=True),
        sa.Column("proposer_name", sa.String(length=100), nullable=True),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("pending_vote_id", sa.Integer(), nullable=True),
        sa.Column("reports", sa.JSON(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("deadline", sa.String(length=10), nullable=True),
        sa.Column("issues", sa.Text(), nullable=True),
        sa.Column("opened_by_vote_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["body_id"], ["bodies.id"], name=op.f("fk_tracked_items_body_id_bodies")
        ),
        sa.ForeignKeyConstraint(
            ["proposer_member_id"], ["members.id"],
            name=op.f("fk_tracked_items_proposer_member_id_members"),
        ),
        sa.ForeignKeyConstraint(
            ["pending_vote_id"], ["votes.id"], name=op.f("fk_tracked_items_pending_vote_id_votes")
        ),
        sa.ForeignKeyConstraint(
            ["opened_by_vote_id"], ["votes.id"],
            name=op.f("fk_tracked_items_opened_by_vote_id_votes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracked_items")),
    )  # fmt: skip
    for column in ("body_id", "year", "subject", "proposer_member_id", "pending_vote_id"):
        op.create_index(op.f(f"ix_tracked_items_{column}"), "tracked_items", [column])
    op.create_table(
        "item_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=127), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["tracked_items.id"], name=op.f("fk_item_documents_item_id_tracked_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_documents")),
    )
    op.create_index(op.f("ix_item_documents_item_id"), "item_documents", ["item_id"])
    op.create_table(
        "item_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=32), nullable=True),
        sa.Column("to_state", sa.String(length=32), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("vote_id", sa.Integer(), nullable=True),
        sa.Column("period", sa.String(length=16), nullable=True),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["tracked_items.id"], name=op.f("fk_item_events_item_id_tracked_items")
        ),
        sa.ForeignKeyConstraint(
            ["by_id"], ["staff_users.id"], name=op.f("fk_item_events_by_id_staff_users")
        ),
        sa.ForeignKeyConstraint(
            ["document_id"], ["item_documents.id"],
            name=op.f("fk_item_events_document_id_item_documents"),
        ),
        sa.ForeignKeyConstraint(
            ["vote_id"], ["votes.id"], name=op.f("fk_item_events_vote_id_votes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_events")),
    )  # fmt: skip
    op.create_index(op.f("ix_item_events_item_id"), "item_events", ["item_id"])
    op.create_index(op.f("ix_item_events_vote_id"), "item_events", ["vote_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_item_events_vote_id"), table_name="item_events")
    op.drop_index(op.f("ix_item_events_item_id"), table_name="item_events")
    op.drop_table("item_events")
    op.drop_index(op.f("ix_item_documents_item_id"), table_name="item_documents")
    op.drop_table("item_documents")
    for column in ("pending_vote_id", "proposer_member_id", "subject", "year", "body_id"):
        op.drop_index(op.f(f"ix_tracked_items_{column}"), table_name="tracked_items")
    op.drop_table("tracked_items")
