from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from eam.core.database import Base, UTCDateTime


class AccessManager(Base):
    """An appointment; its Casbin twin is ``g, user:<id>, role:access_manager, org:<id>``."""

    __tablename__ = "access_managers"

    organisation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organisations.id"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), primary_key=True, index=True)
    appointed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    appointed_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
