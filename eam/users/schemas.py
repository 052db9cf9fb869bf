from __future__ import annotations

import uuid
from typing import Annotated, Any, ClassVar, Literal

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


#: The languages EAM writes pages and e-mails in.
Language = Literal["en", "nl", "fr"]


class MePatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a person sets about themselves; a member left out stays as it is.

    ``email``: the professional address an access manager sees on requests and mail goes to;
    ``language``: the language of their e-mails; ``notify_digest``: an access manager's choice
    of one daily digest of waiting requests instead of a mail per request."""

    EXAMPLE: ClassVar[dict[str, Any]] = {"email": "carol.peeters@azsintjan.be", "language": "nl", "notify_digest": False}

    email: Email | msgspec.UnsetType = msgspec.UNSET
    language: Language | msgspec.UnsetType = msgspec.UNSET
    notify_digest: bool | msgspec.UnsetType = msgspec.UNSET
