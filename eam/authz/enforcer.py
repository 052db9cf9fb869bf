"""The process-wide Casbin enforcer, kept in step with ``casbin_rule`` change by change.

What a worker holds, and why it stays small at a million assignments:

- **API permissions** (``p`` rows of ``eam/policies/permissions.csv`` and the ``g`` rows: roles per
  organisation, scopes, admins) live in one Casbin enforcer, loaded in one batch through
  Casbin's adapter path at start-up and then changed row by row from the change log. Their
  number grows with organisations and clients, not with assignments. Decisions are cached until
  the next change of these rows; the organisations a subject holds roles in are indexed by subject.
- **Register access** (``p2`` rows, one per live assignment) is never loaded as a whole. A
  decision is answered from the asking subject's own rows only (Casbin's filtered loading: one
  indexed query on ``v0``), kept in a bounded LRU cache and evicted when the log names the subject.

:mod:`eam.authz.sync` reads the change log (``seq > last applied``) and calls :meth:`Authorizer.apply`.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import logging
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
import uuid
from typing import TYPE_CHECKING, Any

import casbin
from casbin import persist
from casbin.model import Model
from casbin.util.expression import SimpleEval

from eam.authz.changes import Change, LogPosition
from eam.authz.vocabulary import (
    ALL_DOMAINS,
    CLIENT_PREFIX,
    GROUPING,
    ORG_PREFIX,
    PLATFORM_ADMIN,
    REGISTER_ACCESS,
    USER_PREFIX,
    Rule,
    client_subject,
    is_grouping,
    policy_time,
    scope_role,
    user_subject,
)

if TYPE_CHECKING:
    from eam.authz.guard import CallerGuard

# pycasbin logs the whole model at INFO on every build; builds are routine here.
logging.getLogger("casbin").setLevel(logging.WARNING)

#: ``(domain, object)`` → that subject's ``p2`` rows for it (at most one live assignment each).
RegisterRows = dict[tuple[str, str], list[list[str]]]


def read_permissions(path: Path) -> list[Rule]:
    rules: list[Rule] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle, skipinitialspace=True):
            if row and not row[0].startswith("#"):
                rules.append((row[0].strip(), [value.strip() for value in row[1:]]))
    return rules


class RowsAdapter(persist.Adapter):
    """Casbin's adapter interface over rows already read: ``load_policy`` appends without the
    per-row duplicate scan of ``add_policy`` (linear in the rows, not quadratic)."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = rules

    def load_policy(self, model: Model) -> None:
        sections = model.model
        for ptype, values in self.rules:  # what persist.load_policy_line does once a line is split
            sections[ptype[0]][ptype].policy.append(list(values))


class MatcherOnceEnforcer(casbin.Enforcer):
    """pycasbin parses the matcher text again (``ast.parse``) on every ``enforce``; about half
    of a register-access decision. This enforcer parses each matcher once and hands the parsed
    evaluator the functions of the current call. One instance is used by one event loop only."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._parsed: dict[str, SimpleEval] = {}
        super().__init__(*args, **kwargs)

    def _get_expression(self, expr: str, functions: dict[str, Any] | None = None) -> SimpleEval:  # type: ignore[override]
        evaluator = self._parsed.get(expr)
        if evaluator is None:
            evaluator = self._parsed[expr] = casbin.Enforcer._get_expression(expr, functions)
        else:
            evaluator.functions = functions or {}
        return evaluator


class Authorizer:
    def __init__(
        self, model_path: Path, permissions_path: Path, *, subject_cache_size: int = 10_000, decision_cache_size: int = 100_000
    ) -> None:
        self.model_text = model_path.read_text(encoding="utf-8")
        self.static_rules = read_permissions(permissions_path)
        self.subject_cache_size = subject_cache_size
        self.decision_cache_size = decision_cache_size
        self._config_admins: set[str] = set()
        #: Where this worker is in the change log; None until the first batch load.
        self.position: LogPosition | None = None
        #: How many times this worker loaded in one batch (start-up, far behind, bulk changes).
        self.batch_loads = 0
        #: Serialises reading the log and applying it, so an older read never overwrites a newer one.
        self.sync_lock = asyncio.Lock()
        self._enforcer = self._build([])
        self._grouping: dict[str, set[tuple[str, tuple[str, ...]]]] = {}
        #: subject -> (domain, object, action) -> allowed. A change of one subject's roles drops
        #: that subject's decisions only (EAM's roles do not inherit from one another).
        self._decisions: dict[str, dict[tuple[str, str, str], bool]] = {}
        self._decision_count = 0
        self._register = self._build([])  # evaluates m2 over one subject's rows at a time
        self._register_policy = self._register.get_model().model["p"][REGISTER_ACCESS]
        self._register_context = self._register.new_enforce_context("2")
        self._register_rows: OrderedDict[str, RegisterRows] = OrderedDict()
        self._loading: dict[str, int] = {}
        self._changed_while_loading: set[str] = set()

    # -- state -----------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        return self.position is not None

    @property
    def version(self) -> int | None:
        """The newest change-log entry this worker has read."""
        return self.position.newest if self.position else None

    def _build(self, stored: Iterable[Rule]) -> casbin.Enforcer:
        model = Model()
        model.load_model_from_text(self.model_text)
        admins = [(GROUPING, [subject, PLATFORM_ADMIN, ALL_DOMAINS]) for subject in self._config_admins]
        enforcer = MatcherOnceEnforcer(model, RowsAdapter([*self.static_rules, *stored, *admins]))
        enforcer.enable_auto_save(False)
        return enforcer

    async def replace(self, position: LogPosition, stored: Sequence[Rule]) -> None:
        """Swap in a batch load (``stored``: every stored non-``p2`` row), built off the event loop."""
        enforcer = await asyncio.to_thread(self._build, stored)
        for subject in self._config_admins:  # named while the batch was being built
            enforcer.add_named_grouping_policy(GROUPING, [subject, PLATFORM_ADMIN, ALL_DOMAINS])
        grouping: dict[str, set[tuple[str, tuple[str, ...]]]] = {}
        for ptype, values in stored:
            if is_grouping(ptype) and values:
                grouping.setdefault(values[0], set()).add((ptype, tuple(values)))
        self._enforcer, self._grouping, self.position = enforcer, grouping, position
        self.batch_loads += 1
        self._forget_decisions()
        self._register_rows.clear()
        self._changed_while_loading.update(self._loading)

    def invalidate(self, changes: Iterable[Change]) -> set[str]:
        """Apply log entries as invalidations: a ``p2`` subject's cached rows are dropped; the
        subjects whose other rows changed are returned, to be read again (:meth:`reset_subject`)."""
        reread: set[str] = set()
        for change in changes:
            if change.ptype == REGISTER_ACCESS:
                self._forget_register_rows(change.subject)
            elif change.subject:
                reread.add(change.subject)
        return reread

    def reset_subject(self, subject: str, rows: Iterable[Rule]) -> None:
        """Make the subject's grouping and stored permission rows exactly ``rows`` (just read)."""
        wanted = {(ptype, tuple(values)) for ptype, values in rows}
        held = self._grouping.get(subject, set())
        for ptype, values in held - wanted:
            if is_grouping(ptype):
                self._enforcer.remove_named_grouping_policy(ptype, list(values))
            else:
                self._enforcer.remove_named_policy(ptype, list(values))
        for ptype, values in wanted - held:
            if is_grouping(ptype):
                self._enforcer.add_named_grouping_policy(ptype, list(values))
            else:
                self._enforcer.add_named_policy(ptype, list(values))
        if wanted:
            self._grouping[subject] = wanted
        else:
            self._grouping.pop(subject, None)
        if subject in self._config_admins:
            self._enforcer.add_named_grouping_policy(GROUPING, [subject, PLATFORM_ADMIN, ALL_DOMAINS])
        if any(not is_grouping(ptype) for ptype, _ in held ^ wanted) or not subject.startswith((USER_PREFIX, CLIENT_PREFIX)):
            self._forget_decisions()  # a permission row or a role's own roles: anyone's decisions may change
        else:
            self._forget_decisions(subject)

    def guard(self, user_id: uuid.UUID, client_id: str | None = None, scopes: Iterable[str] = ()) -> CallerGuard:
        """The authorization of one caller: a person, or a service client with its token's scopes."""
        from eam.authz.guard import CallerGuard  # noqa: PLC0415 - guard builds on this module

        return CallerGuard(self, user_id, client_id, scopes)

    def add_system_actor(self, user_id: uuid.UUID) -> None:
        """EAM's own actors (jobs, imports, the CLI) act as platform admins."""
        self.add_config_admin(user_subject(user_id))

    def add_config_admin(self, subject: str) -> None:
        """Platform admins named in ``EAM_PLATFORM_ADMINS`` hold the role without a stored row."""
        if subject not in self._config_admins:
            self._config_admins.add(subject)
            self._enforcer.add_named_grouping_policy(GROUPING, [subject, PLATFORM_ADMIN, ALL_DOMAINS])
            self._forget_decisions(subject)

    def _forget_decisions(self, subject: str | None = None) -> None:
        if subject is None:
            self._decisions.clear()
            self._decision_count = 0
        else:
            self._decision_count -= len(self._decisions.pop(subject, {}))

    # -- API permissions (p, g) ------------------------------------------------------------

    def allows(self, subject: str, domain: str, obj: str, action: str) -> bool:
        held = self._decisions.get(subject)
        decision = held.get((domain, obj, action)) if held is not None else None
        if decision is None:
            decision = bool(self._enforcer.enforce(subject, domain, obj, action))
            if self._decision_count >= self.decision_cache_size:
                self._forget_decisions()
            self._decisions.setdefault(subject, {})[(domain, obj, action)] = decision
            self._decision_count += 1
        return decision

    def client_allows(self, client_id: str, token_scopes: Iterable[str] | None, domain: str, obj: str, action: str) -> bool:
        """Allowed to the service client (the scopes it holds) and to a scope its token carries (None: any)."""
        if not self.allows(client_subject(client_id), domain, obj, action):
            return False
        return token_scopes is None or any(self.allows(scope_role(scope), domain, obj, action) for scope in token_scopes)

    def domains_allowing(self, subject: str, obj: str, action: str) -> set[str]:
        """The organisation domains in which ``subject`` holds a role that allows the action."""
        domains = {values[2] for _, values in self._grouping.get(subject, ()) if len(values) > 2}
        return {d for d in domains if d.startswith(ORG_PREFIX) and self.allows(subject, d, obj, action)}

    @property
    def rules_held(self) -> int:
        """Rules held in memory: the permission file, grouping rows, configured admins (no ``p2``)."""
        return sum(len(assertion.policy) for section in ("p", "g") for assertion in self._enforcer.get_model().model.get(section, {}).values())

    def rules_in_memory(self) -> list[Rule]:
        """The permission and grouping rules this worker holds (no ``p2`` rows)."""
        rules: list[Rule] = []
        for section in ("p", "g"):
            for ptype, assertion in self._enforcer.get_model().model.get(section, {}).items():
                rules.extend((ptype, list(values)) for values in assertion.policy)
        return rules

    # -- register access (p2) --------------------------------------------------------------

    def _forget_register_rows(self, subject: str) -> None:
        self._register_rows.pop(subject, None)
        if subject in self._loading:
            self._changed_while_loading.add(subject)

    def cached_register_rows(self, subject: str) -> RegisterRows | None:
        rows = self._register_rows.get(subject)
        if rows is not None:
            self._register_rows.move_to_end(subject)
        return rows

    def begin_register_load(self, subject: str) -> None:
        self._loading[subject] = self._loading.get(subject, 0) + 1

    def end_register_load(self, subject: str, rows: Iterable[list[str]] | None) -> RegisterRows:
        """Index the subject's rows just read (None: the read failed) and cache them, unless a
        change for the subject was applied while they were being read."""
        indexed: RegisterRows = {}
        for values in rows or ():
            indexed.setdefault((values[1], values[2]), []).append(values)
        remaining = self._loading[subject] - 1
        if remaining:
            self._loading[subject] = remaining
        else:
            del self._loading[subject]
        if rows is not None and subject not in self._changed_while_loading:
            self._register_rows[subject] = indexed
            if len(self._register_rows) > self.subject_cache_size:
                self._register_rows.popitem(last=False)
        if not remaining:
            self._changed_while_loading.discard(subject)
        return indexed

    def register_access_allowed(
        self, rows: RegisterRows, subject: str, domain: str, register_object: str, profile_pattern: str, now: dt.datetime
    ) -> bool:
        """Casbin's ``m2`` over the subject's rows for this domain and object only (as pycasbin's
        ``FastEnforcer`` filters its policy by key fields)."""
        candidates = rows.get((domain, register_object))
        if not candidates:
            return False
        self._register_policy.policy = candidates
        try:
            return bool(
                self._register.enforce(self._register_context, subject, domain, register_object, profile_pattern, policy_time(now))
            )
        finally:
            self._register_policy.policy = []
