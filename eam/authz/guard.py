"""The caller's authorization, as every operation asks it: may this caller do that, there?

A :class:`CallerGuard` stands for one caller: a person (their ``user:`` subject) or a service
client acting with the scopes its token carries (allowed only what the client holds *and* a
scope of the token allows). It also holds the one rule for a person's own objects: on a request
or an assignment of their own, the ``<object>:own`` permission applies instead of ``<object>``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from eam.authz.enforcer import Authorizer
from eam.authz.vocabulary import PLATFORM_DOMAIN, client_subject, org_domain, organisation_of, user_subject
from eam.core.errors import Forbidden


def own_object(obj: str) -> str:
    """The permission object for a caller's own ``obj`` (their request, their assignment)."""
    return f"{obj}:own"


class CallerGuard:
    def __init__(self, authz: Authorizer, user_id: uuid.UUID, client_id: str | None = None, scopes: Iterable[str] = ()) -> None:
        self.authz = authz
        self.user_id = user_id
        self.client_id = client_id
        self.scopes = frozenset(scopes)
        self.subject = client_subject(client_id) if client_id else user_subject(user_id)

    def allows(self, domain: str, obj: str, action: str) -> bool:
        if self.client_id is not None:
            return self.authz.client_allows(self.client_id, self.scopes, domain, obj, action)
        return self.authz.allows(self.subject, domain, obj, action)

    def require(self, domain: str, obj: str, action: str) -> None:
        if not self.allows(domain, obj, action):
            what = obj.split(":")[0].replace("_", " ")
            held = f" with the scopes {' '.join(sorted(self.scopes))}" if self.client_id else ""
            raise Forbidden(f"not allowed to {action} {what} here{held}")

    def require_in(self, organisation_id: uuid.UUID, obj: str, action: str, *, owner_id: uuid.UUID | None = None) -> None:
        """Require the action on ``obj`` in an organisation; on the caller's own object (``owner_id``
        is the caller) the ``<obj>:own`` permission is what counts."""
        self.require(org_domain(organisation_id), own_object(obj) if owner_id == self.user_id else obj, action)

    def require_platform(self, obj: str, action: str) -> None:
        """Require an action outside any organisation (organisations, registers, clients, keys)."""
        self.require(PLATFORM_DOMAIN, obj, action)

    def allows_platform(self, obj: str, action: str) -> bool:
        return self.allows(PLATFORM_DOMAIN, obj, action)

    def allows_in(self, organisation_id: uuid.UUID, obj: str, action: str) -> bool:
        """May the caller ``action`` others' ``obj`` in the organisation (what pages ask before
        offering a form: an auditor reads there but is offered nothing that changes anything)."""
        return self.allows(org_domain(organisation_id), obj, action)

    def organisations_allowing(self, obj: str, action: str) -> list[uuid.UUID] | None:
        """Organisations where the caller may ``action`` ``obj``; None means everywhere (a role
        held in every domain: platform admins, and for reading platform-wide auditors)."""
        if self.allows(PLATFORM_DOMAIN, obj, action):
            return None
        domains = self.authz.domains_allowing(self.subject, obj, action)
        return [organisation_of(domain) for domain in sorted(domains)]  # type: ignore[misc]

    def readable_organisations(self, obj: str) -> list[uuid.UUID] | None:
        """Organisations whose ``obj`` the caller may read (access managers and auditors there);
        None means everywhere (platform admins, platform-wide auditors)."""
        return self.organisations_allowing(obj, "read")
