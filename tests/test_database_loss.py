"""Database loss: 503 problem+json with ``Retry-After``, never 500, and the pool recovers.

The contract (OpenAPI) documents 503 for every operation that needs the database. These tests
lose a real PostgreSQL in the ways it is lost in production: the network path cut (pooled
connections reset, new ones refused), backends terminated by an administrator
(``pg_terminate_backend``), a connection dropped mid-statement and at commit. Each time the
answer is 503 with ``Retry-After`` and the service answers normally once the database is back.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from litestar import Litestar, get
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from eam.app import create_app
from eam.core.database import create_engine
from eam.core.settings import Settings
from eam.http.problems import EXCEPTION_HANDLERS
from tests.conftest import Api, Clock, _dsn, assert_problem, reset_postgres, serve_in_process

ORG = {"name": "AZ Groeninge", "nihdi": "71000535"}


def assert_unavailable(response: Any) -> None:
    body = assert_problem(response, 503, "service-unavailable")
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert "server-error" not in body["type"]


class Hop:
    """A TCP hop between EAM and PostgreSQL that a test can cut (every connection reset, new
    ones refused, as when the database host or the network goes away) and restore."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self.server: asyncio.AbstractServer | None = None
        self.transports: set[asyncio.WriteTransport] = set()

    async def open(self) -> None:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.transports |= {writer.transport, up_writer.transport}  # type: ignore[arg-type]

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def reset_connections(self) -> None:
        """Every connection through the hop reset at once (synchronous: usable in an engine event)."""
        for transport in list(self.transports):
            transport.abort()
        self.transports.clear()

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        self.reset_connections()
        await self.server.wait_closed()

    async def close(self) -> None:
        if self.server is not None and self.server.is_serving():
            await self.cut()


@pytest.fixture
async def hop(postgres_database: str) -> AsyncIterator[tuple[Hop, str]]:
    await reset_postgres(postgres_database)
    url = make_url(postgres_database)
    relay = Hop(url.host or "127.0.0.1", url.port or 5432)
    await relay.open()
    try:
        yield relay, url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    finally:
        await relay.close()


def app_on(url: str, clock: Clock) -> Litestar:
    return create_app(Settings(database_url=url, platform_admins=("admin",), expiry_sweep_seconds=0), clock=clock, run_housekeeping=False)


async def test_a_cut_database_answers_503_at_once_and_the_service_recovers_when_it_is_back(hop: tuple[Hop, str], clock: Clock) -> None:
    relay, url = hop
    async with serve_in_process(app_on(url, clock)) as http:
        api = Api(http)
        assert (await api.get("/v1/me", "carol")).status_code == 200  # the pool holds a connection
        await relay.cut()
        assert_unavailable(await api.get("/v1/me", "carol"))  # a pooled connection, reset
        assert_unavailable(await api.post("/v1/organisations", json=ORG))  # refused at connect
        assert_unavailable(await api.get("/v1/organisations"))
        ready = await http.get("/health/ready")
        assert ready.status_code == 503
        await relay.open()  # the database is back, on the same address
        assert (await api.get("/v1/me", "carol")).status_code == 200
        created = await api.post("/v1/organisations", json=ORG)
        assert created.status_code == 201, created.text
        assert (await http.get("/health/ready")).status_code == 200


def terminate_backend(url: str, pid: int) -> None:
    """``pg_terminate_backend`` from another connection, waited for (from a sync engine event:
    the admin connection runs on a thread of its own while the test's event loop is held)."""

    async def run() -> None:
        admin = await asyncpg.connect(_dsn(url))
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1, 5000)", pid)
        finally:
            await admin.close()

    thread = threading.Thread(target=asyncio.run, args=(run(),))
    thread.start()
    thread.join(30)


async def test_backends_terminated_by_an_administrator_answer_503_then_the_pool_recovers(postgres_database: str, clock: Clock) -> None:
    await reset_postgres(postgres_database)
    app = app_on(postgres_database, clock)
    async with serve_in_process(app) as http:
        api = Api(http)
        assert (await api.get("/v1/me", "carol")).status_code == 200
        engine: AsyncEngine = app.state.engine
        terminated = []

        def terminate(connection: Any, _cursor: Any, statement: str, *args: Any) -> None:
            if not terminated and "INSERT INTO organisations" in statement:
                terminated.append(connection.connection.driver_connection.get_server_pid())
                terminate_backend(postgres_database, terminated[0])

        event.listen(engine.sync_engine, "before_cursor_execute", terminate)
        try:
            assert_unavailable(await api.post("/v1/organisations", json=ORG))
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", terminate)
        assert terminated
        # SQLAlchemy invalidated the pool's connections with the failure: fresh ones now.
        for _ in range(3):
            assert (await api.get("/v1/me", "carol")).status_code == 200
        assert (await api.post("/v1/organisations", json=ORG)).status_code == 201


@pytest.mark.parametrize("moment", ["before_cursor_execute", "commit"])
async def test_a_connection_lost_mid_request_or_at_commit_answers_503_and_writes_nothing(
    hop: tuple[Hop, str], clock: Clock, moment: str
) -> None:
    relay, url = hop
    app = app_on(url, clock)
    async with serve_in_process(app) as http:
        api = Api(http)
        assert (await api.get("/v1/organisations")).status_code == 200
        engine: AsyncEngine = app.state.engine
        fired = []

        def lose_connection(connection: Any, *args: Any) -> None:
            statement = args[1] if moment == "before_cursor_execute" else "COMMIT"
            if not fired and (moment == "commit" or "INSERT INTO organisations" in statement):
                fired.append(statement)
                relay.reset_connections()

        event.listen(engine.sync_engine, moment, lose_connection)
        try:
            assert_unavailable(await api.post("/v1/organisations", json=ORG))
        finally:
            event.remove(engine.sync_engine, moment, lose_connection)
        assert fired
        listed = await api.get("/v1/organisations")
        assert listed.status_code == 200 and listed.json()["items"] == []  # rolled back: nothing written
        assert (await api.post("/v1/organisations", json=ORG)).status_code == 201


# --- which errors mean "unavailable" ---------------------------------------------------------------


def _asyncpg_error(error: Exception) -> DBAPIError:
    """A driver error as SQLAlchemy's asyncpg dialect hands it on (the adapter's error, caused by asyncpg's)."""
    from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_dbapi

    adapted = AsyncAdapt_asyncpg_dbapi.Error(str(error), error)
    adapted.__cause__ = error
    return DBAPIError.instance("SELECT 1", {}, adapted, AsyncAdapt_asyncpg_dbapi.Error)


UNAVAILABLE = {
    "operational": OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly")),
    "interface": InterfaceError("SELECT 1", {}, Exception("connection is closed")),
    "invalidated": DBAPIError("SELECT 1", {}, Exception("gone"), connection_invalidated=True),
    "connection-does-not-exist": _asyncpg_error(asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation")),
    "admin-shutdown": _asyncpg_error(asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command")),
    "too-many-connections": _asyncpg_error(asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already")),
    "refused": ConnectionRefusedError(111, "Connection refused"),
    "os-error": OSError(113, "No route to host"),
    "several-addresses": OSError("Multiple exceptions: [Errno 111] Connect call failed ('::1', 5432, 0, 0), [Errno 111] Connect call failed ('127.0.0.1', 5432)"),
    "redis": RedisConnectionError("Error 111 connecting to 127.0.0.1:6390. Connection refused."),
}


def raising(exc: Exception) -> Litestar:
    @get("/boom")
    async def boom() -> None:
        raise exc

    return Litestar([boom], exception_handlers=EXCEPTION_HANDLERS, logging_config=None)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", UNAVAILABLE)
async def test_every_kind_of_lost_connection_is_503_with_retry_after(kind: str) -> None:
    async with serve_in_process(raising(UNAVAILABLE[kind])) as http:
        assert_unavailable(await http.get("/boom"))


@pytest.mark.parametrize(
    "exc",
    [
        ProgrammingError("SELECT nope", {}, Exception("column nope does not exist")),
        _asyncpg_error(asyncpg.exceptions.InvalidTextRepresentationError("invalid input syntax for type uuid")),
        FileNotFoundError(2, "No such file or directory"),
    ],
)
async def test_a_statement_the_database_refuses_stays_a_server_error(exc: Exception) -> None:
    async with serve_in_process(raising(exc)) as http:
        assert_problem(await http.get("/boom"), 500, "server-error")


async def test_a_server_error_log_names_the_statement_but_not_the_value_the_driver_quotes(
    postgres_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    secret = f"secret-{uuid.uuid4().hex}"
    engine = create_engine(postgres_database)
    try:
        async with engine.connect() as connection:
            with pytest.raises(DBAPIError) as caught:
                await connection.execute(text("SELECT CAST(:value AS uuid)"), {"value": secret})
    finally:
        await engine.dispose()
    assert secret in str(caught.value.orig)  # the driver's message quotes the value...
    caplog.set_level(logging.DEBUG)
    async with serve_in_process(raising(caught.value)) as http:
        assert_problem(await http.get("/boom"), 500, "server-error")
    assert "CAST" in caplog.text and "DataError" in caplog.text
    assert secret not in caplog.text  # ...the log does not
