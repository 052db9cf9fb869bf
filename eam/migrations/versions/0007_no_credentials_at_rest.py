"""no credentials or national numbers at rest after sign-in

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 21:40:00

``browser_sessions.id_token`` kept the provider's ID token for RP-initiated logout: it carries
the person's national number in clear and is a bearer credential until it expires. The column
and every value in it are dropped (logout now names the client instead of the token).

``login_attempts`` kept the ``state``, ``nonce`` and PKCE ``code_verifier`` in clear. Sign-ins
in progress now keep only the state's SHA-256 and the nonce and verifier sealed with a key
derived from the state. The table holds sign-ins of at most ten minutes, which cannot be
converted (the states are not known): it is recreated empty, and a browser in the middle of a
sign-in during the upgrade starts again at ``/auth/login``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _login_attempts(*key_columns: sa.Column, key: str) -> None:
    op.create_table(
        "login_attempts",
        *key_columns,
        sa.Column("return_to", sa.String(length=512), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(key, name=op.f("pk_login_attempts")),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_attempts_expires_at"), ["expires_at"], unique=False)


def _drop_login_attempts() -> None:
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_attempts_expires_at"))
    op.drop_table("login_attempts")


def upgrade() -> None:
    with op.batch_alter_table("browser_sessions", schema=None) as batch_op:
        batch_op.drop_column("id_token")
    _drop_login_attempts()
    _login_attempts(
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        key="state_hash",
    )


def downgrade() -> None:
    _drop_login_attempts()
    _login_attempts(
        sa.Column("state", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        key="state",
    )
    with op.batch_alter_table("browser_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("id_token", sa.Text(), nullable=True))
