"""Per-request dependencies: the transaction, the authenticated caller, and their context
(:class:`eam.core.context.Context`, the same as for jobs, imports and the CLI).

The transaction is owned here, not by domain code: it commits after the handler and the
response serialisation succeed, before the response is sent, and rolls back on any error.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from joserfc.errors import JoseError
from joserfc.jws import extract_compact
from litestar import Request
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from eam.auth.identity import Identity, TokenSource
from eam.auth.sessions import CSRF_HEADER, SESSION_COOKIE, session_user
from eam.authz.enforcer import Authorizer
from eam.authz.sync import apply_written, catch_up, expect_written
from eam.authz.vocabulary import user_subject
from eam.core.context import Context, context_for
from eam.core.database import Clock, transaction
from eam.core.errors import Forbidden, Unauthenticated
from eam.core.settings import Settings
from eam.http.handler_options import options_of
from eam.service_clients.tokens import SERVICE_AUDIENCE, looks_like_service_token, service_account, service_caller
from eam.users.service import user_for_identity

__all__ = ["caller_context", "provide_context", "provide_session"]

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def request_id_of(request: Request[Any, Any, Any]) -> str:
    """``X-Request-ID`` when it is sane, else one generated here (and echoed by middleware)."""
    request_id = request.scope.get("state", {}).get("request_id")
    if request_id is None:
        request_id = str(uuid.uuid4())
    return request_id


def bearer_token(request: Request[Any, Any, Any]) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise Unauthenticated("send 'Authorization: Bearer <token>'")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must use the Bearer scheme")
    return token.strip()


def unverified_claims(token: str) -> dict[str, Any]:
    """The payload before any check, only to route the token to the checks that apply."""
    try:
        claims = json.loads(extract_compact(token.encode("ascii")).payload)
    except (JoseError, ValueError, UnicodeError):
        raise Unauthenticated("the bearer token is not a JWT this service accepts") from None
    if not isinstance(claims, dict):
        raise Unauthenticated("the bearer token is not a JWT this service accepts")
    return claims


def token_source_for(sources: list[TokenSource], claims: dict[str, Any], own_issuer: str) -> TokenSource:
    """Where a person's token (its unverified ``claims``) is verified. EAM's own tokens are not people's credentials."""
    issuer = claims.get("iss")
    if issuer == own_issuer:
        if claims.get("aud") == SERVICE_AUDIENCE:
            raise Unauthenticated("a service token does not stand for a person; this needs a person's token")
        # RFC 8725 section 3.12: grant tokens are for downstream applications, never EAM credentials.
        raise Unauthenticated("grant tokens are for downstream applications; sign in to call EAM's API")
    for source in sources:
        if source.accepts(issuer if isinstance(issuer, str) else None):
            return source
    raise Unauthenticated("the bearer token comes from an issuer this service does not trust")


async def provide_context(state: State, request: Request[Any, Any, Any]) -> AsyncGenerator[Context, None]:
    """Authenticate, then open the request's one transaction and hand out its context.

    A bearer token is checked before any database work, so refused tokens cost no connection; a
    session cookie can only be checked against its row, inside the transaction.
    The transaction is opened and closed here, in the same dependency: Litestar runs a
    generator's cleanup only once every dependency of the handler has been resolved.
    """
    settings: Settings = state.settings
    cookie = request.cookies.get(SESSION_COOKIE)
    identity = service_token = None
    if "authorization" in request.headers or not cookie:
        token = bearer_token(request)
        claims = unverified_claims(token)
        if looks_like_service_token(claims, settings.issuer_url):
            service_token = token  # verified inside the transaction: its key and client are rows
        else:
            identity = await authenticate(state, token, claims)
        cookie = None
    elif request.method not in SAFE_METHODS and not request.headers.get(CSRF_HEADER):
        raise Forbidden(f"requests signed in by session cookie must send the {CSRF_HEADER} header to change anything")
    # Handlers marked read_only (grant tokens) change nothing but, once, the caller's user row.
    async with caller_context(
        state,
        request_id_of(request),
        read_only=request.method in SAFE_METHODS,
        decides_nothing=options_of(request.route_handler).read_only,
        session_token=cookie,
        identity=identity,
        service_token=service_token,
    ) as ctx:
        yield ctx


@asynccontextmanager
async def caller_context(
    state: State,
    request_id: str,
    *,
    read_only: bool,
    decides_nothing: bool = False,
    session_token: str | None = None,
    identity: Identity | None = None,
    service_token: str | None = None,
) -> AsyncIterator[Context]:
    """One operation's transaction and context for a caller known by exactly one of a browser
    session token, a verified person's identity or a (not yet verified) service token.

    Used by the API (one per request) and by the web pages (one per read, one per change, so a
    refused change leaves nothing written and the page can still be shown). It commits when the
    block ends without error, after telling policy sync what this transaction wrote.
    """
    settings: Settings = state.settings
    clock: Clock = state.clock
    authz: Authorizer = state.authorizer
    async with transaction(state.sessionmaker, read_only=read_only, statement_level=decides_nothing) as session:
        if not read_only and not decides_nothing:
            # A change is decided on the policies as committed now, not as last synced.
            await catch_up(authz, session)
        now = clock()
        caller = None
        if service_token is not None:
            caller = await service_caller(session, state.keyring, settings, service_token, now)
            user = await service_account(session, caller.client, settings.national_number_key, now)
        elif identity is not None:
            user = await user_for_identity(session, identity, settings.national_number_key, now)
        elif session_token is not None:
            user = await session_user(session, session_token, now)
        else:
            raise Unauthenticated("sign in first")
        if caller is None and settings.is_platform_admin(user.issuer, user.subject):
            authz.add_config_admin(user_subject(user.id))
        yield context_for(
            state.services,
            session,
            user,
            now,
            actor=caller.actor if caller else None,
            request_id=request_id,
            client_id=caller.client.client_id if caller else None,
            scopes=caller.scopes if caller else frozenset(),
        )
        expect_written(authz, session)  # the operation succeeded; the commit follows
    await apply_written(authz, session, state.sessionmaker)


async def authenticate(state: State, token: str, claims: dict[str, Any] | None = None) -> Identity:
    """Who a user token (dev token or login provider token) says the caller is."""
    if claims is None:
        claims = unverified_claims(token)
    return await token_source_for(state.token_sources, claims, state.settings.issuer_url).authenticate(token)


async def provide_session(state: State, request: Request[Any, Any, Any]) -> AsyncGenerator[AsyncSession, None]:
    """The request's one transaction, for endpoints that authenticate otherwise (OAuth, JWKS).

    Handlers declared ``read_only`` (:class:`~eam.http.handler_options.HandlerOptions`) get a
    read-only transaction whatever the method.
    """
    read_only = request.method in SAFE_METHODS or options_of(request.route_handler).read_only
    async with transaction(state.sessionmaker, read_only=read_only) as session:
        yield session
