"""The import wizard: upload a CSV file, see what each line would do, confirm; and the receipts.

1. Upload (``/imports``): the file, the mode (awaiting approval or pre-approved) and, for files
   without a register column (today's accounts files), the register of every line.
2. Preview: the dry run's receipt, line by line. The page carries the file itself (base64) and
   its digest to the confirmation, so what is applied is exactly what was previewed.
3. Confirm: applied all or nothing (:func:`eam.imports.service.run_import`). The page is sent as
   the import goes (the line reached, every 200 steps), then opens the receipt, with its CSV
   download. A line in error (one that became so since the preview) applies nothing; the page
   says why and leads back to the upload.

The organisation export (``/organisations/{id}/export.csv``) is here too: the same file the API
gives, which imports back unchanged.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

from markupsafe import escape

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Stream, Template

from eam.core.errors import EAMError
from eam.http.handler_options import HandlerOptions
from eam.imports import service
from eam.imports.exporting import export_organisation, receipt_csv
from eam.imports.plan import Mode
from eam.imports.routes import IMPORT_BODY_LIMIT
from eam.imports.schemas import Receipt
from eam.ui.i18n import N_
from eam.ui.pages.organisation import Notice
from eam.ui.pages.sign_in import FormData
from eam.ui.visit import PAGE_HEADERS, Visit
from eam.users.flows import standing

PAGE = HandlerOptions(page=True).opt()
NO_FILE = N_("Choose a CSV file to import.")
CHANGED = N_("The file to confirm is not the one previewed; upload it again.")
AT_LINE = N_("Importing… line %(line)s of %(lines)s done.")
DONE = N_("The file was imported.")
SEE_RECEIPT = N_("See the receipt")
BACK = N_("Back to the upload")
FAILED = N_("The import failed; nothing was imported. Try again later.")
#: Where the work's progress goes in the rendered page.
MARKER = "<!--eam:progress-->"


def _mode(value: object) -> Mode:
    return Mode.PRE_APPROVED if value == Mode.PRE_APPROVED.value else Mode.AWAITING_APPROVAL


class ImportPages(Controller):
    @get("/imports", name="import-form")
    async def form(self, visit: Visit) -> Template:
        return await self._form(visit)

    async def _form(self, visit: Visit, message: str | None = None, status: int = 200, values: dict[str, str] | None = None) -> Template:
        async with visit.reading() as ctx:
            visit.standing = await standing(ctx)
            registers = await ctx.catalogue.registers(ctx.session)
            imports, _ = await service.list_imports(ctx, 20, None)
        return visit.page("import_form.html", registers=registers, imports=imports, message=message, values=values or {}, status=status)

    @post("/imports/preview", name="import-preview", request_max_body_size=IMPORT_BODY_LIMIT, opt=PAGE)
    async def preview(self, visit: Visit, request: Request[Any, Any, Any]) -> Template:
        # The CSRF check streamed the body into a form already: read that form (the body itself,
        # or Litestar's multipart parameter, would wait for a body that was consumed).
        data = await request.form()
        upload = data.get("file")
        values = {"mode": str(data.get("mode", "")), "register": str(data.get("register", ""))}
        body = await upload.read() if isinstance(upload, UploadFile) else b""
        if not body:
            return await self._form(visit, visit.gettext(NO_FILE), 422, values)
        file_name = (upload.filename or "")[:255] if isinstance(upload, UploadFile) else ""
        return await self._preview(visit, body, _mode(values["mode"]), values["register"] or None, file_name)

    async def _preview(self, visit: Visit, body: bytes, mode: Mode, register: str | None, file_name: str, status: int = 200, message: str | None = None) -> Template:
        try:
            async with visit.reading() as ctx:
                visit.standing = await standing(ctx)
                receipt = await service.run_import(ctx, body, mode=mode, dry_run=True, register=register, file_name=file_name)
        except EAMError as exc:
            return await self._form(visit, self._problem(exc), exc.status, {"mode": mode.value, "register": register or ""})
        return visit.page(
            "import_preview.html",
            receipt=receipt,
            file_name=file_name,
            register=register or "",
            content=base64.b64encode(body).decode(),
            message=message,
            status=status,
        )

    @staticmethod
    def _problem(exc: EAMError) -> str:
        errors = exc.extensions.get("errors") or []
        return " ".join([exc.detail, *(str(error.get("message", "")) for error in errors)])

    @post("/imports", name="import-apply", request_max_body_size=IMPORT_BODY_LIMIT, opt=PAGE)
    async def apply(self, visit: Visit, data: FormData) -> Template | Stream:
        """Apply the previewed file; the page is sent as the import goes, line by line, so a file
        of thousands of lines shows its progress, and moves on to the receipt when it is done."""
        try:
            body = base64.b64decode(data.get("content", ""), validate=True)
        except (binascii.Error, ValueError):
            body = b""
        mode, register, file_name = _mode(data.get("mode")), data.get("register") or None, data.get("file_name", "")[:255]
        if not body or hashlib.sha256(body).hexdigest() != data.get("file_digest"):
            return await self._form(visit, visit.gettext(CHANGED), 422)
        async with visit.reading() as ctx:
            visit.standing = await standing(ctx)
        head, _, tail = visit.render("import_progress.html", marker=MARKER).partition(MARKER)
        events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        async def work() -> None:
            try:
                async with visit.changing() as ctx:
                    receipt = await service.run_import(
                        ctx, body, mode=mode, dry_run=False, register=register, file_name=file_name,
                        progress=lambda line, lines: events.put_nowait(("progress", (line, lines))),
                    )
                events.put_nowait(("done", receipt))
            except EAMError as exc:
                events.put_nowait(("refused", self._problem(exc)))
            except Exception:
                events.put_nowait(("refused", visit.gettext(FAILED)))
                raise

        async def page() -> AsyncIterator[str]:
            task = asyncio.create_task(work())
            yield head
            while True:
                kind, value = await events.get()
                if kind == "progress":
                    yield f'<p>{escape(visit.gettext(AT_LINE, line=visit.fmt.number(value[0]), lines=visit.fmt.number(value[1])))}</p>\n'
                    continue
                if kind == "done":
                    target = escape(f"/imports/{value.id}?notice=imported")
                    yield f'<p role="status">{escape(visit.gettext(DONE))} <a href="{target}">{escape(visit.gettext(SEE_RECEIPT))}</a></p>\n'
                    yield f'<meta http-equiv="refresh" content="0; url={target}">\n'
                else:
                    yield f'<p class="problem" role="alert">{escape(value)}</p><p><a href="/imports">{escape(visit.gettext(BACK))}</a></p>\n'
                break
            yield tail
            await task

        return Stream(page(), media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)

    @get("/imports/{import_id:uuid}", name="import-receipt")
    async def receipt(self, visit: Visit, import_id: uuid.UUID, notice: Notice = None) -> Template:
        async with visit.reading() as ctx:
            visit.standing = await standing(ctx)
            receipt: Receipt = await service.get_receipt(ctx, import_id)
        return visit.page("import_receipt.html", receipt=receipt)

    @get("/imports/{import_id:uuid}/receipt.csv", name="import-receipt-csv")
    async def receipt_csv(self, visit: Visit, import_id: uuid.UUID) -> Response[str]:
        async with visit.reading() as ctx:
            receipt = await service.get_receipt(ctx, import_id)
        return Response(
            receipt_csv(receipt),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="import-{import_id}-receipt.csv"', "Cache-Control": "no-store"},
        )

    @get("/organisations/{organisation_id:uuid}/export.csv", name="organisation-export")
    async def export(self, visit: Visit, organisation_id: uuid.UUID) -> Response[str]:
        async with visit.changing() as ctx:  # the export is audited
            text, name = await export_organisation(ctx, organisation_id)
        return Response(text, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
