"""The delivery log as a page, for platform admins: the e-mails, webhook deliveries and pushed
security events EAM sent, is still trying to send, or gave up on, and sending a given-up message
again. The page runs the operations of ``GET /v1/outbox`` and ``POST /v1/outbox/{id}/resend``
(:mod:`eam.outbox.deliveries`): only the envelope is shown, never a message's body.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from litestar import Controller, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template

from eam.core.errors import EAMError
from eam.outbox.deliveries import list_deliveries, send_again
from eam.ui.forms import Form
from eam.ui.i18n import N_
from eam.ui.pages.admin import CursorText, NoticeKey
from eam.ui.pages.admin_platform import enter
from eam.ui.pages.sign_in import FormData
from eam.ui.visit import Visit

#: Messages shown per page.
DELIVERIES_PAGE = 50
StatusFilter = Annotated[Literal["pending", "delivered", "dead"] | None, Parameter(description="Only messages in this state")]
#: How each channel reads on the page.
CHANNELS = {"email": N_("E-mail"), "webhook": N_("Webhook"), "secevent": N_("Security event")}


class DeliveryAdminPages(Controller):
    path = "/admin/deliveries"

    @get("/", name="admin-deliveries")
    async def deliveries(self, visit: Visit, status: StatusFilter = None, cursor: CursorText = None, notice: NoticeKey = None) -> Template:
        return await self._page(visit, status, cursor)

    @post("/{message_id:uuid}/resend", name="admin-resend-delivery")
    async def resend(self, visit: Visit, message_id: uuid.UUID, data: FormData) -> Template | Redirect:
        """A given-up message is due again at once, its attempts counted afresh (audited)."""
        form = Form(data, visit.gettext)
        try:
            async with visit.changing() as ctx:
                await send_again(ctx, message_id)
        except EAMError as exc:
            return await self._page(visit, "dead", None, message=form.absorb(exc), code=exc.status)
        return visit.redirect("/admin/deliveries", "message-resent")

    async def _page(self, visit: Visit, status: str | None, cursor: str | None, *, message: str | None = None, code: int = 200) -> Template:
        async with visit.reading() as ctx:
            await enter(visit, ctx, "outbox", "read")
            found, next_cursor = await list_deliveries(ctx, status, DELIVERIES_PAGE, cursor)  # type: ignore[arg-type]
        return visit.page(
            "admin_deliveries.html", status=code, deliveries=found, chosen=status or "", next_cursor=next_cursor, channels=CHANNELS, message=message
        )
