"""An OpenID Connect provider as EAM sees it: discovery, keys, and token validation.

- Discovery (OpenID Connect Discovery 1.0 section 4.3): the document's ``issuer`` must equal the
  configured issuer exactly, or nothing from this provider is accepted.
- Keys come from the provider's ``jwks_uri``, cached; a token signed with an unknown ``kid``
  triggers one refetch (at most one per ``min_refetch_seconds``), so a provider key rotation is
  followed without a restart.
- ID tokens are validated per OpenID Connect Core 1.0 section 3.1.3.7 with Authlib's
  ``CodeIDToken`` claims (iss, aud, exp, iat required; nonce when one was sent).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

import httpx2
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jws import extract_compact
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from eam.auth.identity import Identity
from eam.core.providers import OidcProviderConfig
from eam.core.errors import Unauthenticated

DISCOVERY_PATH = "/.well-known/openid-configuration"


class ProviderUnavailable(Unauthenticated):
    """The provider cannot be used: unreachable, or its discovery document does not match."""

    code = "login-provider-unavailable"
    title = "The login provider cannot be used"


class OidcProvider:
    def __init__(
        self,
        config: OidcProviderConfig,
        *,
        national_number_required: bool = True,
        metadata_ttl_seconds: float = 3600,
        min_refetch_seconds: float = 10,
    ) -> None:
        self.config = config
        self._national_number_required = national_number_required
        self._metadata_ttl = metadata_ttl_seconds
        self._min_refetch = min_refetch_seconds
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._keys_at: float | None = None
        self._last_forced: float | None = None
        self._lock = asyncio.Lock()

    @property
    def name(self) -> str:
        return self.config.name

    def http_client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(timeout=10)

    async def _get_json(self, url: str) -> Any:
        try:
            async with self.http_client() as http:
                response = await http.get(url, headers={"Accept": "application/json"})
                response.raise_for_status()
                return response.json()
        except (httpx2.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(f"login provider {self.name!r} cannot be reached: {exc}") from None

    async def metadata(self) -> dict[str, Any]:
        now = time.monotonic()
        if self._metadata is not None and now - self._metadata_at < self._metadata_ttl:
            return self._metadata
        document = await self._get_json(self.config.issuer.rstrip("/") + DISCOVERY_PATH)
        if not isinstance(document, dict) or document.get("issuer") != self.config.issuer:
            raise ProviderUnavailable(
                f"login provider {self.name!r}: the discovery document names issuer "
                f"{document.get('issuer') if isinstance(document, dict) else None!r}, not {self.config.issuer!r}"
            )
        for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(document.get(field), str):
                raise ProviderUnavailable(f"login provider {self.name!r}: the discovery document has no {field}")
        self._metadata, self._metadata_at = document, now
        return document

    async def _key_set(self, kid: str | None) -> KeySet:
        async with self._lock:
            now = time.monotonic()
            stale = self._keys is None or now - (self._keys_at or 0) >= self._metadata_ttl
            unknown = kid is not None and self._keys is not None and not any(key.kid == kid for key in self._keys.keys)
            # Only refetches caused by an unknown kid are rate-limited, so the first token
            # signed after a provider rotation is followed at once.
            forced = unknown and (self._last_forced is None or now - self._last_forced >= self._min_refetch)
            if forced:
                self._last_forced = now
            if stale or forced:
                document = await self._get_json((await self.metadata())["jwks_uri"])
                try:
                    self._keys = KeySet.import_key_set(document)
                except (JoseError, ValueError, TypeError, KeyError) as exc:
                    raise ProviderUnavailable(f"login provider {self.name!r} publishes unusable keys: {exc}") from None
                self._keys_at = now
            assert self._keys is not None
            return self._keys

    async def decode(self, token: str, *, audiences: list[str], now: dt.datetime, nonce: str | None = None) -> dict[str, Any]:
        """Verify signature, issuer, audience, times (and nonce) of a token from this provider."""
        try:
            header = extract_compact(token.encode()).protected  # unverified, to choose the key
        except (JoseError, ValueError, UnicodeError) as exc:
            raise Unauthenticated(f"not a JWT: {exc}") from None
        if header.get("alg") not in self.config.algorithms:
            raise Unauthenticated(f"tokens signed with {header.get('alg')!r} are not accepted from {self.name!r}")
        keys = await self._key_set(header.get("kid"))
        try:
            decoded = jwt.decode(token, keys, algorithms=list(self.config.algorithms))
        except JoseError as exc:
            raise Unauthenticated(f"the token from {self.name!r} does not verify: {exc.description or exc.error}") from None
        # ``azp`` rules (OpenID Connect Core 1.0 section 3.1.3.7 items 4-5) are for tokens issued to
        # this client (ID tokens). A JWT access token for one of ``audiences`` (RFC 9068) names its
        # client in ``client_id``, has no ``azp``, and may have been obtained by any client.
        audience = decoded.claims.get("aud")
        for_this_client = self.config.client_id in (audience if isinstance(audience, list) else [audience])
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            options={
                "iss": {"essential": True, "value": self.config.issuer},
                "aud": {"essential": True, "values": audiences},
            },
            params={"nonce": nonce, "client_id": self.config.client_id if for_this_client else None},
        )
        try:
            claims.validate(now=int(now.timestamp()), leeway=30)
        except JoseError as exc:
            raise Unauthenticated(f"the token from {self.name!r} is not valid: {exc.description or exc.error}") from None
        if nonce is not None and claims.get("nonce") != nonce:
            raise Unauthenticated("the ID token's nonce does not match the sign-in request")
        return dict(claims)

    def identity(self, claims: dict[str, Any]) -> Identity:
        names = self.config.claims
        national_number = claims.get(names.national_number)
        if self._national_number_required and (not isinstance(national_number, str) or not national_number.strip()):
            raise Unauthenticated(f"the token carries no national number (claim {names.national_number!r})")
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject or len(subject) > 255:
            raise Unauthenticated("the token has no usable subject")
        parts = [claims.get(names.given_name), claims.get(names.family_name)]
        display = " ".join(part for part in parts if isinstance(part, str) and part) or claims.get(names.name)
        email = claims.get(names.email)
        return Identity(
            issuer=self.config.issuer,
            subject=subject,
            display_name=str(display)[:200] if display else None,
            email=email if isinstance(email, str) else None,
            national_number=national_number if isinstance(national_number, str) else None,
        )


class OidcTokenSource:
    """Bearer tokens (ID tokens, or JWT access tokens for one of the configured audiences)."""

    def __init__(self, provider: OidcProvider, clock: Any) -> None:
        self.provider = provider
        self._clock = clock

    def accepts(self, unverified_issuer: str | None) -> bool:
        return unverified_issuer == self.provider.config.issuer

    async def authenticate(self, token: str) -> Identity:
        config = self.provider.config
        claims = await self.provider.decode(token, audiences=[config.client_id, *config.audiences], now=self._clock())
        return self.provider.identity(claims)
