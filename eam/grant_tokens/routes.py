from __future__ import annotations

from litestar import Controller, Response, post

from eam.core.errors import Forbidden
from eam.grant_tokens.issuance import Selector, issue_grant_token
from eam.grant_tokens.schemas import GrantTokenOut, GrantTokenRequest
from eam.observability.metrics import GRANT_TOKENS_ISSUED
from eam.core.context import Context
from eam.http.handler_options import HandlerOptions, RateLimit

#: ``client_id`` of tokens a user asks for directly at EAM's own API (RFC 9068 section 2.2).
DIRECT_CLIENT_ID = "urn:eam:api"


class GrantTokenController(Controller):
    path = "/v1/grant-tokens"
    tags = ["Grant tokens"]

    @post(
        operation_id="issueGrantToken",
        summary="A signed grant token listing your active assignments for one application",
        status_code=200,
        opt=HandlerOptions(rate_limit=RateLimit.TOKENS, conflicts=False, problems=(503,), read_only=True).opt(),
    )
    async def issue(self, ctx: Context, data: GrantTokenRequest) -> Response[GrantTokenOut]:
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
        # RFC 6749 section 5.1: responses carrying tokens must not be cached.
        return Response(token, headers={"Cache-Control": "no-store"})
