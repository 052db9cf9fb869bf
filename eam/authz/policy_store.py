"""Casbin rows written through the caller's session, in the same transaction as the decision.

Features ask for what they mean (grant register access, appoint an access manager, grant a
scope); this store turns that into ``casbin_rule`` rows (:mod:`eam.authz.vocabulary`) and
appends each added or removed row to the change log (``casbin_rule_changes``) in the same
transaction, so a rollback undoes the domain change, the policy rows and their log together.
Nothing here commits: the caller's layer owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import String, bindparam, delete, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from eam.authz.changes import ADDED, REMOVED, Change
from eam.authz.models import RULE_COLUMNS, CasbinRule, PolicyChange, PolicyVersion, rule_columns, rule_values
from eam.authz.vocabulary import (
    ALL_DOMAINS,
    GROUPING,
    REGISTER_ACCESS,
    Rule,
    access_manager_rule,
    auditor_rule,
    client_subject,
    platform_admin_rule,
    register_access_key,
    register_access_rule,
    scope_of,
    scope_rule,
)

#: Session ``info`` key: the changes this transaction logged, applied locally after its commit.
WRITTEN = "eam.policy_changes"
#: The ``LISTEN``/``NOTIFY`` channel: a trigger announces each log entry's number at commit.
CHANNEL = "eam_policy"


def _add_one_logged_statement() -> Any:
    """``WITH added AS (INSERT INTO casbin_rule … RETURNING …) INSERT INTO casbin_rule_changes
    SELECT 'add', … FROM added RETURNING seq``, built once, values bound per call."""
    columns = ["ptype", *RULE_COLUMNS]
    rules = CasbinRule.__table__
    added = insert(rules).values({name: bindparam(name) for name in columns}).returning(*(rules.c[name] for name in columns)).cte("added")
    return (
        insert(PolicyChange.__table__)
        .from_select(["op", *columns], select(literal(ADDED, String), *(added.c[name] for name in columns)))
        .returning(PolicyChange.__table__.c.seq)
    )


_ADD_ONE_LOGGED = _add_one_logged_statement()


def row_fields(values: Iterable[str]) -> dict[str, str]:
    return {column: value for column, value in zip(RULE_COLUMNS, values, strict=False)}


#: Change-log entries kept; a worker further behind than this loads in one batch anyway.
LOG_KEPT = 100_000


async def prune_change_log(session: AsyncSession, keep: int = LOG_KEPT) -> int:
    """Drop log entries older than the last ``keep``; returns how many went."""
    newest = await session.scalar(select(func.max(PolicyChange.seq)))
    result = await session.execute(delete(PolicyChange).where(PolicyChange.seq <= int(newest or 0) - keep))
    return int(result.rowcount or 0)


class PolicyStore:
    """The only writer of ``casbin_rule``; every write is logged for the workers' incremental sync."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def grant_register_access(
        self,
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
        first: bool = False,
    ) -> None:
        """Hold the assignment's register access: its one ``p2`` row, replacing an older one (a
        change); ``first``: no live assignment held this access (the caller checked), so there
        is nothing to replace and the row is only added."""
        ptype, values = register_access_rule(
            user_id,
            organisation_id,
            application,
            register,
            role=role,
            data_level=data_level,
            author_group=author_group,
            valid_from=valid_from,
            valid_until=valid_until,
        )
        removed = [] if first else await self._remove(ptype, register_access_key(user_id, organisation_id, application, register))
        await self._add([(ptype, values)], removed)

    async def revoke_register_access(self, user_id: uuid.UUID, organisation_id: uuid.UUID, application: str, register: str) -> int:
        """Drop the assignment's ``p2`` row (revoked or expired); how many rows went."""
        removed = await self._remove(REGISTER_ACCESS, register_access_key(user_id, organisation_id, application, register))
        await self._log(removed=removed)
        return len(removed)

    async def appoint_access_manager(self, user_id: uuid.UUID, organisation_id: uuid.UUID) -> None:
        await self._add([access_manager_rule(user_id, organisation_id)])

    async def remove_access_manager(self, user_id: uuid.UUID, organisation_id: uuid.UUID) -> int:
        ptype, values = access_manager_rule(user_id, organisation_id)
        removed = await self._remove(ptype, values)
        await self._log(removed=removed)
        return len(removed)

    async def appoint_auditor(self, user_id: uuid.UUID, organisation_id: uuid.UUID | None) -> None:
        """An auditor of the organisation, or platform-wide when ``organisation_id`` is None."""
        await self._add([auditor_rule(user_id, organisation_id)])

    async def remove_auditor(self, user_id: uuid.UUID, organisation_id: uuid.UUID | None) -> int:
        ptype, values = auditor_rule(user_id, organisation_id)
        removed = await self._remove(ptype, values)
        await self._log(removed=removed)
        return len(removed)

    async def appoint_platform_admin(self, user_id: uuid.UUID) -> None:
        await self._add([platform_admin_rule(user_id)])

    async def held_scopes(self, client_ids: Iterable[str]) -> dict[str, list[str]]:
        """The scopes each client holds, read from its grouping rows."""
        subjects = {client_subject(client_id): client_id for client_id in client_ids}
        held: dict[str, list[str]] = {client_id: [] for client_id in subjects.values()}
        if not subjects:
            return held
        rows = await self.session.execute(
            select(CasbinRule.v0, CasbinRule.v1)
            .where(CasbinRule.ptype == GROUPING, CasbinRule.v0.in_(subjects), CasbinRule.v2 == ALL_DOMAINS)
            .order_by(CasbinRule.v1)
        )
        for subject, role in rows:
            scope = scope_of(role or "")
            if scope is not None:
                held[subjects[subject]].append(scope)
        return held

    async def replace_scopes(self, client_id: str, scopes: Iterable[str]) -> tuple[list[str], list[str]]:
        """Make the client hold exactly ``scopes``; returns (before, after)."""
        wanted = sorted(set(scopes))
        before = (await self.held_scopes([client_id]))[client_id]
        removed: list[Rule] = []
        for scope in sorted(set(before) - set(wanted)):
            ptype, values = scope_rule(client_id, scope)
            removed.extend(await self._remove(ptype, values))
        added = [scope_rule(client_id, scope) for scope in sorted(set(wanted) - set(before))]
        await self._add(added, removed)
        return before, wanted

    async def _add(self, rules: list[Rule], removed: list[Rule] | None = None) -> None:
        if len(rules) == 1 and not removed and self.session.get_bind().dialect.name == "postgresql":
            await self._add_one_logged(rules[0])
            return
        if rules:
            await self.session.execute(insert(CasbinRule.__table__), [{"ptype": ptype, **row_fields(values)} for ptype, values in rules])
        await self._log(added=rules, removed=removed or [])

    async def _add_one_logged(self, rule: Rule) -> None:
        """One row and its log entry in one statement (PostgreSQL: a data-modifying ``WITH``),
        the common case of an approval or a direct grant."""
        ptype, values = rule
        params = {"ptype": ptype, **{column: None for column in RULE_COLUMNS}, **row_fields(values)}
        seq = (await self.session.execute(_ADD_ONE_LOGGED, params)).scalar_one()
        self.session.info.setdefault(WRITTEN, []).append(Change(seq, ADDED, ptype, list(values)))

    async def _remove(self, ptype: str, leading_values: list[str]) -> list[Rule]:
        conditions = [CasbinRule.ptype == ptype]
        conditions.extend(getattr(CasbinRule, column) == value for column, value in zip(RULE_COLUMNS, leading_values, strict=False))
        result = await self.session.execute(delete(CasbinRule).where(*conditions).returning(*rule_columns(CasbinRule)))
        return [(row[0], rule_values(row[1:])) for row in result.all()]

    async def _log(self, *, added: Iterable[Rule] = (), removed: Iterable[Rule] = ()) -> None:
        """Append the changes to the log (numbers from the table's own sequence: no lock)."""
        changes = [(REMOVED, rule) for rule in removed] + [(ADDED, rule) for rule in added]
        if not changes:
            return
        result = await self.session.execute(
            insert(PolicyChange).returning(PolicyChange.seq, sort_by_parameter_order=True),
            [{"op": op, "ptype": ptype, **row_fields(values)} for op, (ptype, values) in changes],
        )
        self.session.info.setdefault(WRITTEN, []).extend(
            Change(seq, op, ptype, list(values)) for seq, (op, (ptype, values)) in zip(result.scalars(), changes, strict=True)
        )

    async def record_bulk_change(self) -> None:
        """Rows were written in bulk, not through this store (``eam demo-data --scale``): the
        generation in ``policy_version`` moves, which tells every worker to load in one batch."""
        await self.session.execute(
            update(PolicyVersion).where(PolicyVersion.id == 1).values(version=PolicyVersion.version + 1)
        )
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(select(func.pg_notify(CHANNEL, "")))
