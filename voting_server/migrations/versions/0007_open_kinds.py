"""Vote kinds are open: the CHECK that listed them goes (issue 15).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

A vote kind is a module registered with ``rules.kinds.registry``; the
database no longer enumerates the kinds, so adding one needs no migration.
``votes.kind`` stays a VARCHAR(32). Batch mode, so that SQLite (which
cannot drop a constraint in place) rebuilds the table; the other CHECKs of
``votes`` are kept by the rebuild. Frozen history, as in 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS_0006 = ("motion", "selection", "evaluation")  # the kinds the dropped CHECK listed


def upgrade() -> None:
    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_votes_vote_kind"), type_="check")
        batch_op.alter_column(
            "kind",
            existing_type=sa.Enum(*KINDS_0006, name="vote_kind", native_enum=False, length=32),
            type_=sa.String(length=32),
            existing_nullable=False,
        )


def downgrade() -> None:
    # Votes of a kind registered since cannot go back under the old CHECK: the
    # downgrade fails on them, as it should, rather than lose them.
    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_votes_vote_kind"), sa.column("kind").in_(KINDS_0006)
        )
