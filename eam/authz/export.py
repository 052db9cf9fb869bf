"""Every rule in force, as Casbin CSV rows for ``eam/policies/model.conf`` (``eam policy export``).

The permission file, the stored rows (streamed from the database: at a million assignments
they are not held in memory anywhere) and the platform admins named in the configuration.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from eam.authz.enforcer import read_permissions
from eam.authz.models import CasbinRule, rule_columns, rule_values
from eam.authz.vocabulary import Rule, platform_admin_rule


async def rules_in_force(session: AsyncSession, permissions_file: Path, config_admins: Iterable[uuid.UUID]) -> AsyncIterator[Rule]:
    for rule in read_permissions(permissions_file):
        yield rule
    stored = await session.stream(select(*rule_columns(CasbinRule)).order_by(CasbinRule.id))
    async for row in stored:
        yield row[0], rule_values(row[1:])
    for user_id in config_admins:
        yield platform_admin_rule(user_id)
