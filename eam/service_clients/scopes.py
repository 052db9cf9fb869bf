"""Which scopes a service client holds, kept as Casbin rows like every other permission.

A scope is a role defined in ``policies/permissions.csv`` (``scope:<name>``). A client holds it
through the grouping row ``g, client:<client_id>, scope:<name>, *``, written through the
caller's session in the same transaction as the decision that grants it. A service token names
the scopes it was issued with (RFC 6749 section 3.3); a call is allowed when Casbin allows it to
the client *and* to one of the token's scopes, so revoking a scope takes effect at once.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from eam.authz.enforcer import Authorizer, Rule
from eam.authz.models import CasbinRule
from eam.authz.policy_store import PolicyStore
from eam.errors import FieldError, ValidationFailed

SCOPE_PREFIX = "scope:"
CLIENT_PREFIX = "client:"
ALL_DOMAINS = "*"


def client_subject(client_id: str) -> str:
    return f"{CLIENT_PREFIX}{client_id}"


def scope_role(scope: str) -> str:
    return f"{SCOPE_PREFIX}{scope}"


def defined_scopes(static_rules: Iterable[Rule]) -> list[str]:
    """Every scope the policy file defines, in a stable order."""
    return sorted({values[0].removeprefix(SCOPE_PREFIX) for ptype, values in static_rules if ptype == "p" and values[0].startswith(SCOPE_PREFIX)})


def check_scopes(scopes: Iterable[str], defined: list[str], field: str) -> list[str]:
    """The scopes, de-duplicated; 422 naming the defined ones when any is unknown."""
    wanted = sorted(set(scopes))
    errors = [
        FieldError(field, f"unknown scope {scope!r}", allowed=defined) for scope in wanted if scope not in defined
    ]
    if errors:
        raise ValidationFailed("the request names scopes EAM does not define", errors)
    return wanted


async def held_scopes(session: AsyncSession, client_ids: Iterable[str]) -> dict[str, list[str]]:
    """The scopes each client holds, read from the Casbin rows."""
    subjects = {client_subject(client_id): client_id for client_id in client_ids}
    held: dict[str, list[str]] = {client_id: [] for client_id in subjects.values()}
    if not subjects:
        return held
    rows = await session.execute(
        select(CasbinRule.v0, CasbinRule.v1)
        .where(CasbinRule.ptype == "g", CasbinRule.v0.in_(subjects), CasbinRule.v2 == ALL_DOMAINS)
        .order_by(CasbinRule.v1)
    )
    for subject, role in rows:
        if role and role.startswith(SCOPE_PREFIX):
            held[subjects[subject]].append(role.removeprefix(SCOPE_PREFIX))
    return held


async def replace_scopes(session: AsyncSession, client_id: str, scopes: list[str]) -> tuple[list[str], list[str]]:
    """Make the client hold exactly ``scopes``; returns (before, after)."""
    before = (await held_scopes(session, [client_id]))[client_id]
    store = PolicyStore(session)
    subject = client_subject(client_id)
    for scope in sorted(set(before) - set(scopes)):
        await store.remove("g", [subject, scope_role(scope), ALL_DOMAINS])
    for scope in sorted(set(scopes) - set(before)):
        await store.add("g", [subject, scope_role(scope), ALL_DOMAINS])
    return before, sorted(scopes)


def client_allows(
    authz: Authorizer, client_id: str, token_scopes: Iterable[str] | None, domain: str, obj: str, action: str
) -> bool:
    """Casbin allows it to the client (scopes it holds) and to a scope the token carries (None: any)."""
    if not authz.allows(client_subject(client_id), domain, obj, action):
        return False
    return token_scopes is None or any(authz.allows(scope_role(scope), domain, obj, action) for scope in token_scopes)
