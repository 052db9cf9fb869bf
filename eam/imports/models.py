from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from eam.core.database import Base, UTCDateTime


class Import(Base):
    """An applied CSV import: who, when, in which mode, the file's SHA-256 digest and its receipt
    (which can be downloaded again). Dry runs and refused files write nothing, this included."""

    __tablename__ = "imports"
    __table_args__ = (Index("ix_imports_created_by", "created_by", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    mode: Mapped[str] = mapped_column(String(32))
    file_name: Mapped[str | None] = mapped_column(String(255))
    file_digest: Mapped[str] = mapped_column(String(64))
    line_count: Mapped[int] = mapped_column(Integer)
    organisation_ids: Mapped[list[str]] = mapped_column(JSON)
    summary: Mapped[dict[str, int]] = mapped_column(JSON)
    receipt: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
