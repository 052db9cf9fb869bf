from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from eam.core.database import Base, UTCDateTime


class Register(Base):
    """A register added by a platform admin through the API (file registers live in git)."""

    __tablename__ = "registers"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    applications: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    # The record of processing (GDPR Art. 30): all set for registers added since it exists, all
    # null for those added before ("not recorded yet"). Lengths as RegisterRecord allows them.
    controller: Mapped[str | None] = mapped_column(String(200))
    legal_basis: Mapped[str | None] = mapped_column(String(1000))
    purpose: Mapped[str | None] = mapped_column(String(2000))
    retention_years: Mapped[int | None] = mapped_column(Integer)
    retention_months: Mapped[int | None] = mapped_column(Integer)
    retention_note: Mapped[str | None] = mapped_column(String(500))
    #: The day the register closes (access ends at the end of that day, Brussels time); None: open.
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
