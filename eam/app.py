"""Application factory: ``create_app(settings)`` wires every feature; nothing runs at import."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from litestar import Litestar, Request, Response
from litestar.exceptions import HTTPException, NotFoundException
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, OAuthFlow, OAuthFlows, SecurityScheme
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError

from eam.access_managers.routes import AccessManagerController
from eam.lifecycle.routes import DepartureController
from eam.access_requests.routes import AccessRequestController
from eam.assignments.routes import AssignmentController, HoldersController, RegisterRecordController, SeparationOfDutiesController
from eam.auditors.routes import AuditorController, PlatformAuditorController
from eam.audit.routes import AuditController
from eam.auth.dev_tokens import DevTokenSource
from eam.auth.identity import TokenSource
from eam.auth.oidc import OidcProvider, OidcTokenSource
from eam.auth.routes import SignInController
from eam.authz.enforcer import Authorizer
from eam.authz.sync import PolicySync, load_batch
from eam.catalogue.loader import load_catalogue_file
from eam.catalogue.routes import CatalogueController
from eam.catalogue.service import Catalogue
from eam.core.context import Services
from eam.core.errors import EAMError
from eam.core.database import Clock, create_engine, make_sessionmaker, transaction, utc_now
from eam.health.routes import live, ready
from eam.grant_tokens.routes import GrantTokenController
from eam.imports.routes import ExportController, ImportController
from eam.outbox.routes import OutboxController
from eam.reviews.routes import AccessReviewController
from eam.jobs import ensure_signing_key, run_periodically
from eam.notifications.smtp import SmtpMailer
from eam.outbox.dispatch import ChannelDispatch
from eam.outbox.jobs import run_outbox
from eam.webhooks.delivery import WebhookSender
from eam.webhooks.events import CHANNELS
from eam.webhooks.fanout import fan_out
from eam.webhooks.routes import WebhookController
from eam.core.audit import on_events_written
from eam.notifications.smtp import EMAIL
from eam.oauth.routes import MetadataController, OAuthController
from eam.service_clients.routes import ServiceClientController
from eam.authz.vocabulary import defined_scopes
from eam.signing_keys.keyring import KeyRing, install_key_change_hooks
from eam.signing_keys.routes import JWKSController, SigningKeyController
from eam.organisations.routes import OrganisationController
from eam.core.settings import Settings
from eam.users.routes import MeController, OrganisationPeopleController, PeopleController
from eam.ui.router import page_error, sign_in_failed, template_config, ui_routers, wants_page, wants_sign_in_page
from eam.observability.logs import request_log_middleware
from eam.observability.metrics import HTTP_METRICS, count_statements, install_commit_hooks
from eam.observability.routes import metrics
from eam.http.docs import DOCS_PATH, docs_asset, render_plugins
from eam.http.head import head_as_get
from eam.http.inputs import check_request
from eam.http.context import provide_context
from eam.core.times import TYPE_DECODERS
from eam.service_clients.scopes import SCOPE_OPERATIONS
from eam.http.openapi import InstantSchema, document_errors
from eam.http.problems import EXCEPTION_HANDLERS
from eam.http.proxies import client_address_middleware
from eam.http.rate_limits import SharedRateLimitStore, rate_limit_middleware, rate_limit_stores

API_DESCRIPTION = (
    "Entity access management for health-data platforms: organisations, access managers, "
    "access requests and approvals, Casbin-backed assignments and an append-only audit trail. "
    "Errors are RFC 9457 problem+json with a stable `type` (`urn:eam:problem:<code>`)."
)


def create_app(
    settings: Settings,
    *,
    clock: Clock = utc_now,
    token_sources: list[TokenSource] | None = None,
    run_housekeeping: bool = True,
) -> Litestar:
    catalogue = Catalogue(load_catalogue_file(settings.catalogue_file))
    authorizer = Authorizer(settings.casbin_model_file, settings.permissions_file)
    keyring = KeyRing(settings)
    providers = {config.name: OidcProvider(config) for config in settings.oidc_providers}
    install_commit_hooks()
    install_key_change_hooks()
    on_events_written(fan_out)
    shared_store = SharedRateLimitStore.for_url(settings.redis_url) if settings.redis_url else None
    if token_sources is None:
        token_sources = [OidcTokenSource(provider, clock) for provider in providers.values()]
        if not settings.is_production and settings.dev_token_secret:
            token_sources.append(DevTokenSource(settings.dev_token_secret))

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if shared_store is not None:
            await check_shared_store(shared_store)
        engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
        count_statements(engine)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        app.state.services = Services(
            settings=settings, sessionmaker=app.state.sessionmaker, clock=clock, catalogue=catalogue, authz=authorizer, keyring=keyring
        )
        try:
            async with transaction(app.state.sessionmaker, read_only=True) as session:
                await load_batch(authorizer, session)
        except DBAPIError as exc:
            await engine.dispose()
            raise RuntimeError(
                f"cannot load policies from the database ({type(exc.orig).__name__}): is it migrated? run 'eam migrate'"
            ) from exc
        await ensure_signing_key(app.state.services)
        policy_sync = PolicySync(
            authorizer, app.state.sessionmaker, settings.database_url, poll_seconds=settings.policy_poll_seconds
        )
        sync_task = asyncio.create_task(policy_sync.run())
        task = None
        if run_housekeeping and settings.expiry_sweep_seconds > 0:
            task = asyncio.create_task(
                run_periodically(app.state.services, settings.expiry_sweep_seconds)
            )
        outbox_task = None
        if run_housekeeping:
            # Webhooks can be subscribed at any time: the worker always runs (one cheap query per
            # poll interval when there is nothing to deliver), each channel to its own sender.
            outbox_task = asyncio.create_task(run_outbox(app.state.services, delivery_channels(app.state.services)))
        try:
            yield
        finally:
            for running in (task, outbox_task, sync_task):
                if running is not None:
                    running.cancel()
                    await asyncio.wait({running}, timeout=10)  # a background task never holds up shutdown
            await policy_sync.close()
            await engine.dispose()
            if shared_store is not None:
                await shared_store.close()

    state: dict[str, Any] = {
        "settings": settings,
        "clock": clock,
        "catalogue": catalogue,
        "authorizer": authorizer,
        "token_sources": token_sources,
        "keyring": keyring,
        "providers": providers,
    }
    app = Litestar(
        route_handlers=[
            MeController,
            PeopleController,
            OrganisationPeopleController,
            ImportController,
            ExportController,
            OutboxController,
            AccessReviewController,
            WebhookController,
            SignInController,
            OrganisationController,
            AccessManagerController,
            DepartureController,
            AuditorController,
            PlatformAuditorController,
            CatalogueController,
            AccessRequestController,
            AssignmentController,
            HoldersController,
            SeparationOfDutiesController,
            RegisterRecordController,
            AuditController,
            GrantTokenController,
            OAuthController,
            MetadataController,
            JWKSController,
            SigningKeyController,
            ServiceClientController,
            live,
            ready,
            metrics,
            docs_asset,
            *ui_routers(settings),
        ],
        template_config=template_config(),
        dependencies={"ctx": Provide(provide_context)},
        exception_handlers={**EXCEPTION_HANDLERS, EAMError: eam_error, NotFoundException: not_found},  # type: ignore[arg-type]
        before_request=check_request,
        middleware=[HTTP_METRICS.middleware, *rate_limit_middleware(settings)],
        lifespan=[lifespan],
        stores=rate_limit_stores(settings, shared_store),
        state=State(state),
        request_max_body_size=settings.max_body_bytes,
        type_decoders=TYPE_DECODERS,
        plugins=[InstantSchema()],
        openapi_config=OpenAPIConfig(
            title="EAM",
            version="0.1.0",
            path=DOCS_PATH,
            render_plugins=render_plugins(),  # self-hosted scripts, no CDN (eam/http/docs.py)
            description=API_DESCRIPTION,
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(
                        type="http",
                        scheme="bearer",
                        bearer_format="JWT",
                        description="A person: an ID or access token from a login provider (or, in development, `eam dev-token`)",
                    ),
                    "serviceToken": SecurityScheme(
                        type="oauth2",
                        description="A service client: a service token from the client-credentials grant",
                        flows=OAuthFlows(
                            client_credentials=OAuthFlow(
                                token_url="/oauth2/token",
                                scopes={scope: scope_description(scope) for scope in defined_scopes(authorizer.static_rules)},
                            )
                        ),
                    ),
                    "clientBasic": SecurityScheme(
                        type="http", scheme="basic", description="Service client id and secret (RFC 6749 section 2.3.1)"
                    ),
                }
            ),
            security=[{"bearer": []}, {"serviceToken": []}],
        ),
        debug=False,
        # Logging is configured by whoever runs the app (``eam serve`` via uvicorn), not here.
        logging_config=None,
    )
    document_errors(app, catalogue.application_codes, defined_scopes(authorizer.static_rules))
    # HEAD is answered as GET without content, for every route (unrouted ones too). Outermost,
    # so unrouted requests (404, 405) get a request id and a log line too; the client address is
    # settled before anything (rate limits, logs) reads it.
    app.asgi_handler = client_address_middleware(request_log_middleware(head_as_get(app.asgi_handler)), settings)
    return app


async def check_shared_store(store: SharedRateLimitStore) -> None:
    """Refuse to start without the shared store: limits would silently stop holding."""
    try:
        await store.ping()
    except (RedisError, OSError) as exc:
        await store.close()
        raise RuntimeError(f"cannot reach Redis at EAM_REDIS_URL ({type(exc).__name__}): is it running?") from exc


def eam_error(request: Request[Any, Any, Any], exc: EAMError) -> Response[Any]:
    """problem+json, but a page for a browser coming back from the login provider."""
    if wants_sign_in_page(request):
        return sign_in_failed(request, exc)
    return EXCEPTION_HANDLERS[EAMError](request, exc)  # type: ignore[operator]


def not_found(request: Request[Any, Any, Any], exc: NotFoundException) -> Response[Any]:
    """No such address: a page for a browser asking for a page, else problem+json."""
    if wants_page(request):
        return page_error(request, exc)
    return EXCEPTION_HANDLERS[HTTPException](request, exc)  # type: ignore[operator]


def delivery_channels(services: Services) -> ChannelDispatch:
    """Who delivers each outbox channel: e-mail over SMTP (when configured), webhooks and
    security events over HTTPS."""
    sender = WebhookSender(services)
    channels = {channel: sender for channel in CHANNELS.values()}
    if services.settings.smtp_url is not None:
        return ChannelDispatch({**channels, EMAIL: SmtpMailer.from_settings(services.settings)})
    return ChannelDispatch(channels)


def scope_description(scope: str) -> str:
    operations = SCOPE_OPERATIONS.get(scope)
    return f"Casbin scope {scope}: {', '.join(operations)}" if operations else f"Casbin scope {scope}"


def app_factory() -> Litestar:
    """Entry point for ASGI servers (``uvicorn --factory eam.app:app_factory``)."""
    logging.captureWarnings(True)  # library warnings become (JSON) log lines, not raw stderr text
    return create_app(Settings.from_env())
