"""The hall display's stage, as the presidium chose it (issue 17).

Revision ID: 0010_display_stage
Revises: 0009_congress
Create Date: 2026-12-06

``bodies`` gain ``display_stage`` (welcome | sign_in | agenda | vote | result | blank, or
NULL: the display follows the votes), ``display_target`` (the agenda item or vote it
shows) and ``display_set_at`` (when it was chosen: a vote opened or closed later takes
the screen back). Every existing body follows the votes, as before. Batch mode for
SQLite, frozen history, as in 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_display_stage"
down_revision: str | None = "0009_congress"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bodies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("display_stage", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("display_target", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("display_set_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bodies", schema=None) as batch_op:
        batch_op.drop_column("display_set_at")
        batch_op.drop_column("display_target")
        batch_op.drop_column("display_stage")
