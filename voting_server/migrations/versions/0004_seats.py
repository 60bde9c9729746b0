"""Proxy sign-in and tablet replacement: attendances.pin_device, devices.pending,
device_replacements.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

Frozen history, as in 0001: enum values spelt out, plain column types.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)  # models.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("attendances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pin_device", sa.String(length=40), nullable=True))
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pending", sa.Boolean(), nullable=False, server_default="0"))
    op.create_table(
        "device_replacements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("body_id", sa.Integer(), nullable=False),
        sa.Column("seat", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=40), nullable=False),
        sa.Column("old_device_id", sa.String(length=40), nullable=True),
        sa.Column("requested_at", _utc(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "confirmed",
                "rejected",
                "superseded",
                name="replacement_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", _utc(), nullable=True),
        sa.Column("sitting_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["body_id"], ["bodies.id"], name=op.f("fk_device_replacements_body_id_bodies")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["staff_users.id"],
            name=op.f("fk_device_replacements_decided_by_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_device_replacements_device_id_devices")
        ),
        sa.ForeignKeyConstraint(
            ["sitting_id"], ["sittings.id"], name=op.f("fk_device_replacements_sitting_id_sittings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_replacements")),
        sa.UniqueConstraint("device_id", name=op.f("uq_device_replacements_device_id")),
    )
    with op.batch_alter_table("device_replacements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_device_replacements_body_id"), ["body_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_device_replacements_sitting_id"), ["sitting_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("device_replacements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_replacements_sitting_id"))
        batch_op.drop_index(batch_op.f("ix_device_replacements_body_id"))
    op.drop_table("device_replacements")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_column("pending")
    with op.batch_alter_table("attendances", schema=None) as batch_op:
        batch_op.drop_column("pin_device")
