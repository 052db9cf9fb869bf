"""Service clients: created and rotated by platform admins, authenticated by client id + secret.

The secret is shown once and stored as a SHA-256 digest: it is a 256-bit random value, so a
fast hash resists guessing as well as a slow one and keeps introspection cheap. Authentication
follows RFC 6749 section 2.3.1 (``client_secret_basic`` and ``client_secret_post``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from urllib.parse import unquote_plus

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from eam.authz.vocabulary import defined_scopes
from eam.core.context import Context
from eam.core.paging import fetch_page
from eam.core.errors import (
    AlreadyExists,
    Conflict,
    NotFound,
    OAuthInvalidClient,
)
from eam.service_clients.models import ServiceClient
from eam.core.enums import ClientStatus
from eam.service_clients.schemas import ServiceClientCreate, ServiceClientOut
from eam.service_clients.scopes import check_scopes, held_scopes, replace_scopes

#: What a client created without ``scopes`` may do: introspect its applications' grant tokens.
DEFAULT_SCOPES = ("tokens:introspect",)


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def client_out(client: ServiceClient, scopes: list[str]) -> ServiceClientOut:
    return ServiceClientOut(
        client_id=client.client_id,
        name=client.name,
        audiences=list(client.audiences),
        scopes=list(scopes),
        status=client.status,  # type: ignore[arg-type]
        secret_created_at=client.secret_created_at,
        created_at=client.created_at,
        updated_at=client.updated_at,
    )


def offered_scopes(ctx: Context) -> list[str]:
    """The scopes a client may be given: those the policy file defines."""
    return defined_scopes(ctx.authz.static_rules)


async def list_clients(ctx: Context, limit: int, cursor: str | None) -> tuple[list[tuple[ServiceClient, list[str]]], str | None]:
    """One page of service clients with the scopes each holds (platform admins)."""
    ctx.require_platform("service_client", "read")
    rows, next_cursor = await fetch_page(ctx.session, select(ServiceClient).order_by(ServiceClient.client_id), limit, cursor)
    scopes = await held_scopes(ctx.session, [row.client_id for row in rows])
    return [(row, scopes[row.client_id]) for row in rows], next_cursor


async def show_client(ctx: Context, client_id: str) -> tuple[ServiceClient, list[str]]:
    ctx.require_platform("service_client", "read")
    client = await get_client(ctx.session, client_id)
    return client, await scopes_of(ctx.session, client)


async def create_client(ctx: Context, data: ServiceClientCreate) -> tuple[ServiceClient, list[str], str]:
    """A new client with the scopes asked for (or the default); the secret is returned once."""
    ctx.require_platform("service_client", "create")
    session, auditor = ctx.session, ctx.audit
    for index, audience in enumerate(data.audiences):
        ctx.catalogue.require_application(audience, f"$.audiences[{index}]")
    if data.scopes is None:
        scopes = list(DEFAULT_SCOPES) if data.audiences else []
    else:
        scopes = check_scopes(data.scopes, defined_scopes(ctx.authz.static_rules), "$.scopes")
    client_id = data.client_id or f"client-{secrets.token_hex(8)}"
    if await session.get(ServiceClient, client_id) is not None:
        raise AlreadyExists(f"a service client {client_id!r} exists already", existing=f"/v1/service-clients/{client_id}")
    secret = new_secret()
    client = ServiceClient(
        client_id=client_id,
        name=data.name.strip(),
        audiences=sorted(set(data.audiences)),
        secret_hash=secret_digest(secret),
        secret_created_at=auditor.now,
        status=ClientStatus.ACTIVE,
        created_at=auditor.now,
        created_by=ctx.actor_id,
        updated_at=auditor.now,
    )
    session.add(client)
    await session.flush()
    await replace_scopes(session, client_id, scopes)
    auditor.record("service_client.created", target_type="service_client", target_id=client_id, after={**client.snapshot(), "scopes": scopes})
    return client, scopes, secret


async def set_scopes(ctx: Context, client_id: str, scopes: list[str]) -> tuple[ServiceClient, list[str]]:
    """Grant exactly ``scopes``: tokens already issued lose a removed scope at their next call.

    The client row is locked first, so concurrent replacements (and a concurrent disable) queue
    on it instead of each adding its difference to the same starting set.
    """
    ctx.require_platform("service_client", "update")
    session, auditor = ctx.session, ctx.audit
    client = await get_client(session, client_id, for_update=True)
    if client.status != ClientStatus.ACTIVE:
        raise Conflict(f"service client {client_id!r} is disabled")
    wanted = check_scopes(scopes, defined_scopes(ctx.authz.static_rules), "$.scopes")
    before, after = await replace_scopes(session, client_id, wanted)
    if before != after:
        client.updated_at = auditor.now
        await session.flush()
        auditor.record("service_client.scopes_changed", target_type="service_client", target_id=client_id, before={"scopes": before}, after={"scopes": after})
    return client, after


async def scopes_of(session: AsyncSession, client: ServiceClient) -> list[str]:
    return (await held_scopes(session, [client.client_id]))[client.client_id]


async def get_client(session: AsyncSession, client_id: str, *, for_update: bool = False) -> ServiceClient:
    if for_update:
        stmt = select(ServiceClient).where(ServiceClient.client_id == client_id).with_for_update()
        client = await session.scalar(stmt.execution_options(populate_existing=True))
    else:
        client = await session.get(ServiceClient, client_id)
    if client is None:
        raise NotFound(f"no service client {client_id!r}")
    return client


async def rotate_secret(ctx: Context, client_id: str) -> tuple[ServiceClient, str, list[str]]:
    """Replace the secret at once: the old one stops working when this transaction commits."""
    ctx.require_platform("service_client", "update")
    session, auditor = ctx.session, ctx.audit
    client = await get_client(session, client_id)
    if client.status != ClientStatus.ACTIVE:
        raise Conflict(f"service client {client_id!r} is disabled")
    before = client.snapshot()
    secret = new_secret()
    client.secret_hash = secret_digest(secret)
    client.secret_created_at = client.updated_at = auditor.now
    await session.flush()
    auditor.record("service_client.secret_rotated", target_type="service_client", target_id=client_id, before=before, after=client.snapshot())
    return client, secret, await scopes_of(session, client)


async def disable_client(ctx: Context, client_id: str) -> ServiceClient:
    ctx.require_platform("service_client", "update")
    session, auditor = ctx.session, ctx.audit
    client = await get_client(session, client_id)
    before = client.snapshot()
    result = await session.execute(
        update(ServiceClient)
        .where(ServiceClient.client_id == client_id, ServiceClient.status == ClientStatus.ACTIVE)
        .values(status=ClientStatus.DISABLED, updated_at=auditor.now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(f"service client {client_id!r} is disabled already")
    # A disabled client holds nothing: its scope rows go in the same transaction.
    scopes, _ = await replace_scopes(session, client_id, [])
    await session.refresh(client)
    auditor.record("service_client.disabled", target_type="service_client", target_id=client_id, before={**before, "scopes": scopes}, after=client.snapshot())
    return client


def credentials_from(authorization: str | None, form: dict[str, str]) -> tuple[str, str] | None:
    """Client id and secret from HTTP Basic or the form body (RFC 6749 section 2.3.1).

    Basic credentials are form-urlencoded before base64 encoding, so they are decoded twice.
    Using both methods at once is refused, as the RFC requires; a bare ``client_id`` in the body
    that repeats the Basic one is tolerated (several OAuth libraries send it).
    """
    in_form = "client_id" in form or "client_secret" in form
    scheme, _, encoded = (authorization or "").partition(" ")
    if authorization and scheme.lower() != "basic":
        if in_form:
            raise OAuthInvalidClient(f"send client credentials or a {scheme} credential, not both")
        return None
    if authorization:
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthInvalidClient("the Basic credentials are not valid base64") from None
        client_id, colon, secret = decoded.partition(":")
        if not colon:
            raise OAuthInvalidClient("the Basic credentials must be 'client_id:client_secret'")
        client_id, secret = unquote_plus(client_id), unquote_plus(secret)
        if "client_secret" in form or form.get("client_id", client_id) != client_id:
            raise OAuthInvalidClient("use one client authentication method, not HTTP Basic and form fields together")
        return client_id, secret
    if in_form:
        return form.get("client_id", ""), form.get("client_secret", "")
    return None


async def authenticate_client(session: AsyncSession, client_id: str, secret: str) -> ServiceClient:
    # An id longer than any client's is unknown, not cut down to the client it starts with.
    client = None
    if len(client_id) <= 64:
        client = await session.scalar(select(ServiceClient).where(ServiceClient.client_id == client_id))
    # Compare digests even for an unknown client, so timing does not tell which ids exist.
    expected = client.secret_hash if client is not None else secret_digest(secrets.token_hex(16))
    if not hmac.compare_digest(expected, secret_digest(secret)) or client is None:
        raise OAuthInvalidClient("unknown client or wrong secret")
    if client.status != ClientStatus.ACTIVE:
        raise OAuthInvalidClient(f"service client {client_id!r} is disabled")
    return client

