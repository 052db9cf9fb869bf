"""Benchmark: EAM at 10k, 100k and 1M assignments (issue 11, item 4). Not a test.

For each size in ``--sizes`` it creates a scratch PostgreSQL database beside ``--postgres``,
migrates it (``eam migrate``), seeds it with ::

    EAM_DATABASE_URL=<scratch> .venv/bin/eam demo-data
    EAM_DATABASE_URL=<scratch> .venv/bin/eam demo-data --scale N

(``--no-seed``: the plain demo data only, one round), and measures, against a real
``eam serve --no-migrate --workers 2`` (node A) and, for propagation, a second ``eam serve`` on
another port and the same database (node B):

1. start-up: from launching node A until ``/health/ready`` answers 200 (and until every worker
   logged "Application startup complete");
2. RSS of each worker (``VmRSS`` of the children of ``eam serve``) after warm-up and after the load;
3. latency p50/p99 of ``GET /v1/me`` with 1 and 16 clients, and of ``POST /v1/grant-tokens``
   (``{"application": "healthstat"}``) with 16 clients, for a sample of users holding active
   assignments (read from the database; dev tokens, so only users whose issuer is
   ``eam.auth.dev_tokens.DEV_ISSUER`` can be used: the bench says when it had to fall back to
   users it created itself), with tokens/s and the server's CPU ms per token (``/proc``);
4. approvals/s with 16 concurrent clients: pending requests are first submitted through the API by
   employees the bench creates, at organisations whose access managers it can authenticate as;
   16 clients then approve each exactly once, and on a sample a second access manager of the
   same organisation approves at the same moment: exactly one must get 200 and the other 409
   (double wins are counted, and checked again in the database);
5. propagation between nodes: ``--propagation-changes`` times, an admin on node A appoints (or
   removes) an access manager, and node B is polled every ~5 ms, each time on a new connection
   (so either of its workers answers), with a request whose answer depends on it (that user GETs
   a pending request of the organisation: 404 -> 200, then 200 -> 404); the time from node A's
   response to node B's first changed answer, and stale answers seen after it;
6. SQL statements and transactions per request for ``GET /v1/me``, ``POST /v1/grant-tokens`` and
   an approval, sequential requests: the ``eam_sql_statements_total`` / ``eam_sql_transactions_total``
   delta at node A's ``/metrics`` (all workers) divided by the requests (this includes what the
   request causes elsewhere on the node, e.g. the other worker reading the policy change log),
   and the mean ``sql_statements`` of the requests' own access-log lines;
7. in this process: ``eam.authz.enforcer.Authorizer`` built from ``eam/policies/model.conf`` and
   ``permissions.csv`` and ``load_batch``-ed from the database (what each worker does at start-up;
   timed), then ``holds_register_access`` for a sample of users with active assignments, cold
   (first call per user: one indexed query) and warm (cached rows; median of many calls).

It also prints the seeding time (both ``eam demo-data`` commands) per size, and the targets at 1M
assignments next to the figures. The bench servers run with ``EAM_RATE_LIMIT_TOKENS_PER_MINUTE=0``
(the token rate limit, 600 per address and minute, would answer 429: the limiter is not what is
measured). Each server's log (JSON lines) goes to a temporary directory, kept and named if the
bench fails. Servers are always stopped and scratch databases always dropped.

Usage (from the project root, after ``.venv/bin/pip install -e '.[test]'``)::

    .venv/bin/python bench/scale.py                          # 10000,100000,1000000
    .venv/bin/python bench/scale.py --sizes 10000 --quick    # smaller samples and loads
    .venv/bin/python bench/scale.py --no-seed --quick        # demo data + what the bench creates

Options: ``--postgres URL`` (default ``postgresql+asyncpg://postgres@127.0.0.1:5432/test``; the
scratch databases are created beside it), ``--workers`` (2), ``--approvals`` (1500),
``--requests`` (load per row), ``--propagation-changes`` (24). Figures depend on the machine
and on what else runs on it: the load generator (this process) shares the cores with the servers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    ROOT,
    admin_dsn,
    bearer,
    child_processes,
    cmdline,
    cpu_seconds,
    drop_database,
    free_port,
    percentile,
    rss_mb,
    scratch_database,
)

from eam.auth.dev_tokens import DEV_ISSUER  # noqa: E402
from eam.core.settings import SHIPPED_POLICIES_DIR  # noqa: E402

#: ``.venv/bin/eam`` as the README installs it (else the ``eam`` beside this interpreter).
EAM = ROOT / ".venv" / "bin" / "eam"
if not EAM.exists():
    EAM = Path(sys.executable).with_name("eam")
#: Set on the bench servers: 0 = unlimited (the default 600/min per address answers 429 mid-run).
BENCH_ENV = {"EAM_RATE_LIMIT_TOKENS_PER_MINUTE": "0"}
DEFAULT_SIZES = "10000,100000,1000000"
#: The bench's own users (dev-token subjects) start with this, so samples can leave them out.
BENCH_PREFIX = "bench-"
TOKEN_TTL = 6 * 3600
POLL_SECONDS = 0.005


class BenchError(Exception):
    """Something answered what it must not: the bench stops (after cleaning up)."""


# -- the servers ---------------------------------------------------------------------------


def eam_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("EAM_") and key != "PROMETHEUS_MULTIPROC_DIR"}
    env["EAM_DATABASE_URL"] = database_url
    env.update(extra)
    return env


def run_eam(args: Sequence[str], database_url: str) -> float:
    """``EAM_DATABASE_URL=<url> .venv/bin/eam <args>``; its wall time; a non-zero exit stops the bench."""
    started = time.perf_counter()
    done = subprocess.run([str(EAM), *args], env=eam_env(database_url), cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        hint = ""
        if "--scale" in args and "no such option" in done.stderr.lower():
            hint = "\n(this EAM has no `eam demo-data --scale` yet: run with --no-seed)"
        raise BenchError(f"`eam {' '.join(args)}` exited with {done.returncode}:\n{done.stderr[-2000:]}{hint}")
    return elapsed


class EamServer:
    """``eam serve --no-migrate`` on a free port, its log in ``log_dir``."""

    def __init__(self, name: str, database_url: str, workers: int, log_dir: Path) -> None:
        self.name, self.workers = name, workers
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("wb")
        env = eam_env(database_url, EAM_ISSUER=self.base, **BENCH_ENV)
        self.launched = time.perf_counter()
        self.process = subprocess.Popen(
            [str(EAM), "serve", "--no-migrate", "--port", str(self.port), "--workers", str(workers)],
            env=env,
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def startups_logged(self) -> int:
        return self.log_path.read_bytes().count(b"Application startup complete")

    def wait_ready(self, timeout: float) -> tuple[float, float]:
        """Seconds from launch to the first 200 of ``/health/ready``, and to every worker's
        "Application startup complete" log line."""
        ready = started = None
        deadline = self.launched + timeout
        while ready is None or started is None:
            now = time.perf_counter()
            if now > deadline:
                raise BenchError(f"{self.name}: not ready after {timeout:.0f} s; log tail:\n{self.log_tail()}")
            if self.process.poll() is not None:
                raise BenchError(f"{self.name}: eam serve exited with {self.process.returncode}; log tail:\n{self.log_tail()}")
            if ready is None:
                try:
                    if httpx.get(f"{self.base}/health/ready", timeout=2).status_code == 200:
                        ready = time.perf_counter() - self.launched
                except httpx.HTTPError:
                    pass
            if started is None and self.startups_logged() >= self.workers:
                started = time.perf_counter() - self.launched
            time.sleep(0.02)
        return ready, started

    def worker_pids(self) -> list[int]:
        """The uvicorn worker processes: children of ``eam serve`` (not multiprocessing's helpers)."""
        if self.workers == 1:
            return [self.process.pid]
        return [pid for pid in child_processes(self.process.pid) if "resource_tracker" not in cmdline(pid)]

    def worker_rss(self) -> list[float]:
        pids = self.worker_pids()
        if len(pids) != self.workers:
            raise BenchError(f"{self.name}: expected {self.workers} workers, found processes {pids}")
        return [rss_mb(pid) for pid in pids]

    def log_tail(self, lines: int = 30) -> str:
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def log_offset(self) -> int:
        self._log.flush()
        return self.log_path.stat().st_size

    def access_lines(self, start: int, end: int) -> list[dict]:
        with self.log_path.open("rb") as handle:
            handle.seek(start)
            chunk = handle.read(end - start)
        lines = []
        for raw in chunk.splitlines():
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if isinstance(line, dict) and line.get("logger") == "eam.access":
                lines.append(line)
        return lines

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()


# -- HTTP ----------------------------------------------------------------------------------


class Tokens:
    """One dev token per user (issuer ``DEV_ISSUER``, subject = the user's name), issued once."""

    def __init__(self) -> None:
        self._headers: dict[str, dict[str, str]] = {}

    def __call__(self, user: str) -> dict[str, str]:
        headers = self._headers.get(user)
        if headers is None:
            headers = self._headers[user] = bearer(user, ttl_seconds=TOKEN_TTL)
        return headers


TOKENS = Tokens()


async def call(http: httpx.AsyncClient, method: str, path: str, user: str, *, expect: int | Sequence[int] = (200, 201, 204), **kwargs: object) -> httpx.Response:
    """A request as ``user``; any other status than ``expect`` stops the bench."""
    response = await http.request(method, path, headers=TOKENS(user), **kwargs)
    wanted = (expect,) if isinstance(expect, int) else tuple(expect)
    if response.status_code not in wanted:
        raise BenchError(f"{method} {path} as {user}: {response.status_code} (expected {wanted}): {response.text[:500]}")
    return response


async def limited(jobs: Sequence[Callable[[], Awaitable[object]]], concurrency: int) -> list[object]:
    """Run ``jobs`` with at most ``concurrency`` at once, results in order."""
    semaphore = asyncio.Semaphore(concurrency)

    async def run(job: Callable[[], Awaitable[object]]) -> object:
        async with semaphore:
            return await job()

    return await asyncio.gather(*(run(job) for job in jobs))


def client(base: str, connections: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(base_url=base, timeout=120, limits=limits)


@dataclass
class Run:
    """One load row: latencies, wall time, server CPU (all of node A's processes)."""

    latencies: list[float]
    elapsed: float
    server_cpu: float

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed

    def ms(self, fraction: float) -> float:
        return percentile(self.latencies, fraction) * 1000

    @property
    def cpu_ms_per_request(self) -> float:
        return self.server_cpu / len(self.latencies) * 1000


async def load(server: EamServer, send: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]], clients: int, requests: int, what: str) -> Run:
    """``requests`` requests from ``clients`` concurrent connections (after ``clients`` unmeasured
    warm-up requests); request ``i`` is ``send(http, i)``; anything but 200 stops the bench."""
    latencies: list[float] = []
    counter = iter(range(requests))

    async def one(http: httpx.AsyncClient, index: int) -> None:
        started = time.perf_counter()
        response = await send(http, index)
        latencies.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise BenchError(f"{what}: {response.status_code}: {response.text[:500]}")

    async def worker(http: httpx.AsyncClient) -> None:
        for index in counter:
            await one(http, index)

    async with client(server.base, clients) as http:
        await asyncio.gather(*(one(http, requests + index) for index in range(clients)))
        latencies.clear()
        cpu_before = cpu_seconds(server.process.pid)
        started = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(clients)))
        elapsed = time.perf_counter() - started
        server_cpu = cpu_seconds(server.process.pid) - cpu_before
    return Run(latencies, elapsed, server_cpu)


async def sql_counters(http: httpx.AsyncClient) -> tuple[float, float]:
    """``eam_sql_statements_total`` and ``eam_sql_transactions_total`` of the node (all workers)."""
    response = await http.get("/metrics")
    if response.status_code != 200:
        raise BenchError(f"GET /metrics: {response.status_code}")
    totals = {"eam_sql_statements_total": 0.0, "eam_sql_transactions_total": 0.0}
    for line in response.text.splitlines():
        name = re.split(r"[{ ]", line, maxsplit=1)[0]
        if name in totals:
            totals[name] += float(line.rsplit(" ", 1)[1])
    return totals["eam_sql_statements_total"], totals["eam_sql_transactions_total"]


# -- the database --------------------------------------------------------------------------

ACTIVE = "a.status = 'active' AND a.valid_from <= now() AND (a.valid_until IS NULL OR a.valid_until > now())"


async def users_with_assignments(dsn: str, count: int, include_bench: bool) -> list[tuple[str, int]]:
    """A random sample of dev-token users holding active assignments, at least one of them for
    healthstat (the grant tokens asked for): (subject, how many)."""
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            f"""SELECT u.subject, count(*) AS held FROM assignments a JOIN users u ON u.id = a.user_id
                WHERE {ACTIVE} AND u.issuer = $1 AND ($3 OR u.subject NOT LIKE '{BENCH_PREFIX}%')
                GROUP BY u.subject HAVING count(*) FILTER (WHERE a.application = 'healthstat') > 0
                ORDER BY random() LIMIT $2""",
            DEV_ISSUER,
            count,
            include_bench,
        )
    finally:
        await connection.close()
    return [(row["subject"], row["held"]) for row in rows]


async def population(dsn: str) -> dict[str, object]:
    """Counts that say what the seed produced, and the issuers of users holding assignments."""
    connection = await asyncpg.connect(dsn)
    try:
        counts = {
            table: await connection.fetchval(f"SELECT count(*) FROM {table}")
            for table in ("organisations", "users", "assignments", "access_requests", "audit_events", "casbin_rule", "access_managers")
        }
        counts["active assignments"] = await connection.fetchval(f"SELECT count(*) FROM assignments a WHERE {ACTIVE}")
        issuers = await connection.fetch(
            f"""SELECT u.issuer, count(DISTINCT u.id) AS users FROM assignments a JOIN users u ON u.id = a.user_id
                WHERE {ACTIVE} GROUP BY u.issuer ORDER BY users DESC"""
        )
        counts["issuers"] = {row["issuer"]: row["users"] for row in issuers}
    finally:
        await connection.close()
    return counts


@dataclass
class Org:
    id: str
    name: str
    manager: str  # dev-token subject of an access manager
    racer: str = ""  # a second access manager the bench appoints


async def managed_organisations(dsn: str, count: int) -> list[Org]:
    """Active organisations with an access manager the bench can authenticate as (dev issuer)."""
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            f"""SELECT DISTINCT ON (o.nihdi) o.id, o.name, u.subject FROM organisations o
                JOIN access_managers m ON m.organisation_id = o.id JOIN users u ON u.id = m.user_id
                WHERE o.status = 'active' AND u.issuer = $1 AND u.subject NOT LIKE '{BENCH_PREFIX}%'
                ORDER BY o.nihdi, u.subject LIMIT $2""",
            DEV_ISSUER,
            count,
        )
    finally:
        await connection.close()
    return [Org(str(row["id"]), row["name"], row["subject"]) for row in rows]


async def check_decisions(dsn: str, request_ids: list[str]) -> dict[str, int]:
    """What the database says about the approved requests: each approved once, one assignment, one audit event."""
    ids = [uuid.UUID(value) for value in request_ids]
    connection = await asyncpg.connect(dsn)
    try:
        approved = await connection.fetchval("SELECT count(*) FROM access_requests WHERE id = ANY($1) AND status = 'approved'", ids)
        assignments = await connection.fetchval("SELECT count(*) FROM assignments WHERE request_id = ANY($1)", ids)
        events = await connection.fetchval(
            "SELECT count(*) FROM audit_events WHERE action = 'access_request.approved' AND target_id = ANY($1)", request_ids
        )
    finally:
        await connection.close()
    return {"requests": len(ids), "approved": approved, "assignments": assignments, "audit events": events}


async def decision_sample(dsn: str, count: int) -> list[dict]:
    """One active assignment each of ``count`` random users holding one (any issuer; users the
    bench created only when the seed has too few)."""
    connection = await asyncpg.connect(dsn)
    try:
        rows: list = []
        for include_bench in (False, True):
            rows = await connection.fetch(
                f"""SELECT DISTINCT ON (a.user_id) a.user_id, a.organisation_id, a.application, a.register_code,
                           a.role, a.data_level, a.author_group
                    FROM assignments a WHERE a.user_id IN (
                        SELECT a.user_id FROM assignments a JOIN users u ON u.id = a.user_id
                        WHERE {ACTIVE} AND ($2 OR u.subject NOT LIKE '{BENCH_PREFIX}%')
                        GROUP BY a.user_id ORDER BY random() LIMIT $1)
                    AND {ACTIVE} ORDER BY a.user_id, a.id""",
                count,
                include_bench,
            )
            if len(rows) >= count // 2:
                break
    finally:
        await connection.close()
    return [dict(row) for row in rows]


class LockSampler:
    """Samples ``pg_stat_activity`` of the bench database every 20 ms: how many sessions are
    active and how many of them wait on a lock, and on which statements."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.samples: list[tuple[int, int]] = []
        self.waiting: Counter[str] = Counter()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._connection = await asyncpg.connect(self.dsn)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            rows = await self._connection.fetch(
                """SELECT wait_event_type, wait_event, left(regexp_replace(query, '\\s+', ' ', 'g'), 70) AS query
                   FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()"""
            )
            locked = [row for row in rows if row["wait_event_type"] == "Lock"]
            self.samples.append((len(rows), len(locked)))
            for row in locked:
                self.waiting[f"{row['wait_event']}: {row['query']}"] += 1
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._connection.close()

    def summary(self) -> str:
        if not self.samples:
            return "-"
        active = statistics.mean(sample[0] for sample in self.samples)
        locked = statistics.mean(sample[1] for sample in self.samples)
        return f"{locked:.1f} of {active:.1f} active sessions wait on a lock (mean)"

    def top(self) -> str:
        total = sum(self.waiting.values())
        return "; ".join(f"{count * 100 / total:.0f}% {what}" for what, count in self.waiting.most_common(2)) if total else "none"


# -- the catalogue -------------------------------------------------------------------------


def request_kinds() -> list[dict]:
    """Every (application, register) of the catalogue file, each with the application's first profile."""
    catalogue = tomllib.loads((SHIPPED_POLICIES_DIR / "catalogue.toml").read_text(encoding="utf-8"))
    kinds = []
    for code, register in catalogue["registers"].items():
        for application in register["applications"]:
            profile = catalogue["applications"][application]["profiles"][0]
            kinds.append({
                "application": application,
                "register": code,
                "profile": {key: profile[key] for key in ("role", "data_level") if key in profile}
                | ({"author_group": "bench"} if profile.get("author_group") == "required" else {}),
            })
    return kinds


# -- the measurements ----------------------------------------------------------------------


@dataclass
class Sizing:
    approvals: int
    requests: int  # per load row with 16 clients
    requests_single: int  # GET /v1/me with one client
    sample_users: int
    sql_requests: int
    race_every: int
    propagation_changes: int
    decision_users: int
    warm_calls: int


@dataclass
class Result:
    label: str
    notes: list[str] = field(default_factory=list)
    figures: dict[str, str] = field(default_factory=dict)

    def put(self, key: str, value: str) -> None:
        self.figures[key] = value


def fmt_ms(run: Run) -> str:
    return f"{run.ms(0.50):.1f} / {run.ms(0.99):.1f}"


def progress(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def create_bench_users(http: httpx.AsyncClient, names: Sequence[str]) -> dict[str, str]:
    """Users exist once they have called EAM: GET /v1/me for each; their ids."""
    responses = await limited([lambda name=name: call(http, "GET", "/v1/me", name) for name in names], 16)
    return {name: response.json()["id"] for name, response in zip(names, responses, strict=True)}  # type: ignore[union-attr]


async def prepare(server: EamServer, dsn: str, sizing: Sizing, result: Result, tag: str) -> dict:
    """Organisations and approvers, pending requests (for the approval and SQL rows and
    propagation), and, when the seed gave none the bench can use, holders of assignments."""
    orgs = await managed_organisations(dsn, 8)
    if not orgs:
        raise BenchError("no active organisation has an access manager with a dev-token identity")
    result.notes.append(f"approvals at {len(orgs)} organisations whose access managers are dev-token users: "
                        + ", ".join(f"{org.name} ({org.manager})" for org in orgs[:4]) + (" …" if len(orgs) > 4 else ""))
    kinds = request_kinds()
    async with client(server.base, 16) as http:
        racers = await create_bench_users(http, [f"{BENCH_PREFIX}am2-{tag}-{index}" for index in range(len(orgs))])
        for org, (name, user_id) in zip(orgs, racers.items(), strict=True):
            await call(http, "POST", f"/v1/organisations/{org.id}/access-managers", "admin", json={"user_id": user_id})
            org.racer = name
        wanted = sizing.approvals + sizing.sql_requests + 1
        per_employee = len(kinds) * len(orgs)
        employees = [f"{BENCH_PREFIX}req-{tag}-{index}" for index in range(math.ceil(wanted / per_employee))]
        await create_bench_users(http, employees)
        jobs = []
        for index in range(wanted):
            employee = employees[index // per_employee]
            org = orgs[index % len(orgs)]
            kind = kinds[(index // len(orgs)) % len(kinds)]
            body = {"organisation_id": org.id, **kind, "justification": "Benchmark request: please approve."}
            jobs.append(lambda body=body, employee=employee: call(http, "POST", "/v1/access-requests", employee, json=body, expect=201))
        started = time.perf_counter()
        submitted = await limited(jobs, 16)
        elapsed = time.perf_counter() - started
        result.put("submit", f"{wanted / elapsed:.0f}/s")
        requests = [(response.json()["id"], orgs[index % len(orgs)]) for index, response in enumerate(submitted)]  # type: ignore[union-attr]
        progress(f"{wanted} requests submitted by {len(employees)} employees ({wanted / elapsed:.0f}/s)")
        # Users holding assignments, for GET /v1/me and grant tokens: seeded ones when there are enough.
        sample = await users_with_assignments(dsn, sizing.sample_users, include_bench=False)
        if len(sample) < sizing.sample_users:
            holders = [f"{BENCH_PREFIX}holder-{tag}-{index}" for index in range(sizing.sample_users - len(sample))]
            ids = await create_bench_users(http, holders)
            grants = []
            for holder in holders:
                for org in orgs[:2]:
                    for kind in kinds:
                        body = {"user_id": ids[holder], "organisation_id": org.id, **kind}
                        grants.append(lambda body=body, org=org: call(http, "POST", "/v1/assignments", org.manager, json=body, expect=201))
            await limited(grants, 16)
            result.notes.append(
                f"only {len(sample)} seeded dev-token users hold active assignments: {len(holders)} users created by the bench, "
                f"{len(kinds) * min(2, len(orgs))} assignments each (POST /v1/assignments), complete the sample"
            )
            progress(f"{len(grants)} assignments created for {len(holders)} bench users")
            sample = await users_with_assignments(dsn, sizing.sample_users, include_bench=True)
    return {"orgs": orgs, "requests": requests, "sample": sample}


async def warm_up(server: EamServer, users: list[str]) -> None:
    """Every user's first requests (user rows, caches, connections), 4 connections so both workers get some."""
    async with client(server.base, 4) as http:
        await limited([lambda user=user: call(http, "GET", "/v1/me", user, expect=200) for user in users], 4)
        await limited([lambda user=user: call(http, "POST", "/v1/grant-tokens", user, expect=200, json={"application": "healthstat"}) for user in users], 4)


async def measure_reads(server: EamServer, users: list[str], sizing: Sizing, result: Result) -> None:
    body = {"application": "healthstat"}

    def me(http: httpx.AsyncClient, index: int) -> Awaitable[httpx.Response]:
        return http.get("/v1/me", headers=TOKENS(users[index % len(users)]))

    def grant(http: httpx.AsyncClient, index: int) -> Awaitable[httpx.Response]:
        return http.post("/v1/grant-tokens", headers=TOKENS(users[index % len(users)]), json=body)

    single = await load(server, me, 1, sizing.requests_single, "GET /v1/me, 1 client")
    result.put("me1", fmt_ms(single))
    result.put("me1 rate", f"{single.rate:.0f}")
    progress(f"GET /v1/me, 1 client: p50/p99 {fmt_ms(single)} ms")
    many = await load(server, me, 16, sizing.requests, "GET /v1/me, 16 clients")
    result.put("me16", fmt_ms(many))
    result.put("me16 rate", f"{many.rate:.0f}")
    progress(f"GET /v1/me, 16 clients: p50/p99 {fmt_ms(many)} ms, {many.rate:.0f}/s")
    tokens = await load(server, grant, 16, sizing.requests, "POST /v1/grant-tokens, 16 clients")
    result.put("grant16", fmt_ms(tokens))
    result.put("grant rate", f"{tokens.rate:.0f}")
    result.put("grant cpu", f"{tokens.cpu_ms_per_request:.2f}")
    progress(f"grant tokens, 16 clients: p50/p99 {fmt_ms(tokens)} ms, {tokens.rate:.0f}/s, {tokens.cpu_ms_per_request:.2f} CPU ms/token")


async def measure_approvals(server: EamServer, dsn: str, requests: list[tuple[str, Org]], sizing: Sizing, result: Result) -> None:
    """16 clients approve every request once; every ``race_every``-th also gets a second, racing
    approval by another access manager of the organisation: exactly one 200 and one 409."""
    outcomes: Counter[str] = Counter()
    latencies: list[float] = []
    queue = iter(enumerate(requests))
    body = {"comment": "approved by bench/scale.py"}

    async def approve(http: httpx.AsyncClient, request_id: str, user: str) -> int:
        started = time.perf_counter()
        response = await http.post(f"/v1/access-requests/{request_id}/approve", headers=TOKENS(user), json=body)
        latencies.append(time.perf_counter() - started)
        if response.status_code not in (200, 409):
            raise BenchError(f"approve {request_id} as {user}: {response.status_code}: {response.text[:500]}")
        if response.status_code == 409 and "not-pending" not in response.text:
            raise BenchError(f"approve {request_id} as {user}: 409 for another reason than a decided request: {response.text[:500]}")
        return response.status_code

    async def worker(http: httpx.AsyncClient) -> None:
        for index, (request_id, org) in queue:
            if index % sizing.race_every == 0:
                statuses = sorted(await asyncio.gather(approve(http, request_id, org.manager), approve(http, request_id, org.racer)))
                outcomes["raced"] += 1
                if statuses == [200, 409]:
                    outcomes["one winner"] += 1
                elif statuses == [200, 200]:
                    outcomes["double win"] += 1
                else:
                    outcomes["no winner"] += 1
            else:
                status = await approve(http, request_id, org.manager)
                if status != 200:
                    raise BenchError(f"approve {request_id}: {status} without a racing approver")

    sampler = LockSampler(dsn)
    await sampler.start()
    try:
        async with client(server.base, 24) as http:  # 16 clients, the racing approvals on further connections
            started = time.perf_counter()
            await asyncio.gather(*(worker(http) for _ in range(16)))
            elapsed = time.perf_counter() - started
    finally:
        await sampler.stop()
    result.put("lock waits", sampler.summary())
    progress(f"during the approvals: {sampler.summary()}; waited on most: {sampler.top()}")
    result.notes.append(f"approvals: sessions waiting on a lock, most often: {sampler.top()}")
    checked = await check_decisions(dsn, [request_id for request_id, _ in requests])
    count = len(requests)
    result.put("approvals", f"{count / elapsed:.0f}")
    result.put("approval ms", f"{percentile(latencies, 0.5) * 1000:.1f} / {percentile(latencies, 0.99) * 1000:.1f}")
    result.put("race", f"{outcomes['raced']} raced: {outcomes['one winner']} one winner, {outcomes['double win']} double, {outcomes['no winner']} none")
    result.put("double", str(outcomes["double win"]))
    db_ok = checked["approved"] == checked["assignments"] == checked["audit events"] == count
    result.put("db check", "ok" if db_ok else f"MISMATCH {checked}")
    progress(f"{count} approvals in {elapsed:.1f} s ({count / elapsed:.0f}/s); {dict(outcomes)}; database: {checked}")
    if outcomes["double win"] or outcomes["no winner"] or not db_ok:
        result.notes.append(f"APPROVAL RACE FAILED: {dict(outcomes)}; database: {checked}")


async def measure_sql(server: EamServer, users: list[str], requests: list[tuple[str, Org]], count: int, result: Result) -> None:
    """Sequential requests of each kind; statements and transactions per request from /metrics and from the access log."""
    kinds: list[tuple[str, str, str, Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]]] = [
        ("me", "GET", "/v1/me", lambda http, i: call(http, "GET", "/v1/me", users[i % len(users)], expect=200)),
        ("grant", "POST", "/v1/grant-tokens", lambda http, i: call(http, "POST", "/v1/grant-tokens", users[i % len(users)], expect=200, json={"application": "healthstat"})),
        ("approve", "POST", "/v1/access-requests/{request_id}/approve", lambda http, i: call(
            http, "POST", f"/v1/access-requests/{requests[i][0]}/approve", requests[i][1].manager, expect=200, json={})),
    ]
    async with client(server.base, 1) as http:
        for key, method, route, send in kinds:
            await asyncio.sleep(0.3)  # let the previous requests' policy sync settle
            offset = server.log_offset()
            statements, transactions = await sql_counters(http)
            for index in range(count):
                await send(http, index)
            after_statements, after_transactions = await sql_counters(http)
            await asyncio.sleep(0.2)  # the log line is written after the response
            own = [line["sql_statements"] for line in server.access_lines(offset, server.log_offset())
                   if line.get("method") == method and line.get("route") == route and line.get("status") == 200]
            own_mean = f"{statistics.mean(own):.1f}" if own else "?"
            result.put(f"sql {key}", f"{(after_statements - statements) / count:.1f} / {(after_transactions - transactions) / count:.1f} ({own_mean})")
            progress(f"SQL per {method} {route}: {(after_statements - statements) / count:.1f} statements, "
                     f"{(after_transactions - transactions) / count:.1f} transactions (metrics); {own_mean} statements (own log line)")


async def measure_propagation(node_a: EamServer, node_b: EamServer, org: Org, pending_request: str, changes: int, result: Result) -> None:
    """Appoint and remove an access manager on node A; poll node B (a new connection per poll)."""
    watcher = f"{BENCH_PREFIX}watcher-{uuid.uuid4().hex[:6]}"
    times: list[float] = []
    stale = straddled = 0
    polls = 0
    no_keepalive = httpx.Limits(max_connections=1, max_keepalive_connections=0)
    async with client(node_a.base, 2) as http_a, httpx.AsyncClient(base_url=node_b.base, timeout=30, limits=no_keepalive) as http_b:
        watcher_id = (await call(http_a, "GET", "/v1/me", watcher)).json()["id"]
        path = f"/v1/access-requests/{pending_request}"
        await call(http_b, "GET", path, watcher, expect=404)
        for change in range(changes):
            appoint = change % 2 == 0
            old, new = (404, 200) if appoint else (200, 404)
            await call(http_b, "GET", path, watcher, expect=old)  # node B still answers as before
            if appoint:
                await call(http_a, "POST", f"/v1/organisations/{org.id}/access-managers", "admin", json={"user_id": watcher_id}, expect=201)
            else:
                await call(http_a, "DELETE", f"/v1/organisations/{org.id}/access-managers/{watcher_id}", "admin", expect=204)
            committed = time.perf_counter()
            # Removed: 404, or 403 when node B applied the change while serving the request
            # (it listed the readable organisations before the change and checked after it).
            changed = (new,) if appoint else (404, 403)
            while True:
                poll_started = time.perf_counter()
                response = await call(http_b, "GET", path, watcher, expect=(old, *changed))
                polls += 1
                if response.status_code in changed:
                    times.append(time.perf_counter() - committed)
                    straddled += response.status_code == 403
                    break
                if poll_started - committed > 30:
                    raise BenchError(f"node B still answers {old} 30 s after the change on node A")
                await asyncio.sleep(max(0.0, POLL_SECONDS - (time.perf_counter() - poll_started)))
            for _ in range(10):  # does any worker of node B still answer the old way?
                await asyncio.sleep(POLL_SECONDS)
                if (await call(http_b, "GET", path, watcher, expect=(old, *changed))).status_code == old:
                    stale += 1
    ms = [value * 1000 for value in times]
    result.put("propagation", f"{percentile(ms, 0.5):.0f} / {percentile(ms, 0.99):.0f} / {max(ms):.0f} (n={len(ms)})")
    result.put("stale", f"{stale} of {10 * changes}")
    result.put("straddled", str(straddled))
    progress(f"propagation A -> B over {len(ms)} changes: p50 {percentile(ms, 0.5):.1f} ms, p99 {percentile(ms, 0.99):.1f}, "
             f"max {max(ms):.1f}; {stale} stale answers after the first changed one ({polls} polls until changed); "
             f"{straddled} removals first answered 403 (not 404)")


async def measure_decisions(database_url: str, dsn: str, sizing: Sizing, result: Result) -> None:
    """``Authorizer`` + ``load_batch`` in this process, then ``holds_register_access`` cold and warm."""
    import datetime as dt

    from eam.authz.enforcer import Authorizer
    from eam.authz.register_access import holds_register_access
    from eam.authz.sync import load_batch
    from eam.core.database import create_engine, make_sessionmaker, transaction

    sample = await decision_sample(dsn, sizing.decision_users)
    if not sample:
        raise BenchError("no active assignment to decide on")
    rss_before = rss_mb()
    started = time.perf_counter()
    authz = Authorizer(SHIPPED_POLICIES_DIR / "model.conf", SHIPPED_POLICIES_DIR / "permissions.csv")
    engine = create_engine(database_url, pool_size=2)
    try:
        sessionmaker = make_sessionmaker(engine)
        async with transaction(sessionmaker, read_only=True) as session:
            await load_batch(authz, session)
        loaded = time.perf_counter() - started
        result.put("load_batch", f"{loaded:.2f} s, {authz.rules_held} rules, +{rss_mb() - rss_before:.0f} MB")
        now = dt.datetime.now(dt.UTC)

        def question(row: dict) -> dict:
            profile = row["role"] + (f"/{row['data_level']}" if row["data_level"] else f"@{row['author_group']}" if row["author_group"] else "")
            return {"user_id": row["user_id"], "organisation_id": row["organisation_id"], "application": row["application"],
                    "register": row["register_code"], "profile_pattern": f"^{re.escape(profile)}$", "now": now}

        questions = [question(row) for row in sample]
        cold: list[float] = []
        async with transaction(sessionmaker, read_only=True) as session:
            for asked in questions:
                began = time.perf_counter_ns()
                allowed = await holds_register_access(authz, session, **asked)
                cold.append((time.perf_counter_ns() - began) / 1000)
                if not allowed:
                    raise BenchError(f"holds_register_access refused an active assignment: {asked}")
            denied = await holds_register_access(authz, session, **{**questions[0], "register": "NOSUCHREGISTER"})
            if denied:
                raise BenchError("holds_register_access allowed a register nobody holds")
            warm: list[float] = []
            rounds = max(1, sizing.warm_calls // len(questions))
            for _ in range(rounds):
                for asked in questions:
                    began = time.perf_counter_ns()
                    await holds_register_access(authz, session, **asked)
                    warm.append((time.perf_counter_ns() - began) / 1000)
        result.put("cold", f"{percentile(cold, 0.5):.0f} / {percentile(cold, 0.99):.0f}")
        result.put("warm", f"{statistics.median(warm):.1f} (p99 {percentile(warm, 0.99):.1f})")
        result.put("warm median", f"{statistics.median(warm):.1f}")
        progress(f"load_batch {loaded:.2f} s; decisions over {len(questions)} users: cold p50 {percentile(cold, 0.5):.0f} µs, "
                 f"warm median {statistics.median(warm):.1f} µs over {len(warm)} calls")
    finally:
        await engine.dispose()


# -- one size ------------------------------------------------------------------------------


def run_size(result: Result, scale: int | None, args: argparse.Namespace, sizing: Sizing, log_dir: Path) -> None:
    label = result.label
    database_url, dsn_admin, name = asyncio.run(scratch_database(args.postgres, "eam_scale"))
    dsn = admin_dsn(database_url)
    servers: list[EamServer] = []
    progress(f"size {label}: scratch database {name}")
    try:
        try:
            measure_servers(result, scale, args, sizing, log_dir, database_url, dsn, servers)
        finally:
            for server in servers:
                server.stop()
        asyncio.run(measure_decisions(database_url, dsn, sizing, result))
    finally:
        asyncio.run(drop_database(dsn_admin, name))
        progress(f"scratch database {name} dropped")


def measure_servers(result: Result, scale: int | None, args: argparse.Namespace, sizing: Sizing, log_dir: Path,
                    database_url: str, dsn: str, servers: list[EamServer]) -> None:
    """Everything measured over HTTP; the servers started are appended to ``servers`` (stopped by the caller)."""
    result.put("migrate", f"{run_eam(['migrate'], database_url):.1f}")
    seeding = run_eam(["demo-data"], database_url)
    if scale is not None:
        progress(f"eam demo-data --scale {scale} …")
        seeding += run_eam(["demo-data", "--scale", str(scale)], database_url)
    result.put("seed", f"{seeding:.1f}")
    counts = asyncio.run(population(dsn))
    result.notes.append("seeded: " + ", ".join(f"{key} {value}" for key, value in counts.items() if key != "issuers")
                        + f"; issuers of users holding active assignments: {counts['issuers'] or 'none'}")
    progress(result.notes[-1])

    node_a = EamServer("node-a", database_url, args.workers, log_dir)
    servers.append(node_a)
    ready, all_started = node_a.wait_ready(300)
    result.put("ready", f"{ready:.2f}")
    result.put("started", f"{all_started:.2f}")
    progress(f"node A ready in {ready:.2f} s (every worker started: {all_started:.2f} s)")

    tag = uuid.uuid4().hex[:6]
    fixtures = asyncio.run(prepare(node_a, dsn, sizing, result, tag))
    sample = [subject for subject, _ in fixtures["sample"]]
    held = [count for _, count in fixtures["sample"]]
    result.notes.append(f"{len(sample)} sampled users hold {min(held)}–{max(held)} active assignments each (mean {statistics.mean(held):.1f})")
    asyncio.run(warm_up(node_a, sample))
    result.put("rss warm", " ".join(f"{value:.0f}" for value in node_a.worker_rss()))

    requests = fixtures["requests"]
    approvals, sql_requests, pending = requests[: sizing.approvals], requests[sizing.approvals : sizing.approvals + sizing.sql_requests], requests[-1]
    asyncio.run(measure_approvals(node_a, dsn, approvals, sizing, result))
    asyncio.run(measure_reads(node_a, sample, sizing, result))
    asyncio.run(measure_sql(node_a, sample, sql_requests, sizing.sql_requests, result))
    result.put("rss load", " ".join(f"{value:.0f}" for value in node_a.worker_rss()))

    node_b = EamServer("node-b", database_url, args.workers, log_dir)
    servers.append(node_b)
    ready_b, _ = node_b.wait_ready(300)
    result.put("ready b", f"{ready_b:.2f}")
    asyncio.run(measure_propagation(node_a, node_b, pending[1], pending[0], sizing.propagation_changes, result))


# -- the table -----------------------------------------------------------------------------

#: (key, what, target at 1M assignments)
ROWS = [
    ("seed", "seeding s (demo-data + --scale N)", ""),
    ("migrate", "eam migrate s (empty database)", ""),
    ("ready", "start-up to /health/ready 200, s", "≤ 20 s"),
    ("started", "  every worker started (log), s", "≤ 20 s"),
    ("ready b", "  node B (second node) ready, s", ""),
    ("rss warm", "RSS per worker MB, after warm-up", "≤ 300 MB"),
    ("rss load", "RSS per worker MB, after the load", "≤ 300 MB"),
    ("me1", "GET /v1/me p50 / p99 ms, 1 client", "p50 ≤ 15 ms"),
    ("me16", "GET /v1/me p50 / p99 ms, 16 clients", ""),
    ("me16 rate", "  GET /v1/me req/s, 16 clients", ""),
    ("grant16", "grant tokens p50 / p99 ms, 16 clients", ""),
    ("grant rate", "  grant tokens/s, 16 clients", ""),
    ("grant cpu", "  server CPU ms per token", ""),
    ("submit", "requests submitted/s (16 clients, setup)", ""),
    ("approvals", "approvals/s, 16 clients", "≥ 200/s"),
    ("approval ms", "  approval p50 / p99 ms", ""),
    ("lock waits", "  PostgreSQL sessions waiting on locks", ""),
    ("race", "  racing approvers", "one winner each"),
    ("double", "  double wins", "0"),
    ("db check", "  database: approved = assignments = audit", ""),
    ("propagation", "propagation A->B p50 / p99 / max ms", "p99 ≤ 1000 ms"),
    ("stale", "  stale answers after the first change", ""),
    ("straddled", "  removals first seen as 403, not 404", ""),
    ("sql me", "SQL stmts / txns per GET /v1/me (own log)", ""),
    ("sql grant", "SQL stmts / txns per grant token (own log)", ""),
    ("sql approve", "SQL stmts / txns per approval (own log)", ""),
    ("load_batch", "Authorizer load_batch (this process)", ""),
    ("cold", "decision cold p50 / p99 µs (1 query)", ""),
    ("warm", "decision warm median µs", "≤ 50 µs"),
]


def print_table(results: list[Result]) -> None:
    width = max(len(what) for _, what, _ in ROWS)
    columns = [max(len(result.label), *(len(result.figures.get(key, "")) for key, _, _ in ROWS)) for result in results]
    header = f"{'assignments (--scale)':<{width}} | " + " | ".join(f"{r.label:>{w}}" for r, w in zip(results, columns, strict=True)) + " | target at 1M"
    print(header)
    print("-" * len(header))
    for key, what, target in ROWS:
        print(f"{what:<{width}} | " + " | ".join(f"{r.figures.get(key, '-'):>{w}}" for r, w in zip(results, columns, strict=True)) + f" | {target}")
    for result in results:
        for note in result.notes:
            print(f"[{result.label}] {note}")
    print(flush=True)


def check_targets(result: Result) -> list[str]:
    """The targets at 1M assignments, checked on ``result``: what missed."""
    missed = []
    figures = result.figures

    def first(key: str) -> float:
        return float(figures[key].split()[0])

    if "ready" in figures and first("ready") > 20:
        missed.append(f"start-up {figures['ready']} s > 20 s")
    if "started" in figures and first("started") > 20:
        missed.append(f"every worker started {figures['started']} s > 20 s")
    for key in ("rss warm", "rss load"):
        if key in figures and max(float(value) for value in figures[key].split()) > 300:
            missed.append(f"RSS per worker ({key}) {figures[key]} MB > 300 MB")
    if "warm median" in figures and first("warm median") > 50:
        missed.append(f"decision median {figures['warm median']} µs > 50 µs")
    if "me1" in figures and first("me1") > 15:
        missed.append(f"GET /v1/me p50 {first('me1')} ms > 15 ms at 1 client")
    if "propagation" in figures and float(figures["propagation"].split(" / ")[1]) > 1000:
        missed.append(f"propagation p99 {figures['propagation']} > 1000 ms")
    if "approvals" in figures and first("approvals") < 200:
        missed.append(f"approvals {figures['approvals']}/s < 200/s")
    if figures.get("double", "0") != "0" or figures.get("db check", "ok") != "ok":
        missed.append(f"approval races: {figures.get('race')}; database {figures.get('db check')}")
    return missed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test", help="scratch databases are created beside it")
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help=f"assignments added by `eam demo-data --scale N` (default {DEFAULT_SIZES})")
    parser.add_argument("--no-seed", action="store_true", help="no `--scale`: one round on the plain demo data plus what the bench creates")
    parser.add_argument("--quick", action="store_true", help="smaller samples and loads (for development)")
    parser.add_argument("--workers", type=int, default=2, help="workers per `eam serve` (default 2)")
    parser.add_argument("--approvals", type=int, default=None, help="requests approved by 16 clients (default 1500, --quick 300)")
    parser.add_argument("--requests", type=int, default=None, help="requests per load row with 16 clients (default 2000, --quick 400)")
    parser.add_argument("--propagation-changes", type=int, default=None, help="changes measured between nodes (default 24, --quick 20; at least 20)")
    args = parser.parse_args()

    quick = args.quick
    sizing = Sizing(
        approvals=args.approvals or (300 if quick else 1500),
        requests=args.requests or (400 if quick else 2000),
        requests_single=100 if quick else 500,
        sample_users=40 if quick else 200,
        sql_requests=20 if quick else 50,
        race_every=5 if quick else 10,
        propagation_changes=max(20, args.propagation_changes or (20 if quick else 24)),
        decision_users=50 if quick else 200,
        warm_calls=20_000 if quick else 100_000,
    )
    rounds: list[tuple[str, int | None]] = [("demo only", None)] if args.no_seed else [(f"{int(size):,}", int(size)) for size in args.sizes.split(",")]
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), Python {platform.python_version()}, "
          f"load average {' '.join(f'{value:.1f}' for value in os.getloadavg())}")
    print(f"EAM: `eam serve --no-migrate --workers {args.workers}` on PostgreSQL (node A; node B the same, same database, for propagation); "
          f"bench servers: " + ", ".join(f"{key}={value}" for key, value in BENCH_ENV.items()) + " (token rate limit off: not what is measured)")
    print(f"load: this process (httpx, one asyncio loop) shares the cores with the servers; {sizing.requests} requests per 16-client row, "
          f"{sizing.requests_single} with 1 client, {sizing.sample_users} sampled users; {sizing.approvals} approvals, every {sizing.race_every}th raced "
          f"by a second access manager; {sizing.propagation_changes} propagation changes; {sizing.sql_requests} sequential requests per SQL row\n", flush=True)

    log_dir = Path(tempfile.mkdtemp(prefix="eam-scale-"))
    results: list[Result] = []
    failed = False
    try:
        for label, scale in rounds:
            results.append(Result(label))
            try:
                run_size(results[-1], scale, args, sizing, log_dir)
            finally:
                print_table(results)
    except BenchError as exc:
        failed = True
        print(f"\nBENCH FAILED: {exc}\n(server logs kept in {log_dir})", file=sys.stderr)
    except BaseException:
        failed = True
        print(f"\n(server logs kept in {log_dir})", file=sys.stderr)
        raise
    finally:
        if not failed:
            shutil.rmtree(log_dir, ignore_errors=True)
    if results and not failed:
        largest = results[-1]
        missed = check_targets(largest)
        scope = "" if largest.label == "1,000,000" else f" (targets are for 1M assignments; this is {largest.label})"
        print(f"targets at {largest.label}{scope}: " + ("all met" if not missed else "MISSED: " + "; ".join(missed)))
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
