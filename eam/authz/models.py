from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from eam.database import Base


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
        fields = [self.v0, self.v1, self.v2, self.v3, self.v4, self.v5]
        while fields and fields[-1] is None:
            fields.pop()
        return [value or "" for value in fields]


class PolicyVersion(Base):
    """One row, bumped in the same transaction as every ``casbin_rule`` change.

    Each worker compares it with the version its enforcer was built from at the start of
    every request, so a change committed by one worker is enforced by all from the next request.
    """

    __tablename__ = "policy_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


class PolicyChange(Base):
    """The change log: one row per ``casbin_rule`` row added or removed, in the same transaction.

    ``seq`` is taken from ``policy_version`` (bumped by the writer), whose row lock orders
    committing writers: a change with a higher ``seq`` never commits before one with a lower
    ``seq``, so a worker that read up to ``seq`` N has missed nothing below it. Workers apply
    ``seq > last_seen`` incrementally; on PostgreSQL a trigger sends ``NOTIFY eam_policy`` with
    each committed change as the wake-up.
    """

    __tablename__ = "casbin_rule_changes"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    op: Mapped[str] = mapped_column(String(6))
    ptype: Mapped[str] = mapped_column(String(255))
    v0: Mapped[str | None] = mapped_column(String(255))
    v1: Mapped[str | None] = mapped_column(String(255))
    v2: Mapped[str | None] = mapped_column(String(255))
    v3: Mapped[str | None] = mapped_column(String(255))
    v4: Mapped[str | None] = mapped_column(String(255))
    v5: Mapped[str | None] = mapped_column(String(255))

    def values(self) -> list[str]:
        fields = [self.v0, self.v1, self.v2, self.v3, self.v4, self.v5]
        while fields and fields[-1] is None:
            fields.pop()
        return [value or "" for value in fields]
