"""Authorization server metadata (RFC 8414 section 2), served at /.well-known/oauth-authorization-server."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from eam.catalogue.service import Catalogue
from eam.grant_tokens.schemas import REGISTER_ACCESS
from eam.oauth.token_exchange import GRANT_TYPE, SUBJECT_TOKEN_TYPES
from eam.service_clients.tokens import GRANT_TYPE as CLIENT_CREDENTIALS
from eam.core.settings import Settings
from eam.signing_keys.keyring import published_keys

CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


async def server_metadata(
    session: AsyncSession, settings: Settings, catalogue: Catalogue, scopes: list[str], now: dt.datetime
) -> dict[str, Any]:
    issuer = settings.issuer_url
    algorithms = sorted({key.alg for key in await published_keys(session, now)} | {settings.grant_signing_alg})
    return {
        "issuer": issuer,
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "token_endpoint": f"{issuer}/oauth2/token",
        "introspection_endpoint": f"{issuer}/oauth2/introspect",
        "revocation_endpoint": f"{issuer}/oauth2/revoke",
        "grant_types_supported": [GRANT_TYPE, CLIENT_CREDENTIALS],
        # No authorization endpoint: EAM issues tokens by exchange and client credentials only.
        "response_types_supported": [],
        "scopes_supported": scopes,
        "token_endpoint_auth_methods_supported": ["none", *CLIENT_AUTH_METHODS],
        # RFC 7662 section 2.1 also allows a bearer token: a service token with tokens:introspect.
        "introspection_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "authorization_details_types_supported": [REGISTER_ACCESS],
        # Not registered in RFC 8414: the algorithms grant tokens (RFC 9068) may be signed with.
        "access_token_signing_alg_values_supported": algorithms,
        "eam_subject_token_types_supported": sorted(SUBJECT_TOKEN_TYPES),
        "eam_audiences_supported": catalogue.application_codes,
    }
