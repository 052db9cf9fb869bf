from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from eam.core.database import Base, UTCDateTime


class AuditEvent(Base):
    """Append-only: the database itself refuses UPDATE and DELETE (triggers in the migration).

    Hash-chained (:mod:`eam.core.audit_chain`): ``hash`` is the SHA-256 of every other field
    and ``prev_hash``, the hash of the event before it; ids are given in chain order.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_org_id", "organisation_id", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    #: "<display name> <<subject>>" (up to 200 + 255 characters) or "<client name> <client:<id>>".
    actor: Mapped[str] = mapped_column(String(512))
    action: Mapped[str] = mapped_column(String(64), index=True)
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    http_request_id: Mapped[str | None] = mapped_column(String(128))
    #: The previous event's ``hash`` (64 zeros for the first event), lowercase hex.
    prev_hash: Mapped[str] = mapped_column(String(64))
    #: SHA-256 of this event's canonical encoding with ``prev_hash``, lowercase hex.
    hash: Mapped[str] = mapped_column(String(64))
