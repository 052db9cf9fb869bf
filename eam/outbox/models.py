from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from eam.core.database import Base, UTCDateTime, new_id


class OutboxMessage(Base):
    """One message to deliver (an e-mail today), written in the transaction of the change that
    causes it: a rolled-back change leaves no row, a committed one always has its row.

    ``status`` is ``pending`` until delivered (``delivered``) or given up on after the configured
    number of attempts (``dead``). A worker claims a row by setting ``locked_until`` (its lease)
    and counting the attempt; a lease that runs out (a killed worker) makes the row due again.
    ``last_error`` keeps a short prefix of the last failure, never a secret.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"), Index("ix_outbox_recipient", "recipient"))

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    #: What it is (``email``) and what caused it (``access_request.submitted``…).
    channel: Mapped[str] = mapped_column(String(32))
    event: Mapped[str] = mapped_column(String(64))
    #: Where it goes: an e-mail address for ``email``, a subscription id for ``webhook``/``secevent``.
    recipient: Mapped[str] = mapped_column(String(320))
    #: The message as rendered when it was written (subject, bodies).
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(200))
