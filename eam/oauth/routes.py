"""The OAuth endpoints. Errors follow RFC 6749 section 5.2 (``error`` in an application/json
body, alongside the problem details members); token responses are never cached (section 5.1)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession

from eam.core.audit import Auditor
from eam.authz.enforcer import Authorizer
from eam.authz.vocabulary import PLATFORM_DOMAIN, defined_scopes
from eam.core.errors import (
    NoActiveAssignment,
    OAuthInsufficientScope,
    OAuthInvalidClient,
    OAuthInvalidToken,
    OAuthInvalidRequest,
    OAuthInvalidTarget,
    OAuthUnsupportedGrantType,
    Unauthenticated,
    ValidationFailed,
)
from eam.grant_tokens import introspection
from eam.grant_tokens.issuance import issue_grant_token
from eam.grant_tokens.service import DIRECT_CLIENT_ID
from eam.grant_tokens.schemas import IntrospectionOut
from eam.observability.metrics import GRANT_TOKENS_ISSUED, SERVICE_TOKENS_ISSUED
from eam.oauth.forms import OAuthForm, TokenForm, TokenRequestForm, read_form
from eam.oauth.metadata import server_metadata
from eam.oauth.token_exchange import GRANT_TYPE, TokenExchangeOut, parse_exchange
from eam.service_clients.models import ServiceClient
from eam.service_clients.service import authenticate_client, credentials_from
from eam.service_clients.tokens import GRANT_TYPE as CLIENT_CREDENTIALS
from eam.service_clients.tokens import ServiceTokenOut, issue_service_token, looks_like_service_token, service_caller
from eam.users.service import user_for_identity
from eam.http.handler_options import HandlerOptions, RateLimit
from eam.http.context import authenticate, bearer_token, provide_session, request_id_of, unverified_claims

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
INTROSPECT = (PLATFORM_DOMAIN, "grant_token", "introspect")


async def _client(request: Request[Any, Any, Any], form: OAuthForm, db: AsyncSession) -> ServiceClient | None:
    credentials = credentials_from(request.headers.get("authorization"), form.single_values())
    if credentials is None:
        return None
    return await authenticate_client(db, *credentials)


class OAuthController(Controller):
    path = "/oauth2"
    tags = ["OAuth 2.0"]
    dependencies = {"db": Provide(provide_session)}
    security = [{}]

    @post(
        "/token",
        status_code=200,
        operation_id="requestToken",
        opt=HandlerOptions(rate_limit=RateLimit.TOKENS, form=TokenRequestForm, problems=(503,)).opt(),
        security=[{}, {"clientBasic": []}],
        summary="Token endpoint: token exchange (RFC 8693) for grant tokens, client credentials for service tokens",
    )
    async def token(
        self, request: Request[Any, Any, Any], state: State, db: AsyncSession
    ) -> Response[TokenExchangeOut | ServiceTokenOut]:
        form = await read_form(request)
        grant_type = form.require("grant_type")
        if grant_type == CLIENT_CREDENTIALS:
            return await self._client_credentials(request, state, db, form)
        if grant_type != GRANT_TYPE:
            raise OAuthUnsupportedGrantType(f"EAM supports grant_type {GRANT_TYPE} and {CLIENT_CREDENTIALS}")
        exchange = parse_exchange(form, state.catalogue)
        client = await _client(request, form, db)
        if client is not None and exchange.application not in client.audiences:
            raise OAuthInvalidTarget(f"client {client.client_id!r} does not serve {exchange.application!r}")
        try:
            identity = await authenticate(state, exchange.subject_token)
        except Unauthenticated as exc:
            raise OAuthInvalidRequest(f"subject_token: {exc.detail}") from None
        now = state.clock()
        user = await user_for_identity(db, identity, state.settings.national_number_key, now)
        try:
            for selector in exchange.selectors:
                if selector.register is not None:
                    await state.catalogue.require_register_in(db, selector.register, exchange.application)
            issued = await issue_grant_token(
                db,
                state.keyring,
                state.settings,
                user_id=user.id,
                application=exchange.application,
                selectors=exchange.selectors,
                client_id=client.client_id if client else DIRECT_CLIENT_ID,
                now=now,
            )
        except ValidationFailed as exc:
            raise OAuthInvalidTarget(exc.detail) from None
        except NoActiveAssignment as exc:
            raise OAuthInvalidTarget(exc.detail) from None
        GRANT_TOKENS_ISSUED.labels(exchange.application, "token_exchange").inc()
        body = TokenExchangeOut(
            access_token=issued.access_token, expires_in=issued.expires_in, authorization_details=issued.authorization_details
        )
        return Response(body, headers=NO_STORE)

    async def _client_credentials(
        self, request: Request[Any, Any, Any], state: State, db: AsyncSession, form: OAuthForm
    ) -> Response[TokenExchangeOut | ServiceTokenOut]:
        """RFC 6749 section 4.4: a service token for EAM's own API, for scopes the client holds."""
        client = await _client(request, form, db)
        if client is None:
            raise OAuthInvalidClient("client_credentials needs client authentication (client_id and client_secret)")
        issued = await issue_service_token(db, state.keyring, state.settings, client, form.get("scope"), state.clock())
        SERVICE_TOKENS_ISSUED.inc()
        return Response(issued, headers=NO_STORE)

    @post(
        "/introspect",
        status_code=200,
        operation_id="introspectToken",
        summary="Token introspection (RFC 7662), for service clients holding the tokens:introspect scope",
        opt=HandlerOptions(read_only=True, rate_limit=RateLimit.INTROSPECTION, form=TokenForm).opt(),
        security=[{"clientBasic": []}, {"serviceToken": ["tokens:introspect"]}],
    )
    async def introspect(self, request: Request[Any, Any, Any], state: State, db: AsyncSession) -> Response[IntrospectionOut]:
        """RFC 7662 section 2.1: the caller authenticates as a client, or with a service token (RFC 6750)."""
        form = await read_form(request)
        client = await _client(request, form, db)
        authz: Authorizer = state.authorizer
        if client is not None:
            if not authz.client_allows(client.client_id, None, *INTROSPECT):
                raise OAuthInsufficientScope(f"client {client.client_id!r} does not hold the tokens:introspect scope")
        elif request.headers.get("authorization", "").lower().startswith("bearer "):
            token = bearer_token(request)
            try:
                if not looks_like_service_token(unverified_claims(token), state.settings.issuer_url):
                    raise Unauthenticated("introspection takes a service token from /oauth2/token, not a person's token")
                caller = await service_caller(db, state.keyring, state.settings, token, state.clock())
            except Unauthenticated as exc:
                raise OAuthInvalidToken(exc.detail) from None
            client = caller.client
            if not authz.client_allows(client.client_id, caller.scopes, *INTROSPECT):
                raise OAuthInsufficientScope("introspection needs a service token with the tokens:introspect scope")
        else:
            raise OAuthInvalidClient("introspection is for service clients: authenticate with client_id and client_secret, or a service token")
        result = await introspection.introspect(
            db, state.keyring, state.settings, form.require("token"), state.clock(), audiences=list(client.audiences)
        )
        return Response(result, headers=NO_STORE)

    @post("/revoke", status_code=200, operation_id="revokeToken", summary="Token revocation (RFC 7009), by the holder or a service client", opt=HandlerOptions(rate_limit=RateLimit.TOKENS, form=TokenForm).opt(), security=[{"clientBasic": []}, {"bearer": []}])
    async def revoke(self, request: Request[Any, Any, Any], state: State, db: AsyncSession) -> Response[None]:
        form = await read_form(request)
        now = state.clock()
        client = await _client(request, form, db)
        if client is not None:
            token = form.require("token")
            audiences = set(client.audiences)
            auditor = Auditor(db, None, f"client:{client.client_id}", now, request_id_of(request))
            claims = await introspection.revoke(
                db, state.keyring, state.settings, token, now,
                revoked_by=auditor.actor, may_revoke=lambda c: c.get("aud") in audiences,
            )
        else:
            try:
                identity = await authenticate(state, bearer_token(request))
            except Unauthenticated:
                raise OAuthInvalidClient("authenticate as a service client, or send your own bearer token") from None
            token = form.require("token")
            user = await user_for_identity(db, identity, state.settings.national_number_key, now)
            auditor = Auditor(db, user.id, f"{user.display_name} <{identity.subject}>", now, request_id_of(request))
            claims = await introspection.revoke(
                db, state.keyring, state.settings, token, now,
                revoked_by=f"user:{user.id}", may_revoke=lambda c: c.get("sub") == str(user.id),
            )
        if claims is not None:
            auditor.record("grant_token.revoked", target_type="grant_token", target_id=str(claims["jti"])[:64], before={"sub": claims["sub"], "aud": claims["aud"], "exp": claims["exp"]})
        return Response(None, headers=NO_STORE)


class MetadataController(Controller):
    path = "/.well-known"
    tags = ["OAuth 2.0"]
    dependencies = {"db": Provide(provide_session)}
    security = [{}]

    @get("/oauth-authorization-server", operation_id="getServerMetadata", summary="Authorization server metadata (RFC 8414)")
    async def metadata(self, state: State, db: AsyncSession) -> Response[dict[str, Any]]:
        scopes = defined_scopes(state.authorizer.static_rules)
        body = await server_metadata(db, state.settings, state.catalogue, scopes, state.clock())
        return Response(body, headers={"Cache-Control": "public, max-age=3600"})
