from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import msgspec

from eam.organisations.schemas import Name

RegisterCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z][A-Z0-9_-]{2,31}$", examples=["HDBP0147"])]
ApplicationCode = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{1,31}$", examples=["healthstat"])]
AuthorGroup = Annotated[
    str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,127}$", examples=["cardiology-team"])
]


class Profile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A role plus a data level (report portal) or an author group (data-entry tool support)."""

    role: Annotated[str, msgspec.Meta(max_length=64, examples=["data_provider"])]
    data_level: Annotated[str, msgspec.Meta(max_length=64, examples=["hospital"])] | None = None
    author_group: AuthorGroup | None = None


def profile_of(row: Any) -> Profile:
    """The profile held by an access request or assignment row."""
    return Profile(role=row.role, data_level=row.data_level, author_group=row.author_group)


class AllowedProfile(msgspec.Struct, frozen=True):
    key: str
    role: str
    label: str
    data_level: str | None
    author_group: Literal["required", "forbidden"]
    narrows_to: tuple[str, ...]
    csv_code: str | None


class ApplicationOut(msgspec.Struct, frozen=True):
    code: str
    name: str
    profiles: list[AllowedProfile]


class RegisterIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {"code": "HDBP0250", "name": "Belgian Cystic Fibrosis Registry", "applications": ["healthstat", "hd4dp2"]}

    code: RegisterCode
    name: Name
    applications: Annotated[list[ApplicationCode], msgspec.Meta(min_length=1, max_length=16)]


class RegisterOut(msgspec.Struct, frozen=True):
    code: str
    name: str
    applications: list[str]
    source: Literal["catalogue", "api"]
