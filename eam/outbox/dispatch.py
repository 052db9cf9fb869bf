"""One delivery function per outbox channel (``email`` → SMTP, ``webhook``/``secevent`` → HTTPS
push): the worker hands each row to its channel's function; a channel with none configured (no
``EAM_SMTP_URL``) fails the attempt, so the row is retried and finally dead-lettered, never lost."""

from __future__ import annotations

from collections.abc import Mapping

from eam.outbox.models import OutboxMessage
from eam.outbox.service import Deliver


class ChannelDispatch:
    def __init__(self, channels: Mapping[str, Deliver]) -> None:
        self.channels = dict(channels)

    async def __call__(self, row: OutboxMessage) -> None:
        deliver = self.channels.get(row.channel)
        if deliver is None:
            raise LookupError(f"no delivery configured for channel {row.channel!r}")
        await deliver(row)
