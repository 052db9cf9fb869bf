from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, examples=["AZ Sint-Jan Brugge"])]
NihdiInput = Annotated[str, msgspec.Meta(min_length=8, max_length=16, examples=["71000436"])]
KboInput = Annotated[str, msgspec.Meta(min_length=9, max_length=16, examples=["0403.254.262"])]


class OrganisationCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: Name
    nihdi: NihdiInput
    kbo: KboInput | None = None


class OrganisationPatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
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
