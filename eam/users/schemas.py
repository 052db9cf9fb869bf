from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec

Email = Annotated[
    str, msgspec.Meta(max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", examples=["j.peeters@azsintjan.be"])
]


class UserRef(msgspec.Struct, frozen=True):
    id: uuid.UUID
    display_name: str
    email: str | None


def user_ref(user: Any) -> UserRef:
    return UserRef(id=user.id, display_name=user.display_name, email=user.email)


class MePatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The professional e-mail address an access manager sees on requests."""

    email: Email
