from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, ClassVar, Literal

import msgspec

from eam.organisations.numbers import KBO_PATTERN, NIHDI_PATTERN, NOT_BLANK_PATTERN

#: A display name (of an organisation, a register, a service client); stored without surrounding whitespace.
Name = Annotated[
    str, msgspec.Meta(min_length=1, max_length=200, pattern=NOT_BLANK_PATTERN, description="non-blank text without NUL characters")
]
NihdiInput = Annotated[
    str,
    msgspec.Meta(
        min_length=8, max_length=16, pattern=NIHDI_PATTERN, description="an 8-digit NIHDI number", examples=["71000436"]
    ),
]
KboInput = Annotated[
    str,
    msgspec.Meta(
        min_length=9,
        max_length=16,
        pattern=KBO_PATTERN,
        description="a Belgian enterprise number (10 digits, valid check digits)",
        examples=["0403.170.701"],
    ),
]


class OrganisationCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {"name": "AZ Sint-Jan Brugge", "nihdi": "71000436", "kbo": "BE 0403.170.701"}

    name: Name
    nihdi: NihdiInput
    kbo: KboInput | None = None


class OrganisationPatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {"name": "AZ Sint-Jan Brugge-Oostende", "status": "active"}

    name: Name | None = None
    kbo: KboInput | None = None
    status: Literal["active", "disabled"] | None = None


class OrganisationOut(msgspec.Struct, frozen=True):
    id: uuid.UUID
    name: str
    nihdi: str
    kbo: str | None
    kbo_formatted: str | None
    status: Literal["active", "disabled"]
    created_at: dt.datetime
    updated_at: dt.datetime


class OrganisationRef(msgspec.Struct, frozen=True):
    """What a requester needs to see to notice a wrong organisation at once."""

    id: uuid.UUID
    name: str
    nihdi: str
    status: str
