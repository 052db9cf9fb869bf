"""register records: controller, legal basis, purpose and retention of API-added registers

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 09:00:00

The record of processing of a register (GDPR Art. 30): who is the controller, on which legal
basis and for which purpose its data are processed, and how long they are kept (a period in
years and months, with an optional note of what it counts from). Registers of the catalogue
file carry theirs in the file; those added through the API before this revision get nulls and
read as "not recorded yet". Registers added from now on must give one.

``ix_assignments_register_status`` serves the per-organisation holder counts of a register
(``GET /v1/registers/{code}/holder-counts``) and the holders of a register at a moment: both
filter assignments by register, which no index led with before.

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("registers") as batch_op:
        batch_op.add_column(sa.Column("controller", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("legal_basis", sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column("purpose", sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column("retention_years", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("retention_months", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("retention_note", sa.String(length=500), nullable=True))
    op.create_index(
        "ix_assignments_register_status", "assignments", ["register_code", "status", "organisation_id", "user_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_assignments_register_status", table_name="assignments")
    with op.batch_alter_table("registers") as batch_op:
        for column in ("retention_note", "retention_months", "retention_years", "purpose", "legal_basis", "controller"):
            batch_op.drop_column(column)
