"""The operation context: what every domain operation runs with, whoever calls it.

An API request (:func:`eam.http.context.provide_context`), a page, an import, a job or the CLI
(:func:`system_context`) builds the same :class:`Context`: the caller, the one transaction, the
clock reading, the caller's authorization, the audit recorder and the process-wide services.
Domain operations take a Context and nothing from the layer that called them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eam.core.audit import Auditor
from eam.core.database import Clock, transaction
from eam.core.settings import Settings
from eam.users.models import User

if TYPE_CHECKING:
    from eam.authz.enforcer import Authorizer
    from eam.authz.guard import CallerGuard
    from eam.catalogue.service import Catalogue
    from eam.signing_keys.keyring import KeyRing

#: Issuer of the user rows that stand for EAM itself (jobs, imports, the CLI): ``subject`` names
#: the actor, e.g. ``expiry``. No one can sign in as one.
SYSTEM_ISSUER = "urn:eam:system"


@dataclass
class Services:
    """The process-wide collaborators, built once at start-up (``eam serve``, the CLI, tests)."""

    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    catalogue: Catalogue
    authz: Authorizer
    keyring: KeyRing


class Context:
    """Everything a domain operation needs about the operation it runs in.

    (A plain class: frameworks that inspect dataclasses would resolve its annotations.)
    """

    __slots__ = ("session", "user", "guard", "audit", "now", "services", "client_id", "scopes")

    def __init__(
        self,
        *,
        session: AsyncSession,
        user: User,
        guard: CallerGuard,
        audit: Auditor,
        now: dt.datetime,
        services: Services,
        client_id: str | None = None,
        scopes: frozenset[str] = frozenset(),
    ) -> None:
        self.session = session
        self.user = user
        self.guard = guard
        self.audit = audit
        self.now = now
        self.services = services
        #: Set when a service client calls with a service token.
        self.client_id = client_id
        self.scopes = scopes

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def catalogue(self) -> Catalogue:
        return self.services.catalogue

    @property
    def authz(self) -> Authorizer:
        return self.services.authz

    @property
    def keyring(self) -> KeyRing:
        return self.services.keyring

    @property
    def actor_id(self) -> uuid.UUID | None:
        """Who to record as having done it (``created_by``, ``decided_by``…): the person, or
        None when EAM itself acts (a system actor is not a stored user)."""
        return None if self.user.issuer == SYSTEM_ISSUER else self.user.id

    @property
    def subject(self) -> str:
        return self.guard.subject

    def require(self, domain: str, obj: str, action: str) -> None:
        self.guard.require(domain, obj, action)

    def require_in(self, organisation_id: uuid.UUID, obj: str, action: str, *, owner_id: uuid.UUID | None = None) -> None:
        self.guard.require_in(organisation_id, obj, action, owner_id=owner_id)

    def require_platform(self, obj: str, action: str) -> None:
        self.guard.require_platform(obj, action)

    def allows(self, domain: str, obj: str, action: str) -> bool:
        return self.guard.allows(domain, obj, action)

    def allows_in(self, organisation_id: uuid.UUID, obj: str, action: str) -> bool:
        return self.guard.allows_in(organisation_id, obj, action)

    def readable_organisations(self, obj: str) -> list[uuid.UUID] | None:
        return self.guard.readable_organisations(obj)

    def organisations_allowing(self, obj: str, action: str) -> list[uuid.UUID] | None:
        return self.guard.organisations_allowing(obj, action)


def context_for(
    services: Services,
    session: AsyncSession,
    user: User,
    now: dt.datetime,
    *,
    actor: str | None = None,
    request_id: str | None = None,
    client_id: str | None = None,
    scopes: frozenset[str] = frozenset(),
    audit: Auditor | None = None,
) -> Context:
    """The context of an operation by ``user`` (or a service client acting through its account).

    ``actor`` is how the audit trail names the caller (default: the person's name and subject);
    ``audit`` replaces the caller's recorder altogether (system actors).
    """
    return Context(
        session=session,
        user=user,
        guard=services.authz.guard(user.id, client_id, scopes),
        audit=audit
        or Auditor(
            session=session,
            actor_id=user.id,
            actor=actor or f"{user.display_name} <{user.subject}>",
            now=now,
            http_request_id=request_id,
        ),
        now=now,
        services=services,
        client_id=client_id,
        scopes=scopes,
    )


def system_user(actor: str, now: dt.datetime) -> User:
    """The user standing for the system actor ``actor``: never stored (it is not a person, and
    no person can sign in as it); rows it writes name no one as their author (``None``)."""
    return User(
        id=uuid.uuid5(uuid.NAMESPACE_URL, f"{SYSTEM_ISSUER}:{actor}"),
        issuer=SYSTEM_ISSUER,
        subject=actor,
        display_name=f"EAM ({actor})",
        created_at=now,
        updated_at=now,
    )


@asynccontextmanager
async def system_context(services: Services, actor: str) -> AsyncIterator[Context]:
    """Run domain operations as the system actor ``actor`` (``expiry``, ``keys``, ``cli``) in one
    transaction of their own, with the same authorization and audit rules as a request.

    The actor holds the platform-admin role (in this process only; no policy row is stored);
    the audit trail names it ``system:<actor>``. The transaction commits when the block ends
    and rolls back if it raises.
    """
    async with transaction(services.sessionmaker) as session:
        now = services.clock()
        user = system_user(actor, now)
        services.authz.add_system_actor(user.id)
        yield context_for(services, session, user, now, audit=Auditor.system(session, actor, now))
