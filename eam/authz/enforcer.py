"""The process-wide Casbin enforcer, kept in step with ``casbin_rule`` change by change.

What a worker holds, and why it stays small at a million assignments:

- **API permissions** (``p`` rows of ``policies/permissions.csv`` and the ``g`` rows: roles per
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

import casbin
from casbin import persist
from casbin.model import Model

from eam.authz.vocabulary import (
    ALL_DOMAINS,
    GROUPING,
    ORG_PREFIX,
    PLATFORM_ADMIN,
    REGISTER_ACCESS,
    Rule,
    client_subject,
    is_grouping,
    policy_time,
    scope_role,
)

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


ADDED = "add"
REMOVED = "remove"


class Change:
    """One committed entry of the change log."""

    __slots__ = ("seq", "op", "ptype", "values")

    def __init__(self, seq: int, op: str, ptype: str, values: list[str]) -> None:
        self.seq, self.op, self.ptype, self.values = seq, op, ptype, values

    @property
    def added(self) -> bool:
        return self.op == ADDED


class Authorizer:
    def __init__(
        self, model_path: Path, permissions_path: Path, *, subject_cache_size: int = 10_000, decision_cache_size: int = 100_000
    ) -> None:
        self.model_text = model_path.read_text(encoding="utf-8")
        self.static_rules = read_permissions(permissions_path)
        self.subject_cache_size = subject_cache_size
        self.decision_cache_size = decision_cache_size
        self._config_admins: set[str] = set()
        self._seq: int | None = None
        self._stored_count = 0
        #: How many times this worker loaded in one batch (start-up, far behind, bulk changes).
        self.batch_loads = 0
        self._enforcer = self._build([])
        self._domains: dict[str, dict[str, int]] = {}
        self._decisions: dict[tuple[str, str, str, str], bool] = {}
        self._register = self._build([])  # evaluates m2 over one subject's rows at a time
        self._register_policy = self._register.get_model().model["p"][REGISTER_ACCESS]
        self._register_context = self._register.new_enforce_context("2")
        self._register_rows: OrderedDict[str, RegisterRows] = OrderedDict()
        self._loading: dict[str, int] = {}
        self._changed_while_loading: set[str] = set()

    # -- state -----------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        return self._seq is not None

    @property
    def version(self) -> int | None:
        """The sequence number of the last change applied (``policy_version`` when in step)."""
        return self._seq

    @property
    def rules_in_force(self) -> int:
        """Rules in force: the permission file, the stored rows (all types), configured admins."""
        return len(self.static_rules) + self._stored_count + len(self._config_admins)

    @property
    def cached_subjects(self) -> int:
        return len(self._register_rows)

    def _build(self, stored: Iterable[Rule]) -> casbin.Enforcer:
        model = Model()
        model.load_model_from_text(self.model_text)
        admins = [(GROUPING, [subject, PLATFORM_ADMIN, ALL_DOMAINS]) for subject in self._config_admins]
        enforcer = casbin.Enforcer(model, RowsAdapter([*self.static_rules, *stored, *admins]))
        enforcer.enable_auto_save(False)
        return enforcer

    async def replace(self, seq: int, stored: Sequence[Rule], stored_count: int) -> None:
        """Swap in a batch load (``stored``: every non-``p2`` row at ``seq``), built off the event loop."""
        enforcer = await asyncio.to_thread(self._build, stored)
        for subject in self._config_admins:  # named while the batch was being built
            enforcer.add_named_grouping_policy(GROUPING, [subject, PLATFORM_ADMIN, ALL_DOMAINS])
        self._enforcer, self._domains, self._seq, self._stored_count = enforcer, {}, seq, stored_count
        self.batch_loads += 1
        for ptype, values in stored:
            if is_grouping(ptype):
                self._index_domain(values, +1)
        for subject in self._config_admins:
            self._index_domain([subject, PLATFORM_ADMIN, ALL_DOMAINS], +1)
        self._decisions.clear()
        self._register_rows.clear()
        self._changed_while_loading.update(self._loading)

    def apply(self, changes: Iterable[Change]) -> bool:
        """Apply committed changes in order; False when one is missing (the caller loads a batch)."""
        for change in changes:
            if self._seq is None or change.seq > self._seq + 1:
                return False
            if change.seq <= self._seq:
                continue  # already applied (read twice, or part of the batch load)
            if change.ptype == REGISTER_ACCESS:
                self._forget_register_rows(change.values[0])
            elif is_grouping(change.ptype):
                self._apply_grouping(change)
            elif change.added:
                self._enforcer.add_named_policy(change.ptype, change.values)
                self._decisions.clear()
            else:
                self._enforcer.remove_named_policy(change.ptype, change.values)
                self._decisions.clear()
            self._stored_count += 1 if change.added else -1
            self._seq = change.seq
        return True

    def _apply_grouping(self, change: Change) -> None:
        if change.added:
            if self._enforcer.add_named_grouping_policy(change.ptype, change.values):
                self._index_domain(change.values, +1)
        elif self._enforcer.remove_named_grouping_policy(change.ptype, change.values):
            self._index_domain(change.values, -1)
        self._decisions.clear()

    def _index_domain(self, values: Sequence[str], delta: int) -> None:
        """Count the subject's grouping rows per domain, so removing one role keeps the others."""
        if len(values) < 3:
            return
        held = self._domains.setdefault(values[0], {})
        count = held.get(values[2], 0) + delta
        if count > 0:
            held[values[2]] = count
        else:
            held.pop(values[2], None)
            if not held:
                del self._domains[values[0]]

    def add_config_admin(self, subject: str) -> None:
        """Platform admins named in ``EAM_PLATFORM_ADMINS`` hold the role without a stored row."""
        if subject not in self._config_admins:
            self._config_admins.add(subject)
            if self._enforcer.add_named_grouping_policy(GROUPING, [subject, PLATFORM_ADMIN, ALL_DOMAINS]):
                self._index_domain([subject, PLATFORM_ADMIN, ALL_DOMAINS], +1)
            self._decisions.clear()

    # -- API permissions (p, g) ------------------------------------------------------------

    def allows(self, subject: str, domain: str, obj: str, action: str) -> bool:
        key = (subject, domain, obj, action)
        decision = self._decisions.get(key)
        if decision is None:
            decision = bool(self._enforcer.enforce(subject, domain, obj, action))
            if len(self._decisions) >= self.decision_cache_size:
                self._decisions.clear()
            self._decisions[key] = decision
        return decision

    def client_allows(self, client_id: str, token_scopes: Iterable[str] | None, domain: str, obj: str, action: str) -> bool:
        """Allowed to the service client (the scopes it holds) and to a scope its token carries (None: any)."""
        if not self.allows(client_subject(client_id), domain, obj, action):
            return False
        return token_scopes is None or any(self.allows(scope_role(scope), domain, obj, action) for scope in token_scopes)

    def domains_allowing(self, subject: str, obj: str, action: str) -> set[str]:
        """The organisation domains in which ``subject`` holds a role that allows the action."""
        domains = self._domains.get(subject, ())
        return {d for d in domains if d.startswith(ORG_PREFIX) and self.allows(subject, d, obj, action)}

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
