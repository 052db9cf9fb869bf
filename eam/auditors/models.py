"""Auditor appointments: per organisation, and platform-wide.

An auditor (a data protection officer, an internal or external auditor) reads audit events,
assignments, access requests, register holders, people and access managers, and changes
nothing. Each appointment has its Casbin twin, written in the same transaction:
``g, user:<id>, role:auditor, org:<id>`` (an organisation's) or ``g, user:<id>, role:auditor, *``
(platform-wide).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from eam.core.database import Base, UTCDateTime


class Auditor(Base):
    """An auditor of one organisation, appointed by its access managers or a platform admin."""

    __tablename__ = "auditors"

    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organisations.id"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), primary_key=True, index=True)
    appointed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    appointed_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))


class PlatformAuditor(Base):
    """An auditor of every organisation, appointed by a platform admin."""

    __tablename__ = "platform_auditors"

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), primary_key=True)
    appointed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    appointed_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
