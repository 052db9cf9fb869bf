from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from eam.core.database import Base, UTCDateTime


class RevokedGrantToken(Base):
    """A grant token revoked by its holder or a service client (RFC 7009). Kept until it expires."""

    __tablename__ = "revoked_grant_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    revoked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    #: ``user:<uuid>`` or ``client:<client_id>``.
    revoked_by: Mapped[str] = mapped_column(String(128))
