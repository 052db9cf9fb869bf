"""A person asks EAM for a grant token for one application (RFC 9068 JWT access token)."""

from __future__ import annotations

from eam.core.context import Context
from eam.core.errors import Forbidden
from eam.grant_tokens.issuance import Selector, issue_grant_token
from eam.grant_tokens.schemas import GrantTokenOut, GrantTokenRequest
from eam.observability.metrics import GRANT_TOKENS_ISSUED

#: ``client_id`` of tokens a user asks for directly at EAM's own API (RFC 9068 section 2.2).
DIRECT_CLIENT_ID = "urn:eam:api"


async def issue_for_caller(ctx: Context, data: GrantTokenRequest) -> GrantTokenOut:
    """The caller's active assignments for the application (optionally one register or one
    organisation), signed. A service client holds no assignment, so it gets none."""
    if ctx.client_id is not None:
        raise Forbidden("grant tokens list a person's assignments; a service client holds none")
    ctx.catalogue.require_application(data.application)
    if data.register is not None:
        await ctx.catalogue.require_register_in(ctx.session, data.register, data.application)
    token = await issue_grant_token(
        ctx.session,
        ctx.keyring,
        ctx.settings,
        user_id=ctx.user.id,
        application=data.application,
        selectors=[Selector(register=data.register, organisation=data.organisation)],
        client_id=DIRECT_CLIENT_ID,
        now=ctx.now,
    )
    GRANT_TOKENS_ISSUED.labels(data.application, "direct").inc()
    return token
