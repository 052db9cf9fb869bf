"""Run Alembic programmatically (``eam migrate``, start-up of ``eam serve``, the tests)."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config

from eam.core.settings import PROJECT_ROOT


def migrations_dir() -> Path:
    """The Alembic scripts: beside the package in a checkout, ``EAM_MIGRATIONS_DIR`` in an image."""
    return Path(os.environ.get("EAM_MIGRATIONS_DIR", PROJECT_ROOT / "migrations"))


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply migrations; must run outside an event loop (Alembic's env runs its own)."""
    command.upgrade(alembic_config(database_url), revision)
