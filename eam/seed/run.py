"""``eam demo-data --scale N``: add N assignments and what they imply, in one transaction.

The whole seed is one transaction: it commits completely or not at all, and running workers
see it at once. Casbin rows are written in bulk (not through the change log), so the last
statement is :meth:`PolicyStore.record_bulk_change`: the policy version moves past the log and
every worker loads in one batch (on PostgreSQL a ``NOTIFY`` wakes them at commit).

Runs are numbered (the ``demo_data.scaled`` audit events count them) and the random generator
is seeded with ``<seed>:<run>``: the same database and seed give the same data, and a second run
adds new people, organisations (NIHDI and KBO numbers checked against those in the database)
and registers instead of colliding with the first.
"""

from __future__ import annotations

import asyncio
import gc
import random
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eam.audit.models import AuditEvent
from eam.auth.dev_tokens import DEV_ISSUER
from eam.authz.policy_store import PolicyStore
from eam.catalogue.models import Register
from eam.catalogue.service import Catalogue
from eam.core.audit import Auditor
from eam.core.database import Clock, transaction
from eam.organisations.models import Organisation
from eam.seed.generate import COLUMNS, Admin, Generator
from eam.seed.history import History
from eam.seed.shape import Sizes
from eam.seed.sink import Sink
from eam.core.settings import Settings
from eam.users.models import User

DEFAULT_SEED = 11
SCALED = "demo_data.scaled"
#: Rows gathered across organisations before one write (fewer, larger COPY statements).
BATCH_REQUESTS = 50_000


@dataclass
class Summary:
    run: int
    seed: int
    scale: int
    added: Counter[str] = field(default_factory=Counter)
    totals: dict[str, int] = field(default_factory=dict)
    outcomes: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    write_seconds: float = 0.0
    #: False when PostgreSQL foreign-key checks were skipped for speed (see :mod:`eam.seed.sink`).
    checked_references: bool = True
    example: tuple[str, str] | None = None

    def lines(self) -> list[str]:
        out = [f"run {self.run} (seed {self.seed}): {self.scale} assignments added in {self.seconds:.1f} s ({self.write_seconds:.1f} s writing)"]
        out += [f"  {table:<16} +{self.added[table]:>9}  now {self.totals.get(table, 0):>9}" for table in COLUMNS]
        out.append("  " + ", ".join(f"{name} {count}" for name, count in sorted(self.outcomes.items())))
        if self.example:
            out.append(f"  act as a seeded employee: eam dev-token {self.example[0]}  (active in {self.example[1]})")
        if not self.checked_references:
            out.append("  (foreign keys not re-checked row by row: session_replication_role = replica for this transaction)")
        return out


#: Tables the seed fills, analysed once it has written them.
ANALYZED = ("organisations", "users", "registers", "access_managers", "access_requests", "assignments", "audit_events", "casbin_rule")


async def scale_demo_data(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, catalogue: Catalogue, *,
    scale: int, seed: int = DEFAULT_SEED, clock: Clock, operator: str = "cli",
) -> Summary:
    started = time.perf_counter()
    async with transaction(sessionmaker) as session:
        run = int(await session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == SCALED)) or 0) + 1
        summary = Summary(run=run, seed=seed, scale=scale)
        rng = random.Random(f"{seed}:{run}")
        now = clock()
        admin_user = await session.scalar(select(User).where(User.issuer == DEV_ISSUER, User.subject == "admin"))
        admin = Admin(admin_user.id, f"{admin_user.display_name} <admin> (demo data)") if admin_user else Admin(None, f"{operator} (demo data)")
        api_registers = {code: tuple(apps) for code, apps in await session.execute(select(Register.code, Register.applications).order_by(Register.code))}
        gen = Generator(
            rng, Sizes.for_scale(scale), run=run, now=now, admin=admin, national_number_key=settings.national_number_key,
            taken_nihdi=set(await session.scalars(select(Organisation.nihdi))),
            taken_kbo={kbo for kbo in await session.scalars(select(Organisation.kbo)) if kbo},
            taken_registers={*catalogue.file.registers, *api_registers},
        )
        sink = await Sink.open(session)
        batches = _batches(gen, catalogue, api_registers, settings)
        await _write_overlapped(batches, sink)
        history: History = gen.history
        summary.added = sink.written
        summary.outcomes, summary.example = history.outcomes, history.example
        summary.write_seconds, summary.checked_references = sink.seconds, sink.checks_references
        # Fresh planner statistics: with those of the tables before the load, PostgreSQL picks
        # plans for nearly empty tables (a cold register-access decision took 15 ms at 1M rows).
        for table in ANALYZED:
            await session.execute(text(f"ANALYZE {table}"))
        await PolicyStore(session).record_bulk_change()
        for table in COLUMNS:
            summary.totals[table] = int(await session.scalar(text(f"SELECT count(*) FROM {table}")) or 0)
        summary.seconds = time.perf_counter() - started
        Auditor(session, None, operator, now).record(
            SCALED, target_type="demo_data", target_id=f"run-{run}",
            after={"run": run, "seed": seed, "scale": scale, "added": dict(summary.added), "seconds": round(summary.seconds, 1)},
        )
    summary.seconds = time.perf_counter() - started
    return summary


Rows = dict[str, list[tuple[Any, ...]]]


def _batches(gen: Generator, catalogue: Catalogue, api_registers: dict[str, tuple[str, ...]], settings: Settings) -> Iterator[Rows]:
    """Every row of the run, in batches of about :data:`BATCH_REQUESTS` requests (reference rows first)."""
    yield gen.new_registers()
    combos = _combos_by_popularity(gen.rng, catalogue, api_registers, gen.registers)
    yield gen.organisations(len(combos))
    gen.history = history = History(gen, catalogue.file, combos, settings.request_ttl_days)
    buffer: Rows = {}
    for org in gen.orgs:
        for rows in history.organisation(org):
            for table, batch in rows.items():
                buffer.setdefault(table, []).extend(batch)
            if len(buffer.get("access_requests", ())) >= BATCH_REQUESTS:
                yield buffer
                buffer = {}
    yield buffer


async def _write_overlapped(batches: Iterator[Rows], sink: Sink) -> None:
    """Generate the next batch in a thread while the database takes this one.

    Generation is Python work and the database's (indexes, WAL) happens in its own process, so
    overlapping them takes the run from their sum towards the longer of the two.
    """
    loop = asyncio.get_running_loop()
    # Millions of new tuples would set off the cyclic collector over and over (the rows hold
    # no cycles): it is off while the rows are made, which halves generation time.
    collecting = gc.isenabled()
    gc.disable()

    def next_prepared() -> Rows | None:
        rows = next(batches, None)
        return None if rows is None else sink.prepare(rows)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="eam-seed") as executor:
        upcoming = loop.run_in_executor(executor, next_prepared)
        try:
            while (rows := await upcoming) is not None:
                upcoming = loop.run_in_executor(executor, next_prepared)
                await sink.write_all(rows)
        finally:
            if not upcoming.done():
                await asyncio.wait([upcoming])
            if collecting:
                gc.enable()


def _combos_by_popularity(
    rng: random.Random, catalogue: Catalogue, api: dict[str, tuple[str, ...]], new: list[tuple[str, tuple[str, ...]]]
) -> list[tuple[str, str]]:
    """Every application x register pair, most popular first: the catalogue's registers lead
    (in file order), then registers added earlier and now, in random order."""
    first = [(app, code) for code, spec in catalogue.file.registers.items() for app in spec.applications]
    rest = [(app, code) for code, apps in [*api.items(), *new] for app in apps if app in catalogue.file.applications]
    rng.shuffle(rest)
    return first + rest
