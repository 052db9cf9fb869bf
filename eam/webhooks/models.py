from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, Boolean, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from eam.core.database import Base, UTCDateTime, new_id


class WebhookSubscription(Base):
    """Where to push which audited events, and how (``format``).

    ``secret_encrypted`` is the Standard Webhooks signing secret (``whsec_…``) encrypted with
    ``EAM_KEY_ENCRYPTION_KEY`` (Fernet, like the signing keys): the delivery worker must recover
    it to sign, so it cannot be hashed; it is shown once, in the answer that creates it.
    ``owner_client_id`` names the service client that created it for itself (None: a platform
    admin's). A paused subscription gets nothing enqueued.
    """

    __tablename__ = "webhook_subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    url: Mapped[str] = mapped_column(String(2000))
    #: Audit actions (``assignment.revoked``…) or ``*`` for all.
    events: Mapped[list[str]] = mapped_column(JSON)
    #: ``standard-webhooks`` (JSON, signed per the Standard Webhooks specification) or ``secevent``
    #: (a Security Event Token per RFC 8417, pushed per RFC 8935).
    format: Mapped[str] = mapped_column(String(32))
    #: Only events about this application's assignments (and organisation-wide events); the
    #: ``aud`` of the security events it receives.
    application: Mapped[str | None] = mapped_column(String(64))
    secret_encrypted: Mapped[str] = mapped_column(String(500))
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_client_id: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    def snapshot(self) -> dict[str, object]:
        """What the audit trail keeps: never the secret."""
        return {
            "url": self.url,
            "events": list(self.events),
            "format": self.format,
            "application": self.application,
            "paused": self.paused,
            "owner_client_id": self.owner_client_id,
        }
