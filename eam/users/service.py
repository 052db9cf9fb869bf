"""Users are created on first authentication and matched by provider identity afterwards."""

from __future__ import annotations

import datetime as dt

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from eam.auth.identity import Identity, national_number_hash
from eam.core.database import new_id, upsert_ignore
from eam.users.models import User
from eam.users.schemas import Email

#: ``users.display_name`` holds this many characters (token sources already cut names to it;
#: a subject standing in for a missing name can be longer).
DISPLAY_NAME_LENGTH = 200


async def user_for_identity(session: AsyncSession, identity: Identity, key: str, now: dt.datetime) -> User:
    """The user behind ``identity``; created if new (concurrent first sign-ins create one row).

    Later sign-ins refresh the display name; the identity link (issuer, subject) never changes,
    and the professional e-mail stays what the user set.
    """
    stmt = select(User).where(User.issuer == identity.issuer, User.subject == identity.subject)
    user = await session.scalar(stmt)
    if user is None:
        digest = national_number_hash(key, identity.national_number) if identity.national_number else None
        await session.execute(
            upsert_ignore(session, User.__table__)
            .values(
                id=new_id(),
                issuer=identity.issuer,
                subject=identity.subject,
                display_name=(identity.display_name or identity.subject)[:DISPLAY_NAME_LENGTH],
                email=usable_email(identity.email),
                national_number_hash=digest,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["issuer", "subject"])
        )
        user = (await session.scalars(stmt.execution_options(populate_existing=True))).one()
    elif identity.display_name and user.display_name != identity.display_name:
        user.display_name = identity.display_name
        user.updated_at = now
    return user


def usable_email(claim: object) -> str | None:
    """A login provider's e-mail claim, kept only if it is an address the user could have set
    themselves (``Email``); anything else (too long, not an address, not text) is not stored."""
    try:
        return msgspec.convert(claim, Email) if claim is not None else None
    except msgspec.ValidationError:
        return None
