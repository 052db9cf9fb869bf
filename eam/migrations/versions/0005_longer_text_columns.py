"""columns long enough for what is written into them

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 06:30:00

- ``organisations.search_name`` holds ``name.casefold()``, which expands some characters (``ß``
  to ``ss``, ``ﬃ`` to ``ffi``, ``ΐ`` to three code points): a valid 200-character name could
  not be stored on PostgreSQL. Now 600.
- ``audit_events.actor`` holds ``<display name> <<subject>>`` (up to 200 + 255 characters) or
  ``<client name> <client:<id>>`` (up to 274): a long name or subject made every write fail on
  PostgreSQL. Now 512. SQLite does not enforce lengths, but its batch mode rebuilds the table,
  so the append-only triggers are dropped and created again around it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TRIGGERS = {
    operation: f"CREATE TRIGGER audit_events_no_{operation.lower()} BEFORE {operation} ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
    for operation in ("UPDATE", "DELETE")
}


def _resize(table: str, column: str, old: int, new: int, *, nullable: bool = False) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite and table == "audit_events":
        for operation in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS audit_events_no_{operation.lower()}")
    with op.batch_alter_table(table) as batch_op:
        batch_op.alter_column(
            column,
            existing_type=sa.String(length=old),
            type_=sa.String(length=new),
            existing_nullable=nullable,
            postgresql_using=f"left({column}, {new})",
        )
    if sqlite and table == "audit_events":
        for statement in SQLITE_TRIGGERS.values():
            op.execute(statement)


def upgrade() -> None:
    _resize("organisations", "search_name", 200, 600)
    _resize("audit_events", "actor", 255, 512)


def downgrade() -> None:
    _resize("audit_events", "actor", 512, 255)
    _resize("organisations", "search_name", 600, 200)
