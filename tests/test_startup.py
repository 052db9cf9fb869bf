"""Start-up that explains itself: ``eam migrate`` and ``eam serve`` as an operator runs them.

A wrong ``EAM_DATABASE_URL`` or an unreachable database ends the command with one line (exit 1,
no traceback) naming the accepted forms; driverless URLs are read with EAM's drivers; a database
holding other tables is refused unless the operator says otherwise; ``eam serve`` logs one line
with the environment, database (no password), migration state and dev-token mode.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from eam.core.database_url import DatabaseUrlError, normalise_database_url, shown
from eam.core.settings import Settings, SettingsError
from eam.migrations import newest_revision
from eam.startup import startup_line
from tests.conftest import POSTGRES_URL, _dsn, free_port

ACCEPTED = ("postgresql+asyncpg://", "sqlite+aiosqlite:///")
#: ``eam serve`` with uvicorn replaced by a line that says it would serve: everything before
#: serving (checks, migrations, demo data, the start-up line) runs for real, in its own process.
SERVE_WITHOUT_SERVING = (
    "import sys, eam.serving;"
    "eam.serving.serve = lambda app, **options: print('would serve on port', options['port'], file=sys.stderr);"
    "from eam.cli import main; main(sys.argv[1:], prog_name='eam')"
)


def eam(*args: str, cwd: Path, **environ: str) -> subprocess.CompletedProcess[str]:
    """Run ``eam ARGS`` in a process of its own, with only the given ``EAM_*`` variables."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("EAM_")}
    env.update(environ)
    command = [sys.executable, "-c", SERVE_WITHOUT_SERVING, *args] if args[0] == "serve" else [sys.executable, "-m", "eam", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


def one_clear_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(_dsn(POSTGRES_URL))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    """A new, empty PostgreSQL database (not migrated), dropped afterwards."""
    name = f"eam_startup_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def tables_of(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        return {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


# -- the URL forms ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "read"),
    [
        ("postgres://eam:p%40ss@db.example:5432/eam", "postgresql+asyncpg://eam:p%40ss@db.example:5432/eam"),
        ("postgresql://eam@db.example/eam?ssl=require", "postgresql+asyncpg://eam@db.example/eam?ssl=require"),
        ("sqlite:///./eam.db", "sqlite+aiosqlite:///./eam.db"),
        ("sqlite:////var/lib/eam/eam.db", "sqlite+aiosqlite:////var/lib/eam/eam.db"),
        ("postgresql+asyncpg://eam:secret@db:5432/eam", "postgresql+asyncpg://eam:secret@db:5432/eam"),
        (" sqlite+aiosqlite:///eam.db\n", "sqlite+aiosqlite:///eam.db"),
    ],
)
def test_urls_without_a_driver_are_read_with_eams_driver(given: str, read: str) -> None:
    assert normalise_database_url(given) == read
    assert Settings.from_env({"EAM_DATABASE_URL": given}).database_url == read


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("garbage", "is not a database URL"),
        ("", "is not a database URL"),
        ("mysql://eam@db/eam", "names 'mysql'"),
        ("postgresql+psycopg2://eam@db/eam", "names 'postgresql+psycopg2'"),
        ("sqlite+pysqlite:///eam.db", "names 'sqlite+pysqlite'"),
        ("sqlite+aiosqlite://", "in-memory"),
        ("sqlite:///:memory:", "in-memory"),
    ],
)
def test_other_urls_are_refused_with_the_accepted_forms(given: str, says: str) -> None:
    with pytest.raises(DatabaseUrlError, match=re.escape(says)) as refused:
        normalise_database_url(given)
    assert all(form in str(refused.value) for form in ACCEPTED)
    with pytest.raises(SettingsError, match=re.escape(says)):
        Settings.from_env({"EAM_DATABASE_URL": given})


def test_urls_are_shown_without_their_password() -> None:
    assert shown("postgresql+asyncpg://eam:s3cret@db:5432/eam") == "postgresql+asyncpg://eam:***@db:5432/eam"
    assert shown("sqlite+aiosqlite:///./eam.db") == "sqlite+aiosqlite:///./eam.db"


# -- wrong or unreachable databases: one line, exit 1, no traceback ---------------------------


def _closed_port() -> int:
    return free_port()  # bound by nobody: a connection is refused


@pytest.mark.parametrize("command", ["migrate", "serve"])
@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("{missing_database}", 'database "eam_no_such_database" does not exist'),
        ("postgresql://postgres:s3cret@127.0.0.1:{closed}/eam", "connection refused"),
        ("postgresql+asyncpg://postgres@127.0.0.1:{closed}/eam", "connection refused"),
        ("sqlite:///{tmp}/no-such-folder/eam.db", "no-such-folder does not exist"),
        ("sqlite+aiosqlite:///{tmp}/no-such-folder/eam.db", "no-such-folder does not exist"),
        ("garbage", "is not a database URL"),
        ("mysql://eam@127.0.0.1/eam", "names 'mysql'"),
    ],
)
def test_a_wrong_or_unreachable_database_ends_with_one_line_naming_the_accepted_forms(
    command: str, url: str, says: str, tmp_path: Path
) -> None:
    # The test server's URL as a hosting platform writes it (postgres://, no driver), naming no database there.
    missing = make_url(POSTGRES_URL).set(drivername="postgres", database="eam_no_such_database")
    url = url.format(missing_database=missing.render_as_string(hide_password=False), closed=_closed_port(), tmp=tmp_path)
    line = one_clear_line(eam(command, cwd=tmp_path, EAM_DATABASE_URL=url))
    assert says in line, line
    assert all(form in line for form in ACCEPTED), line
    assert "s3cret" not in line
    assert list(tmp_path.iterdir()) == [], "nothing was created"


@pytest.mark.parametrize("command", [("demo-data",), ("keys", "list"), ("clients", "disable", "some-client"), ("policy", "export")])
def test_commands_on_the_data_end_with_one_line_too(command: tuple[str, ...], tmp_path: Path) -> None:
    """Not only serve and migrate: every command that works on the data."""
    closed = f"postgresql+asyncpg://postgres@127.0.0.1:{_closed_port()}/eam"
    assert "connection refused" in one_clear_line(eam(*command, cwd=tmp_path, EAM_DATABASE_URL=closed))
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    line = one_clear_line(eam(*command, cwd=tmp_path, EAM_DATABASE_URL=f"sqlite+aiosqlite:///{path}"))
    assert "not migrated" in line and "eam migrate" in line, line


# -- databases that hold other tables ------------------------------------------------------


def test_a_sqlite_database_with_foreign_tables_is_refused_unless_allowed(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE patients (id INTEGER PRIMARY KEY)")
    url = f"sqlite+aiosqlite:///{path}"

    for command in ("migrate", "serve"):
        line = one_clear_line(eam(command, cwd=tmp_path, EAM_DATABASE_URL=url))
        assert "tables that are not EAM's (patients)" in line and "--allow-foreign-tables" in line, line
        assert "EAM_ALLOW_FOREIGN_TABLES=1" in line
    assert tables_of(path) == {"patients"}, "nothing was added"

    allowed = eam("migrate", "--allow-foreign-tables", cwd=tmp_path, EAM_DATABASE_URL=url)
    assert allowed.returncode == 0, allowed.stderr
    assert f"migrated to {newest_revision()} (new schema)" in allowed.stderr
    assert {"patients", "alembic_version", "assignments"} <= tables_of(path)
    # Migrated once, the database is EAM's: no flag needed any more.
    again = eam("migrate", cwd=tmp_path, EAM_DATABASE_URL=url)
    assert again.returncode == 0 and f"up to date at {newest_revision()}" in again.stderr, again.stderr


def test_the_environment_variable_allows_foreign_tables_and_zero_does_not(empty_postgres: str, tmp_path: Path) -> None:
    asyncio.run(_admin_in(empty_postgres, "CREATE TABLE invoices (id integer PRIMARY KEY)"))
    refused = eam("migrate", cwd=tmp_path, EAM_DATABASE_URL=empty_postgres, EAM_ALLOW_FOREIGN_TABLES="0")
    assert "tables that are not EAM's (invoices)" in one_clear_line(refused)
    allowed = eam("migrate", cwd=tmp_path, EAM_DATABASE_URL=empty_postgres, EAM_ALLOW_FOREIGN_TABLES="1")
    assert allowed.returncode == 0, allowed.stderr
    assert "migrated to" in allowed.stderr


def test_tables_named_like_eams_without_alembic_version_are_refused_even_when_allowed(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
        connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)")
    line = one_clear_line(eam("migrate", "--allow-foreign-tables", cwd=tmp_path, EAM_DATABASE_URL=f"sqlite:///{path}"))
    assert "no alembic_version but already holds tables named like EAM's (users)" in line, line
    assert tables_of(path) == {"users", "notes"}


async def _admin_in(url: str, sql: str) -> None:
    connection = await asyncpg.connect(_dsn(url))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


# -- the migration state, and the start-up line ------------------------------------------------


def test_serve_logs_one_line_with_environment_database_migrations_and_dev_tokens(empty_postgres: str, tmp_path: Path) -> None:
    # The URL as a hosting platform gives it: no driver, with a password.
    given = make_url(empty_postgres).set(drivername="postgres", password="s3cret").render_as_string(hide_password=False)
    served = eam("serve", "--port", "8123", cwd=tmp_path, EAM_DATABASE_URL=given, EAM_LOG_FORMAT="text")
    assert served.returncode == 0, served.stderr
    (line,) = [line for line in served.stderr.splitlines() if "eam.startup" in line]
    database = make_url(empty_postgres).set(password="s3cret").render_as_string(hide_password=True)
    assert line.endswith(
        f"EAM starting: environment development, database {database} (EAM_DATABASE_URL postgres:// read as"
        f" postgresql+asyncpg://), migrations: migrated to {newest_revision()} (new schema), dev tokens: on"
    ), line
    assert "s3cret" not in served.stderr
    assert served.stderr.strip().endswith("would serve on port 8123")

    # Served again without migrating, dev tokens off, JSON logs: the same facts as fields.
    again = eam("serve", "--no-migrate", "--port", "8123", cwd=tmp_path, EAM_DATABASE_URL=empty_postgres, EAM_DEV_TOKEN_SECRET="")
    assert again.returncode == 0, again.stderr
    (record,) = [json.loads(line) for line in again.stderr.splitlines() if '"eam.startup"' in line]
    assert (record["environment"], record["dev_tokens"]) == ("development", "off")
    assert record["migrations"] == f"up to date at {newest_revision()} (not migrated at start)"
    assert record["database"] == shown(empty_postgres)


def test_serve_without_migrating_refuses_a_database_that_needs_migrations(tmp_path: Path) -> None:
    from eam.migrations import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path / 'eam.db'}"
    line = one_clear_line(eam("serve", "--no-migrate", cwd=tmp_path, EAM_DATABASE_URL=url))
    assert "is not migrated: run 'eam migrate' first" in line, line

    upgrade(url, "0005")
    line = one_clear_line(eam("serve", "--no-migrate", cwd=tmp_path, EAM_DATABASE_URL=url))
    assert f"at revision 0005, this EAM needs {newest_revision()}: run 'eam migrate' first" in line, line

    migrated = eam("migrate", cwd=tmp_path, EAM_DATABASE_URL=url)
    assert migrated.returncode == 0 and f"migrated from 0005 to {newest_revision()}" in migrated.stderr, migrated.stderr


def test_a_database_migrated_by_a_newer_eam_is_served_with_a_note_but_not_migrated(tmp_path: Path) -> None:
    from eam.migrations import upgrade

    path = tmp_path / "eam.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")

    line = one_clear_line(eam("migrate", cwd=tmp_path, EAM_DATABASE_URL=url))
    assert "at revision 9999, which this EAM does not know" in line, line
    served = eam("serve", "--no-migrate", "--port", "8123", cwd=tmp_path, EAM_DATABASE_URL=url, EAM_LOG_FORMAT="text")
    assert served.returncode == 0, served.stderr
    assert f"migrations: at revision 9999, unknown to this EAM (newest: {newest_revision()})" in served.stderr


def test_the_line_in_production_names_no_password_and_dev_tokens_off() -> None:
    settings = Settings(env="production", database_url="postgresql+asyncpg://eam:hunter2@db:5432/eam", dev_token_secret=None)
    message, fields = startup_line(settings, "up to date at 0006", "postgresql+asyncpg://eam:hunter2@db:5432/eam")
    assert message == (
        "EAM starting: environment production, database postgresql+asyncpg://eam:***@db:5432/eam,"
        " migrations: up to date at 0006, dev tokens: off"
    )
    assert fields == {
        "environment": "production",
        "database": "postgresql+asyncpg://eam:***@db:5432/eam",
        "migrations": "up to date at 0006",
        "dev_tokens": "off",
    }
    # A development secret configured by mistake in production is still off: production refuses dev tokens.
    assert startup_line(Settings(env="production"), "x")[1]["dev_tokens"] == "off"
