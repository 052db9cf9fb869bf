"""webhook subscriptions

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 16:50:00

- ``webhook_subscriptions``: where audited events are pushed (Standard Webhooks or RFC 8417
  security events), with the signing secret encrypted at rest.
- ``ix_outbox_recipient``: a subscription's deliveries are the outbox rows naming it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("application", sa.String(length=64), nullable=True),
        sa.Column("secret_encrypted", sa.String(length=500), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("owner_client_id", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscriptions")),
    )
    op.create_index("ix_outbox_recipient", "outbox", ["recipient"])


def downgrade() -> None:
    op.drop_index("ix_outbox_recipient", table_name="outbox")
    op.drop_table("webhook_subscriptions")
