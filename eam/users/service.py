"""Users are created on first authentication and matched by provider identity afterwards."""

from __future__ import annotations

import datetime as dt

import msgspec
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from eam.auth.identity import Identity, national_number_hash
from eam.core.database import new_id, upsert_ignore
from eam.core.audit import Auditor
from eam.core.settings import Settings
from eam.users.models import PREPARED_ISSUER, User
from eam.users.schemas import Email

#: ``users.display_name`` holds this many characters (token sources already cut names to it;
#: a subject standing in for a missing name can be longer).
DISPLAY_NAME_LENGTH = 200


async def user_for_identity(session: AsyncSession, identity: Identity, key: str, now: dt.datetime) -> User:
    """The user behind ``identity``; created if new (concurrent first sign-ins create one row).

    Later sign-ins refresh the display name; the identity link (issuer, subject) never changes,
    and the professional e-mail stays what the user set.

    A person an access manager registered before their first sign-in (:mod:`eam.users.people`)
    is linked, not duplicated: the first sign-in that presents their national number takes over
    that row, with everything prepared for it.
    """
    stmt = select(User).where(User.issuer == identity.issuer, User.subject == identity.subject)
    user = await session.scalar(stmt)
    if user is None and identity.national_number:
        user = await _link_prepared(session, identity, national_number_hash(key, identity.national_number), now)
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


async def _link_prepared(session: AsyncSession, identity: Identity, digest: str, now: dt.datetime) -> User | None:
    """Link the login identity to the person prepared with this national number, if any.

    Compare-and-set on the prepared issuer: of two first sign-ins at once, one links the row and
    the other finds it linked (and, with another identity, gets a row of its own)."""
    prepared = await session.scalar(select(User.id).where(User.issuer == PREPARED_ISSUER, User.subject == digest))
    if prepared is None:
        return None
    linked = await session.execute(
        update(User)
        .where(User.id == prepared, User.issuer == PREPARED_ISSUER)
        .values(
            issuer=identity.issuer,
            subject=identity.subject,
            national_number_hash=digest,
            display_name=(identity.display_name or identity.subject)[:DISPLAY_NAME_LENGTH],
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if linked.rowcount != 1:  # type: ignore[attr-defined]
        return None
    Auditor.system(session, "sign-in", now).record(
        "person.linked", target_type="user", target_id=prepared, after={"issuer": identity.issuer}
    )
    return await session.get(User, prepared, populate_existing=True)


def usable_email(claim: object) -> str | None:
    """A login provider's e-mail claim, kept only if it is an address the user could have set
    themselves (``Email``); anything else (too long, not an address, not text) is not stored."""
    try:
        return msgspec.convert(claim, Email) if claim is not None else None
    except msgspec.ValidationError:
        return None


async def platform_admin_users(session: AsyncSession, settings: Settings) -> list[User]:
    """The people ``EAM_PLATFORM_ADMINS`` names who have signed in (rows exist), by id."""
    subjects = {entry.partition("#")[2] or entry for entry in settings.platform_admins}
    if not subjects:
        return []
    candidates = await session.scalars(select(User).where(User.subject.in_(subjects)).order_by(User.id))
    return [user for user in candidates if settings.is_platform_admin(user.issuer, user.subject)]
