"""reminders before an assignment ends

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 15:40:00

- ``assignment_reminders``: which reminder (days before the end) was sent for which assignment
  and end moment; its primary key lets concurrent workers insert-or-ignore, so each is sent once.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assignment_reminders",
        sa.Column("assignment_id", sa.Uuid(), nullable=False),
        sa.Column("days_before", sa.Integer(), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["assignment_id"], ["assignments.id"], name=op.f("fk_assignment_reminders_assignment_id_assignments")),
        sa.PrimaryKeyConstraint("assignment_id", "days_before", "ends_at", name=op.f("pk_assignment_reminders")),
    )


def downgrade() -> None:
    op.drop_table("assignment_reminders")
