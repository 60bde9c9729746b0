"""Several bodies on one server: one audit log per body, staff scoped to bodies (issue 16).

Revision ID: 0008_body_logs
Revises: 0007
Create Date: 2026-12-06

``audit_entries`` gains ``body_id`` and its key becomes (body_id, idx): each body's
log is its own hash chain from index 0 (docs/bodies.md). The entries already stored
go to the first body (smallest id), unchanged, so an upgraded single-body database
keeps its log verifying as it did. A database with entries but no body at all (a
server started before any roster was imported) can only hold ``log_started``,
checkpoints and the ``existing`` staff entries: there is no body to give them to,
so they go, and the log of each body created later starts afresh with its accounts.

``presses.entry_idx`` loses its foreign key (an entry's key is now a pair, and the
press's body is its vote's body already) and gets an index instead.

``staff_scopes`` (user_id, body_id): the bodies an account serves; none = every body.

Frozen history, as in 0001: plain column types. Batch mode, so that SQLite rebuilds
the tables whose keys change.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_body_logs"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("presses", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_presses_entry_idx_audit_entries"), type_="foreignkey")
        batch_op.create_index(batch_op.f("ix_presses_entry_idx"), ["entry_idx"], unique=False)

    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("body_id", sa.Integer(), nullable=True))
    first = op.get_bind().scalar(sa.text("SELECT min(id) FROM bodies"))
    if first is None:
        op.execute("DELETE FROM audit_entries")
    else:
        op.execute(sa.text("UPDATE audit_entries SET body_id = :b").bindparams(b=first))
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.alter_column("body_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint(op.f("pk_audit_entries"), type_="primary")
        batch_op.create_primary_key(op.f("pk_audit_entries"), ["body_id", "idx"])
        batch_op.create_foreign_key(
            op.f("fk_audit_entries_body_id_bodies"), "bodies", ["body_id"], ["id"]
        )

    op.create_table(
        "staff_scopes",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("body_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["body_id"], ["bodies.id"], name=op.f("fk_staff_scopes_body_id_bodies")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["staff_users.id"], name=op.f("fk_staff_scopes_user_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("user_id", "body_id", name=op.f("pk_staff_scopes")),
    )
    with op.batch_alter_table("staff_scopes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_scopes_body_id"), ["body_id"], unique=False)


def downgrade() -> None:
    # Only the first body's log fits the single log of 0007: the downgrade fails on a
    # database whose other bodies have logs, rather than mix their chains.
    op.drop_table("staff_scopes")
    first = op.get_bind().scalar(sa.text("SELECT min(body_id) FROM audit_entries"))
    others = (
        op.get_bind().scalar(
            sa.text("SELECT count(*) FROM audit_entries WHERE body_id <> :b").bindparams(b=first)
        )
        if first is not None
        else 0
    )
    if others:
        raise RuntimeError("several bodies have audit logs: 0007 holds one log only")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_audit_entries_body_id_bodies"), type_="foreignkey")
        batch_op.drop_constraint(op.f("pk_audit_entries"), type_="primary")
        batch_op.create_primary_key(op.f("pk_audit_entries"), ["idx"])
        batch_op.drop_column("body_id")
    with op.batch_alter_table("presses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_presses_entry_idx"))
        batch_op.create_foreign_key(
            op.f("fk_presses_entry_idx_audit_entries"), "audit_entries", ["entry_idx"], ["idx"]
        )
