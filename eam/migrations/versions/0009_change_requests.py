"""change requests: a holder asks to change or extend access they hold

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 08:20:00

``access_requests.changes_assignment_id`` names the assignment a request asks to change (another
profile, another end date); approving it changes that assignment in place. Null for a request
for new access.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("access_requests") as batch_op:
        batch_op.add_column(sa.Column("changes_assignment_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_access_requests_changes_assignment_id_assignments"), "assignments", ["changes_assignment_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("access_requests") as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_access_requests_changes_assignment_id_assignments"), type_="foreignkey")
        batch_op.drop_column("changes_assignment_id")
