"""Run Alembic programmatically (``eam migrate``, start-up of ``eam serve``, the tests).

The Alembic scripts (``env.py``, ``versions/``) ship inside this package, so an installed wheel
migrates from any working directory; ``EAM_MIGRATIONS_DIR`` may point elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

SHIPPED_MIGRATIONS_DIR = Path(__file__).resolve().parent


def migrations_dir() -> Path:
    """The Alembic scripts: this package's own, unless ``EAM_MIGRATIONS_DIR`` names others."""
    return Path(os.environ.get("EAM_MIGRATIONS_DIR") or SHIPPED_MIGRATIONS_DIR)


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def revisions() -> list[str]:
    """The revisions of the scripts this EAM ships, newest first (one line of history)."""
    return [script.revision for script in ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions()]


def newest_revision() -> str:
    """The head revision: where ``eam migrate`` takes a database."""
    return revisions()[0]


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply migrations; must run outside an event loop (Alembic's env runs its own)."""
    command.upgrade(alembic_config(database_url), revision)
