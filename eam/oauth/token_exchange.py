"""OAuth 2.0 Token Exchange (RFC 8693) for grant tokens.

The caller presents its own access token as ``subject_token`` and names the application as
``audience``; ``resource`` (RFC 8707, ``urn:eam:register:<code>``) and ``authorization_details``
(RFC 9396, type ``eam_register_access``) narrow the token to registers and organisations.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from eam.catalogue.service import Catalogue
from eam.core.errors import (
    OAuthInvalidAuthorizationDetails,
    OAuthInvalidRequest,
    OAuthInvalidTarget,
)
from eam.grant_tokens.issuance import Selector
from eam.grant_tokens.schemas import REGISTER_ACCESS, RegisterAccess
from eam.oauth.forms import OAuthForm
from eam.core.untrusted_json import decode_untrusted_json

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
#: Token types EAM accepts as ``subject_token`` (RFC 8693 section 3): whatever its login accepts.
SUBJECT_TOKEN_TYPES = frozenset(
    {ACCESS_TOKEN_TYPE, "urn:ietf:params:oauth:token-type:id_token", "urn:ietf:params:oauth:token-type:jwt"}
)
REQUESTED_TOKEN_TYPES = frozenset({ACCESS_TOKEN_TYPE, "urn:ietf:params:oauth:token-type:jwt"})
REGISTER_RESOURCE_PREFIX = "urn:eam:register:"


class OrganisationRef(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str | None = None
    nihdi: str | None = None


class RequestedAccess(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="type", tag=REGISTER_ACCESS):
    register: Annotated[str, msgspec.Meta(min_length=1, max_length=32)] | None = None
    organisation: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | OrganisationRef | None = None


class TokenExchangeOut(msgspec.Struct, frozen=True, kw_only=True):
    """RFC 8693 section 2.2.1."""

    access_token: str
    issued_token_type: str = ACCESS_TOKEN_TYPE
    token_type: str = "Bearer"
    expires_in: int
    authorization_details: list[RegisterAccess]


class ExchangeRequest(msgspec.Struct, frozen=True):
    subject_token: str
    application: str
    selectors: list[Selector]


def parse_exchange(form: OAuthForm, catalogue: Catalogue) -> ExchangeRequest:
    subject_token = form.require("subject_token")
    subject_token_type = form.require("subject_token_type")
    if subject_token_type not in SUBJECT_TOKEN_TYPES:
        raise OAuthInvalidRequest(f"subject_token_type must be one of {', '.join(sorted(SUBJECT_TOKEN_TYPES))}")
    requested = form.get("requested_token_type")
    if requested is not None and requested not in REQUESTED_TOKEN_TYPES:
        raise OAuthInvalidRequest(f"EAM issues {ACCESS_TOKEN_TYPE} only")
    if form.get("actor_token") is not None:
        raise OAuthInvalidRequest("delegation (actor_token) is not supported: exchange your own token")
    application = form.get("audience")
    if not application:
        raise OAuthInvalidRequest(f"name the application as audience ({', '.join(catalogue.application_codes)})")
    if application not in catalogue.application_codes:
        raise OAuthInvalidTarget(f"unknown audience {application!r}; EAM issues tokens for {', '.join(catalogue.application_codes)}")
    selectors = [Selector(register=register_of(resource)) for resource in form.all("resource")]
    details = form.get("authorization_details")
    if details is not None:
        selectors.extend(selectors_from_details(details))
    return ExchangeRequest(subject_token=subject_token, application=application, selectors=selectors)


def register_of(resource: str) -> str:
    register = resource.removeprefix(REGISTER_RESOURCE_PREFIX)
    if register == resource or not register or len(register) > 32:
        raise OAuthInvalidTarget(f"resource must be {REGISTER_RESOURCE_PREFIX}<register code>, not {resource[:80]!r}")
    return register


def selectors_from_details(raw: str) -> list[Selector]:
    try:
        entries = decode_untrusted_json(raw.encode())
        # RFC 9396 section 2: every entry names its type. msgspec accepts a tagged struct
        # without its tag field when it is not in a union, so check for it here.
        if isinstance(entries, list) and any(isinstance(entry, dict) and "type" not in entry for entry in entries):
            raise msgspec.ValidationError("every entry must name its type")
        requested = msgspec.convert(entries, list[RequestedAccess])
    except msgspec.DecodeError as exc:
        raise OAuthInvalidAuthorizationDetails(
            f"authorization_details must be a JSON array of {REGISTER_ACCESS!r} objects with optional register and organisation: {exc}"
        ) from None
    if not requested:
        raise OAuthInvalidAuthorizationDetails("authorization_details must not be empty")
    selectors = []
    for entry in requested:
        organisation = entry.organisation
        if isinstance(organisation, OrganisationRef):
            if (organisation.id is None) == (organisation.nihdi is None):
                raise OAuthInvalidAuthorizationDetails("an organisation names either its id or its nihdi")
            organisation = organisation.id or organisation.nihdi
        selectors.append(Selector(register=entry.register, organisation=organisation))
    return selectors
