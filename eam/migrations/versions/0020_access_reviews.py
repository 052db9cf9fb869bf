"""access reviews (recertification campaigns)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 16:45:00

- ``access_reviews``: a campaign (scope, deadline, default decision, recurrence, status); a
  recurring one names its predecessor (unique, so it has one successor).
- ``access_review_items``: one per assignment live when the campaign started, keyed by campaign
  × assignment, with its decision.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "access_reviews",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=True),
        sa.Column("application", sa.String(length=32), nullable=True),
        sa.Column("register_code", sa.String(length=32), nullable=True),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("default_decision", sa.String(length=16), nullable=False),
        sa.Column("recurrence", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("previous_id", sa.Uuid(), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"], name=op.f("fk_access_reviews_organisation_id_organisations")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_access_reviews_created_by_users")),
        sa.ForeignKeyConstraint(["previous_id"], ["access_reviews.id"], name=op.f("fk_access_reviews_previous_id_access_reviews")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_reviews")),
        sa.UniqueConstraint("previous_id", name=op.f("uq_access_reviews_previous_id")),
    )
    op.create_index(op.f("ix_access_reviews_organisation_id"), "access_reviews", ["organisation_id"])
    op.create_table(
        "access_review_items",
        sa.Column("review_id", sa.Uuid(), nullable=False),
        sa.Column("assignment_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("application", sa.String(length=32), nullable=False),
        sa.Column("register_code", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("data_level", sa.String(length=64), nullable=True),
        sa.Column("author_group", sa.String(length=128), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("defaulted", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["review_id"], ["access_reviews.id"], name=op.f("fk_access_review_items_review_id_access_reviews")),
        sa.ForeignKeyConstraint(["assignment_id"], ["assignments.id"], name=op.f("fk_access_review_items_assignment_id_assignments")),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"], name=op.f("fk_access_review_items_organisation_id_organisations")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_access_review_items_user_id_users")),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], name=op.f("fk_access_review_items_decided_by_users")),
        sa.PrimaryKeyConstraint("review_id", "assignment_id", name=op.f("pk_access_review_items")),
    )
    op.create_index("ix_access_review_items_review_org_status", "access_review_items", ["review_id", "organisation_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_access_review_items_review_org_status", table_name="access_review_items")
    op.drop_table("access_review_items")
    op.drop_index(op.f("ix_access_reviews_organisation_id"), table_name="access_reviews")
    op.drop_table("access_reviews")
