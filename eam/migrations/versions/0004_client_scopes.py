"""service-client scopes: existing clients keep introspection, now as a Casbin scope row

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCOPE = "scope:tokens:introspect"


def upgrade() -> None:
    # Before scopes, every active client could introspect; it keeps that as a granted scope.
    op.execute(
        sa.text(
            "INSERT INTO casbin_rule (ptype, v0, v1, v2) "
            "SELECT 'g', 'client:' || client_id, :scope, '*' FROM service_clients WHERE status = 'active'"
        ).bindparams(scope=SCOPE)
    )
    op.execute("UPDATE policy_version SET version = version + 1 WHERE id = 1")


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM casbin_rule WHERE ptype = 'g' AND v0 LIKE 'client:%'"))
    op.execute("UPDATE policy_version SET version = version + 1 WHERE id = 1")
