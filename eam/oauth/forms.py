"""OAuth request bodies: ``application/x-www-form-urlencoded`` parameters (RFC 6749 section 3.2)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar
from urllib.parse import parse_qsl

import msgspec
from litestar import Request

from eam.core.errors import OAuthInvalidRequest

#: RFC 8707 section 2: ``resource`` may be given several times; nothing else may.
REPEATABLE = frozenset({"resource"})
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"


class OAuthForm:
    """The parameters of one request. RFC 6749 section 3.2: "Parameters sent without a value MUST
    be treated as if they were omitted from the request"; none may be repeated (RFC 8707 allows
    ``resource`` several times)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._values: dict[str, list[str]] = {}
        for name, value in pairs:
            if value:
                self._values.setdefault(name, []).append(value)
        repeated = sorted(name for name, values in self._values.items() if len(values) > 1 and name not in REPEATABLE)
        if repeated:
            raise OAuthInvalidRequest(f"parameters must not be repeated: {', '.join(repeated)}")

    def get(self, name: str) -> str | None:
        values = self._values.get(name)
        return values[0] if values else None

    def require(self, name: str) -> str:
        value = self.get(name)
        if not value:
            raise OAuthInvalidRequest(f"the {name} parameter is required")
        return value

    def all(self, name: str) -> list[str]:
        return list(self._values.get(name, []))

    def single_values(self) -> dict[str, str]:
        return {name: values[0] for name, values in self._values.items()}


async def read_form(request: Request[Any, Any, Any]) -> OAuthForm:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != FORM_MEDIA_TYPE:
        raise OAuthInvalidRequest(f"send the parameters as {FORM_MEDIA_TYPE} (RFC 6749 section 3.2)")
    body = await request.body()
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise OAuthInvalidRequest("the body is not valid UTF-8 form encoding") from None
    if any("\x00" in name or "\x00" in value for name, value in pairs):
        raise OAuthInvalidRequest("parameters must not contain NUL characters")
    return OAuthForm(pairs)


# The parameters each OAuth endpoint reads, for the OpenAPI document (the handlers read the form
# themselves so that every error is an RFC 6749 error). Client credentials may instead come in an
# HTTP Basic header (RFC 6749 section 2.3.1).
class TokenRequestForm(msgspec.Struct, kw_only=True):
    """RFC 8693 token exchange, or RFC 6749 section 4.4 client credentials."""

    EXAMPLE: ClassVar[dict[str, str]] = {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token": "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.e30.c2ln",
        "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "audience": "healthstat",
        "resource": "urn:eam:register:HDBP0147",
    }

    grant_type: Annotated[str, msgspec.Meta(description="urn:ietf:params:oauth:grant-type:token-exchange or client_credentials")]
    subject_token: Annotated[str, msgspec.Meta(description="token exchange: your own access token")] = ""
    subject_token_type: Annotated[str, msgspec.Meta(description="token exchange: urn:ietf:params:oauth:token-type:access_token")] = ""
    requested_token_type: Annotated[str, msgspec.Meta(description="token exchange: optional")] = ""
    audience: Annotated[str, msgspec.Meta(description="token exchange: the application, e.g. healthstat")] = ""
    resource: Annotated[str, msgspec.Meta(description="token exchange: urn:eam:register:<code> (repeatable)")] = ""
    authorization_details: Annotated[str, msgspec.Meta(description="token exchange: RFC 9396 JSON list")] = ""
    scope: Annotated[str, msgspec.Meta(description="client credentials: space-separated scopes (default: all held)")] = ""
    client_id: Annotated[str, msgspec.Meta(description="client authentication in the body (or HTTP Basic)")] = ""
    client_secret: Annotated[str, msgspec.Meta(description="client authentication in the body (or HTTP Basic)")] = ""


class TokenForm(msgspec.Struct, kw_only=True):
    """RFC 7662 section 2.1 (introspection) and RFC 7009 section 2.1 (revocation) take the same parameters."""

    EXAMPLE: ClassVar[dict[str, str]] = {"token": "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.e30.c2ln"}

    token: Annotated[str, msgspec.Meta(description="the grant token")]
    token_type_hint: Annotated[str, msgspec.Meta(description="optional, ignored")] = ""
    client_id: Annotated[str, msgspec.Meta(description="client authentication in the body (or HTTP Basic)")] = ""
    client_secret: Annotated[str, msgspec.Meta(description="client authentication in the body")] = ""
