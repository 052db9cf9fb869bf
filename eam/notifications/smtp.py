"""Sending e-mail over SMTP (``aiosmtplib``), configured by ``EAM_SMTP_URL`` and ``EAM_SMTP_FROM``.

``smtp://host[:port]`` (default port 25) speaks plain SMTP, upgraded with STARTTLS when the URL
says ``?starttls=true``; ``smtps://host[:port]`` (default 465) uses implicit TLS. A user name and
password in the URL are used to log in; they never appear in an error kept by the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from eam.core.settings import Settings
from eam.notifications.mail import build_message
from eam.outbox.models import OutboxMessage

EMAIL = "email"


@dataclass(frozen=True)
class SmtpMailer:
    host: str
    port: int
    sender: str
    use_tls: bool
    start_tls: bool
    timeout: float
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpMailer:
        if settings.smtp_url is None:
            raise ValueError("EAM_SMTP_URL is not set")
        url = urlsplit(settings.smtp_url)
        implicit = url.scheme == "smtps"
        query = parse_qs(url.query)
        return cls(
            host=url.hostname or "localhost",
            port=url.port or (465 if implicit else 25),
            sender=settings.smtp_from,
            use_tls=implicit,
            start_tls=not implicit and query.get("starttls", ["false"])[0].lower() in ("1", "true", "yes"),
            timeout=settings.smtp_timeout_seconds,
            username=unquote(url.username) if url.username else None,
            password=unquote(url.password) if url.password else None,
        )

    async def __call__(self, row: OutboxMessage) -> None:
        """Deliver one outbox row (an ``email``); raises on any failure, so the outbox retries."""
        if row.channel != EMAIL:
            raise ValueError(f"no delivery for channel {row.channel!r}")
        # Flattened here, with the message's own policy (aiosmtplib would flatten with the stdlib
        # SMTP policy and so undo :data:`eam.notifications.mail.MAIL_POLICY`'s subject folding).
        message = build_message(self.sender, row.recipient, row.payload)
        await aiosmtplib.send(
            message.as_bytes(),
            sender=parseaddr(self.sender)[1],
            recipients=[row.recipient],
            hostname=self.host,
            port=self.port,
            use_tls=self.use_tls,
            start_tls=self.start_tls if self.start_tls else False,
            timeout=self.timeout,
            username=self.username,
            password=self.password,
        )
