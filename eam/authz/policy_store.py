"""Casbin rows written through the caller's session, in the same transaction as the decision.

Every change also bumps ``policy_version`` in that transaction, so a rollback undoes the
domain change, the policy row and the version bump together.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from eam.authz.models import CasbinRule, PolicyVersion

ACCESS_MANAGER = "role:access_manager"
PLATFORM_ADMIN = "role:platform_admin"
PLATFORM_DOMAIN = "platform"


def user_subject(user_id: uuid.UUID) -> str:
    return f"user:{user_id}"


def org_domain(organisation_id: uuid.UUID) -> str:
    return f"org:{organisation_id}"


def policy_time(moment: dt.datetime | None) -> str:
    """Fixed-width UTC text, so string comparison in the matcher is time comparison."""
    if moment is None:
        return ""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def profile_action(role: str, data_level: str | None, author_group: str | None) -> str:
    if data_level:
        return f"{role}/{data_level}"
    if author_group:
        return f"{role}@{author_group}"
    return role


def access_manager_rule(user_id: uuid.UUID, organisation_id: uuid.UUID) -> tuple[str, list[str]]:
    return "g", [user_subject(user_id), ACCESS_MANAGER, org_domain(organisation_id)]


class PolicyStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, ptype: str, values: list[str]) -> None:
        fields = {f"v{index}": value for index, value in enumerate(values)}
        self.session.add(CasbinRule(ptype=ptype, **fields))
        await self.session.flush()
        await self._bump()

    async def remove(self, ptype: str, values: list[str]) -> int:
        conditions = [CasbinRule.ptype == ptype]
        for index, value in enumerate(values):
            conditions.append(getattr(CasbinRule, f"v{index}") == value)
        result = await self.session.execute(delete(CasbinRule).where(*conditions))
        if result.rowcount:
            await self._bump()
        return result.rowcount

    async def _bump(self) -> None:
        await self.session.execute(
            update(PolicyVersion).where(PolicyVersion.id == 1).values(version=PolicyVersion.version + 1)
        )
