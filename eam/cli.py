"""The ``eam`` command: serve, migrate, demo-data, dev-token, policy export, keys, clients, audit verify, openapi."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from eam.core.settings import Settings, SettingsError

T = TypeVar("T")


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def main() -> None:
    """EAM: entity access management for health-data platforms."""


ALLOW_FOREIGN_TABLES = click.option(
    "--allow-foreign-tables",
    is_flag=True,
    envvar="EAM_ALLOW_FOREIGN_TABLES",
    help="Migrate a database that already holds other applications' tables (EAM_ALLOW_FOREIGN_TABLES=1).",
)


@main.command()
@ALLOW_FOREIGN_TABLES
def migrate(allow_foreign_tables: bool) -> None:
    """Apply database migrations (Alembic) up to the newest revision."""
    from eam.core.database_url import shown
    from eam.startup import StartupRefused, migrate as apply_migrations

    settings = _settings()
    try:
        _, outcome = apply_migrations(settings.database_url, allow_foreign_tables=allow_foreign_tables)
    except StartupRefused as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"database {shown(settings.database_url)}: {outcome}", err=True)


def _usable_database(settings: Settings) -> None:
    """As ``serve`` and ``migrate``: one clear line, not a traceback, when the database cannot be
    reached or is not migrated (every command that works on the data calls this first)."""
    from eam.startup import StartupRefused, check_without_migrating

    try:
        check_without_migrating(settings.database_url)
    except StartupRefused as exc:
        raise click.ClickException(str(exc)) from None


def _load_demo(settings: Settings) -> bool:
    from eam.demo import load_demo_data
    from eam.runtime import standalone_services

    async def run() -> bool:
        async with standalone_services(settings) as services:
            return await load_demo_data(services)

    return asyncio.run(run())


@main.command("demo-data")
@click.option("--scale", type=click.IntRange(min=1), default=None, help="Also add N assignments with the organisations, people, registers, requests and audit events they imply (on top of the demo data; repeatable).")
@click.option("--seed", type=int, default=None, help="Random seed for --scale (default 11); a run is reproducible from the database it starts from and the seed.")
def demo_data(scale: int | None, seed: int | None) -> None:
    """Load the demo organisations, access managers and employees into an empty database;
    with --scale N, add a national-scale data set on top."""
    settings = _settings()
    if settings.is_production:
        raise click.ClickException("demo data is for development only")
    if seed is not None and scale is None:
        raise click.ClickException("--seed goes with --scale")
    _usable_database(settings)
    loaded = _load_demo(settings)
    if scale is None:
        click.echo("demo data loaded" if loaded else "database not empty: demo data not loaded", err=True)
        return
    if loaded:
        click.echo("empty database: demo data loaded first", err=True)
    for line in _scale_demo(settings, scale, seed).lines():
        click.echo(line)


def _scale_demo(settings: Settings, scale: int, seed: int | None) -> Any:
    import getpass

    from eam.catalogue.loader import load_catalogue_file
    from eam.catalogue.service import Catalogue
    from eam.core.database import create_engine, make_sessionmaker, utc_now
    from eam.seed.run import DEFAULT_SEED, scale_demo_data

    async def run() -> Any:
        engine = create_engine(settings.database_url)
        try:
            return await scale_demo_data(
                make_sessionmaker(engine),
                settings,
                Catalogue(load_catalogue_file(settings.catalogue_file)),
                scale=scale,
                seed=DEFAULT_SEED if seed is None else seed,
                clock=utc_now,
                operator=f"cli:{getpass.getuser()}",
            )
        finally:
            await engine.dispose()

    return asyncio.run(run())


@main.command()
@click.option("--host", default=None, help="Interface to bind (EAM_HOST, default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (EAM_PORT, default 8000).")
@click.option("--workers", type=int, default=None, help="Worker processes (EAM_WORKERS, default 1).")
@click.option("--migrate/--no-migrate", "run_migrations", default=None, help="Apply migrations first (default: in development).")
@ALLOW_FOREIGN_TABLES
def serve(host: str | None, port: int | None, workers: int | None, run_migrations: bool | None, allow_foreign_tables: bool) -> None:
    """Run the HTTP service. In development: migrate, and load demo data into a new database."""
    import logging
    import logging.config

    from eam.serving import serve as serve_workers

    from eam.catalogue.loader import CatalogueError, load_catalogue_file
    from eam.observability.logs import log_config
    from eam.startup import StartupRefused, check_without_migrating, migrate as apply_migrations, startup_line

    settings = _settings()
    try:
        load_catalogue_file(settings.catalogue_file)
    except CatalogueError as exc:
        raise click.ClickException(f"broken catalogue: {exc}") from None
    if run_migrations is None:
        run_migrations = not settings.is_production
    try:
        if run_migrations:
            state, migrations = apply_migrations(settings.database_url, allow_foreign_tables=allow_foreign_tables)
        else:
            migrations = check_without_migrating(settings.database_url)
    except StartupRefused as exc:
        raise click.ClickException(str(exc)) from None
    if run_migrations and state.revision is None and not settings.is_production and _load_demo(settings):
        click.echo("new database: demo data loaded (users admin, alice, bob, carol, dave, erin)", err=True)
    # For the person who started it, before the (JSON) log lines begin.
    public_url = settings.issuer or f"http://{host or settings.host}:{port or settings.port}"
    sign_in = " (sign in as one of the demo users)" if not settings.is_production and settings.dev_token_secret else ""
    click.echo(f"open {public_url.rstrip('/')}/ in a browser{sign_in}", err=True)
    logging.config.dictConfig(log_config(settings))
    message, fields = startup_line(settings, migrations, os.environ.get("EAM_DATABASE_URL"))
    logging.getLogger("eam.startup").info(message, extra=fields)
    # The app reads its settings again in each worker: pass the flags on, so that the default
    # issuer URL (EAM_ISSUER unset) names the address actually served.
    if host:
        os.environ["EAM_HOST"] = host
    if port:
        os.environ["EAM_PORT"] = str(port)
    workers = workers or settings.workers
    if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # prometheus_client's multiprocess mode: every worker writes here, any worker answers /metrics.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="eam-metrics-")
    serve_workers(
        "eam.app:app_factory",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_config=log_config(settings),
        access_log=False,  # EAM writes its own request line, without query strings
        # Proxy headers are EAM's to judge (EAM_TRUSTED_PROXIES), not uvicorn's: its default
        # would believe X-Forwarded-For from any local process.
        proxy_headers=False,
        # In-flight requests get this long to finish after SIGTERM before the worker stops.
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )


@main.command("dev-token")
@click.argument("user")
@click.option("--name", default=None, help="Display name (default: from USER).")
@click.option("--email", default=None)
@click.option("--national-number", default=None, help="NISS/SSIN claim (stored only as a keyed hash).")
@click.option("--ttl", type=int, default=None, help="Lifetime in seconds (EAM_DEV_TOKEN_TTL_SECONDS, default 3600).")
def dev_token(user: str, name: str | None, email: str | None, national_number: str | None, ttl: int | None) -> None:
    """Print a short-lived development token for USER (development mode only)."""
    from eam.auth.dev_tokens import issue_dev_token
    from eam.core.database import utc_now

    settings = _settings()
    if settings.is_production or not settings.dev_token_secret:
        raise click.ClickException("dev tokens exist only in development mode")
    click.echo(
        issue_dev_token(
            settings.dev_token_secret,
            user,
            ttl_seconds=ttl or settings.dev_token_ttl_seconds,
            now=utc_now(),
            name=name,
            email=email,
            national_number=national_number,
        )
    )


@main.group()
def policy() -> None:
    """Casbin policies."""


@policy.command("export")
def policy_export() -> None:
    """Print every policy in force as Casbin CSV (load it with eam/policies/model.conf, or EAM_POLICIES_DIR's)."""
    from eam.authz.export import rules_in_force
    from eam.core.database import create_engine, make_sessionmaker, transaction
    from eam.users.service import platform_admin_users

    settings = _settings()
    _usable_database(settings)
    writer = csv.writer(sys.stdout, lineterminator="\n")

    async def write() -> None:
        engine = create_engine(settings.database_url)
        try:
            async with transaction(make_sessionmaker(engine), read_only=True) as session:
                admins = [admin.id for admin in await platform_admin_users(session, settings)]
                async for ptype, values in rules_in_force(session, settings.permissions_file, admins):
                    writer.writerow([ptype, *values])
        finally:
            await engine.dispose()

    asyncio.run(write())


def _run_as_operator(settings: Settings, operation: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``operation(ctx)`` in one transaction, as the system actor ``cli:<operator>``."""
    import getpass

    from eam.core.context import system_context
    from eam.core.errors import EAMError
    from eam.runtime import standalone_services

    _usable_database(settings)

    async def run() -> T:
        async with standalone_services(settings) as services, system_context(services, f"cli:{getpass.getuser()}") as ctx:
            return await operation(ctx)

    try:
        return asyncio.run(run())
    except EAMError as exc:
        fields = [f"{error['field']}: {error['message']}" for error in exc.extensions.get("errors") or []]
        raise click.ClickException("; ".join([exc.detail, *fields])) from None


@main.group()
def keys() -> None:
    """Grant-token signing keys."""


@keys.command("rotate")
def keys_rotate() -> None:
    """Make a new signing key current; the previous one verifies until its tokens expire."""
    from eam.signing_keys.service import rotate_key

    key = _run_as_operator(_settings(), lambda ctx: rotate_key(ctx, reason="eam keys rotate"))
    click.echo(f"new current key {key.kid} ({key.alg})")


@keys.command("list")
def keys_list() -> None:
    """List signing keys: kid, algorithm, status, and until when a previous key stays published."""
    from eam.signing_keys.models import SigningKey
    from eam.signing_keys.service import list_keys

    async def collect(ctx: Any) -> list[SigningKey]:
        keys, cursor = await list_keys(ctx, 200, None)
        while cursor is not None:
            more, cursor = await list_keys(ctx, 200, cursor)
            keys.extend(more)
        return keys

    for key in _run_as_operator(_settings(), collect):
        until = f" until {key.retire_after.isoformat()}" if key.status == "previous" and key.retire_after else ""
        click.echo(f"{key.kid}  {key.alg:<5}  {key.status}{until}")


@main.group()
def clients() -> None:
    """Service clients: downstream applications and automation (client credentials)."""


def _print_credentials(client: Any, secret: str, scopes: list[str] | None = None) -> None:
    shown = {"client_id": client.client_id, "client_secret": secret, "audiences": list(client.audiences)}
    if scopes is not None:
        shown["scopes"] = scopes
    click.echo(json.dumps(shown))
    click.echo("the secret is shown once: store it now", err=True)


@clients.command("create")
@click.option("--name", required=True, help="Who the client is, e.g. 'healthstat production'.")
@click.option("--audience", "audiences", multiple=True, help="Application whose grant tokens it introspects, revokes and exchanges for (repeatable).")
@click.option("--client-id", default=None, help="The id to use (default: generated).")
@click.option("--scope", "scopes", multiple=True, help="Scope it may ask for with client credentials (repeatable; default tokens:introspect).")
def clients_create(name: str, audiences: tuple[str, ...], client_id: str | None, scopes: tuple[str, ...]) -> None:
    """Register a service client and print its id, secret and scopes (as JSON)."""
    import msgspec

    from eam.service_clients.schemas import ServiceClientCreate
    from eam.service_clients.service import create_client

    settings = _settings()
    fields = {"name": name, "audiences": list(audiences), "client_id": client_id, "scopes": list(scopes) or None}
    try:
        data = msgspec.convert(fields, ServiceClientCreate)
    except msgspec.ValidationError as exc:
        raise click.ClickException(str(exc)) from None
    client, granted, secret = _run_as_operator(settings, lambda ctx: create_client(ctx, data))
    _print_credentials(client, secret, granted)


@clients.command("rotate-secret")
@click.argument("client_id")
def clients_rotate_secret(client_id: str) -> None:
    """Replace a client's secret; the old one stops working at once."""
    from eam.service_clients.service import rotate_secret

    client, secret, scopes = _run_as_operator(_settings(), lambda ctx: rotate_secret(ctx, client_id))
    _print_credentials(client, secret, scopes)


@clients.command("disable")
@click.argument("client_id")
def clients_disable(client_id: str) -> None:
    """Disable a service client."""
    from eam.service_clients.service import disable_client

    _run_as_operator(_settings(), lambda ctx: disable_client(ctx, client_id))
    click.echo(f"service client {client_id} disabled", err=True)


@main.group()
def audit() -> None:
    """The audit trail."""


@audit.command("verify")
@click.option("--expect-head", default=None, metavar="ID:HASH", help="A head an earlier run printed: it must still be in the chain (catches events cut off its end).")
def audit_verify(expect_head: str | None) -> None:
    """Check the audit trail's hash chain, every event in id order; exit 1 at the first broken event."""
    from eam.audit.verify import parse_head, verify_database

    try:
        expected = parse_head(expect_head) if expect_head is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--expect-head") from None
    settings = _settings()
    _usable_database(settings)
    result = asyncio.run(verify_database(settings.database_url, expect_head=expected))
    if result.broken is not None:
        click.echo(f"audit chain BROKEN at {result.broken.line()}")
        click.echo(f"{result.events} events before it are intact", err=True)
        sys.exit(1)
    click.echo(result.summary())


@main.command()
def openapi() -> None:
    """Print the OpenAPI document (committed as openapi/openapi.json)."""
    from eam.app import create_app

    app = create_app(Settings(), run_housekeeping=False)
    click.echo(json.dumps(app.openapi_schema.to_schema(), indent=2, sort_keys=True))
