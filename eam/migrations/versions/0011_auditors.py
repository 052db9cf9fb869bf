"""auditors: read-only appointments per organisation and platform-wide

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 13:40:00

``auditors`` holds who audits which organisation, ``platform_auditors`` who audits every one;
each row has its Casbin grouping row (``role:auditor``), written by the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "auditors",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("appointed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("appointed_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["appointed_by"], ["users.id"], name=op.f("fk_auditors_appointed_by_users")),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"], name=op.f("fk_auditors_organisation_id_organisations")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_auditors_user_id_users")),
        sa.PrimaryKeyConstraint("organisation_id", "user_id", name=op.f("pk_auditors")),
    )
    with op.batch_alter_table("auditors") as batch_op:
        batch_op.create_index(batch_op.f("ix_auditors_user_id"), ["user_id"], unique=False)
    op.create_table(
        "platform_auditors",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("appointed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("appointed_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["appointed_by"], ["users.id"], name=op.f("fk_platform_auditors_appointed_by_users")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_platform_auditors_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_platform_auditors")),
    )


def downgrade() -> None:
    op.drop_table("platform_auditors")
    with op.batch_alter_table("auditors") as batch_op:
        batch_op.drop_index(batch_op.f("ix_auditors_user_id"))
    op.drop_table("auditors")
