"""The process-wide Casbin enforcer, rebuilt whenever ``policy_version`` moves.

Each request compares the stored version with the one the enforcer was built from (one
indexed single-row read) and reloads on a difference, so a policy committed by any worker
is enforced by every worker from its next request on. Reloads build a new enforcer and swap
it in, so concurrent requests never see a half-loaded policy.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import logging
from pathlib import Path

import casbin
from casbin.model import Model
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from eam.authz.models import CasbinRule, PolicyVersion
from eam.authz.policy_store import PLATFORM_ADMIN, policy_time

Rule = tuple[str, list[str]]

# pycasbin logs the whole model at INFO on every build; reloads are routine here.
logging.getLogger("casbin").setLevel(logging.WARNING)


def read_permissions(path: Path) -> list[Rule]:
    rules: list[Rule] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle, skipinitialspace=True):
            if row and not row[0].startswith("#"):
                rules.append((row[0].strip(), [value.strip() for value in row[1:]]))
    return rules


class Authorizer:
    def __init__(self, model_path: Path, permissions_path: Path) -> None:
        self.model_text = model_path.read_text(encoding="utf-8")
        self.static_rules = read_permissions(permissions_path)
        self._config_admins: set[str] = set()
        self._version: int | None = None
        self._enforcer = self._build([])
        self._lock = asyncio.Lock()

    @property
    def loaded(self) -> bool:
        return self._version is not None

    @property
    def version(self) -> int | None:
        return self._version

    def _build(self, stored: list[Rule]) -> casbin.Enforcer:
        model = Model()
        model.load_model_from_text(self.model_text)
        enforcer = casbin.Enforcer(model)
        for ptype, values in [*self.static_rules, *stored]:
            if ptype.startswith("g"):
                enforcer.add_named_grouping_policy(ptype, values)
            else:
                enforcer.add_named_policy(ptype, values)
        for subject in self._config_admins:
            enforcer.add_named_grouping_policy("g", [subject, PLATFORM_ADMIN, "*"])
        return enforcer

    async def refresh(self, session: AsyncSession) -> None:
        version = await session.scalar(select(PolicyVersion.version).where(PolicyVersion.id == 1))
        if version == self._version:
            return
        async with self._lock:
            if version == self._version:
                return
            rows = await session.scalars(select(CasbinRule).order_by(CasbinRule.id))
            self._enforcer = self._build([(row.ptype, row.values()) for row in rows])
            self._version = version

    def add_config_admin(self, subject: str) -> None:
        """Platform admins named in ``EAM_PLATFORM_ADMINS`` hold the role without a stored row."""
        if subject not in self._config_admins:
            self._config_admins.add(subject)
            self._enforcer.add_named_grouping_policy("g", [subject, PLATFORM_ADMIN, "*"])

    def allows(self, subject: str, domain: str, obj: str, action: str) -> bool:
        return bool(self._enforcer.enforce(subject, domain, obj, action))

    def domains_allowing(self, subject: str, obj: str, action: str) -> set[str]:
        """The organisation domains in which ``subject`` holds a role that allows the action."""
        domains = {rule[2] for rule in self._enforcer.get_named_grouping_policy("g") if rule[0] == subject}
        return {d for d in domains if d.startswith("org:") and self.allows(subject, d, obj, action)}

    def holds_register_access(
        self, subject: str, domain: str, register_object: str, profile_pattern: str, now: dt.datetime
    ) -> bool:
        context = self._enforcer.new_enforce_context("2")
        return bool(
            self._enforcer.enforce(context, subject, domain, register_object, profile_pattern, policy_time(now))
        )

    def policy_rules(self) -> list[Rule]:
        """Every rule in force (file, database and configured admins), for ``eam policy export``."""
        rules: list[Rule] = []
        for section in ("p", "g"):
            for ptype, assertion in self._enforcer.get_model().model.get(section, {}).items():
                rules.extend((ptype, list(values)) for values in assertion.policy)
        return rules
