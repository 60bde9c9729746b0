"""Paper counts (人工计票) and countersignatures (会签); votes.manual.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

Frozen history, as in 0001: plain column types.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)  # models.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "paper_counts",
        sa.Column("vote_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=True),
        sa.Column("ballots", sa.JSON(), nullable=False),
        sa.Column("present", sa.Integer(), nullable=False),
        sa.Column("entered_by", sa.Integer(), nullable=False),
        sa.Column("entered_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entered_by"], ["staff_users.id"], name=op.f("fk_paper_counts_entered_by_staff_users")
        ),
        sa.ForeignKeyConstraint(
            ["vote_id"], ["votes.id"], name=op.f("fk_paper_counts_vote_id_votes")
        ),
        sa.PrimaryKeyConstraint("vote_id", name=op.f("pk_paper_counts")),
    )
    op.create_table(
        "countersignatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vote_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("signed_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["staff_users.id"], name=op.f("fk_countersignatures_user_id_staff_users")
        ),
        sa.ForeignKeyConstraint(
            ["vote_id"], ["votes.id"], name=op.f("fk_countersignatures_vote_id_votes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_countersignatures")),
        sa.UniqueConstraint(
            "vote_id",
            "subject",
            "user_id",
            name=op.f("uq_countersignatures_vote_id_subject_user_id"),
        ),
    )
    with op.batch_alter_table("countersignatures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_countersignatures_vote_id"), ["vote_id"], unique=False)

    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("manual", sa.Boolean(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.drop_column("manual")
    with op.batch_alter_table("countersignatures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_countersignatures_vote_id"))
    op.drop_table("countersignatures")
    op.drop_table("paper_counts")
