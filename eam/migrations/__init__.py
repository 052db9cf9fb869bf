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


def newest_revision() -> str | None:
    """The head revision of the scripts this EAM ships."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def known_revision(revision: str) -> bool:
    """Whether ``revision`` is one of the scripts' revisions (else a newer EAM wrote it)."""
    return revision in {script.revision for script in ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions()}


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply migrations; must run outside an event loop (Alembic's env runs its own)."""
    command.upgrade(alembic_config(database_url), revision)
