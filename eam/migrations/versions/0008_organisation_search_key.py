"""organisation search key: names found whatever their case, accents, punctuation and spaces

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 22:00:00

``organisations.search_key`` holds the name reduced by ``eam.organisations.search.search_key``
("AZ Sint-Jan Brugge" → ``azsintjanbrugge``), indexed; the organisation service keeps it in
step with the name. Existing rows are filled in here, then the column becomes NOT NULL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from eam.organisations.search import search_key

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

organisations = sa.table("organisations", sa.column("id", sa.Uuid()), sa.column("name", sa.String()), sa.column("search_key", sa.String()))


def upgrade() -> None:
    op.add_column("organisations", sa.Column("search_key", sa.String(length=600), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.select(organisations.c.id, organisations.c.name)).all()
    if rows:
        bind.execute(
            organisations.update().where(organisations.c.id == sa.bindparam("row_id")).values(search_key=sa.bindparam("key")),
            [{"row_id": row.id, "key": search_key(row.name)} for row in rows],
        )
    with op.batch_alter_table("organisations") as batch_op:
        batch_op.alter_column("search_key", existing_type=sa.String(length=600), nullable=False)
        batch_op.create_index(batch_op.f("ix_organisations_search_key"), ["search_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("organisations") as batch_op:
        batch_op.drop_index(batch_op.f("ix_organisations_search_key"))
        batch_op.drop_column("search_key")
