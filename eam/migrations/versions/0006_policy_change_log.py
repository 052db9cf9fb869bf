"""policy change log: workers apply committed policy changes one by one instead of reloading

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 17:00:00

``casbin_rule_changes`` gets one row per ``casbin_rule`` row added or removed, written in the
same transaction, numbered by its own sequence (no lock between writers). On PostgreSQL a row
trigger sends ``NOTIFY eam_policy, '<seq>'`` (delivered at commit) so that every worker and node
wakes up and reads what it has not seen. ``policy_version`` now counts bulk changes only.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "casbin_rule_changes",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("op", sa.String(length=6), nullable=False),
        sa.Column("ptype", sa.String(length=255), nullable=False),
        *(sa.Column(f"v{index}", sa.String(length=255), nullable=True) for index in range(6)),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_casbin_rule_changes")),
        sqlite_autoincrement=True,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION eam_notify_policy_change() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_notify('eam_policy', NEW.seq::text); RETURN NULL; END $$"
        )
        op.execute(
            "CREATE TRIGGER casbin_rule_changes_notify AFTER INSERT ON casbin_rule_changes "
            "FOR EACH ROW EXECUTE FUNCTION eam_notify_policy_change()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS casbin_rule_changes_notify ON casbin_rule_changes")
        op.execute("DROP FUNCTION IF EXISTS eam_notify_policy_change()")
    op.drop_table("casbin_rule_changes")
