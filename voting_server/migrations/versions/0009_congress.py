"""The congress session: 列席 attendees, the presidium, its votes, 分会场 (issue 16).

Revision ID: 0009_congress
Revises: 0008_body_logs
Create Date: 2026-12-06

``members`` gain ``role`` (deputy | attendee) and ``presidium`` (none | member |
executive_chair); every existing member becomes a deputy outside the presidium, so an
upgraded body counts exactly as before. ``votes`` gain ``electorate`` (body |
presidium; existing votes: body) and ``requires_vote_id``. ``devices`` and
``enrollment_codes`` gain ``venue`` (分会场; existing tablets: none).
Batch mode for SQLite, frozen history, as in 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_congress"
down_revision: str | None = "0008_body_logs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "role", _enum("member_role", "deputy", "attendee"),
                nullable=False, server_default="deputy",
            )
        )  # fmt: skip
        batch_op.add_column(
            sa.Column(
                "presidium", _enum("presidium_seat", "none", "member", "executive_chair"),
                nullable=False, server_default="none",
            )
        )  # fmt: skip
        batch_op.create_check_constraint(
            op.f("ck_members_presidium_deputies_only"), "role = 'deputy' OR presidium = 'none'"
        )
    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "electorate", _enum("electorate", "body", "presidium"),
                nullable=False, server_default="body",
            )
        )  # fmt: skip
        batch_op.add_column(sa.Column("requires_vote_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_votes_requires_vote_id"), ["requires_vote_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_votes_requires_vote_id_votes"), "votes", ["requires_vote_id"], ["id"]
        )
    for table in ("devices", "enrollment_codes"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("venue", sa.String(length=50), nullable=True))


def downgrade() -> None:
    for table in ("enrollment_codes", "devices"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("venue")
    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_votes_requires_vote_id_votes"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_votes_requires_vote_id"))
        batch_op.drop_column("requires_vote_id")
        batch_op.drop_constraint(op.f("ck_votes_electorate"), type_="check")
        batch_op.drop_column("electorate")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_members_presidium_deputies_only"), type_="check")
        batch_op.drop_constraint(op.f("ck_members_presidium_seat"), type_="check")
        batch_op.drop_constraint(op.f("ck_members_member_role"), type_="check")
        batch_op.drop_column("presidium")
        batch_op.drop_column("role")
