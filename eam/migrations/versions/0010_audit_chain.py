"""audit chain: every audit event carries a hash chained to the previous one

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 09:00:00

``audit_events.prev_hash`` and ``audit_events.hash`` (SHA-256, lowercase hex; the encoding is
:mod:`eam.core.audit_chain`'s). Existing events are chained here in id order, in batches of
:data:`BATCH` (memory stays flat however long the trail), then both columns become NOT NULL.

The append-only triggers refuse the UPDATEs of the backfill, so they are set aside for it and in
force again afterwards, inside the migration's transaction on PostgreSQL (``DISABLE TRIGGER``,
then ``ENABLE``), dropped and created again on SQLite (whose batch mode rebuilds the table, which
drops a table's triggers anyway).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from eam.core.audit_chain import GENESIS, event_hash

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Events read and updated per round trip during the backfill.
BATCH = 5000
SQLITE_TRIGGERS = {
    operation: f"CREATE TRIGGER audit_events_no_{operation.lower()} BEFORE {operation} ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
    for operation in ("UPDATE", "DELETE")
}
PG_TRIGGER = "audit_events_append_only"

events = sa.table(
    "audit_events",
    sa.column("id", sa.BigInteger()),
    sa.column("occurred_at", sa.DateTime(timezone=True)),
    sa.column("actor_id", sa.Uuid()),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("organisation_id", sa.Uuid()),
    sa.column("target_type", sa.String()),
    sa.column("target_id", sa.String()),
    sa.column("before", sa.JSON()),
    sa.column("after", sa.JSON()),
    sa.column("http_request_id", sa.String()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)


def _set_triggers_aside(postgresql: bool) -> None:
    if postgresql:
        op.execute(f"ALTER TABLE audit_events DISABLE TRIGGER {PG_TRIGGER}")
    else:
        for operation in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS audit_events_no_{operation.lower()}")


def _restore_triggers(postgresql: bool) -> None:
    if postgresql:
        op.execute(f"ALTER TABLE audit_events ENABLE TRIGGER {PG_TRIGGER}")
    else:
        for statement in SQLITE_TRIGGERS.values():
            op.execute(statement)


def _backfill() -> None:
    """Chain every event in id order, :data:`BATCH` at a time (keyset: ``id > last``)."""
    bind = op.get_bind()
    fields = [column for column in events.c if column.name not in ("prev_hash", "hash")]
    update = (
        events.update()
        .where(events.c.id == sa.bindparam("event_id"))
        .values(prev_hash=sa.bindparam("new_prev_hash"), hash=sa.bindparam("new_hash"))
    )
    last_id, last_hash = 0, GENESIS
    while True:
        rows = [dict(row._mapping) for row in bind.execute(sa.select(*fields).where(events.c.id > last_id).order_by(events.c.id).limit(BATCH))]
        if not rows:
            return
        for row in rows:  # each event keeps its id, gaps included
            row["prev_hash"], row["hash"] = last_hash, event_hash(row, last_hash)
            last_hash = row["hash"]
        last_id = rows[-1]["id"]
        bind.execute(update, [{"event_id": row["id"], "new_prev_hash": row["prev_hash"], "new_hash": row["hash"]} for row in rows])


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    _set_triggers_aside(postgresql)
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    _backfill()
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
    _restore_triggers(postgresql)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if not postgresql:
        _set_triggers_aside(postgresql)
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
    if not postgresql:
        _restore_triggers(postgresql)
