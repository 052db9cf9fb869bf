"""People of an organisation, registered by its access managers before (or after) they sign in.

Rules:

- An access manager registers a person for their organisation by national number, name and
  professional e-mail address. The national number is checked (Belgian NISS/SSIN check digits)
  and kept only as its keyed hash (:func:`eam.auth.identity.national_number_hash`).
- A national number EAM already knows names that person: they are added to the organisation,
  never duplicated. Otherwise a *prepared* person is created (issuer ``urn:eam:prepared``, the
  hash as subject), to whom access can be granted or requested at once; the person's first
  sign-in with that national number links their login identity to the row
  (:func:`eam.users.service.user_for_identity`).
- Until then the name and e-mail address are the access managers'; registering the person again
  with other ones updates them. Once signed in, the person's own login provider and profile
  keep them.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, ClassVar

import msgspec
from sqlalchemy import select
from stdnum.be import nn
from stdnum.exceptions import ValidationError as NumberInvalid

from eam.auth.identity import national_number_hash
from eam.authz.vocabulary import org_domain
from eam.core.context import Context
from eam.core.database import new_id
from eam.core.errors import FieldError, ValidationFailed
from eam.organisations.numbers import WHITESPACE
from eam.organisations.service import require_active
from eam.users.models import PREPARED_ISSUER, Membership, User
from eam.users.schemas import Email

#: A person's name as shown everywhere: printable, not blank, at most ``users.display_name`` long.
#: (Whitespace written out, not ``\S``: Python's and ECMAScript's differ, and clients check the
#: published pattern with ECMAScript's.)
PersonName = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=200,
        pattern=rf"^[^\x00-\x1f\x7f]*[^{WHITESPACE}\x00-\x1f\x7f][^\x00-\x1f\x7f]*$",
        examples=["Jan Peeters"],
    ),
]


class PersonIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A person to register with an organisation before or after their first sign-in."""

    EXAMPLE: ClassVar[dict[str, Any]] = {"national_number": "85.07.30-033.28", "display_name": "Jan Peeters", "email": "jan.peeters@azsintjan.be"}

    #: NISS/SSIN: 11 digits, with or without the usual dots and dash.
    national_number: Annotated[str, msgspec.Meta(min_length=11, max_length=20, examples=["85073003328"])]
    display_name: PersonName
    email: Email


def checked_national_number(value: str, field: str = "$.national_number") -> str:
    """The 11 digits of a valid Belgian national number; 422 naming ``field`` otherwise."""
    try:
        return str(nn.validate(value))
    except NumberInvalid:
        raise ValidationFailed(
            "not a valid national number", [FieldError(field, "not a valid Belgian national number (NISS/SSIN): 11 digits with matching check digits")]
        ) from None


#: Of the people with one national number, the one it names: a signed-in person before a prepared
#: one (there is at most one of those), the oldest first.
SIGNED_IN_FIRST = (User.issuer == PREPARED_ISSUER, User.created_at)


async def person_with_number(ctx: Context, digest: str) -> User | None:
    """The person known by this national-number hash (:data:`SIGNED_IN_FIRST`)."""
    return await ctx.session.scalar(select(User).where(User.national_number_hash == digest).order_by(*SIGNED_IN_FIRST).limit(1))


async def register_person(ctx: Context, organisation_id: uuid.UUID, data: PersonIn) -> tuple[User, bool]:
    """Register a person with an organisation; returns the person and whether anything changed."""
    ctx.require(org_domain(organisation_id), "person", "register")
    await require_active(ctx, organisation_id)
    digest = national_number_hash(ctx.settings.national_number_key, checked_national_number(data.national_number))
    person = await person_with_number(ctx, digest)
    changed = False
    if person is None:
        person = prepare_person(ctx, digest, data.display_name, data.email)
        changed = True
    elif is_prepared(person) and (person.display_name, person.email) != (data.display_name, data.email):
        update_prepared(ctx, person, data.display_name, data.email)
        changed = True
    return person, await add_member(ctx, organisation_id, person) or changed


def is_prepared(person: User) -> bool:
    """Registered by an access manager and not signed in yet."""
    return person.issuer == PREPARED_ISSUER


def prepare_person(ctx: Context, digest: str, display_name: str, email: str | None) -> User:
    person = User(
        id=new_id(),
        issuer=PREPARED_ISSUER,
        subject=digest,
        display_name=display_name,
        email=email,
        national_number_hash=digest,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    ctx.session.add(person)
    ctx.audit.record("person.prepared", target_type="user", target_id=person.id, after={"display_name": display_name, "email": email})
    return person


def update_prepared(ctx: Context, person: User, display_name: str, email: str | None) -> None:
    before = {"display_name": person.display_name, "email": person.email}
    person.display_name, person.email, person.updated_at = display_name, email, ctx.now
    ctx.audit.record("person.updated", target_type="user", target_id=person.id, before=before, after={"display_name": display_name, "email": email})


async def add_member(ctx: Context, organisation_id: uuid.UUID, person: User, *, known_new: bool = False) -> bool:
    """Make the person a member of the organisation (again, if they had left); False if they
    were one already.

    ``known_new``: the caller read in this transaction that they are not (an import's plan reads
    every membership at once), so it is not read again."""
    if not known_new:
        await ctx.session.flush()
        existing = await ctx.session.get(Membership, (organisation_id, person.id))
        if existing is not None and existing.left_at is None:
            return False
        if existing is not None:  # they had left: a member anew
            existing.left_at, existing.added_at, existing.added_by = None, ctx.now, ctx.actor_id
    else:
        existing = None
    if existing is None:
        ctx.session.add(Membership(organisation_id=organisation_id, user_id=person.id, added_at=ctx.now, added_by=ctx.actor_id))
    ctx.audit.record(
        "person.added",
        target_type="user",
        target_id=person.id,
        organisation_id=organisation_id,
        after={"organisation_id": str(organisation_id), "user_id": str(person.id), "display_name": person.display_name},
    )
    return True
