"""Service settings.

Settings are read once from the environment by :meth:`Settings.from_env` and passed to
``create_app(settings)``; nothing in EAM reads the environment at import time.
Every variable is documented in the README's configuration table.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import msgspec

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Development-only secrets: production refuses to start while any of these is configured.
DEV_NATIONAL_NUMBER_KEY = "dev-only-national-number-key-do-not-use-in-production"
DEV_TOKEN_SECRET = "dev-only-token-secret-do-not-use-in-production-000"


class SettingsError(Exception):
    """Configuration that must stop start-up, with a message naming what is wrong."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    env: Literal["development", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///./eam.db"
    policies_dir: Path = PROJECT_ROOT / "policies"
    national_number_key: str = DEV_NATIONAL_NUMBER_KEY
    dev_token_secret: str | None = DEV_TOKEN_SECRET
    dev_token_ttl_seconds: int = 3600
    platform_admins: tuple[str, ...] = ("admin",)
    request_ttl_days: int = 30
    expiry_sweep_seconds: float = 60.0
    max_body_bytes: int = 64 * 1024
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    database_pool_size: int = 10

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def catalogue_file(self) -> Path:
        return self.policies_dir / "catalogue.toml"

    @property
    def casbin_model_file(self) -> Path:
        return self.policies_dir / "model.conf"

    @property
    def permissions_file(self) -> Path:
        return self.policies_dir / "permissions.csv"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``EAM_*`` variables; unset variables keep their defaults."""
        environ = os.environ if environ is None else environ
        env = environ.get("EAM_ENV", "development")
        if env not in ("development", "production"):
            raise SettingsError(f"EAM_ENV must be 'development' or 'production', not {env!r}")
        values: dict[str, object] = {"env": env}
        text_vars = {
            "EAM_DATABASE_URL": "database_url",
            "EAM_POLICIES_DIR": "policies_dir",
            "EAM_NATIONAL_NUMBER_KEY": "national_number_key",
            "EAM_HOST": "host",
        }
        int_vars = {
            "EAM_DEV_TOKEN_TTL_SECONDS": "dev_token_ttl_seconds",
            "EAM_REQUEST_TTL_DAYS": "request_ttl_days",
            "EAM_MAX_BODY_BYTES": "max_body_bytes",
            "EAM_PORT": "port",
            "EAM_WORKERS": "workers",
            "EAM_DATABASE_POOL_SIZE": "database_pool_size",
        }
        for var, field in text_vars.items():
            if var in environ:
                values[field] = environ[var]
        for var, field in int_vars.items():
            if var in environ:
                try:
                    values[field] = int(environ[var])
                except ValueError:
                    raise SettingsError(f"{var} must be an integer, not {environ[var]!r}") from None
        if "EAM_EXPIRY_SWEEP_SECONDS" in environ:
            try:
                values["expiry_sweep_seconds"] = float(environ["EAM_EXPIRY_SWEEP_SECONDS"])
            except ValueError:
                raise SettingsError("EAM_EXPIRY_SWEEP_SECONDS must be a number") from None
        if "EAM_DEV_TOKEN_SECRET" in environ:
            values["dev_token_secret"] = environ["EAM_DEV_TOKEN_SECRET"] or None
        elif env == "production":
            values["dev_token_secret"] = None
        if "EAM_PLATFORM_ADMINS" in environ:
            values["platform_admins"] = tuple(
                name.strip() for name in environ["EAM_PLATFORM_ADMINS"].split(",") if name.strip()
            )
        elif env == "production":
            values["platform_admins"] = ()
        if "EAM_NATIONAL_NUMBER_KEY" not in environ and env == "production":
            raise SettingsError("EAM_NATIONAL_NUMBER_KEY must be set in production")
        try:
            settings = msgspec.convert(values, cls, strict=False)
        except msgspec.ValidationError as exc:
            raise SettingsError(f"invalid setting: {exc}") from None
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse configurations that are unsafe or unusable (RFC-free, plain business rules)."""
        if self.request_ttl_days < 1:
            raise SettingsError("EAM_REQUEST_TTL_DAYS must be at least 1")
        if self.workers < 1:
            raise SettingsError("EAM_WORKERS must be at least 1")
        if self.dev_token_secret is not None and len(self.dev_token_secret) < 32:
            raise SettingsError("EAM_DEV_TOKEN_SECRET must be at least 32 characters")
        if not self.is_production:
            return
        problems = []
        if self.dev_token_secret is not None:
            problems.append("EAM_DEV_TOKEN_SECRET is set: dev tokens are not accepted in production")
        if self.national_number_key == DEV_NATIONAL_NUMBER_KEY:
            problems.append("EAM_NATIONAL_NUMBER_KEY is the development key")
        elif len(self.national_number_key) < 32:
            problems.append("EAM_NATIONAL_NUMBER_KEY must be at least 32 characters")
        if self.is_sqlite and self.database_url.endswith("./eam.db"):
            problems.append("EAM_DATABASE_URL is the embedded development default")
        if problems:
            raise SettingsError("refusing to start in production: " + "; ".join(problems))
