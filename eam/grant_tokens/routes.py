from __future__ import annotations

from litestar import Controller, Response, post

from eam.grant_tokens import service
from eam.grant_tokens.schemas import GrantTokenOut, GrantTokenRequest
from eam.core.context import Context
from eam.http.handler_options import HandlerOptions, RateLimit

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
        token = await service.issue_for_caller(ctx, data)
        # RFC 6749 section 5.1: responses carrying tokens must not be cached.
        return Response(token, headers={"Cache-Control": "no-store"})
