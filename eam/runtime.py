"""The process-wide services, built once: by ``eam serve`` (:mod:`eam.app`), the CLI and tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eam.authz.enforcer import Authorizer
from eam.authz.sync import load_batch
from eam.catalogue.loader import load_catalogue_file
from eam.catalogue.service import Catalogue
from eam.core.context import Services
from eam.core.database import Clock, create_engine, make_sessionmaker, transaction, utc_now
from eam.core.settings import Settings
from eam.core.audit import on_events_written
from eam.signing_keys.keyring import KeyRing
from eam.webhooks.fanout import fan_out


def build_services(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock = utc_now) -> Services:
    # Changes made by the CLI and scripts reach webhook subscriptions too (delivered by a server's worker).
    on_events_written(fan_out)
    return Services(
        settings=settings,
        sessionmaker=sessionmaker,
        clock=clock,
        catalogue=Catalogue(load_catalogue_file(settings.catalogue_file)),
        authz=Authorizer(settings.casbin_model_file, settings.permissions_file),
        keyring=KeyRing(settings),
    )


@asynccontextmanager
async def standalone_services(settings: Settings, clock: Clock = utc_now) -> AsyncIterator[Services]:
    """Services with an engine of their own and the stored policies loaded (the CLI, scripts)."""
    engine = create_engine(settings.database_url)
    try:
        services = build_services(settings, make_sessionmaker(engine), clock)
        async with transaction(services.sessionmaker, read_only=True) as session:
            await load_batch(services.authz, session)
        yield services
    finally:
        await engine.dispose()
