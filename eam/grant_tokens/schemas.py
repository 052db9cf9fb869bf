from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import msgspec

#: RFC 9396 ``type`` of EAM's authorization details.
REGISTER_ACCESS = "eam_register_access"

ApplicationCode = Annotated[str, msgspec.Meta(min_length=1, max_length=32, examples=["healthstat"])]
RegisterCode = Annotated[str, msgspec.Meta(min_length=1, max_length=32, examples=["HDBP0147"])]
OrganisationSelector = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=64,
        # A UUID, or 8 digits with any of the separators people write NIHDI numbers with.
        pattern=r"^\s*(?:[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}|[\s./-]*(?:[0-9][\s./-]*){8})\s*$",
        description="The organisation's id, or its NIHDI number",
        examples=["71000436"],
    ),
]


class GrantTokenRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {"application": "healthstat", "register": "HDBP0147", "organisation": "71000436"}

    application: ApplicationCode
    #: Only this register; without it, every register the user holds in the application.
    register: RegisterCode | None = None
    organisation: OrganisationSelector | None = None


class OrganisationClaim(msgspec.Struct, frozen=True):
    id: str
    nihdi: str


class RegisterAccess(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag_field="type", tag=REGISTER_ACCESS
):
    """One assignment, as an RFC 9396 authorization details entry (``type`` is the tag)."""

    organisation: OrganisationClaim
    register: str
    role: str
    data_level: str | None = None
    author_group: str | None = None
    assignment_id: str
    #: RFC 3339 UTC; null when the assignment is open-ended.
    valid_until: str | None


class GrantTokenOut(msgspec.Struct, frozen=True, kw_only=True):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    #: The token's ``jti``.
    grant_id: str
    authorization_details: list[RegisterAccess]


class IntrospectionOut(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """RFC 7662 section 2.2; an inactive token answers ``{"active": false}`` and nothing else."""

    active: bool
    token_type: str | None = None
    client_id: str | None = None
    sub: str | None = None
    aud: str | None = None
    iss: str | None = None
    exp: int | None = None
    iat: int | None = None
    nbf: int | None = None
    jti: str | None = None
    authorization_details: list[RegisterAccess] | None = None
