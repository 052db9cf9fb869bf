from __future__ import annotations

import uuid
from typing import Annotated, Any, ClassVar

import msgspec

from eam.users.models import PREPARED_ISSUER

#: Not in an address: "@" as a separator, controls, and whitespace as both Python and ECMAScript
#: regular expressions define it (written out, because their "\s" differ and clients check the
#: published pattern with ECMAScript's).
_NOT_IN_ADDRESS = r"@\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
Email = Annotated[
    str,
    msgspec.Meta(
        max_length=320,
        pattern=rf"^[^{_NOT_IN_ADDRESS}]+@[^{_NOT_IN_ADDRESS}]+\.[^{_NOT_IN_ADDRESS}]+$",
        examples=["j.peeters@azsintjan.be"],
    ),
]


class UserRef(msgspec.Struct, frozen=True):
    id: uuid.UUID
    display_name: str
    email: str | None
    #: False for a person an access manager registered who has not signed in yet: what is
    #: prepared for them (access, requests) waits for their first sign-in.
    signed_in: bool = True


def user_ref(user: Any) -> UserRef:
    return UserRef(id=user.id, display_name=user.display_name, email=user.email, signed_in=getattr(user, "issuer", None) != PREPARED_ISSUER)


class MePatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The professional e-mail address an access manager sees on requests."""

    EXAMPLE: ClassVar[dict[str, Any]] = {"email": "carol.peeters@azsintjan.be"}

    email: Email
