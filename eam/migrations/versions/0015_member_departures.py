"""people leaving an organisation

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 15:00:00

- ``organisation_members.left_at``: when an access manager marked the person as having left the
  organisation (their access there ended in the same transaction); null while they belong to it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("organisation_members") as batch:
        batch.add_column(sa.Column("left_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("organisation_members") as batch:
        batch.drop_column("left_at")
