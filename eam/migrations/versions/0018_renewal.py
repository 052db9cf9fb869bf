"""a register's end date

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 17:00:00

- ``registers.ends_on``: the day a register added through the API closes; access to it ends at
  the end of that day, Brussels time (catalogue file registers carry ``ends_on`` in the file).
  Renewal needs no schema: it reopens the same assignment.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("registers") as batch:
        batch.add_column(sa.Column("ends_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("registers") as batch:
        batch.drop_column("ends_on")
