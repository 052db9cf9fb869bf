"""Test fixtures: every API test runs against a migrated SQLite file and a real PostgreSQL.

PostgreSQL comes from ``EAM_TEST_POSTGRES_URL`` (default: the local server's ``test`` database).
The suite creates a scratch database beside it, migrates it with Alembic, and drops it at the
end. If PostgreSQL is unreachable the run fails at once: it is never skipped.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import shutil
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest
import uvicorn
from litestar import Litestar
from sqlalchemy.engine import make_url

from eam.app import create_app
from eam.auth.dev_tokens import issue_dev_token
from eam.migrations import upgrade
from eam.core.database import Base
from eam.core.settings import DEV_TOKEN_SECRET, Settings
import eam.models  # noqa: F401  (every table on Base.metadata)

POSTGRES_URL = os.environ.get("EAM_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
#: Every table a test may write, children first (derived from the models, so a new table is never
#: left holding one test's rows for the next); ``policy_version`` is set back, not emptied.
TABLES = tuple(table.name for table in reversed(Base.metadata.sorted_tables) if table.name != "policy_version")


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Fail the run at once (exit code 3, nothing skipped) if PostgreSQL is unreachable.

    Under pytest-xdist this runs in the controller before any worker is started, so one probe
    suffices; a worker's own session start does not probe again.
    """
    if hasattr(session.config, "workerinput"):  # a pytest-xdist worker
        return

    async def probe() -> None:
        connection = await asyncpg.connect(_dsn(POSTGRES_URL), timeout=5)
        await connection.close()

    try:
        asyncio.run(probe())
    except Exception as exc:  # noqa: BLE001
        pytest.exit(f"PostgreSQL at {POSTGRES_URL} is unreachable ({exc!r}); the suite needs it", returncode=3)
    _ensure_browser(session.config)


def _ensure_browser(config: pytest.Config) -> None:
    """The browser tests (tests/ui) need Debian's Chromium: install it when it is missing, once
    per run (here, in the controller), and stop the run with a clear message if that fails."""
    from tests.ui.browser import BrowserSetupError, ensure_chromium, runs_browser_tests

    if not runs_browser_tests(list(config.args), config.rootpath):
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    say = reporter.write_line if reporter is not None else print
    try:
        ensure_chromium(say)
    except BrowserSetupError as exc:
        pytest.exit(f"the browser tests (tests/ui) need Chromium, which could not be set up: {exc}", returncode=3)


class Clock:
    """A controllable clock: tests move time forward instead of sleeping."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    name = f"eam_test_{uuid.uuid4().hex[:10]}"
    admin_dsn = _dsn(POSTGRES_URL)

    async def run(sql: str) -> None:
        connection = await asyncpg.connect(admin_dsn)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "eam.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


async def reset_postgres(url: str) -> None:
    """Empty every table, restart their sequences and set the policy version back to 0.

    Rows are deleted rather than truncated: TRUNCATE gives each table (and each index) a new file, and
    took ~0.2 s per test, DELETE on these few rows takes a few ms. Triggers are off for the deletion
    (``session_replication_role = replica``, this transaction only), so the append-only triggers of
    audit_events do not refuse it and the order of the tables does not matter for foreign keys. That
    setting needs a superuser; as any other user the tables are truncated as before.
    """
    connection = await asyncpg.connect(_dsn(url))
    try:
        try:
            async with connection.transaction():
                await connection.execute("SET LOCAL session_replication_role = replica")
                await connection.execute("; ".join(f"DELETE FROM {table}" for table in TABLES))
                await connection.execute(
                    "SELECT setval(s.seqrelid::regclass, s.seqstart, false) FROM pg_sequence s"
                    " JOIN pg_depend d ON d.objid = s.seqrelid AND d.deptype IN ('a', 'i')"
                    " JOIN pg_class t ON t.oid = d.refobjid WHERE t.relname = ANY($1::text[])",
                    list(TABLES),
                )
        except asyncpg.InsufficientPrivilegeError:
            await connection.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
        await connection.execute("UPDATE policy_version SET version = 0")
    finally:
        await connection.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema yet, of each kind (PostgreSQL: a scratch database, dropped after)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"eam_empty_{uuid.uuid4().hex[:10]}"

    async def run(sql: str) -> None:
        connection = await asyncpg.connect(_dsn(POSTGRES_URL))
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A freshly migrated, empty database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "eam.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url = request.getfixturevalue("postgres_database")
    asyncio.run(reset_postgres(url))
    return url


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, platform_admins=("admin",), expiry_sweep_seconds=0)


def token(username: str, **claims: Any) -> str:
    return issue_dev_token(DEV_TOKEN_SECRET, username, ttl_seconds=600, now=dt.datetime.now(dt.UTC), **claims)


def auth(username: str, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(username, **claims)}"}


PROBLEM_JSON = "application/problem+json"


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """An RFC 9457 answer with this status and the stable type ``urn:eam:problem:<code>``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["type"] == f"urn:eam:problem:{code}"
    assert body["status"] == status
    return body


def error_fields(response: Any) -> set[str]:
    """The fields a validation problem names."""
    return {error["field"] for error in response.json()["errors"]}


class Api:
    """A thin HTTP client with the steps most tests share."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.user_ids: dict[str, uuid.UUID] = {}

    async def call(self, method: str, path: str, user: str | None = "admin", **kwargs: Any) -> Any:
        headers = {**(auth(user) if user else {}), **kwargs.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def get(self, path: str, user: str | None = "admin", **kwargs: Any) -> Any:
        return await self.call("GET", path, user, **kwargs)

    async def post(self, path: str, user: str | None = "admin", **kwargs: Any) -> Any:
        return await self.call("POST", path, user, **kwargs)

    async def patch(self, path: str, user: str | None = "admin", **kwargs: Any) -> Any:
        return await self.call("PATCH", path, user, **kwargs)

    async def delete(self, path: str, user: str | None = "admin", **kwargs: Any) -> Any:
        return await self.call("DELETE", path, user, **kwargs)

    async def user_id(self, username: str) -> str:
        response = await self.get("/v1/me", username)
        assert response.status_code == 200, response.text
        return response.json()["id"]

    async def organisation(self, name: str = "AZ Sint-Jan Brugge", nihdi: str = "71000436", **extra: Any) -> dict[str, Any]:
        response = await self.post("/v1/organisations", json={"name": name, "nihdi": nihdi, **extra})
        assert response.status_code == 201, response.text
        return response.json()

    async def appoint(self, organisation_id: str, username: str, by: str = "admin") -> Any:
        user_id = await self.user_id(username)
        return await self.post(f"/v1/organisations/{organisation_id}/access-managers", by, json={"user_id": user_id})

    async def managed_organisation(self, manager: str = "alice", **kwargs: Any) -> dict[str, Any]:
        org = await self.organisation(**kwargs)
        response = await self.appoint(org["id"], manager)
        assert response.status_code == 201, response.text
        return org

    async def request_access(self, organisation_id: str, user: str = "carol", **overrides: Any) -> Any:
        body = {
            "organisation_id": organisation_id,
            "application": "healthstat",
            "register": "HDBP0147",
            "profile": {"role": "data_provider", "data_level": "hospital"},
            "justification": "I report on our hospital's registrations.",
            **overrides,
        }
        return await self.post("/v1/access-requests", user, json=body)

    async def approved_assignment(self, organisation_id: str, user: str = "carol", manager: str = "alice") -> dict[str, Any]:
        submitted = await self.request_access(organisation_id, user)
        assert submitted.status_code == 201, submitted.text
        approved = await self.post(f"/v1/access-requests/{submitted.json()['id']}/approve", manager, json={})
        assert approved.status_code == 200, approved.text
        response = await self.get(f"/v1/assignments/{approved.json()['assignment_id']}", manager)
        return response.json()


@pytest.fixture
def app(settings: Settings, clock: Clock) -> Litestar:
    return create_app(settings, clock=clock, run_housekeeping=False)


@asynccontextmanager
async def serve_in_process(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan, in the test's own event loop, behind a real HTTP client.

    The lifespan runs in a task of its own: fixtures set up and tear down in different tasks,
    and Litestar's lifespan must be left in the task that entered it.
    """
    started, stop = asyncio.Event(), asyncio.Event()

    async def run_lifespan() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(run_lifespan())
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://eam.test") as http:
            yield http
    finally:
        stop.set()
        await task


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with serve_in_process(app) as http:
        yield http


@pytest.fixture
def api(client: httpx.AsyncClient) -> Api:
    return Api(client)


async def casbin_rows(app: Litestar, ptype: str | None = None) -> list[tuple[str, ...]]:
    """The raw ``casbin_rule`` rows, read through the app's own engine."""
    from sqlalchemy import select

    from eam.authz.models import CasbinRule

    async with app.state.sessionmaker() as session:
        stmt = select(CasbinRule).order_by(CasbinRule.id)
        if ptype is not None:
            stmt = stmt.where(CasbinRule.ptype == ptype)
        return [(row.ptype, *row.values()) for row in await session.scalars(stmt)]


async def holds_now(app: Litestar, user_id: str, org_id: str, profile_pattern: str, now: dt.datetime, register: str = "HDBP0147") -> bool:
    """A register-access decision (Casbin ``m2``) through the app's own authorizer."""
    from eam.authz.register_access import holds_register_access
    from eam.core.database import transaction

    async with transaction(app.state.sessionmaker, read_only=True) as session:
        return await holds_register_access(
            app.state.authorizer,
            session,
            user_id=uuid.UUID(user_id),
            organisation_id=uuid.UUID(org_id),
            application="healthstat",
            register=register,
            profile_pattern=profile_pattern,
            now=now,
        )


def wait_until_serving(process: Any, url: str, timeout: float = 30) -> None:
    """Poll ``url`` until it answers 200; fail with the process's stderr if it exits first."""
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, f"the server exited: {process.communicate()[1]}"
        assert time.monotonic() < deadline, f"{url} did not answer 200 within {timeout} s"
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)


_PORT_BAND = 200
_PORT_BASE = 20000  # below Linux's ephemeral range (ip_local_port_range, 32768-60999 by default)
_handed_out: set[int] = set()


def free_port() -> int:
    """A free loopback port for a server that is told its port up front (``eam serve`` in a
    subprocess, :class:`LiveServer`). Handing uvicorn a socket already bound to port 0 would avoid
    this, but made test_schemathesis about 3x slower (not investigated), so it is not done.

    Binding port 0 and closing the socket again is racy when tests run in parallel: until the server
    binds, another pytest-xdist worker's server, or any outgoing connection (those take their local
    port from the same ephemeral range), may take it. So each worker hands out ports from a band of
    its own below the ephemeral range, each at most once per band cycle, skipping ports in use.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    index = int(worker[2:]) + 1 if worker.startswith("gw") and worker[2:].isdigit() else 0
    band = _PORT_BASE + (index % ((32768 - _PORT_BASE) // _PORT_BAND)) * _PORT_BAND
    candidates = [port for port in range(band, band + _PORT_BAND) if port not in _handed_out]
    if not candidates:
        _handed_out.clear()
        candidates = list(range(band, band + _PORT_BAND))
    random.shuffle(candidates)
    for port in candidates:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free loopback port in {band}-{band + _PORT_BAND - 1}")


class LiveServer:
    """EAM on a real loopback port (uvicorn in a thread), for peers that speak HTTP themselves:
    ``eam.verifier``, Node ``jose``, benchmarks. ``settings.issuer`` is this server's URL."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        self.settings = msgspec.structs.replace(settings, issuer=self.base_url)
        self.app = create_app(self.settings, clock=clock, run_housekeeping=False)
        self.clock = clock
        self._server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", proxy_headers=False))
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise AssertionError("the live EAM server did not start")
            time.sleep(0.02)
        self.http = httpx.AsyncClient(base_url=self.base_url, timeout=30)
        self.api = Api(self.http)

    @property
    def jwks_url(self) -> str:
        return f"{self.base_url}/.well-known/jwks.json"

    async def close(self) -> None:
        await self.http.aclose()
        self._server.should_exit = True
        await asyncio.to_thread(self._thread.join, 30)


@pytest.fixture
async def live_server_factory(settings: Settings, clock: Clock) -> AsyncIterator[Any]:
    """``start(**setting_overrides) -> LiveServer``; every server started is stopped afterwards."""
    servers: list[LiveServer] = []

    def start(**overrides: Any) -> LiveServer:
        server = LiveServer(msgspec.structs.replace(settings, **overrides), clock)
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


@pytest.fixture
async def live_server(live_server_factory: Any) -> LiveServer:
    return live_server_factory()


async def run_jobs(services: Any, *jobs: Any) -> tuple[int, ...]:
    """Run scheduled jobs (``eam.jobs``) as the runner does: each in its own transaction."""
    from eam.jobs import run_job

    return tuple([await run_job(services, job) for job in jobs])


async def maintain_keys(services: Any, settings: Settings | None = None) -> int:
    """The signing-key jobs of one round; returns how many keys were retired."""
    import dataclasses

    from eam.jobs import FORGET_REVOCATIONS, RETIRE_KEYS, ensure_signing_key

    if settings is not None:
        services = dataclasses.replace(services, settings=settings)
    _, retired = await run_jobs(services, FORGET_REVOCATIONS, RETIRE_KEYS)
    await ensure_signing_key(services)
    return retired

