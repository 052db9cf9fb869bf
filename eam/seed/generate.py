"""The reference part of a scaled data set: organisations, employees, access managers, registers.

Rows are tuples in the column order of :data:`COLUMNS`, ready for PostgreSQL ``COPY``. Every
employee is a dev-token user (issuer :data:`eam.auth.dev_tokens.DEV_ISSUER`): the data is for
development, and ``eam dev-token <subject>`` lets anyone act as a seeded person. Seeded people
work only in seeded organisations, so the demo users and organisations are left as they were.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

import msgspec

from eam.auth.dev_tokens import DEV_ISSUER
from eam.auth.identity import national_number_hash
from eam.authz.models import RULE_COLUMNS
from eam.authz.policy_store import row_fields
from eam.authz.vocabulary import Rule, access_manager_rule
from eam.core.audit_chain import FIELDS as CHAINED_FIELDS
from eam.organisations.models import Organisation
from eam.organisations.search import search_key
from eam.seed import names
from eam.seed.shape import MANAGERS_PER_ORGANISATION, OTHER_REQUESTS, Sizes, allocate, combos_per_organisation, kind_at, outcome

COLUMNS: dict[str, tuple[str, ...]] = {
    "organisations": ("id", "name", "search_name", "search_key", "nihdi", "kbo", "status", "created_at", "updated_at"),
    "users": ("id", "issuer", "subject", "display_name", "email", "national_number_hash", "created_at", "updated_at"),
    "access_managers": ("organisation_id", "user_id", "appointed_at", "appointed_by"),
    "registers": ("code", "name", "applications", "created_at", "created_by"),
    "access_requests": (
        "id", "requester_id", "organisation_id", "application", "register_code", "role", "data_level", "author_group",
        "justification", "valid_until", "status", "created_at", "expires_at", "decided_at", "decided_by",
        "decision_comment", "assignment_id",
    ),
    "assignments": (
        "id", "user_id", "organisation_id", "application", "register_code", "role", "data_level", "author_group",
        "valid_from", "valid_until", "status", "request_id", "created_at", "created_by", "updated_at", "revoked_at",
        "revoked_by", "revoke_reason",
    ),
    "casbin_rule": ("ptype", *RULE_COLUMNS),
    #: ``id``, ``prev_hash`` and ``hash`` are left empty here and given by the sink (the hash chain).
    "audit_events": (*CHAINED_FIELDS, "prev_hash", "hash"),
}
#: The order tables are written in (foreign keys first).
TABLES = tuple(COLUMNS)
#: The platform's history: requests and decisions of the last three years.
HISTORY = dt.timedelta(days=3 * 365)
#: Share of people without a Belgian national number (foreign staff): no hash stored.
WITHOUT_NATIONAL_NUMBER = 0.1


def rule_row(rule: Rule) -> tuple[object, ...]:
    ptype, values = rule
    fields = row_fields(values)
    return (ptype, *(fields.get(column) for column in RULE_COLUMNS))


@dataclass
class Person:
    id: uuid.UUID
    subject: str
    display_name: str
    actor: str


@dataclass
class Org:
    id: uuid.UUID
    name: str
    created_at: dt.datetime
    assignments: int
    combos: int = 0
    employees: list[Person] = field(default_factory=list)
    managers: list[Person] = field(default_factory=list)


@dataclass
class Admin:
    """Who creates organisations and registers and appoints first access managers."""

    id: uuid.UUID | None
    actor: str


class Generator:
    """Seeded generator of one run; ``rng`` is shared with :class:`eam.seed.history.History`."""

    def __init__(
        self, rng: random.Random, sizes: Sizes, *, run: int, now: dt.datetime, admin: Admin,
        national_number_key: str, taken_nihdi: set[str], taken_kbo: set[str], taken_registers: set[str],
    ) -> None:
        self.rng, self.sizes, self.run, self.now, self.admin = rng, sizes, run, now, admin
        self.key = national_number_key
        self.taken_nihdi, self.taken_kbo, self.taken_registers = taken_nihdi, taken_kbo, taken_registers
        self.orgs: list[Org] = []
        self.registers: list[tuple[str, tuple[str, ...]]] = []
        #: The :class:`eam.seed.history.History` of the run, once the reference rows exist.
        self.history: Any = None
        self._user_count = 0
        self._ids = 0
        self._epoch_ms = int(now.timestamp() * 1000)
        #: JSON values are encoded once, here (both sinks store the text as it is).
        self.json = _encode_json

    def uuid(self) -> uuid.UUID:
        """A time-ordered id (UUIDv7, RFC 9562): the run's start in milliseconds, a counter, random
        bits. Ids increase through the run, so index inserts append instead of scattering."""
        self._ids += 1
        high = (self._epoch_ms << 16) | 0x7000 | (self._ids >> 28 & 0xFFF)
        low = (0b10 << 62) | ((self._ids & 0xFFFFFFF) << 34) | self.rng.getrandbits(34)
        return SeedId(high << 64 | low)

    def moment(self, start: dt.datetime, end: dt.datetime) -> dt.datetime:
        return start + (end - start) * self.rng.random()

    def new_registers(self) -> dict[str, list[tuple[object, ...]]]:
        """``sizes.registers`` new registers ``HDBP<4 digits>`` (5 digits once those run out):
        60 % in both applications, 30 % only in the report portal, 10 % only in data entry."""
        rows: dict[str, list[tuple[object, ...]]] = {"registers": [], "audit_events": []}
        width = 4 if len(self.taken_registers) + self.sizes.registers < 5000 else 5
        while len(self.registers) < self.sizes.registers:
            code = f"HDBP{self.rng.randrange(10**width):0{width}d}"
            if code in self.taken_registers:
                continue
            self.taken_registers.add(code)
            apps = (("healthstat", "hd4dp2"), ("healthstat",), ("hd4dp2",))[
                [0, 0, 0, 0, 0, 0, 1, 1, 1, 2][self.rng.randrange(10)]
            ]
            name, created = names.register_name(self.rng), self.now - HISTORY - dt.timedelta(days=self.rng.randrange(30, 400))
            self.registers.append((code, apps))
            rows["registers"].append((code, name, self.json(list(apps)), created, self.admin.id))
            after = {"code": code, "name": name, "applications": list(apps)}
            rows["audit_events"].append(self.event(created, self.admin.id, self.admin.actor, "register.added", None, "register", code, None, after))
        return rows

    def organisations(self, available: int) -> dict[str, list[tuple[object, ...]]]:
        """Organisations with their employees and access managers (rows + their Casbin g rows);
        ``available``: how many application x register pairs exist."""
        rng, sizes = self.rng, self.sizes
        weights = sorted((rng.lognormvariate(0, 1.5) for _ in range(sizes.organisations)), reverse=True)
        assignments = allocate(rng, sizes.assignments, weights)
        employees = allocate(rng, sizes.employees, weights)
        rows: dict[str, list[tuple[object, ...]]] = {t: [] for t in ("organisations", "users", "access_managers", "casbin_rule", "audit_events")}
        for rank, (count, staff) in enumerate(zip(assignments, employees, strict=True)):
            prefix, patterns = kind_at(rank / sizes.organisations)
            name = names.organisation_name(rng, patterns)
            created = self.now - HISTORY - dt.timedelta(days=rng.randrange(30, 400))
            org = Org(self.uuid(), name, created, count)
            nihdi, kbo = names.nihdi_number(rng, prefix, self.taken_nihdi), names.kbo_number(rng, self.taken_kbo)
            rows["organisations"].append((org.id, name, name.casefold(), search_key(name), nihdi, kbo, "active", created, created))
            snapshot = Organisation.snapshot(_Row(id=org.id, name=name, nihdi=nihdi, kbo=kbo, status="active"))  # type: ignore[arg-type]
            rows["audit_events"].append(self.event(created, self.admin.id, self.admin.actor, "organisation.created", org.id, "organisation", org.id, None, snapshot))
            managers = int(outcome(rng, [(str(k), w) for k, w in MANAGERS_PER_ORGANISATION]))
            # Enough people to hold the organisation's requests on distinct pairs (small N).
            org.combos = combos_per_organisation(count, available)
            wanted = count * (1 + sum(share for _, share in OTHER_REQUESTS))
            staff = max(staff, managers + 2, math.ceil(1.3 * wanted / org.combos))
            domain = names.slug(name)[:40] + ".example"
            for index in range(staff):
                person = self.person(domain, org.created_at, rows["users"])
                org.employees.append(person)
                if index < managers:
                    org.managers.append(person)
                    by = self.admin if index == 0 else org.managers[0]
                    at = org.created_at + dt.timedelta(days=index * 30 + 1)
                    rows["access_managers"].append((org.id, person.id, at, by.id))
                    rows["casbin_rule"].append(rule_row(access_manager_rule(person.id, org.id)))
                    after = {"organisation_id": str(org.id), "user_id": str(person.id), "display_name": person.display_name}
                    rows["audit_events"].append(self.event(at, by.id, by.actor, "access_manager.appointed", org.id, "user", person.id, None, after))
            self.orgs.append(org)
        return rows

    def person(self, domain: str, since: dt.datetime, rows: list[tuple[object, ...]]) -> Person:
        rng = self.rng
        self._user_count += 1
        first, last = names.person(rng)
        display = f"{first} {last}"
        subject = f"{names.slug(first)}.{names.slug(last)}.{self.run}-{self._user_count}"
        email = f"{names.slug(first)}.{names.slug(last)}{self._user_count}@{domain}"
        digest = None if rng.random() < WITHOUT_NATIONAL_NUMBER else national_number_hash(self.key, names.national_number(rng))
        created = since + dt.timedelta(days=rng.randrange(1, 30))
        person = Person(self.uuid(), subject, display, f"{display} <{subject}> (demo data)")
        rows.append((person.id, DEV_ISSUER, subject, display, email, digest, created, created))
        return person

    def event(
        self,
        at: dt.datetime, actor_id: uuid.UUID | None, actor: str, action: str, organisation_id: uuid.UUID | None,
        target_type: str, target_id: object, before: dict[str, object] | None, after: dict[str, object] | None,
    ) -> tuple[object, ...]:
        encode = self.json
        return (
            None, at, actor_id, actor, action, organisation_id, target_type, str(target_id),
            None if before is None else encode(before), None if after is None else encode(after), None, None, None,
        )


_encoder = msgspec.json.Encoder()


def _encode_json(value: object) -> str:
    return _encoder.encode(value).decode()


class SeedId(uuid.UUID):
    """A UUID that formats itself once: snapshots and Casbin rows spell each id many times."""

    __slots__ = ("_text",)

    def __init__(self, value: int) -> None:
        super().__init__(int=value)
        object.__setattr__(self, "_text", super().__str__())

    def __str__(self) -> str:
        return self._text  # type: ignore[no-any-return]


class _Row:
    """Attribute access for a model's ``snapshot`` method, without an ORM instance's cost."""

    def __init__(self, **values: object) -> None:
        self.__dict__.update(values)
