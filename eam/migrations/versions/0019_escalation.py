"""mail language, digest preference, escalation of stale requests

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 16:45:00

- ``users.language``: the language a person's e-mails are written in (en, nl, fr; NULL: English).
- ``users.notify_digest``: an access manager who prefers one daily digest of waiting requests.
- ``access_requests.escalation_level`` / ``escalated_at``: a request pending too long was re-sent
  to every access manager of its organisation (1), then to the platform admins (2).
- ``request_digests``: one digest per access manager and day (insert-or-ignore: sent once).
- ``unmanaged_organisation_notices``: the platform admins were mailed that an active organisation
  has no access manager; the row lives while that lasts, so each occurrence is mailed once.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("language", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("notify_digest", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("access_requests") as batch:
        batch.add_column(sa.Column("escalation_level", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "request_digests",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_request_digests_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", "day", name=op.f("pk_request_digests")),
    )
    op.create_table(
        "unmanaged_organisation_notices",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("noticed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"], name=op.f("fk_unmanaged_organisation_notices_organisation_id_organisations")),
        sa.PrimaryKeyConstraint("organisation_id", name=op.f("pk_unmanaged_organisation_notices")),
    )


def downgrade() -> None:
    op.drop_table("unmanaged_organisation_notices")
    op.drop_table("request_digests")
    with op.batch_alter_table("access_requests") as batch:
        batch.drop_column("escalated_at")
        batch.drop_column("escalation_level")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("notify_digest")
        batch.drop_column("language")
