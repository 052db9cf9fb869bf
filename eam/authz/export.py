"""Every rule in force, as Casbin CSV rows for ``policies/model.conf`` (``eam policy export``).

The permission file, the stored rows (streamed from the database: at a million assignments
they are not held in memory anywhere) and the platform admins named in the configuration.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from eam.authz.enforcer import read_permissions
from eam.authz.models import CasbinRule
from eam.authz.policy_store import COLUMNS
from eam.authz.vocabulary import Rule, platform_admin_rule

import uuid
from pathlib import Path


async def rules_in_force(session: AsyncSession, permissions_file: Path, config_admins: Iterable[uuid.UUID]) -> AsyncIterator[Rule]:
    for rule in read_permissions(permissions_file):
        yield rule
    stored = await session.stream(
        select(CasbinRule.ptype, *(getattr(CasbinRule, column) for column in COLUMNS)).order_by(CasbinRule.id)
    )
    async for row in stored:
        values = list(row[1:])
        while values and values[-1] is None:
            values.pop()
        yield row[0], [value or "" for value in values]
    for user_id in config_admins:
        yield platform_admin_rule(user_id)
