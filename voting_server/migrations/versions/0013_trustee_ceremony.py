"""The trustees' key ceremony (密钥仪式) of trustee-mode secret votes (issue 20).

Revision ID: 0013_trustee_ceremony
Revises: 0012_leave
Create Date: 2026-12-07

Two tables: ``trustee_ceremonies`` (one row per ceremony of a sitting: n, k, the logged
start, its phase and, once done, the logged joint key and public shares) and
``trustee_posts`` (each trustee's commitments, shares and verdicts, as logged). Frozen
history, as in 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_trustee_ceremony"
down_revision: str | None = "0012_leave"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "trustee_ceremonies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ceremony_id", sa.String(length=64), nullable=False),
        sa.Column("body_id", sa.Integer(), nullable=False),
        sa.Column("sitting_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("started", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_by", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("key", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["body_id"], ["bodies.id"], name=op.f("fk_trustee_ceremonies_body_id_bodies")
        ),
        sa.ForeignKeyConstraint(
            ["sitting_id"], ["sittings.id"], name=op.f("fk_trustee_ceremonies_sitting_id_sittings")
        ),
        sa.ForeignKeyConstraint(
            ["started_by"],
            ["staff_users.id"],
            name=op.f("fk_trustee_ceremonies_started_by_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trustee_ceremonies")),
        sa.UniqueConstraint("ceremony_id", name=op.f("uq_trustee_ceremonies_ceremony_id")),
    )
    op.create_index(op.f("ix_trustee_ceremonies_sitting_id"), "trustee_ceremonies", ["sitting_id"])
    op.create_table(
        "trustee_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ceremony_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("trustee_index", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ceremony_id"],
            ["trustee_ceremonies.id"],
            name=op.f("fk_trustee_posts_ceremony_id_trustee_ceremonies"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["staff_users.id"], name=op.f("fk_trustee_posts_user_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trustee_posts")),
        sa.UniqueConstraint(
            "ceremony_id",
            "step",
            "trustee_index",
            name=op.f("uq_trustee_posts_ceremony_id_step_trustee_index"),
        ),
    )


def downgrade() -> None:
    op.drop_table("trustee_posts")
    op.drop_index(op.f("ix_trustee_ceremonies_sitting_id"), table_name="trustee_ceremonies")
    op.drop_table("trustee_ceremonies")
