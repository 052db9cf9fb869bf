"""``EAM_DATABASE_URL``: the two forms EAM runs on, and how a URL is shown in logs.

EAM ships one async driver per database: asyncpg for PostgreSQL and aiosqlite for SQLite. A URL
that names no driver (``postgres://``, ``postgresql://``, ``sqlite:///``, the forms most hosting
platforms hand out) can only mean that driver, so it is read as such, and the start-up line says
so. A URL naming another driver (``postgresql+psycopg2://``, ``mysql://``) or none at all is
refused with the accepted forms: EAM cannot run on it, whatever the user meant.
"""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

ACCEPTED_FORMS = "postgresql+asyncpg://user:password@host:5432/database or sqlite+aiosqlite:///path/to/eam.db"

#: Driverless schemes and the driver EAM reads them with.
_IMPLIED_DRIVER = {"postgres": "postgresql+asyncpg", "postgresql": "postgresql+asyncpg", "sqlite": "sqlite+aiosqlite"}
_SUPPORTED = {"postgresql+asyncpg", "sqlite+aiosqlite"}


class DatabaseUrlError(ValueError):
    """A URL EAM cannot run on; the message names the accepted forms."""


def _refuse(reason: str) -> DatabaseUrlError:
    return DatabaseUrlError(f"EAM_DATABASE_URL {reason}; use {ACCEPTED_FORMS}")


def normalise_database_url(text: str) -> str:
    """The URL EAM connects with: ``text`` itself when it names a supported driver, the same URL
    with asyncpg or aiosqlite when it names none; :class:`DatabaseUrlError` otherwise."""
    try:
        url = make_url(text.strip())
    except ArgumentError:
        raise _refuse("is not a database URL") from None
    driver = _IMPLIED_DRIVER.get(url.drivername, url.drivername)
    if driver not in _SUPPORTED:
        raise _refuse(f"names {url.drivername!r}, which EAM does not run on")
    if driver == "sqlite+aiosqlite" and url.database in (None, "", ":memory:"):
        # Every connection would get a database of its own: migrations would vanish at once.
        raise _refuse("names an in-memory SQLite database, which does not outlive a connection")
    if driver == url.drivername:
        return text.strip()
    return url.set(drivername=driver).render_as_string(hide_password=False)


def shown(url: str | URL) -> str:
    """The URL as logs and messages show it: the password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database URL)"
