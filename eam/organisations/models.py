from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from eam.core.enums import OrganisationStatus
from eam.core.database import Base, UTCDateTime, new_id
from eam.organisations.search import search_key



class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    #: ``name`` case-folded, for case-insensitive search on every backend.
    #: ``name.casefold()``, which can be three times as long as the name (``ß`` becomes ``ss``).
    search_name: Mapped[str] = mapped_column(String(600), index=True)
    #: ``name`` without case, accents, punctuation or spaces (:func:`eam.organisations.search.search_key`).
    search_key: Mapped[str] = mapped_column(String(600), index=True)
    nihdi: Mapped[str] = mapped_column(String(8), unique=True)
    kbo: Mapped[str | None] = mapped_column(String(10), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=OrganisationStatus.ACTIVE)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    def set_name(self, name: str) -> None:
        """The name, and the columns search reads, kept in step."""
        self.name, self.search_name, self.search_key = name, name.casefold(), search_key(name)

    def snapshot(self) -> dict[str, object]:
        return {
            "id": str(self.id),
            "name": self.name,
            "nihdi": self.nihdi,
            "kbo": self.kbo,
            "status": self.status,
        }
