from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from eam.core.database import Base

#: The value columns of the Casbin adapter table, in order.
RULE_COLUMNS = ("v0", "v1", "v2", "v3", "v4", "v5")


def rule_columns(table: Any) -> tuple[Any, ...]:
    """``ptype, v0 … v5`` of ``casbin_rule`` or of its change log, in order, for a select."""
    return (table.ptype, *(getattr(table, column) for column in RULE_COLUMNS))


def rule_values(fields: Iterable[str | None]) -> list[str]:
    """A stored row's values as Casbin sees them: trailing empty columns dropped."""
    values = list(fields)
    while values and values[-1] is None:
        values.pop()
    return [value or "" for value in values]


class CasbinRule(Base):
    """The standard Casbin adapter table (``ptype, v0..v5``)."""

    __tablename__ = "casbin_rule"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ptype: Mapped[str] = mapped_column(String(255), index=True)
    v0: Mapped[str | None] = mapped_column(String(255), index=True)
    v1: Mapped[str | None] = mapped_column(String(255))
    v2: Mapped[str | None] = mapped_column(String(255))
    v3: Mapped[str | None] = mapped_column(String(255))
    v4: Mapped[str | None] = mapped_column(String(255))
    v5: Mapped[str | None] = mapped_column(String(255))

    def values(self) -> list[str]:
        return rule_values([self.v0, self.v1, self.v2, self.v3, self.v4, self.v5])


class PolicyVersion(Base):
    """One row: the generation of bulk changes (a seed, a migration) written without log entries.

    A worker that finds it moved loads every row in one batch instead of following the log.
    """

    __tablename__ = "policy_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


class PolicyChange(Base):
    """The change log: one row per ``casbin_rule`` row added or removed, in the same transaction.

    ``seq`` comes from the table's own sequence, without a lock, so writers may commit out of
    order; workers apply entries as invalidations and keep reading skipped numbers for a while
    (:mod:`eam.authz.changes`). On PostgreSQL a trigger announces each ``seq`` with
    ``NOTIFY eam_policy`` at commit.
    """

    __tablename__ = "casbin_rule_changes"

    __table_args__ = {"sqlite_autoincrement": True}  # never reuse a number, even after pruning

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    op: Mapped[str] = mapped_column(String(6))
    ptype: Mapped[str] = mapped_column(String(255))
    v0: Mapped[str | None] = mapped_column(String(255))
    v1: Mapped[str | None] = mapped_column(String(255))
    v2: Mapped[str | None] = mapped_column(String(255))
    v3: Mapped[str | None] = mapped_column(String(255))
    v4: Mapped[str | None] = mapped_column(String(255))
    v5: Mapped[str | None] = mapped_column(String(255))
