"""Initial schema: bodies, members, sittings, agenda items, documents, votes, attendance.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Frozen history: enum values are spelt out here rather than imported from the
models, so that a later change of an enum cannot rewrite what this step did.
Constraint names follow ``models.NAMING_CONVENTION``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, *values: str) -> sa.Enum:
    # A VARCHAR(32) with a named CHECK constraint (ck_<table>_<name>), as in models._enum.
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)  # models.UTCDateTime: timestamptz, naive UTC on SQLite


def upgrade() -> None:
    op.create_table(
        "bodies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", _enum("body_kind", "congress", "standing_committee"), nullable=False),
        sa.Column("level", _enum("body_level", "city", "county", "township"), nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "NOT (kind = 'standing_committee' AND level = 'township')",
            name=op.f("ck_bodies_no_township_committee"),
        ),
        sa.CheckConstraint("member_count >= 0", name=op.f("ck_bodies_member_count_nonnegative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bodies")),
        sa.UniqueConstraint("name", name=op.f("uq_bodies_name")),
    )
    op.create_table(
        "members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("body_id", sa.Integer(), nullable=False),
        sa.Column("seat", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("group_name", sa.String(length=100), nullable=True),
        sa.Column("pin_hash", sa.String(length=255), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint("seat BETWEEN 1 AND 99999", name=op.f("ck_members_seat_range")),
        sa.ForeignKeyConstraint(["body_id"], ["bodies.id"], name=op.f("fk_members_body_id_bodies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        sa.UniqueConstraint("body_id", "seat", name=op.f("uq_members_body_id_seat")),
    )
    op.create_table(
        "sittings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("body_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("starts_at", _utc(), nullable=False),
        sa.Column("status", _enum("sitting_status", "planned", "open", "closed"), nullable=False),
        sa.ForeignKeyConstraint(
            ["body_id"], ["bodies.id"], name=op.f("fk_sittings_body_id_bodies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sittings")),
    )
    op.create_index(op.f("ix_sittings_body_id"), "sittings", ["body_id"])
    op.create_table(
        "agenda_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sitting_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sitting_id"], ["sittings.id"], name=op.f("fk_agenda_items_sitting_id_sittings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agenda_items")),
        sa.UniqueConstraint(
            "sitting_id", "position", name=op.f("uq_agenda_items_sitting_id_position")
        ),
    )
    op.create_table(
        "attendances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sitting_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("signed_in_at", _utc(), nullable=False),
        sa.Column("method", _enum("attendance_method", "kiosk_pin", "operator"), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_attendances_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["sitting_id"], ["sittings.id"], name=op.f("fk_attendances_sitting_id_sittings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendances")),
        sa.UniqueConstraint(
            "sitting_id", "member_id", name=op.f("uq_attendances_sitting_id_member_id")
        ),
    )
    op.create_index(op.f("ix_attendances_member_id"), "attendances", ["member_id"])
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agenda_item_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=127), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agenda_item_id"],
            ["agenda_items.id"],
            name=op.f("fk_documents_agenda_item_id_agenda_items"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
    )
    op.create_index(op.f("ix_documents_agenda_item_id"), "documents", ["agenda_item_id"])
    op.create_table(
        "votes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agenda_item_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("kind", _enum("vote_kind", "motion", "selection", "evaluation"), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("titles", sa.JSON(), nullable=False),
        sa.Column("secret", sa.Boolean(), nullable=False),
        sa.Column("key_policy", _enum("key_policy", "last_press", "first_press"), nullable=False),
        sa.Column(
            "live_tally",
            _enum("live_tally", "hidden", "participation", "breakdown"),
            nullable=False,
        ),
        sa.Column(
            "state",
            _enum("vote_state", "draft", "open", "closed", "cancelled", "announced"),
            nullable=False,
        ),
        sa.Column("rerun_of_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", _utc(), nullable=True),
        sa.Column("closes_at", _utc(), nullable=True),
        sa.Column("closed_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agenda_item_id"],
            ["agenda_items.id"],
            name=op.f("fk_votes_agenda_item_id_agenda_items"),
        ),
        sa.ForeignKeyConstraint(
            ["rerun_of_id"], ["votes.id"], name=op.f("fk_votes_rerun_of_id_votes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_votes")),
    )
    op.create_index(op.f("ix_votes_agenda_item_id"), "votes", ["agenda_item_id"])
    op.create_index(op.f("ix_votes_rerun_of_id"), "votes", ["rerun_of_id"])


def downgrade() -> None:
    # Children before parents; dropping a table drops its indexes.
    for table in (
        "votes",
        "documents",
        "attendances",
        "agenda_items",
        "sittings",
        "members",
        "bodies",
    ):
        op.drop_table(table)
