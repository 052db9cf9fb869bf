from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from eam.core.enums import KeyStatus
from eam.core.database import Base, UTCDateTime



class SigningKey(Base):
    """One asymmetric key pair. ``current`` signs; ``previous`` is only published until every
    token it signed has expired (``retire_after``); ``retired`` is kept for the record."""

    __tablename__ = "signing_keys"
    __table_args__ = (
        Index(
            "uq_signing_keys_one_current",
            "status",
            unique=True,
            sqlite_where=text("status = 'current'"),
            postgresql_where=text("status = 'current'"),
        ),
    )

    #: RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key.
    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: PKCS#8 PEM encrypted with the key-encryption key (Fernet).
    private_key_encrypted: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=KeyStatus.CURRENT)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    superseded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    retire_after: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    def is_published(self, now: dt.datetime) -> bool:
        """In the JWKS: the current key, and a previous key until its last token has expired."""
        if self.status == KeyStatus.CURRENT:
            return True
        return self.status == KeyStatus.PREVIOUS and self.retire_after is not None and self.retire_after > now

    def snapshot(self) -> dict[str, object]:
        return {
            "kid": self.kid,
            "alg": self.alg,
            "status": self.status,
            "retire_after": self.retire_after.isoformat() if self.retire_after else None,
        }
