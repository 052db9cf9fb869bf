"""Webhook subscriptions as pages, for platform admins: subscribe an application's URL to EAM's
events (its signing secret shown once), pause, resume or delete a subscription. The page runs
the operations of ``/v1/webhooks`` (:mod:`eam.webhooks.service`) with the API's own input
schema, so the SSRF guard and every other rule refuse here exactly what they refuse there.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from eam.catalogue.service import list_applications
from eam.core.errors import EAMError
from eam.ui.forms import Form
from eam.ui.pages.admin import SOME_FIELDS, CursorText, NoticeKey
from eam.ui.pages.admin_platform import enter, submitted_form
from eam.ui.pages.sign_in import FormData
from eam.ui.visit import Visit
from eam.webhooks import service as webhooks
from eam.webhooks.events import ALL, EVENT_TYPES, SECURITY_EVENTS
from eam.webhooks.schemas import WebhookCreate, WebhookUpdate

#: Subscriptions shown per page (a platform has a handful).
WEBHOOKS_PAGE = 50


class WebhookAdminPages(Controller):
    path = "/admin/webhooks"

    @get("/", name="admin-webhooks")
    async def webhooks(self, visit: Visit, cursor: CursorText = None, notice: NoticeKey = None) -> Template:
        return await self._page(visit, Form({"events": [], "format": "standard-webhooks"}, visit.gettext), None, cursor)

    @post("/", name="admin-create-webhook")
    async def create(self, visit: Visit, request: Request[Any, Any, Any]) -> Template:
        """Subscribe a URL; its secret is shown once, on the page that answers."""
        form = await submitted_form(visit, request, ("events",))
        url = form.text("url", max_length=2000)
        body: dict[str, Any] = {"url": url, "format": form.values.get("format") or "standard-webhooks"}
        if form.values["events"]:
            body["events"] = form.values["events"]
        if form.values.get("application"):
            body["application"] = form.values["application"]
        wanted = form.convert(WebhookCreate, body)
        if wanted is None or not form:
            return await self._page(visit, form, visit.gettext(SOME_FIELDS), None, status=422)
        try:
            async with visit.changing() as ctx:
                row, secret = await webhooks.create(ctx, wanted)
                created = webhooks.webhook_out(row)
        except EAMError as exc:
            return await self._page(visit, form, form.absorb(exc), None, status=exc.status)
        return visit.page("admin_webhook_secret.html", status=201, webhook=created, secret=secret)

    @post("/{webhook_id:uuid}/pause", name="admin-pause-webhook")
    async def pause(self, visit: Visit, webhook_id: uuid.UUID, data: FormData) -> Template | Redirect:
        return await self._paused(visit, webhook_id, data, paused=True)

    @post("/{webhook_id:uuid}/resume", name="admin-resume-webhook")
    async def resume(self, visit: Visit, webhook_id: uuid.UUID, data: FormData) -> Template | Redirect:
        return await self._paused(visit, webhook_id, data, paused=False)

    @post("/{webhook_id:uuid}/delete", name="admin-delete-webhook")
    async def delete(self, visit: Visit, webhook_id: uuid.UUID, data: FormData) -> Template | Redirect:
        """Delete the subscription and what it still had to send."""
        form = Form(data, visit.gettext)
        try:
            async with visit.changing() as ctx:
                await webhooks.remove(ctx, webhook_id)
        except EAMError as exc:
            return await self._page(visit, form, form.absorb(exc), None, status=exc.status)
        return visit.redirect("/admin/webhooks", "webhook-deleted")

    async def _paused(self, visit: Visit, webhook_id: uuid.UUID, data: FormData, *, paused: bool) -> Template | Redirect:
        form = Form(data, visit.gettext)
        try:
            async with visit.changing() as ctx:
                await webhooks.change(ctx, webhook_id, WebhookUpdate(paused=paused))
        except EAMError as exc:
            return await self._page(visit, form, form.absorb(exc), None, status=exc.status)
        return visit.redirect("/admin/webhooks", "webhook-paused" if paused else "webhook-resumed")

    async def _page(self, visit: Visit, form: Form, message: str | None, cursor: str | None, status: int = 200) -> Template:
        async with visit.reading() as ctx:
            await enter(visit, ctx, "webhook", "read")
            rows, next_cursor = await webhooks.list_subscriptions(ctx, WEBHOOKS_PAGE, cursor)
            applications = list_applications(ctx)
        return visit.page(
            "admin_webhooks.html",
            status=status,
            subscriptions=[webhooks.webhook_out(row) for row in rows],
            next_cursor=next_cursor,
            applications=applications,
            event_types=EVENT_TYPES,
            security_events=SECURITY_EVENTS,
            all_events=ALL,
            values=form.values,
            errors=form.errors,
            message=message,
        )
