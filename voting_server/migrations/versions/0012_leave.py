"""Leave (请假) for deputies' records (issue 18).

Revision ID: 0012_leave
Revises: 0011_tracked_items
Create Date: 2026-12-06

A table ``leaves``: one row per (sitting, member) whose leave the secretariat recorded,
with the reason, who recorded it and when. Frozen history, as in 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_leave"
down_revision: str | None = "0011_tracked_items"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "leaves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sitting_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_leaves_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["staff_users.id"], name=op.f("fk_leaves_recorded_by_staff_users")
        ),
        sa.ForeignKeyConstraint(
            ["sitting_id"], ["sittings.id"], name=op.f("fk_leaves_sitting_id_sittings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leaves")),
        sa.UniqueConstraint("sitting_id", "member_id", name=op.f("uq_leaves_sitting_id_member_id")),
    )
    op.create_index(op.f("ix_leaves_member_id"), "leaves", ["member_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_leaves_member_id"), table_name="leaves")
    op.drop_table("leaves")
