from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, Integer, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from eam.core.enums import RequestStatus
from eam.core.database import Base, UTCDateTime, new_id

STATUSES = (RequestStatus.PENDING, RequestStatus.APPROVED, RequestStatus.REJECTED, RequestStatus.WITHDRAWN, RequestStatus.EXPIRED)


class AccessRequest(Base):
    __tablename__ = "access_requests"
    __table_args__ = (
        # At most one pending request per user × organisation × application × register.
        Index(
            "uq_access_requests_one_pending",
            "requester_id",
            "organisation_id",
            "application",
            "register_code",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_access_requests_org_status", "organisation_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    requester_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), index=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organisations.id"))
    application: Mapped[str] = mapped_column(String(32))
    register_code: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(64))
    data_level: Mapped[str | None] = mapped_column(String(64))
    author_group: Mapped[str | None] = mapped_column(String(128))
    justification: Mapped[str] = mapped_column(Text)
    valid_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default=RequestStatus.PENDING)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    decision_comment: Mapped[str | None] = mapped_column(Text)
    assignment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    #: A change request: the assignment its holder asks to change (approval changes it in place).
    #: (``use_alter``: assignments name their request too; the cycle is added after both tables.)
    changes_assignment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("assignments.id", use_alter=True))
    #: Who submitted the request on the requester's behalf (an import awaiting approval); None when
    #: the requester asked themselves. Four-eyes: neither of them decides it.
    submitted_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    #: How far a request left pending too long was escalated (:mod:`eam.access_requests.escalation`):
    #: 0 not, 1 re-sent to every access manager of the organisation, 2 to the platform admins too.
    escalation_level: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    #: When it reached its current escalation level.
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    def effective_status(self, now: dt.datetime) -> str:
        """A pending request past ``expires_at`` is expired at once, before any sweep marks it."""
        if self.status == RequestStatus.PENDING and self.expires_at <= now:
            return RequestStatus.EXPIRED
        return self.status

    def snapshot(self) -> dict[str, object]:
        return {
            "id": str(self.id),
            "requester_id": str(self.requester_id),
            "organisation_id": str(self.organisation_id),
            "application": self.application,
            "register": self.register_code,
            "role": self.role,
            "data_level": self.data_level,
            "author_group": self.author_group,
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "status": self.status,
            "decision_comment": self.decision_comment,
            "assignment_id": str(self.assignment_id) if self.assignment_id else None,
            # (read with getattr: the seeder snapshots plain rows that have no such column)
            **({"changes_assignment_id": str(changes)} if (changes := getattr(self, "changes_assignment_id", None)) else {}),
        }
