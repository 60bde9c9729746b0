"""Separation of duties (分权): designated scrutineers; a paper count's attendance.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

Frozen history, as in 0001: plain column types. Staff accounts that existed
before this revision are logged once (``staff_created``) by the server at
its first start or first staff action (services/staff.py), not here: the
migration has no server key to sign with.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sitting_scrutineers",
        sa.Column("sitting_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("designated_by", sa.Integer(), nullable=False),
        sa.Column("designated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("basis", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["designated_by"],
            ["staff_users.id"],
            name=op.f("fk_sitting_scrutineers_designated_by_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["sitting_id"], ["sittings.id"], name=op.f("fk_sitting_scrutineers_sitting_id_sittings")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["staff_users.id"], name=op.f("fk_sitting_scrutineers_user_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("sitting_id", "user_id", name=op.f("pk_sitting_scrutineers")),
    )
    with op.batch_alter_table("paper_counts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attendance", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("present_reason", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("paper_counts", schema=None) as batch_op:
        batch_op.drop_column("present_reason")
        batch_op.drop_column("attendance")
    op.drop_table("sitting_scrutineers")
