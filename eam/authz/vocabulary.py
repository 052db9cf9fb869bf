"""EAM's Casbin vocabulary: the only code that names subjects, domains, objects and row shapes.

``eam/policies/model.conf`` explains the model; this module is its dictionary. Feature code asks
:class:`eam.authz.policy_store.PolicyStore` to grant or revoke and never builds a row itself.

Rows (``ptype, v0..v5`` in ``casbin_rule``):

- ``g, user:<uuid>, role:access_manager, org:<uuid>``: an access manager of an organisation;
- ``g, user:<uuid>, role:platform_admin, *``: a platform admin (in every domain);
- ``g, user:<uuid>, role:auditor, org:<uuid>``: an auditor (e.g. the data protection officer) of an
  organisation, who reads and changes nothing;
- ``g, user:<uuid>, role:auditor, *``: a platform-wide auditor (reads in every domain);
- ``g, client:<client_id>, scope:<name>, *``: a service client holding a scope;
- ``p2, user:<uuid>, org:<uuid>, <application>:<register>, <profile>, <valid_from>, <valid_until>``:
  register access held through one live assignment.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

#: A policy row: its ptype and its values (``v0`` onwards).
Rule = tuple[str, list[str]]

PERMISSION = "p"
GROUPING = "g"
REGISTER_ACCESS = "p2"

USER_PREFIX = "user:"
CLIENT_PREFIX = "client:"
SCOPE_PREFIX = "scope:"
ORG_PREFIX = "org:"

ACCESS_MANAGER = "role:access_manager"
PLATFORM_ADMIN = "role:platform_admin"
AUDITOR = "role:auditor"
#: The domain of actions outside any organisation (creating organisations, service clients).
PLATFORM_DOMAIN = "platform"
#: In a grouping row: the role is held in every domain.
ALL_DOMAINS = "*"


def user_subject(user_id: uuid.UUID) -> str:
    return f"{USER_PREFIX}{user_id}"


def client_subject(client_id: str) -> str:
    return f"{CLIENT_PREFIX}{client_id}"


def scope_role(scope: str) -> str:
    return f"{SCOPE_PREFIX}{scope}"


def org_domain(organisation_id: uuid.UUID) -> str:
    return f"{ORG_PREFIX}{organisation_id}"


def organisation_of(domain: str) -> uuid.UUID | None:
    """The organisation an ``org:<uuid>`` domain names; None for other domains."""
    if not domain.startswith(ORG_PREFIX):
        return None
    return uuid.UUID(domain.removeprefix(ORG_PREFIX))


def register_object(application: str, register: str) -> str:
    return f"{application}:{register}"


def policy_time(moment: dt.datetime | None) -> str:
    """Fixed-width UTC text, so string comparison in the matcher is time comparison."""
    if moment is None:
        return ""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def profile_action(role: str, data_level: str | None, author_group: str | None) -> str:
    """``role/data_level`` (report portal), ``role@author_group`` (data-entry tool) or ``role``."""
    if data_level:
        return f"{role}/{data_level}"
    if author_group:
        return f"{role}@{author_group}"
    return role


def register_access_key(user_id: uuid.UUID, organisation_id: uuid.UUID, application: str, register: str) -> list[str]:
    """The leading values that identify an assignment's ``p2`` row whatever its profile and dates."""
    return [user_subject(user_id), org_domain(organisation_id), register_object(application, register)]


def register_access_rule(
    user_id: uuid.UUID,
    organisation_id: uuid.UUID,
    application: str,
    register: str,
    *,
    role: str,
    data_level: str | None,
    author_group: str | None,
    valid_from: dt.datetime,
    valid_until: dt.datetime | None,
) -> Rule:
    return REGISTER_ACCESS, [
        *register_access_key(user_id, organisation_id, application, register),
        profile_action(role, data_level, author_group),
        policy_time(valid_from),
        policy_time(valid_until),
    ]


def access_manager_rule(user_id: uuid.UUID, organisation_id: uuid.UUID) -> Rule:
    return GROUPING, [user_subject(user_id), ACCESS_MANAGER, org_domain(organisation_id)]


def auditor_rule(user_id: uuid.UUID, organisation_id: uuid.UUID | None) -> Rule:
    """An auditor of one organisation, or (``organisation_id`` None) of every organisation."""
    domain = org_domain(organisation_id) if organisation_id is not None else ALL_DOMAINS
    return GROUPING, [user_subject(user_id), AUDITOR, domain]


def platform_admin_rule(user_id: uuid.UUID) -> Rule:
    return GROUPING, [user_subject(user_id), PLATFORM_ADMIN, ALL_DOMAINS]


def scope_rule(client_id: str, scope: str) -> Rule:
    return GROUPING, [client_subject(client_id), scope_role(scope), ALL_DOMAINS]


def scope_of(role: str) -> str | None:
    """The scope a ``scope:<name>`` role stands for; None for other roles."""
    return role.removeprefix(SCOPE_PREFIX) if role.startswith(SCOPE_PREFIX) else None


def defined_scopes(static_rules: Iterable[Rule]) -> list[str]:
    """Every scope the policy file defines, in a stable order."""
    return sorted(
        {values[0].removeprefix(SCOPE_PREFIX) for ptype, values in static_rules if ptype == PERMISSION and values[0].startswith(SCOPE_PREFIX)}
    )


def is_grouping(ptype: str) -> bool:
    return ptype.startswith(GROUPING)
