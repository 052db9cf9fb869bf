from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from eam.core.database import Base, UTCDateTime


class LoginAttempt(Base):
    """A sign-in in progress: what the callback must match (state, nonce, PKCE verifier).

    Nothing here is usable without the ``state`` the browser carries: the row is found by the
    state's SHA-256, and the nonce and PKCE verifier are sealed (Fernet) with a key derived from
    the state (:func:`eam.auth.sessions.seal`). Consumed by the callback with compare-and-set
    delete before the code is exchanged, so a ``state`` answers one callback, whatever its outcome."""

    __tablename__ = "login_attempts"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    #: ``{"nonce", "code_verifier"}``, encrypted with a key only the state gives.
    sealed: Mapped[str] = mapped_column(Text)
    return_to: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


class BrowserSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored.

    The provider's ID token is not kept: it carries the person's national number and would be
    a bearer credential until it expires (RP-initiated logout names the client instead).
    """

    __tablename__ = "browser_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
