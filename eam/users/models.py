from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint, Uuid, false
from sqlalchemy.orm import Mapped, mapped_column

from eam.core.database import Base, UTCDateTime, new_id


class User(Base):
    """A person as known to a login provider (``issuer`` + ``subject``).

    The national number is never stored: only ``national_number_hash``, an HMAC-SHA256 keyed
    with ``EAM_NATIONAL_NUMBER_KEY``, so the same person can be matched but not read back.
    """

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    national_number_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    #: The language of the person's e-mails (``en``, ``nl``, ``fr``), last chosen on the pages or
    #: set through ``PATCH /v1/me``; None: English.
    language: Mapped[str | None] = mapped_column(String(8))
    #: An access manager who prefers one daily digest of the requests waiting for them to a mail
    #: per request (escalations still reach them at once).
    notify_digest: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


#: Issuer of a person registered before their first sign-in; their subject is the keyed hash of
#: their national number until that sign-in links the login identity to the row.
PREPARED_ISSUER = "urn:eam:prepared"


class Membership(Base):
    """A person registered with an organisation by its access managers (by hand or by an import).

    People are related to an organisation through their access and requests too; a membership is
    what relates someone who has none yet, such as a person prepared before their first sign-in.
    A person who left keeps the row, with ``left_at`` set; registering them again clears it.
    """

    __tablename__ = "organisation_members"

    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organisations.id"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), primary_key=True, index=True)
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    added_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    #: When an access manager marked the person as having left the organisation (their access
    #: there ended with it: :mod:`eam.lifecycle.departures`); None while they belong to it.
    left_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
