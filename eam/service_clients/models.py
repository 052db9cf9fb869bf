from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from eam.core.enums import ClientStatus
from eam.core.database import Base, UTCDateTime



class ServiceClient(Base):
    __tablename__ = "service_clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: Applications (token audiences) whose grant tokens this client may introspect and revoke.
    audiences: Mapped[list[str]] = mapped_column(JSON)
    #: SHA-256 of the secret; secrets are 256-bit random values, so no slow hash is needed.
    secret_hash: Mapped[str] = mapped_column(String(64))
    secret_created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default=ClientStatus.ACTIVE)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    def snapshot(self) -> dict[str, object]:
        return {
            "client_id": self.client_id,
            "name": self.name,
            "audiences": list(self.audiences),
            "status": self.status,
            "secret_created_at": self.secret_created_at.isoformat(),
        }
