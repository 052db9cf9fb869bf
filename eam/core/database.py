"""Engine, declarative base and the one-transaction-per-request session.

The session dependency owns the transaction: it commits when the handler (and the response
serialisation) succeeded and rolls back on any exception. Domain code flushes, never commits.

SQLite: pysqlite's own transaction handling is switched off and EAM emits ``BEGIN`` itself, so
that writes take the database lock up front (``BEGIN IMMEDIATE``): two writers queue on the
busy timeout instead of failing halfway, which keeps compare-and-set updates race-free.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from eam.core.errors import FieldError, ValidationFailed

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite keeps naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _refuse_nul(_conn: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any, executemany: bool) -> None:
    """PostgreSQL text cannot hold U+0000 (it fails the statement; SQLite would store it): a NUL in
    any value bound to SQL, from a body, query, path or token, is the client's error on both."""
    # executemany: a list of rows; a batched INSERT (insertmanyvalues) binds its rows' values flat.
    for row in parameters if executemany else [parameters]:
        values = row.values() if isinstance(row, dict) else row if isinstance(row, (tuple, list)) else (row,)
        if any(isinstance(value, str) and "\x00" in value for value in values):
            raise ValidationFailed(
                "text must not contain NUL (U+0000) characters",
                [FieldError("$", "a text value contains a NUL (U+0000) character")],
            )


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """The engine. ``hide_parameters``: bound values (encrypted keys, secret digests, e-mails,
    national-number hashes) never appear in SQLAlchemy's log lines or exception messages."""
    engine = _create_engine(url, pool_size=pool_size)
    event.listen(engine.sync_engine, "before_cursor_execute", _refuse_nul)
    return engine


def _create_engine(url: str, *, pool_size: int) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # EAM issues BEGIN itself, below
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
            connection.exec_driver_sql(f"BEGIN {mode}")

        return engine
    # No pre-ping (a round trip at every checkout): a connection found dead fails its request
    # and SQLAlchemy invalidates the pool's older connections. No overflow: a worker never holds
    # more than ``pool_size`` connections (plus its LISTEN connection), so the budget is
    # workers x (EAM_DATABASE_POOL_SIZE + 1) per node against PostgreSQL's max_connections.
    return create_async_engine(url, pool_size=pool_size, max_overflow=0, hide_parameters=True)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


@asynccontextmanager
async def transaction(
    sessionmaker: async_sessionmaker[AsyncSession], *, read_only: bool = False, statement_level: bool = False
) -> AsyncIterator[AsyncSession]:
    """Yield a session inside one transaction; commit on success, roll back on any exception.

    ``statement_level``: for operations that read and write at most one row in one statement
    (issuing a grant token may create the caller's user row): on PostgreSQL each statement is
    its own transaction, which saves the ``BEGIN`` and ``COMMIT`` round trips.
    """
    async with sessionmaker() as session:
        options: dict[str, Any] = {"sqlite_begin": "DEFERRED" if read_only else "IMMEDIATE"}
        if statement_level and session.get_bind().dialect.name == "postgresql":
            options["isolation_level"] = "AUTOCOMMIT"
        # SQLite: a deferred BEGIN lets readers run beside the single writer.
        await session.connection(execution_options=options)
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


#: PostgreSQL's SQLSTATE for ``unique_violation`` (Appendix A, class 23).
UNIQUE_VIOLATION = "23505"
#: SQLite's extended result codes for a UNIQUE or PRIMARY KEY constraint that failed.
SQLITE_UNIQUE = frozenset({"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"})


def is_unique_violation(exc: IntegrityError) -> bool:
    """Whether the integrity error is a uniqueness rule (a race another writer won), rather
    than a foreign key, NOT NULL or CHECK violation (a bug)."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == UNIQUE_VIOLATION or getattr(orig, "pgcode", None) == UNIQUE_VIOLATION:
        return True
    return getattr(orig, "sqlite_errorname", None) in SQLITE_UNIQUE


def upsert_ignore(session: AsyncSession, table: Any) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` for the session's dialect."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table)


def literal_like(text: str) -> str:
    """``text`` matched literally inside a LIKE pattern (escape ``\\``): ``%`` and ``_`` are not wildcards."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@asynccontextmanager
async def savepoint(session: AsyncSession) -> AsyncIterator[None]:
    """One step of a transaction that may fail alone (SQL ``SAVEPOINT``): when it raises, its rows
    are rolled back and what it noted for the commit is forgotten with them (every list in
    ``session.info``: audit events, policy changes), so nothing of it is written or believed."""
    noted = {key: len(value) for key, value in session.info.items() if isinstance(value, list)}
    try:
        async with session.begin_nested():
            yield
    except BaseException:
        for key in [key for key, value in session.info.items() if isinstance(value, list)]:
            if key in noted:
                del session.info[key][noted[key] :]
            else:
                del session.info[key]
        raise
