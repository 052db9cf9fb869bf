from __future__ import annotations

from litestar import Controller, get, patch

from eam.core.context import Context
from eam.http.handler_options import HandlerOptions
from eam.users import flows
from eam.users.flows import Me
from eam.users.schemas import MePatch


class MeController(Controller):
    path = "/v1/me"
    tags = ["Me"]

    @get(operation_id="getMe", summary="You: your organisations, access-manager roles, active assignments, pending requests")
    async def get_me(self, ctx: Context) -> Me:
        return await flows.me(ctx)

    @patch(operation_id="updateMe", summary="Set your professional e-mail address", opt=HandlerOptions(conflicts=False).opt())
    async def update_me(self, ctx: Context, data: MePatch) -> Me:
        await flows.set_email(ctx, data.email)
        return await flows.me(ctx)
