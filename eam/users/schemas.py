from __future__ import annotations

import uuid
from typing import Annotated

import msgspec

Email = Annotated[
    str, msgspec.Meta(max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", examples=["j.peeters@azsintjan.be"])
]


class UserRef(msgspec.Struct, frozen=True):
    id: uuid.UUID
    display_name: str
    email: str | None


class MePatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The professional e-mail address an access manager sees on requests."""

    email: Email
