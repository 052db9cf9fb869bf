"""Browser sign-in: OpenID Connect authorization code flow with PKCE, ``state`` and ``nonce``
(OpenID Connect Core 1.0 section 3.1; RFC 7636), through Authlib's OAuth 2.0 client.

Sign-in and callback talk to the provider over the network, so they open short transactions
of their own around those calls instead of holding one across them. The callback consumes the
sign-in attempt with a compare-and-set delete, committed before anything else happens, so a
``state`` answers one callback only, whether that callback succeeds or is refused. With several
providers configured, the authorization response's ``iss`` must name the provider the sign-in
was started with (RFC 9207, the defence against mix-up attacks).
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from typing import Any, get_args
from urllib.parse import urlencode

import httpx2
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.integrations.base_client.errors import OAuthError as AuthlibOAuthError
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eam.core.audit import Auditor
from eam.auth.models import BrowserSession, LoginAttempt
from eam.auth.identity import Identity
from eam.auth.oidc import OidcProvider
from eam.auth.sessions import seal, token_hash, unseal
from eam.core.database import transaction
from eam.core.errors import FieldError, Unauthenticated, ValidationFailed
from eam.core.settings import Settings
from eam.users.schemas import Language
from eam.users.service import user_for_identity

ATTEMPT_TTL = dt.timedelta(minutes=10)
DEFAULT_RETURN_TO = "/v1/me"


def callback_url(settings: Settings) -> str:
    return f"{settings.issuer_url}/auth/callback"


def safe_return_to(value: str | None) -> str:
    """Only paths on this service: an open redirect would hand sessions' users to anyone."""
    if not value:
        return DEFAULT_RETURN_TO
    if not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > 512:
        raise ValidationFailed("return_to must be a path on this service", [FieldError("query.return_to", "a path starting with a single '/'")])
    return value


def _oauth_client(provider: OidcProvider, settings: Settings) -> AsyncOAuth2Client:
    config = provider.config
    return AsyncOAuth2Client(
        client_id=config.client_id,
        client_secret=config.client_secret,
        scope=" ".join(config.scopes),
        redirect_uri=callback_url(settings),
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
        timeout=10,
    )


def choose_provider(providers: dict[str, OidcProvider], name: str | None) -> OidcProvider:
    if not providers:
        raise Unauthenticated("no login provider is configured; use 'eam dev-token' in development")
    if name is None and len(providers) == 1:
        return next(iter(providers.values()))
    if name not in providers:
        raise ValidationFailed(
            "unknown login provider",
            [FieldError("query.provider", f"one of {', '.join(sorted(providers))}", allowed=sorted(providers))],
        )
    return providers[name]


async def begin_login(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    provider: OidcProvider,
    return_to: str,
    now: dt.datetime,
) -> tuple[str, str]:
    """Record the attempt; return the provider's authorization URL to redirect to, and the
    ``state`` the browser must present again at the callback (its sign-in cookie)."""
    metadata = await provider.metadata()
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64)
    async with _oauth_client(provider, settings) as client:
        url, _ = client.create_authorization_url(
            metadata["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier
        )
    async with transaction(sessionmaker) as session:
        await session.execute(delete(LoginAttempt).where(LoginAttempt.expires_at <= now))
        session.add(
            LoginAttempt(
                state_hash=token_hash(state),
                provider=provider.name,
                sealed=seal(state, {"nonce": nonce, "code_verifier": verifier}),
                return_to=return_to,
                created_at=now,
                expires_at=now + ATTEMPT_TTL,
            )
        )
    return url, state


async def complete_login(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    providers: dict[str, OidcProvider],
    params: dict[str, str],
    now: dt.datetime,
    previous_session: str | None,
    http_request_id: str,
    browser_state: str | None = None,
    language: str | None = None,
) -> tuple[str, str]:
    """Finish a sign-in: returns the new session token (for the cookie) and where to go next.

    ``browser_state`` is the sign-in cookie set when this browser started the attempt: a
    callback whose ``state`` is not this browser's is refused before anything else (RFC 6749
    section 10.12, OAuth 2.0 Security BCP (RFC 9700) section 4.7: binding ``state`` to the user
    agent defeats login CSRF, where someone hands a victim a callback of their own sign-in).
    """
    state = params.get("state") or ""
    if not browser_state or not hmac.compare_digest(browser_state.encode(), state.encode()):
        raise Unauthenticated("this sign-in was not started in this browser; start again at /auth/login")
    attempt = await consume_attempt(sessionmaker, state, now)
    sealed = unseal(state, attempt.sealed)
    provider = providers.get(attempt.provider)
    if provider is None:
        raise Unauthenticated("the sign-in was started with a provider that is no longer configured")
    metadata = await provider.metadata()
    issuer = params.get("iss")
    if issuer is not None and issuer != provider.config.issuer:
        raise Unauthenticated("the authorization response names another issuer than the sign-in was started with (RFC 9207)")
    if issuer is None and metadata.get("authorization_response_iss_parameter_supported") is True:
        raise Unauthenticated("the authorization response lacks the iss parameter its provider promises (RFC 9207)")
    if "error" in params:
        raise Unauthenticated(f"the login provider refused the sign-in: {params['error'][:100]}")
    if not params.get("code"):
        raise Unauthenticated("the callback carries no authorization code")
    try:
        async with _oauth_client(provider, settings) as client:
            tokens: dict[str, Any] = await client.fetch_token(
                metadata["token_endpoint"], code=params["code"], code_verifier=sealed["code_verifier"], state=state
            )
    except AuthlibOAuthError as exc:
        raise Unauthenticated(f"the login provider refused the code: {exc.error}") from None
    except (httpx2.HTTPError, ValueError) as exc:  # network failure, or a token response that is not JSON
        raise Unauthenticated(f"the code could not be exchanged at the login provider: {type(exc).__name__}") from None
    id_token = tokens.get("id_token")
    if not isinstance(id_token, str):
        raise Unauthenticated("the login provider returned no ID token")
    claims = await provider.decode(id_token, audiences=[provider.config.client_id], now=now, nonce=sealed["nonce"])
    identity = provider.identity(claims)
    async with transaction(sessionmaker) as session:
        new_token = await open_session(session, settings, identity, provider.name, now, previous_session, http_request_id, language)
    return new_token, attempt.return_to


async def open_session(
    session: AsyncSession,
    settings: Settings,
    identity: Identity,
    provider_name: str,
    now: dt.datetime,
    previous_session: str | None,
    http_request_id: str,
    language: str | None = None,
) -> str:
    """Start a browser session for ``identity`` (audited); returns its token, for the cookie.

    The session from before sign-in never survives it (session fixation: OWASP). ``language``,
    the one the visitor chose on the pages (its cookie), becomes the language of their e-mails;
    without a choice the stored one stays (a browser's default language does not override it)."""
    new_token = secrets.token_urlsafe(32)
    user = await user_for_identity(session, identity, settings.national_number_key, now)
    if previous_session:
        await session.execute(delete(BrowserSession).where(BrowserSession.token_hash == token_hash(previous_session)))
    session.add(
        BrowserSession(
            token_hash=token_hash(new_token),
            user_id=user.id,
            provider=provider_name,
            created_at=now,
            expires_at=now + dt.timedelta(seconds=settings.session_ttl_seconds),
        )
    )
    after: dict[str, object] = {"provider": provider_name}
    if language in get_args(Language) and user.language != language:
        user.language = after["language"] = language
        user.updated_at = now
    Auditor(session, user.id, f"{user.display_name} <{identity.subject}>", now, http_request_id).record(
        "user.signed_in", target_type="user", target_id=user.id, after=after
    )
    return new_token


async def consume_attempt(sessionmaker: async_sessionmaker[AsyncSession], state: str, now: dt.datetime) -> LoginAttempt:
    """The sign-in attempt ``state`` names, deleted for good: of two callbacks racing with one
    state, only the one whose delete counts a row goes on."""
    async with transaction(sessionmaker) as session:
        attempt = await session.get(LoginAttempt, token_hash(state)) if state else None
        if attempt is not None:
            session.expunge(attempt)
            consumed = await session.execute(delete(LoginAttempt).where(LoginAttempt.state_hash == attempt.state_hash))
            if consumed.rowcount != 1:
                attempt = None
    if attempt is None or attempt.expires_at <= now:
        raise Unauthenticated("unknown, expired or already used sign-in state; start again at /auth/login")
    return attempt


async def logout(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    providers: dict[str, OidcProvider],
    token: str | None,
) -> str | None:
    """End the session; returns the provider's end-session URL when it offers RP-initiated logout.

    The URL names the client (``client_id``, OpenID Connect RP-Initiated Logout 1.0 section 2)
    rather than an ``id_token_hint``: EAM does not keep ID tokens, which carry the person's
    national number and would be bearer credentials until they expire."""
    if not token:
        return None
    async with transaction(sessionmaker) as session:
        browser_session = await session.get(BrowserSession, token_hash(token))
        if browser_session is None:
            return None
        await session.delete(browser_session)
        provider_name = browser_session.provider
    provider = providers.get(provider_name)
    if provider is None:
        return None
    try:
        end_session = (await provider.metadata()).get("end_session_endpoint")
    except Unauthenticated:
        return None
    if not isinstance(end_session, str):
        return None
    query = {"client_id": provider.config.client_id, "post_logout_redirect_uri": f"{settings.issuer_url}/auth/logged-out"}
    return f"{end_session}{'&' if '?' in end_session else '?'}{urlencode(query)}"
