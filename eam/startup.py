"""What ``eam migrate`` and ``eam serve`` check before they touch the schema, and the line they log.

Rules:
- a database EAM cannot reach (no such database, nothing listening, unknown host, a SQLite file
  whose folder is missing) ends the command with one line that names the database (never its
  password), the reason, and the accepted URL forms;
- EAM migrates only a database it can account for: an empty one, or one Alembic has stamped.
  Tables without ``alembic_version`` belong to someone else: EAM refuses to add its own beside
  them unless told to (``--allow-foreign-tables``, ``EAM_ALLOW_FOREIGN_TABLES=1``), and refuses
  outright when one of them bears the name of an EAM table (the migration could not create it);
- serving without migrating needs a database at the newest revision this EAM ships; one at a
  revision this EAM does not know was migrated by a newer EAM, and is served with a warning
  (a rolling upgrade migrates before the last old workers stop);
- start-up logs one line: environment, database, migration state, whether dev tokens are on.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.util.exc import CommandError
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from eam.core.database_url import ACCEPTED_FORMS, shown
from eam.core.settings import Settings

CONNECT_TIMEOUT_SECONDS = 10
ALLOW_FOREIGN_TABLES_FLAG = "--allow-foreign-tables (EAM_ALLOW_FOREIGN_TABLES=1)"


class StartupRefused(Exception):
    """Start-up cannot go on; the message is the one line the operator reads."""


@dataclass(frozen=True)
class DatabaseState:
    revision: str | None  #: what ``alembic_version`` holds (``None``: never migrated)
    tables: frozenset[str]


def _unreachable(url: str, reason: str) -> StartupRefused:
    reason = " ".join(reason.split()) or "no reason given"
    return StartupRefused(f"cannot use the database {shown(url)}: {reason}. EAM_DATABASE_URL takes {ACCEPTED_FORMS}")


def _reason(exc: BaseException) -> str:
    """The driver's own words, without SQLAlchemy's wrapping (``(…Error) database "x" does not exist``)."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return str(exc.orig).splitlines()[0] if str(exc.orig) else type(exc.orig).__name__
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused: nothing listens there (is the database server running, on that port?)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _read_state(connection: Connection) -> DatabaseState:
    tables = frozenset(inspect(connection).get_table_names())
    revision = None
    if "alembic_version" in tables:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return DatabaseState(revision=revision, tables=tables)


def read_state(url: str) -> DatabaseState:
    """Connect once and read the tables and the Alembic revision; :class:`StartupRefused` if the
    database cannot be reached. Runs its own event loop (call it outside one)."""
    parsed = make_url(url)
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        folder = Path(parsed.database or ".").absolute().parent
        if not folder.is_dir():
            # Checked before connecting: a failed aiosqlite connect leaves a thread that prints a traceback.
            raise _unreachable(url, f"the folder {folder} does not exist")
    else:
        connect_args["timeout"] = CONNECT_TIMEOUT_SECONDS

    async def read() -> DatabaseState:
        engine = create_async_engine(url, connect_args=connect_args)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(_read_state)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(read())
    except (DBAPIError, OSError, TimeoutError) as exc:
        raise _unreachable(url, _reason(exc)) from None


def check_before_migrating(state: DatabaseState, *, allow_foreign_tables: bool) -> None:
    """Refuse a database whose tables EAM did not create (see the module's rules)."""
    if state.revision is not None or not state.tables:
        return
    import eam.models  # noqa: F401  (registers every table on the metadata)
    from eam.core.database import Base

    ours = sorted(state.tables & set(Base.metadata.tables))
    if ours:
        raise StartupRefused(
            f"the database has no alembic_version but already holds tables named like EAM's ({_listed(ours)}):"
            " EAM cannot tell what they are and will not migrate it; use an empty database"
        )
    if not allow_foreign_tables:
        raise StartupRefused(
            f"the database already holds tables that are not EAM's ({_listed(sorted(state.tables))}) and no"
            f" alembic_version: use an empty database, or share this one with {ALLOW_FOREIGN_TABLES_FLAG}"
        )


def _listed(names: list[str], at_most: int = 5) -> str:
    more = f" and {len(names) - at_most} more" if len(names) > at_most else ""
    return ", ".join(names[:at_most]) + more


def migrate(url: str, *, allow_foreign_tables: bool) -> tuple[DatabaseState, str]:
    """Check the database, apply the migrations, and say what happened (``migrated from 0004 to
    0006``, ``up to date at 0006``)."""
    from eam.migrations import revisions, upgrade

    state = read_state(url)
    check_before_migrating(state, allow_foreign_tables=allow_foreign_tables)
    known = revisions()
    newest = known[0]
    if state.revision is not None and state.revision not in known:
        raise StartupRefused(
            f"the database is at revision {state.revision}, which this EAM does not know (newest: {newest}):"
            " a newer EAM migrated it; run that version"
        )
    try:
        upgrade(url)
    except (DBAPIError, OSError, TimeoutError) as exc:
        raise _unreachable(url, _reason(exc)) from None
    except CommandError as exc:
        raise StartupRefused(f"migration failed: {exc}") from None
    if state.revision == newest:
        return state, f"up to date at {newest}"
    if state.revision is None:
        return state, f"migrated to {newest} (new schema)"
    return state, f"migrated from {state.revision} to {newest}"


def check_without_migrating(url: str) -> str:
    """The migration state of a database served without migrating; refuse one that needs migrations."""
    from eam.migrations import revisions

    state = read_state(url)
    known = revisions()
    newest = known[0]
    if state.revision is None:
        raise StartupRefused(f"the database {shown(url)} is not migrated: run 'eam migrate' first")
    if state.revision == newest:
        return f"up to date at {newest} (not migrated at start)"
    if state.revision in known:
        raise StartupRefused(f"the database is at revision {state.revision}, this EAM needs {newest}: run 'eam migrate' first")
    return f"at revision {state.revision}, unknown to this EAM (newest: {newest}): a newer EAM migrated it"


def startup_line(settings: Settings, migrations: str, given_url: str | None = None) -> tuple[str, dict[str, str]]:
    """The one line ``eam serve`` logs before it serves, and its fields for JSON logs; ``given_url``
    is ``EAM_DATABASE_URL`` as written, mentioned when EAM read it with its driver added."""
    dev_tokens = "on" if not settings.is_production and settings.dev_token_secret else "off"
    fields = {
        "environment": settings.env,
        "database": shown(settings.database_url),
        "migrations": migrations,
        "dev_tokens": dev_tokens,
    }
    given = (given_url or "").strip()
    read_as = ""
    if given and given != settings.database_url:
        scheme = given.partition(":")[0]
        read_as = f" (EAM_DATABASE_URL {scheme}:// read as {make_url(settings.database_url).drivername}://)"
    message = (
        f"EAM starting: environment {settings.env}, database {fields['database']}{read_as},"
        f" migrations: {migrations}, dev tokens: {dev_tokens}"
    )
    return message, fields
