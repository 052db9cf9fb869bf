"""Browser sessions: the cookie carries a random token, the database only its SHA-256."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from eam.auth.models import BrowserSession, LoginAttempt
from eam.core.errors import Unauthenticated
from eam.users.models import User

SESSION_COOKIE = "eam_session"
#: Cookie-authenticated writes must carry this header: a cross-site form cannot set it, and
#: EAM allows no cross-origin requests, so it stops cross-site request forgery (OWASP).
CSRF_HEADER = "x-requested-with"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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
