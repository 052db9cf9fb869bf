"""Platform admin pages for what EAM itself runs on: the registers of the catalogue, the service
clients of downstream applications (their secret shown once), and the grant-token signing keys.

Every change is the domain operation the API calls (:mod:`eam.catalogue.service`,
:mod:`eam.service_clients.service`, :mod:`eam.signing_keys.service`), with the API's own input
schemas, so a page accepts exactly what the API accepts.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template

from eam.catalogue.schemas import RegisterIn
from eam.catalogue.service import add_register, list_applications, list_registers
from eam.core.context import Context
from eam.core.errors import EAMError
from eam.service_clients import service as clients
from eam.service_clients.schemas import ServiceClientCreate, ServiceClientOut
from eam.signing_keys import service as signing_keys
from eam.ui.forms import Form
from eam.ui.pages.admin import SOME_FIELDS, CursorText, NoticeKey
from eam.ui.pages.sign_in import FormData
from eam.ui.visit import Visit
from eam.users.flows import standing

ClientIdPath = Annotated[str, Parameter(max_length=64)]
REGISTERS_PAGE = 100
CLIENTS_PAGE = 50
KEYS_PAGE = 50


async def submitted_form(visit: Visit, request: Request[Any, Any, Any], lists: tuple[str, ...]) -> Form:
    """The posted form, with the fields in ``lists`` (check boxes) as lists of values."""
    submitted = await request.form()
    values: dict[str, Any] = {key: [] for key in lists}
    for key in submitted.keys():
        values[key] = [str(value) for value in submitted.getall(key)] if key in lists else submitted.get(key)
    return Form(values, visit.gettext)


#: The record's members the API names (``$.record.retention.years``) → the form's fields.
RECORD_FIELDS = {"retention": "retention_years", "years": "retention_years", "months": "retention_months", "note": "retention_note"}


def retention_of(form: Form) -> dict[str, Any]:
    """The retention period typed (years and months, whole numbers, at least a month) and its note."""
    period: dict[str, Any] = {}
    for unit, most in (("years", 100), ("months", 11)):
        typed = form.text(f"retention_{unit}", required=False, max_length=3)
        if typed is None:
            continue
        if not typed.isdigit() or int(typed) > most:
            form.fail(f"retention_{unit}", "invalid")
        else:
            period[unit] = int(typed)
    if not form.errors.get("retention_years") and not form.errors.get("retention_months") and not any(period.values()):
        form.fail("retention_years", "retention")
    note = form.text("retention_note", required=False, max_length=500)
    return {**period, **({"note": note} if note else {})}


async def enter(visit: Visit, ctx: Context, obj: str, action: str) -> None:
    """Who is visiting (for the menu); only those the API lets do ``action`` on ``obj`` go further."""
    visit.standing = await standing(ctx)
    ctx.require_platform(obj, action)


class RegisterAdminPages(Controller):
    path = "/admin/registers"

    @get("/", name="admin-registers")
    async def registers(self, visit: Visit, cursor: CursorText = None, notice: NoticeKey = None) -> Template:
        return await self._page(visit, Form({"applications": []}, visit.gettext), None, cursor)

    @post("/", name="admin-add-register")
    async def add(self, visit: Visit, request: Request[Any, Any, Any]) -> Template | Redirect:
        form = await submitted_form(visit, request, ("applications",))
        code = form.text("code", max_length=32)
        name = form.text("name", max_length=200)
        if not form.values["applications"]:
            form.fail("applications", "required")
        record = {
            "controller": form.text("controller", max_length=200),
            "legal_basis": form.text("legal_basis", max_length=1000),
            "purpose": form.text("purpose", max_length=2000),
            "retention": retention_of(form),
        }
        wanted = form.convert(RegisterIn, {"code": code, "name": name, "applications": form.values["applications"], "record": record}, RECORD_FIELDS)
        if wanted is None or not form:
            return await self._page(visit, form, visit.gettext(SOME_FIELDS), None, status=422)
        try:
            async with visit.changing() as ctx:
                await add_register(ctx, wanted)
        except EAMError as exc:
            return await self._page(visit, form, form.absorb(exc), None, status=exc.status)
        return visit.redirect(f"/registers/{wanted.code}", "register-added")

    async def _page(self, visit: Visit, form: Form, message: str | None, cursor: str | None, status: int = 200) -> Template:
        async with visit.reading() as ctx:
            await enter(visit, ctx, "register", "create")
            registers, next_cursor = await list_registers(ctx, None, REGISTERS_PAGE, cursor)
            applications = list_applications(ctx)
        return visit.page(
            "admin_registers.html",
            status=status,
            registers=registers,
            next_cursor=next_cursor,
            applications=applications,
            values=form.values,
            errors=form.errors,
            message=message,
        )


class ServiceClientAdminPages(Controller):
    path = "/admin/service-clients"

    @get("/", name="admin-service-clients")
    async def service_clients(self, visit: Visit, cursor: CursorText = None, notice: NoticeKey = None) -> Template:
        return await self._page(visit, Form({"audiences": [], "scopes": []}, visit.gettext), None, cursor)

    @post("/", name="admin-create-service-client")
    async def create(self, visit: Visit, request: Request[Any, Any, Any]) -> Template:
        """Register a client and show its secret, once: EAM keeps only a digest of it."""
        form = await submitted_form(visit, request, ("audiences", "scopes"))
        name = form.text("name", max_length=200)
        client_id = form.text("client_id", required=False, max_length=64)
        body: dict[str, Any] = {"name": name, "audiences": form.values["audiences"]}
        if client_id:
            body["client_id"] = client_id
        if form.values["scopes"]:
            body["scopes"] = form.values["scopes"]
        wanted = form.convert(ServiceClientCreate, body)
        if wanted is None or not form:
            return await self._page(visit, form, visit.gettext(SOME_FIELDS), None, status=422)
        try:
            async with visit.changing() as ctx:
                visit.standing = await standing(ctx)
                client, scopes, secret = await clients.create_client(ctx, wanted)
                out = clients.client_out(client, scopes)
        except EAMError as exc:
            return await self._page(visit, form, form.absorb(exc, {"audiences": "audiences", "scopes": "scopes"}), None, status=exc.status)
        return self._secret(visit, out, secret, created=True)

    @post("/{client_id:str}/rotate-secret", name="admin-rotate-client-secret")
    async def rotate_secret(self, visit: Visit, client_id: ClientIdPath) -> Template:
        """A new secret at once (the old one stops working), shown once."""
        async with visit.changing() as ctx:
            visit.standing = await standing(ctx)
            client, secret, scopes = await clients.rotate_secret(ctx, client_id)
            out = clients.client_out(client, scopes)
        return self._secret(visit, out, secret, created=False)

    @post("/{client_id:str}/disable", name="admin-disable-client")
    async def disable(self, visit: Visit, client_id: ClientIdPath) -> Redirect:
        async with visit.changing() as ctx:
            await clients.disable_client(ctx, client_id)
        return visit.redirect("/admin/service-clients", "client-disabled")

    @staticmethod
    def _secret(visit: Visit, client: ServiceClientOut, secret: str, *, created: bool) -> Template:
        return visit.page("admin_client_secret.html", client=client, secret=secret, created=created)

    async def _page(self, visit: Visit, form: Form, message: str | None, cursor: str | None, status: int = 200) -> Template:
        async with visit.reading() as ctx:
            await enter(visit, ctx, "service_client", "read")
            rows, next_cursor = await clients.list_clients(ctx, CLIENTS_PAGE, cursor)
            applications = list_applications(ctx)
            scopes = clients.offered_scopes(ctx)
        return visit.page(
            "admin_service_clients.html",
            status=status,
            clients=[clients.client_out(client, held) for client, held in rows],
            next_cursor=next_cursor,
            applications=applications,
            scopes=scopes,
            default_scopes=clients.DEFAULT_SCOPES,
            values=form.values,
            errors=form.errors,
            message=message,
        )


class SigningKeyAdminPages(Controller):
    path = "/admin/signing-keys"

    @get("/", name="admin-signing-keys")
    async def signing_keys(self, visit: Visit, cursor: CursorText = None, notice: NoticeKey = None) -> Template:
        return await self._page(visit, Form({}, visit.gettext), None, cursor)

    @post("/rotate", name="admin-rotate-key")
    async def rotate(self, visit: Visit, data: FormData) -> Template | Redirect:
        """Make a new key current; the previous one verifies until its tokens have expired."""
        form = Form(data, visit.gettext)
        reason = form.text("reason", min_length=3, max_length=500)
        if reason is None or not form:
            return await self._page(visit, form, visit.gettext(SOME_FIELDS), None, status=422)
        try:
            async with visit.changing() as ctx:
                await signing_keys.rotate_key(ctx, reason=reason)
        except EAMError as exc:
            return await self._page(visit, form, form.absorb(exc), None, status=exc.status)
        return visit.redirect("/admin/signing-keys", "rotated")

    async def _page(self, visit: Visit, form: Form, message: str | None, cursor: str | None, status: int = 200) -> Template:
        async with visit.reading() as ctx:
            await enter(visit, ctx, "signing_key", "read")
            keys, next_cursor = await signing_keys.list_keys(ctx, KEYS_PAGE, cursor)
            now = ctx.now
        return visit.page(
            "admin_signing_keys.html",
            status=status,
            keys=keys,
            now=now,
            next_cursor=next_cursor,
            values=form.values,
            errors=form.errors,
            message=message,
        )
