"""Browser sessions and sign-ins in progress: nothing stored can be used as a credential.

The session cookie carries a random token, the database only its SHA-256. A sign-in in progress
is found by the SHA-256 of its ``state``, and its nonce and PKCE verifier are sealed with a key
derived from the state (HKDF-SHA256, RFC 5869), which only the browser holds until the callback.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from eam.auth.models import BrowserSession, LoginAttempt
from eam.core.errors import Unauthenticated
from eam.users.models import User

SESSION_COOKIE = "eam_session"
#: The language a visitor chose on the pages; at sign-in it becomes the language of their e-mails.
LANGUAGE_COOKIE = "eam_lang"
#: Cookie-authenticated writes must carry this header: a cross-site form cannot set it, and
#: EAM allows no cross-origin requests, so it stops cross-site request forgery (OWASP).
CSRF_HEADER = "x-requested-with"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _sealing_key(state: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"eam login attempt").derive(state.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(state: str, values: dict[str, str]) -> str:
    """``values`` encrypted and authenticated (Fernet) with a key derived from ``state``."""
    return _sealing_key(state).encrypt(json.dumps(values).encode()).decode()


def unseal(state: str, sealed: str) -> dict[str, str]:
    try:
        values = json.loads(_sealing_key(state).decrypt(sealed.encode()))
    except (InvalidToken, ValueError):
        raise Unauthenticated("unknown, expired or already used sign-in state; start again at /auth/login") from None
    return values  # type: ignore[no-any-return]


async def session_user(session: AsyncSession, token: str, now: dt.datetime) -> User:
    row = await session.execute(
        select(User)
        .join(BrowserSession, BrowserSession.user_id == User.id)
        .where(BrowserSession.token_hash == token_hash(token), BrowserSession.expires_at > now)
    )
    user = row.scalar_one_or_none()
    if user is None:
        raise Unauthenticated("the session has expired or was signed out; sign in again at /auth/login")
    return user


async def forget_expired_sign_ins(session: AsyncSession, now: dt.datetime) -> tuple[int, int]:
    """Delete sessions and unfinished sign-ins past their expiry; both are refused already, so
    this only keeps the tables small. Returns (sessions, login attempts) deleted."""
    sessions = await session.execute(delete(BrowserSession).where(BrowserSession.expires_at <= now))
    attempts = await session.execute(delete(LoginAttempt).where(LoginAttempt.expires_at <= now))
    return sessions.rowcount, attempts.rowcount
