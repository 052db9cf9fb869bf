from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import msgspec


class JWKSet(msgspec.Struct, frozen=True):
    """RFC 7517 section 5: public keys only."""

    keys: list[dict[str, Any]]


class SigningKeyOut(msgspec.Struct, frozen=True, kw_only=True):
    kid: str
    alg: str
    status: Literal["current", "previous", "retired"]
    published: bool
    created_at: dt.datetime
    superseded_at: dt.datetime | None
    retire_after: dt.datetime | None
    retired_at: dt.datetime | None
