"""Service settings.

Settings are read once from the environment by :meth:`Settings.from_env` and passed to
``create_app(settings)``; nothing in EAM reads the environment at import time.
Every variable is documented in the README's configuration table.
"""

from __future__ import annotations

import base64
import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, get_args
from urllib.parse import urlsplit

import msgspec
from cryptography.fernet import Fernet

from eam.core.database_url import DatabaseUrlError, normalise_database_url
from eam.core.providers import OidcProviderConfig, parse_providers

#: The shipped Casbin model, permissions and catalogue: package data, found wherever ``eam`` is installed.
SHIPPED_POLICIES_DIR = Path(__file__).resolve().parents[1] / "policies"

#: Development-only secrets: production refuses to start while any of these is configured.
DEV_NATIONAL_NUMBER_KEY = "dev-only-national-number-key-do-not-use-in-production"
DEV_TOKEN_SECRET = "dev-only-token-secret-do-not-use-in-production-000"
DEV_TOKEN_ISSUER = "urn:eam:dev"
#: A Fernet key (cryptography) that is public knowledge: it only protects development signing keys.
DEV_KEY_ENCRYPTION_KEY = "ZGV2LW9ubHkta2V5LWVuY3J5cHRpb24ta2V5LTAwMDA="

SigningAlgorithm = Literal["ES256", "RS256", "EdDSA"]


def _fernet_key_bytes(key: str) -> bytes:
    """The bytes a (valid) Fernet key stands for, decoded as ``cryptography.fernet.Fernet`` does."""
    return base64.urlsafe_b64decode(key)


def _is_network(entry: str) -> bool:
    try:
        ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
    return True


class SettingsError(Exception):
    """Configuration that must stop start-up, with a message naming what is wrong."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    env: Literal["development", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///./eam.db"
    policies_dir: Path = SHIPPED_POLICIES_DIR
    national_number_key: str = DEV_NATIONAL_NUMBER_KEY
    dev_token_secret: str | None = DEV_TOKEN_SECRET
    dev_token_ttl_seconds: int = 3600
    platform_admins: tuple[str, ...] = ("admin",)
    request_ttl_days: int = 30
    expiry_sweep_seconds: float = 60.0
    #: How often a worker polls the policy change log (SQLite; on PostgreSQL NOTIFY wakes it and
    #: it polls ten times less often as a safety net).
    policy_poll_seconds: float = 0.2
    max_body_bytes: int = 64 * 1024
    #: CSV imports (``POST /v1/imports``): the largest file and the most data lines accepted.
    import_max_bytes: int = 5 * 1024 * 1024
    import_max_lines: int = 10_000
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    #: After SIGTERM, how long in-flight requests may take before the worker stops anyway.
    shutdown_grace_seconds: int = 20
    database_pool_size: int = 10
    #: The grant-token issuer (``iss``) and the base of every published endpoint URL.
    issuer: str | None = None
    grant_token_ttl_seconds: int = 300
    #: Lifetime of a service token (OAuth client credentials, for EAM's own API).
    service_token_ttl_seconds: int = 300
    grant_signing_alg: SigningAlgorithm = "ES256"
    #: Fernet keys; the first encrypts new signing keys, all of them decrypt (so the KEK can rotate).
    key_encryption_keys: tuple[str, ...] = (DEV_KEY_ENCRYPTION_KEY,)
    #: Rotate the signing key once it is this old (0: only by ``eam keys rotate`` or the admin API).
    signing_key_rotation_days: int = 90
    #: Clock skew tolerated between EAM and the services verifying its tokens.
    token_leeway_seconds: int = 30
    #: OpenID Connect login providers (``EAM_OIDC_PROVIDERS``, a JSON list).
    oidc_providers: tuple[OidcProviderConfig, ...] = ()
    #: Lifetime of a browser session after sign-in.
    session_ttl_seconds: int = 8 * 3600
    #: Log lines: one JSON object per line (``json``) or plain text for a terminal (``text``).
    log_format: Literal["json", "text"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    #: Requests per minute and client address (0: unlimited) for sign-in, token and introspection endpoints.
    rate_limit_sign_in_per_minute: int = 30
    rate_limit_tokens_per_minute: int = 600
    rate_limit_introspection_per_minute: int = 6000
    #: Peers (IP addresses or CIDR networks) whose ``X-Forwarded-For``/``X-Forwarded-Proto`` are
    #: believed (``EAM_TRUSTED_PROXIES``); by default none: every peer is the client itself.
    trusted_proxies: tuple[str, ...] = ()
    #: Redis for state shared by every worker and node (rate-limit counts); unset: per process.
    redis_url: str | None = None
    #: Outgoing e-mail (``EAM_SMTP_URL``: ``smtp://[user:password@]host[:port][?starttls=true]`` or
    #: ``smtps://`` for implicit TLS); unset: no e-mail is written to the outbox or sent.
    smtp_url: str | None = None
    #: The sender address of every e-mail (``EAM_SMTP_FROM``).
    smtp_from: str = "EAM <eam@localhost>"
    #: Seconds an SMTP conversation may take before the attempt counts as failed.
    smtp_timeout_seconds: float = 10.0
    #: Outbox delivery: attempts before a row is dead-lettered, the first retry delay and the
    #: longest one (exponential backoff with full jitter), a claim's lease and the poll interval.
    outbox_max_attempts: int = 8
    outbox_backoff_seconds: float = 30.0
    outbox_backoff_max_seconds: float = 3600.0
    outbox_lease_seconds: float = 120.0
    outbox_poll_seconds: float = 2.0
    #: ``EAM_REMINDER_DAYS``: remind a holder and the access managers this many days before an
    #: assignment ends (each entry once per assignment); empty: no reminders.
    reminder_days: tuple[int, ...] = (14, 1)
    #: ``EAM_REVIEW_REMINDER_DAYS``: remind the reviewers of an access review with items still
    #: pending this many days before its deadline (once per campaign).
    review_reminder_days: int = 3
    #: ``EAM_RENEWAL_GRACE_DAYS``: an assignment that ran out (expired, never a revoked one) may
    #: still be renewed this many days after its end, by the holder's request or an access manager.
    renewal_grace_days: int = 30
    #: ``EAM_ESCALATE_AFTER_HOURS``: a request pending this long is re-sent to every access
    #: manager of its organisation (level 1); 0: no escalation.
    escalate_after_hours: int = 72
    #: ``EAM_ESCALATE_TO_ADMINS_AFTER_HOURS``: a request pending this long (counted from its
    #: submission) is sent to the platform admins too (level 2); 0: never to them.
    escalate_to_admins_after_hours: int = 168
    #: ``EAM_WEBHOOK_ALLOWED_HOSTS``: host names, IP addresses or CIDR networks a webhook may reach
    #: although they are loopback, private, link-local or otherwise not public (the SSRF guard,
    #: :mod:`eam.webhooks.guard`, refuses those by default); empty: only public addresses.
    webhook_allowed_hosts: tuple[str, ...] = ()
    #: Seconds a webhook or security-event delivery (connect, send, answer) may take.
    webhook_timeout_seconds: float = 5.0

    @property
    def longest_token_ttl_seconds(self) -> int:
        """How long a token EAM signs may live: a key stays published this long (plus leeway) after rotation."""
        return max(self.grant_token_ttl_seconds, self.service_token_ttl_seconds)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def is_platform_admin(self, issuer: str, subject: str) -> bool:
        """``EAM_PLATFORM_ADMINS`` lists ``<issuer>#<subject>`` (an issuer has no fragment,
        RFC 8414 section 2); a bare subject names a development-token user only."""
        return f"{issuer}#{subject}" in self.platform_admins or (
            issuer == DEV_TOKEN_ISSUER and subject in self.platform_admins
        )

    @property
    def issuer_url(self) -> str:
        return (self.issuer or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def catalogue_file(self) -> Path:
        return self.policies_dir / "catalogue.toml"

    @property
    def casbin_model_file(self) -> Path:
        return self.policies_dir / "model.conf"

    @property
    def permissions_file(self) -> Path:
        return self.policies_dir / "permissions.csv"

    def _check_outbox(self) -> None:
        if self.smtp_url is not None:
            parsed = urlsplit(self.smtp_url)
            if parsed.scheme not in ("smtp", "smtps") or not parsed.hostname:
                raise SettingsError("EAM_SMTP_URL must be an smtp:// or smtps:// URL with a host")
            try:
                parsed.port
            except ValueError:
                raise SettingsError("EAM_SMTP_URL has an invalid port") from None
        if "@" not in self.smtp_from or any(char in self.smtp_from for char in "\r\n"):
            raise SettingsError("EAM_SMTP_FROM must be one e-mail address (optionally with a display name)")
        if not 1 <= self.outbox_max_attempts <= 100:
            raise SettingsError("EAM_OUTBOX_MAX_ATTEMPTS must be between 1 and 100")
        if not 0 < self.outbox_backoff_seconds <= self.outbox_backoff_max_seconds <= 7 * 24 * 3600:
            raise SettingsError("EAM_OUTBOX_BACKOFF_SECONDS must be above 0 and at most EAM_OUTBOX_BACKOFF_MAX_SECONDS (at most a week)")
        if not 1 <= self.outbox_lease_seconds <= 3600 or not self.smtp_timeout_seconds < self.outbox_lease_seconds:
            raise SettingsError("EAM_OUTBOX_LEASE_SECONDS must be between 1 and 3600 and longer than EAM_SMTP_TIMEOUT_SECONDS")
        if not 0.01 <= self.outbox_poll_seconds <= 600:
            raise SettingsError("EAM_OUTBOX_POLL_SECONDS must be between 0.01 and 600")
        if not 0.1 <= self.webhook_timeout_seconds <= 30 or not self.webhook_timeout_seconds < self.outbox_lease_seconds:
            raise SettingsError("EAM_WEBHOOK_TIMEOUT_SECONDS must be between 0.1 and 30 and shorter than EAM_OUTBOX_LEASE_SECONDS")
        for entry in self.webhook_allowed_hosts:
            if not entry or any(char in entry for char in "/:") and not _is_network(entry):
                raise SettingsError(f"EAM_WEBHOOK_ALLOWED_HOSTS must list host names, IP addresses or CIDR networks, not {entry!r}")
        if any(not 1 <= days <= 365 for days in self.reminder_days) or len(set(self.reminder_days)) != len(self.reminder_days):
            raise SettingsError("EAM_REMINDER_DAYS must list distinct whole days between 1 and 365, e.g. 14,1")
        if not 1 <= self.review_reminder_days <= 365:
            raise SettingsError("EAM_REVIEW_REMINDER_DAYS must be a whole number of days between 1 and 365")
        if self.escalate_after_hours < 0 or self.escalate_to_admins_after_hours < 0:
            raise SettingsError("EAM_ESCALATE_AFTER_HOURS and EAM_ESCALATE_TO_ADMINS_AFTER_HOURS must be 0 (off) or more hours")
        if self.escalate_after_hours and self.escalate_to_admins_after_hours and self.escalate_to_admins_after_hours <= self.escalate_after_hours:
            raise SettingsError("EAM_ESCALATE_TO_ADMINS_AFTER_HOURS must be longer than EAM_ESCALATE_AFTER_HOURS")

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
            "EAM_ISSUER": "issuer",
            "EAM_GRANT_SIGNING_ALG": "grant_signing_alg",
            "EAM_LOG_FORMAT": "log_format",
            "EAM_LOG_LEVEL": "log_level",
        }
        int_vars = {
            "EAM_DEV_TOKEN_TTL_SECONDS": "dev_token_ttl_seconds",
            "EAM_REQUEST_TTL_DAYS": "request_ttl_days",
            "EAM_RENEWAL_GRACE_DAYS": "renewal_grace_days",
            "EAM_MAX_BODY_BYTES": "max_body_bytes",
            "EAM_IMPORT_MAX_BYTES": "import_max_bytes",
            "EAM_IMPORT_MAX_LINES": "import_max_lines",
            "EAM_PORT": "port",
            "EAM_WORKERS": "workers",
            "EAM_SHUTDOWN_GRACE_SECONDS": "shutdown_grace_seconds",
            "EAM_DATABASE_POOL_SIZE": "database_pool_size",
            "EAM_GRANT_TOKEN_TTL_SECONDS": "grant_token_ttl_seconds",
            "EAM_SERVICE_TOKEN_TTL_SECONDS": "service_token_ttl_seconds",
            "EAM_SIGNING_KEY_ROTATION_DAYS": "signing_key_rotation_days",
            "EAM_TOKEN_LEEWAY_SECONDS": "token_leeway_seconds",
            "EAM_SESSION_TTL_SECONDS": "session_ttl_seconds",
            "EAM_RATE_LIMIT_SIGN_IN_PER_MINUTE": "rate_limit_sign_in_per_minute",
            "EAM_RATE_LIMIT_TOKENS_PER_MINUTE": "rate_limit_tokens_per_minute",
            "EAM_RATE_LIMIT_INTROSPECTION_PER_MINUTE": "rate_limit_introspection_per_minute",
            "EAM_OUTBOX_MAX_ATTEMPTS": "outbox_max_attempts",
            "EAM_REVIEW_REMINDER_DAYS": "review_reminder_days",
            "EAM_ESCALATE_AFTER_HOURS": "escalate_after_hours",
            "EAM_ESCALATE_TO_ADMINS_AFTER_HOURS": "escalate_to_admins_after_hours",
        }
        for var, field in text_vars.items():
            if var in environ and (environ[var] or field != "issuer"):  # EAM_ISSUER= means unset
                values[field] = environ[var]
        if "database_url" in values:
            try:
                values["database_url"] = normalise_database_url(str(values["database_url"]))
            except DatabaseUrlError as exc:
                raise SettingsError(str(exc)) from None
        if "policies_dir" in values:
            values["policies_dir"] = Path(str(values["policies_dir"]))  # msgspec does not convert str to Path
        if "log_level" in values:
            values["log_level"] = str(values["log_level"]).upper()
        for var, field, allowed in (
            ("EAM_LOG_FORMAT", "log_format", ("json", "text")),
            ("EAM_LOG_LEVEL", "log_level", ("DEBUG", "INFO", "WARNING", "ERROR")),
        ):
            if field in values and values[field] not in allowed:
                raise SettingsError(f"{var} must be one of {', '.join(allowed)}, not {environ[var]!r}")
        if values.get("grant_signing_alg", "ES256") not in get_args(SigningAlgorithm):
            raise SettingsError(
                f"EAM_GRANT_SIGNING_ALG must be one of {', '.join(get_args(SigningAlgorithm))},"
                f" not {values['grant_signing_alg']!r}"
            )
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
        if "EAM_POLICY_POLL_SECONDS" in environ:
            try:
                values["policy_poll_seconds"] = float(environ["EAM_POLICY_POLL_SECONDS"])
            except ValueError:
                raise SettingsError("EAM_POLICY_POLL_SECONDS must be a number") from None
        for var, field in (
            ("EAM_SMTP_TIMEOUT_SECONDS", "smtp_timeout_seconds"),
            ("EAM_OUTBOX_BACKOFF_SECONDS", "outbox_backoff_seconds"),
            ("EAM_OUTBOX_BACKOFF_MAX_SECONDS", "outbox_backoff_max_seconds"),
            ("EAM_OUTBOX_LEASE_SECONDS", "outbox_lease_seconds"),
            ("EAM_OUTBOX_POLL_SECONDS", "outbox_poll_seconds"),
            ("EAM_WEBHOOK_TIMEOUT_SECONDS", "webhook_timeout_seconds"),
        ):
            if var in environ:
                try:
                    values[field] = float(environ[var])
                except ValueError:
                    raise SettingsError(f"{var} must be a number") from None
        if environ.get("EAM_SMTP_URL", "").strip():
            values["smtp_url"] = environ["EAM_SMTP_URL"].strip()
        if "EAM_REMINDER_DAYS" in environ:
            try:
                values["reminder_days"] = tuple(
                    sorted({int(entry) for entry in environ["EAM_REMINDER_DAYS"].split(",") if entry.strip()}, reverse=True)
                )
            except ValueError:
                raise SettingsError(f"EAM_REMINDER_DAYS must list whole days separated by commas, not {environ['EAM_REMINDER_DAYS']!r}") from None
        if environ.get("EAM_SMTP_FROM", "").strip():
            values["smtp_from"] = environ["EAM_SMTP_FROM"].strip()
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
        if environ.get("EAM_TRUSTED_PROXIES", "").strip():
            values["trusted_proxies"] = tuple(
                entry.strip() for entry in environ["EAM_TRUSTED_PROXIES"].split(",") if entry.strip()
            )
        if environ.get("EAM_WEBHOOK_ALLOWED_HOSTS", "").strip():
            values["webhook_allowed_hosts"] = tuple(
                entry.strip().lower() for entry in environ["EAM_WEBHOOK_ALLOWED_HOSTS"].split(",") if entry.strip()
            )
        if environ.get("EAM_REDIS_URL", "").strip():
            values["redis_url"] = environ["EAM_REDIS_URL"].strip()
        if "EAM_KEY_ENCRYPTION_KEY" in environ:
            values["key_encryption_keys"] = tuple(
                key.strip() for key in environ["EAM_KEY_ENCRYPTION_KEY"].split(",") if key.strip()
            )
        if environ.get("EAM_OIDC_PROVIDERS", "").strip():
            try:
                values["oidc_providers"] = parse_providers(environ["EAM_OIDC_PROVIDERS"])
            except ValueError as exc:
                raise SettingsError(str(exc)) from None
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
        if not 0 <= self.renewal_grace_days <= 365:
            raise SettingsError("EAM_RENEWAL_GRACE_DAYS must be between 0 and 365")
        if self.workers < 1:
            raise SettingsError("EAM_WORKERS must be at least 1")
        if not 1024 <= self.import_max_bytes <= 100 * 1024 * 1024:
            raise SettingsError("EAM_IMPORT_MAX_BYTES must be between 1024 and 104857600")
        if not 1 <= self.import_max_lines <= 100_000:
            raise SettingsError("EAM_IMPORT_MAX_LINES must be between 1 and 100000")
        if not 0.01 <= self.policy_poll_seconds <= 60:
            raise SettingsError("EAM_POLICY_POLL_SECONDS must be between 0.01 and 60")
        if not 1 <= self.shutdown_grace_seconds <= 600:
            raise SettingsError("EAM_SHUTDOWN_GRACE_SECONDS must be between 1 and 600")
        if self.dev_token_secret is not None and len(self.dev_token_secret) < 32:
            raise SettingsError("EAM_DEV_TOKEN_SECRET must be at least 32 characters")
        if not 30 <= self.grant_token_ttl_seconds <= 3600:
            raise SettingsError("EAM_GRANT_TOKEN_TTL_SECONDS must be between 30 and 3600")
        if not 30 <= self.service_token_ttl_seconds <= 3600:
            raise SettingsError("EAM_SERVICE_TOKEN_TTL_SECONDS must be between 30 and 3600")
        if not 60 <= self.session_ttl_seconds <= 7 * 24 * 3600:
            raise SettingsError("EAM_SESSION_TTL_SECONDS must be between 60 and 604800")
        for var, limit in (
            ("EAM_RATE_LIMIT_SIGN_IN_PER_MINUTE", self.rate_limit_sign_in_per_minute),
            ("EAM_RATE_LIMIT_TOKENS_PER_MINUTE", self.rate_limit_tokens_per_minute),
            ("EAM_RATE_LIMIT_INTROSPECTION_PER_MINUTE", self.rate_limit_introspection_per_minute),
        ):
            if limit < 0:
                raise SettingsError(f"{var} must be 0 (unlimited) or more")
        if not 0 <= self.token_leeway_seconds <= 300:
            raise SettingsError("EAM_TOKEN_LEEWAY_SECONDS must be between 0 and 300")
        if self.signing_key_rotation_days < 0:
            raise SettingsError("EAM_SIGNING_KEY_ROTATION_DAYS must be 0 (never) or more")
        if not self.key_encryption_keys:
            raise SettingsError("EAM_KEY_ENCRYPTION_KEY must name at least one key")
        for key in self.key_encryption_keys:
            try:
                Fernet(key)
            except ValueError:
                raise SettingsError(
                    "EAM_KEY_ENCRYPTION_KEY must be Fernet keys (32 url-safe base64-encoded bytes), comma-separated"
                ) from None
        if self.issuer is not None:
            parsed = urlsplit(self.issuer)
            if parsed.scheme not in ("https", "http") or not parsed.netloc or parsed.query or parsed.fragment:
                raise SettingsError("EAM_ISSUER must be an http(s) URL with no query or fragment (RFC 8414 section 2)")
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise SettingsError(
                    f"EAM_TRUSTED_PROXIES must list IP addresses or CIDR networks, comma-separated, not {proxy!r}"
                ) from None
        if self.redis_url is not None and urlsplit(self.redis_url).scheme not in ("redis", "rediss", "unix"):
            raise SettingsError("EAM_REDIS_URL must be a redis://, rediss:// or unix:// URL")
        self._check_outbox()
        if not self.is_production:
            return
        problems = []
        if self.dev_token_secret is not None:
            problems.append("EAM_DEV_TOKEN_SECRET is set: dev tokens are not accepted in production")
        if self.national_number_key == DEV_NATIONAL_NUMBER_KEY:
            problems.append("EAM_NATIONAL_NUMBER_KEY must be set, not the development key")
        elif len(self.national_number_key) < 32:
            problems.append("EAM_NATIONAL_NUMBER_KEY must be at least 32 characters")
        # Compare the key bytes, not the text: base64 decoding tolerates other spellings of a key.
        if _fernet_key_bytes(DEV_KEY_ENCRYPTION_KEY) in {_fernet_key_bytes(key) for key in self.key_encryption_keys}:
            problems.append("EAM_KEY_ENCRYPTION_KEY must be set, without the development key")
        if self.issuer is None or not self.issuer.startswith("https://"):
            problems.append("EAM_ISSUER must be set to this service's public https:// URL")
        bare = [entry for entry in self.platform_admins if "#" not in entry]
        if bare:
            problems.append(f"EAM_PLATFORM_ADMINS must name admins as <issuer>#<subject>, not {', '.join(bare)}")
        if not self.oidc_providers:
            problems.append("EAM_OIDC_PROVIDERS must configure at least one login provider")
        if any(not provider.issuer.startswith("https://") for provider in self.oidc_providers):
            problems.append("EAM_OIDC_PROVIDERS: every provider issuer must be an https:// URL")
        if self.is_sqlite and self.database_url.endswith("./eam.db"):
            problems.append("EAM_DATABASE_URL is the embedded development default")
        if problems:
            raise SettingsError("refusing to start in production: " + "; ".join(problems))
