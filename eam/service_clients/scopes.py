"""Which scopes a service client holds, kept as Casbin rows like every other permission.

A scope is a role defined in ``eam/policies/permissions.csv``. A client holds it through a grouping
row that :class:`eam.authz.policy_store.PolicyStore` writes in the same transaction as the
decision that grants it. A service token names the scopes it was issued with (RFC 6749 section
3.3); a call is allowed when Casbin allows it to the client *and* to one of the token's scopes
(:meth:`eam.authz.enforcer.Authorizer.client_allows`), so revoking a scope takes effect at once.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from eam.authz.policy_store import PolicyStore
from eam.core.errors import FieldError, ValidationFailed

#: What each scope is for: the API operations (OpenAPI ``operationId``) a client holding only
#: that scope can call. A scope implies what its operations need, reading included: a client
#: that appoints access managers can list them and read the organisation it appoints them in,
#: and one that adds registers can read the applications they name.
#: ``policies/permissions.csv`` grants it; tests/test_scope_operations.py calls every operation
#: with every scope alone (each listed one works, each other one is 403); the README shows it.
SCOPE_OPERATIONS: dict[str, tuple[str, ...]] = {
    "tokens:introspect": ("introspectToken",),
    "organisations:read": ("listOrganisations", "getOrganisation"),
    "organisations:write": ("listOrganisations", "getOrganisation", "createOrganisation", "updateOrganisation"),
    "access_managers:read": ("getOrganisation", "listAccessManagers"),
    "access_managers:write": ("getOrganisation", "listAccessManagers", "appointAccessManager", "removeAccessManager"),
    "access_requests:read": ("listAccessRequests", "getAccessRequest"),
    "assignments:read": ("listAssignments", "getAssignment"),
    "assignments:revoke": ("listAssignments", "getAssignment", "revokeAssignment"),
    "catalogue:read": ("listApplications", "listRegisters", "getRegister"),
    "catalogue:write": ("listApplications", "listRegisters", "getRegister", "addRegister"),
    "audit:read": ("listAuditEvents", "exportAuditEvents"),
    "webhooks:write": (
        "createWebhook", "listWebhooks", "getWebhook", "updateWebhook", "deleteWebhook", "listWebhookDeliveries", "replayWebhookDelivery",
    ),
}


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
    """The scopes each client holds."""
    return await PolicyStore(session).held_scopes(client_ids)


async def replace_scopes(session: AsyncSession, client_id: str, scopes: list[str]) -> tuple[list[str], list[str]]:
    """Make the client hold exactly ``scopes``; returns (before, after)."""
    return await PolicyStore(session).replace_scopes(client_id, scopes)
