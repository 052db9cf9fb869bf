"""people before their first sign-in, organisation membership and CSV imports

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 13:40:00

- ``organisation_members``: the people an organisation's access managers registered (by hand or
  by an import), whether or not they have signed in yet. A person registered before their first
  sign-in is a ``users`` row of the issuer ``urn:eam:prepared`` whose subject is the keyed hash
  of their national number; their first sign-in links the login identity to that row.
- ``access_requests.submitted_by``: who submitted a request on the requester's behalf (an
  import "awaiting approval"); four-eyes keeps that person from deciding it.
- ``imports``: every applied CSV import with its file digest, mode, counts and receipt.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organisation_members",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"], name=op.f("fk_organisation_members_organisation_id_organisations")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_organisation_members_user_id_users")),
        sa.ForeignKeyConstraint(["added_by"], ["users.id"], name=op.f("fk_organisation_members_added_by_users")),
        sa.PrimaryKeyConstraint("organisation_id", "user_id", name=op.f("pk_organisation_members")),
    )
    with op.batch_alter_table("organisation_members") as batch_op:
        batch_op.create_index(batch_op.f("ix_organisation_members_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("access_requests") as batch_op:
        batch_op.add_column(sa.Column("submitted_by", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_access_requests_submitted_by_users"), "users", ["submitted_by"], ["id"])
    op.create_table(
        "imports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("mode", sa.String(length=32), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("file_digest", sa.String(length=64), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("organisation_ids", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("receipt", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_imports_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imports")),
    )
    with op.batch_alter_table("imports") as batch_op:
        batch_op.create_index(batch_op.f("ix_imports_created_by"), ["created_by", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("imports") as batch_op:
        batch_op.drop_index(batch_op.f("ix_imports_created_by"))
    op.drop_table("imports")
    with op.batch_alter_table("access_requests") as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_access_requests_submitted_by_users"), type_="foreignkey")
        batch_op.drop_column("submitted_by")
    with op.batch_alter_table("organisation_members") as batch_op:
        batch_op.drop_index(batch_op.f("ix_organisation_members_user_id"))
    op.drop_table("organisation_members")
