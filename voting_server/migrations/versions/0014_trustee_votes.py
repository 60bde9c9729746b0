"""Trustee-mode secret votes (issue 20): two columns of ``votes``.

Revision ID: 0014_trustee_votes
Revises: 0013_trustee_ceremony
Create Date: 2026-12-06

``trustees`` (configured: a secret vote whose ballots are encrypted to the sitting's
joint key) and ``trustee_data`` (set at open: the ``trustees`` object of ``vote_opened``
with the ceremony's public shares; at close the aggregates; then each scrutineer's
decryption shares as logged). Frozen history, as in 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_trustee_votes"
down_revision: str | None = "0013_trustee_ceremony"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("votes") as batch:
        batch.add_column(sa.Column("trustees", sa.Boolean(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("trustee_data", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("votes") as batch:
        batch.drop_column("trustee_data")
        batch.drop_column("trustees")
