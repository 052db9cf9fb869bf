"""Access review campaigns and their items (one per assignment live when the campaign started)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from eam.core.database import Base, UTCDateTime
from eam.core.enums import ReviewStatus


class AccessReview(Base):
    """A campaign: every live assignment in its scope (an organisation, an application, a
    register, or a combination) is to be kept, changed or revoked by its deadline; what is not
    decided by then gets ``default_decision``. A recurring campaign starts the next one when it
    closes (``previous_id`` is unique: one successor, however many workers close it)."""

    __tablename__ = "access_reviews"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("organisations.id"), index=True)
    application: Mapped[str | None] = mapped_column(String(32))
    register_code: Mapped[str | None] = mapped_column(String(32))
    deadline: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    default_decision: Mapped[str] = mapped_column(String(16))
    recurrence: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=ReviewStatus.OPEN)
    item_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    #: Who started it; None when EAM started it (the next campaign of a recurring one).
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    previous_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("access_reviews.id"), unique=True)
    #: When the reviewers were reminded that the deadline nears (once; compare-and-set).
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    def scope(self) -> dict[str, object]:
        return {
            "organisation_id": str(self.organisation_id) if self.organisation_id else None,
            "application": self.application,
            "register": self.register_code,
        }


class AccessReviewItem(Base):
    """One assignment to review, as it stood when the campaign started. Identified within its
    campaign by the assignment's id. ``status`` goes ``pending`` → ``decided`` once
    (compare-and-set): two reviewers racing get one success and one conflict."""

    __tablename__ = "access_review_items"
    __table_args__ = (Index("ix_access_review_items_review_org_status", "review_id", "organisation_id", "status"),)

    review_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("access_reviews.id"), primary_key=True)
    assignment_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("assignments.id"), primary_key=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organisations.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    application: Mapped[str] = mapped_column(String(32))
    register_code: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(64))
    data_level: Mapped[str | None] = mapped_column(String(64))
    author_group: Mapped[str | None] = mapped_column(String(128))
    valid_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))
    decision: Mapped[str | None] = mapped_column(String(16))
    #: Decided by the campaign's default at its deadline, not by a reviewer.
    defaulted: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
