from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.openapi import ResponseSpec
from litestar.params import Parameter

from eam.core.context import Context
from eam.core.paging import Page
from eam.http.handler_options import HandlerOptions
from eam.http.paging import Cursor, Limit
from eam.imports import service
from eam.imports.exporting import export_organisation, receipt_csv
from eam.imports.plan import Mode
from eam.imports.schemas import ImportOut, Receipt

#: Bytes of a request body the import endpoint reads at most (checked again, with the configured
#: limit, before the file is parsed; this bounds what the server reads at all).
IMPORT_BODY_LIMIT = 100 * 1024 * 1024


class ImportController(Controller):
    path = "/v1/imports"
    tags = ["Imports"]

    @post(
        operation_id="importCsv",
        summary="Import people and access from a CSV file (text/csv): dry_run=true previews; applying is all or nothing",
        request_max_body_size=IMPORT_BODY_LIMIT,
        responses={200: ResponseSpec(data_container=Receipt, description="A dry run: what each line would do; nothing was written")},
        opt=HandlerOptions(csv_body=True, problems=(413, 415)).opt(),
    )
    async def import_csv(
        self,
        ctx: Context,
        request: Request[Any, Any, Any],
        dry_run: Annotated[bool, Parameter(description="Only answer what each line would do; write nothing")] = False,
        mode: Annotated[Mode, Parameter(description="awaiting_approval: access lines become requests another access manager decides; pre_approved: assignments at once")] = Mode.AWAITING_APPROVAL,
        register: Annotated[str | None, Parameter(max_length=32, description="The register of access lines that name none (today's accounts files have no register column)")] = None,
        file_name: Annotated[str | None, Parameter(max_length=255, description="The uploaded file's name, kept with the import")] = None,
    ) -> Response[Receipt]:
        receipt = await service.run_import(ctx, await request.body(), mode=mode, dry_run=dry_run, register=register, file_name=file_name)
        if dry_run:
            return Response(receipt, status_code=200)
        return Response(receipt, status_code=201, headers={"Location": f"/v1/imports/{receipt.id}"})

    @get(operation_id="listImports", summary="Your applied imports, newest first (platform admins: everyone's)", opt=HandlerOptions(conflicts=False).opt())
    async def list_imports(self, ctx: Context, limit: Limit = 50, cursor: Cursor = None) -> Page[ImportOut]:
        items, next_cursor = await service.list_imports(ctx, limit, cursor)
        return Page(items=items, next_cursor=next_cursor)

    @get("/{import_id:uuid}", operation_id="getImport", summary="An applied import's receipt", opt=HandlerOptions(conflicts=False).opt())
    async def get_import(self, ctx: Context, import_id: uuid.UUID) -> Receipt:
        return await service.get_receipt(ctx, import_id)

    @get(
        "/{import_id:uuid}/receipt.csv",
        operation_id="getImportReceiptCsv",
        summary="An applied import's receipt as CSV (line, outcome, column, message)",
        media_type="text/csv",
        opt=HandlerOptions(conflicts=False).opt(),
    )
    async def get_receipt_csv(self, ctx: Context, import_id: uuid.UUID) -> Response[str]:
        receipt = await service.get_receipt(ctx, import_id)
        return Response(
            receipt_csv(receipt),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="import-{import_id}-receipt.csv"'},
        )


class ExportController(Controller):
    path = "/v1/organisations/{organisation_id:uuid}/export.csv"
    tags = ["Imports"]

    @get(
        operation_id="exportOrganisationCsv",
        summary="An organisation's people and live access as CSV, in the combined import format (imports back unchanged)",
        media_type="text/csv",
        opt=HandlerOptions(conflicts=False).opt(),
    )
    async def export_csv(self, ctx: Context, organisation_id: uuid.UUID) -> Response[str]:
        text, name = await export_organisation(ctx, organisation_id)
        return Response(text, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'})
