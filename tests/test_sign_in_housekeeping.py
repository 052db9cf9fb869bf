"""The housekeeping sweep drops expired browser sessions and unfinished sign-ins, and nothing else."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
from litestar import Litestar
from sqlalchemy import select

from eam.auth.models import BrowserSession, LoginAttempt
from eam.auth.sessions import SESSION_COOKIE, seal, token_hash
from eam.core.database import transaction
from eam.jobs import FORGET_SIGN_INS
from tests.conftest import run_jobs
from tests.conftest import Api, Clock, assert_problem


async def _seed(app: Litestar, api: Api, clock: Clock) -> None:
    me = (await api.get("/v1/me", "carol")).json()
    hour = dt.timedelta(hours=1)
    async with transaction(app.state.sessionmaker) as session:
        for token, expires_at in (("expired-session", clock.now - hour), ("live-session", clock.now + hour)):
            session.add(
                BrowserSession(
                    token_hash=token_hash(token), user_id=uuid.UUID(me["id"]), provider="national",
                    created_at=clock.now - 2 * hour, expires_at=expires_at,
                )
            )
        for state, expires_at in (("expired-attempt", clock.now - hour), ("live-attempt", clock.now + hour)):
            session.add(
                LoginAttempt(
                    state_hash=token_hash(state), provider="national", sealed=seal(state, {"nonce": "n", "code_verifier": "v" * 43}),
                    return_to="/v1/me", created_at=clock.now - 2 * hour, expires_at=expires_at,
                )
            )


async def _remaining(app: Litestar) -> tuple[set[str], set[str]]:
    async with transaction(app.state.sessionmaker, read_only=True) as session:
        sessions = set(await session.scalars(select(BrowserSession.token_hash)))
        attempts = set(await session.scalars(select(LoginAttempt.state_hash)))
    return sessions, attempts


async def _me_by_cookie(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/v1/me", headers={"Cookie": f"{SESSION_COOKIE}={token}"})


async def test_the_sweep_deletes_expired_sessions_and_sign_ins_only(app: Litestar, api: Api, client: httpx.AsyncClient, clock: Clock) -> None:
    await _seed(app, api, clock)
    assert_problem(await _me_by_cookie(client, "expired-session"), 401, "unauthenticated")  # refused before any sweep
    assert (await _me_by_cookie(client, "live-session")).status_code == 200

    assert await run_jobs(app.state.services, FORGET_SIGN_INS) == (2,)
    assert await _remaining(app) == ({token_hash("live-session")}, {token_hash("live-attempt")})
    assert (await _me_by_cookie(client, "live-session")).status_code == 200
    assert await run_jobs(app.state.services, FORGET_SIGN_INS) == (0,)

    clock.advance(hours=1)  # expiry is inclusive: a session is over at its expires_at
    assert await run_jobs(app.state.services, FORGET_SIGN_INS) == (2,)
    assert await _remaining(app) == (set(), set())
    assert_problem(await _me_by_cookie(client, "live-session"), 401, "unauthenticated")
