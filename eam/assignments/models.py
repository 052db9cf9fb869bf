from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ColumnElement, ForeignKey, Index, String, Text, Uuid, and_, or_, text
from sqlalchemy.orm import Mapped, mapped_column

from eam.core.enums import AssignmentStatus
from eam.core.database import Base, UTCDateTime, new_id



class Assignment(Base):
    __tablename__ = "assignments"
    __table_args__ = (
        # One live assignment per user × organisation × application × register: a profile
        # change is an in-place update, never a second row.
        Index(
            "uq_assignments_one_active",
            "user_id",
            "organisation_id",
            "application",
            "register_code",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_assignments_org_status", "organisation_id", "status"),
        # A register's holders: counted per organisation, or listed at a moment.
        Index("ix_assignments_register_status", "register_code", "status", "organisation_id", "user_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), index=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organisations.id"))
    application: Mapped[str] = mapped_column(String(32))
    register_code: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(64))
    data_level: Mapped[str | None] = mapped_column(String(64))
    author_group: Mapped[str | None] = mapped_column(String(128))
    valid_from: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default=AssignmentStatus.ACTIVE)
    request_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("access_requests.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    revoke_reason: Mapped[str | None] = mapped_column(Text)

    def effective_status(self, now: dt.datetime) -> str:
        """Past ``valid_until`` an assignment is expired at once, whatever the stored status."""
        if self.status == AssignmentStatus.ACTIVE and self.valid_until is not None and self.valid_until <= now:
            return AssignmentStatus.EXPIRED
        if self.status == AssignmentStatus.ACTIVE and self.valid_from > now:
            return AssignmentStatus.SCHEDULED
        return self.status

    def snapshot(self) -> dict[str, object]:
        return {
            "id": str(self.id),
            "user_id": str(self.user_id),
            "organisation_id": str(self.organisation_id),
            "application": self.application,
            "register": self.register_code,
            "role": self.role,
            "data_level": self.data_level,
            "author_group": self.author_group,
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "status": self.status,
        }


def is_active(now: dt.datetime) -> ColumnElement[bool]:
    """SQL twin of :meth:`Assignment.effective_status` == ``active``: the one definition."""
    return and_(
        Assignment.status == AssignmentStatus.ACTIVE,
        Assignment.valid_from <= now,
        or_(Assignment.valid_until.is_(None), Assignment.valid_until > now),
    )


def is_live(now: dt.datetime) -> ColumnElement[bool]:
    """Active or scheduled: not revoked, not expired, so it can still be changed or revoked."""
    return and_(Assignment.status == AssignmentStatus.ACTIVE, or_(Assignment.valid_until.is_(None), Assignment.valid_until > now))
