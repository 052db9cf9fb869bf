from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Date, ForeignKey, Integer, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from eam.core.database import Base, UTCDateTime


class AssignmentReminder(Base):
    """One reminder sent (written to the outbox) that an assignment ends: at most one per
    assignment × days before × end moment (the primary key), so two workers racing send once and
    an assignment whose end is moved (extended) is reminded again before its new end."""

    __tablename__ = "assignment_reminders"

    assignment_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("assignments.id"), primary_key=True)
    #: The ``EAM_REMINDER_DAYS`` entry this reminder stands for.
    days_before: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The assignment's ``valid_until`` when the reminder was sent.
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), primary_key=True)
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class RequestDigest(Base):
    """One daily digest of waiting requests written for an access manager: at most one per
    manager × day (Europe/Brussels; the primary key), so racing workers send it once."""

    __tablename__ = "request_digests"

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class UnmanagedOrganisationNotice(Base):
    """The platform admins were mailed that this active organisation has no access manager. The
    row lives as long as that lasts (the job deletes it once the organisation has one again or is
    disabled), so each occurrence is mailed once, and a later one again."""

    __tablename__ = "unmanaged_organisation_notices"

    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organisations.id"), primary_key=True)
    noticed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
