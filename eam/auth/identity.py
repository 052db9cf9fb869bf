from __future__ import annotations

import hashlib
import hmac
from typing import Protocol

import msgspec


class Identity(msgspec.Struct, frozen=True):
    """Who a token source says the caller is."""

    issuer: str
    subject: str
    #: None when the source says nothing about the name (the user keeps the one on file).
    display_name: str | None = None
    email: str | None = None
    #: NISS/SSIN in clear, as presented by the provider; hashed before it reaches the database.
    national_number: str | None = None


class TokenSource(Protocol):
    def accepts(self, unverified_issuer: str | None) -> bool:
        """Whether this source is responsible for tokens from ``unverified_issuer``."""

    async def authenticate(self, token: str) -> Identity:
        """Verify ``token`` and return the identity; raise ``eam.core.errors.Unauthenticated`` otherwise."""


def national_number_hash(key: str, national_number: str) -> str:
    """HMAC-SHA256 keyed with ``EAM_NATIONAL_NUMBER_KEY`` over the digits only (RFC 2104)."""
    digits = "".join(ch for ch in national_number if ch.isdigit())
    return hmac.new(key.encode(), digits.encode(), hashlib.sha256).hexdigest()
