"""Register-access decisions (Casbin ``m2``), answered from the asking user's own ``p2`` rows.

The cost of a decision does not depend on how many assignments the platform holds: the rows
come from the subject's entry in the worker's LRU cache, or from one query on the indexed
``casbin_rule.v0`` that reads that subject's rows and no others (Casbin's filtered loading).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from eam.authz.enforcer import Authorizer, RegisterRows
from eam.authz.models import CasbinRule, rule_columns
from eam.authz.vocabulary import REGISTER_ACCESS, org_domain, register_object, user_subject


async def register_rows(authz: Authorizer, session: AsyncSession, subject: str) -> RegisterRows:
    """The subject's ``p2`` rows, from the cache or read with a filter on the subject."""
    cached = authz.cached_register_rows(subject)
    if cached is not None:
        return cached
    authz.begin_register_load(subject)
    try:
        result = await session.execute(
            select(*rule_columns(CasbinRule)[1:]).where(
                CasbinRule.ptype == REGISTER_ACCESS, CasbinRule.v0 == subject
            )
        )
        rows = [[value or "" for value in row] for row in result]
    except BaseException:
        authz.end_register_load(subject, None)
        raise
    return authz.end_register_load(subject, rows)


async def holds_register_access(
    authz: Authorizer,
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    organisation_id: uuid.UUID,
    application: str,
    register: str,
    profile_pattern: str,
    now: dt.datetime,
) -> bool:
    """May the user, now, use ``register`` of ``application`` for the organisation with a profile
    matching ``profile_pattern`` (a regular expression over ``role/data_level`` or ``role@author_group``)?"""
    subject = user_subject(user_id)
    rows = await register_rows(authz, session, subject)
    return authz.register_access_allowed(
        rows, subject, org_domain(organisation_id), register_object(application, register), profile_pattern, now
    )
