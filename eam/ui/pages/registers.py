"""Registers as pages: the list of registers, and a register's page with its record of processing
(controller, legal basis, purpose, retention), how many people hold access to it now per
organisation, and who held it at a chosen moment.

The page runs the operations of the API (:func:`eam.assignments.holder_counts.register_detail`,
:func:`~eam.assignments.holder_counts.holder_counts`, :func:`eam.assignments.holders.holders`),
so it shows what ``GET /v1/registers/{code}``, ``…/holder-counts`` and ``…/holders`` answer,
to whom they answer it: anyone signed in reads the record; the holders and counts only of
organisations whose assignments the visitor may read (access managers: theirs; platform
admins: all). The moment is a Brussels date and time (default: now). Platform admins set, move
or remove the last day of a register added through the API on its page
(:func:`eam.assignments.register_ends.set_register_end`, as ``PATCH /v1/registers/{code}``).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template

from eam.assignments.holder_counts import holder_counts, register_detail
from eam.assignments.holders import holders
from eam.assignments.register_ends import set_register_end
from eam.catalogue.schemas import RegisterPatch, Retention
from eam.catalogue.service import list_registers
from eam.core.errors import EAMError
from eam.ui.forms import Form
from eam.ui.i18n import BRUSSELS, N_
from eam.ui.pages.admin import CursorText, NoticeKey
from eam.ui.pages.sign_in import FormData
from eam.ui.visit import Visit
from eam.users.flows import standing

CodePath = Annotated[str, Parameter(max_length=32)]
MomentText = Annotated[str | None, Parameter(max_length=32)]
REGISTERS_PAGE = 100
HOLDERS_PAGE = 50
COUNTS_PAGE = 50


def retention_text(visit: Visit, retention: Retention) -> str:
    """``10 years and 6 months``, in the visitor's language (the note follows as written)."""
    _ = visit.gettext
    parts = []
    if retention.years:
        parts.append(_(N_("1 year")) if retention.years == 1 else _(N_("%(n)s years"), n=retention.years))
    if retention.months:
        parts.append(_(N_("1 month")) if retention.months == 1 else _(N_("%(n)s months"), n=retention.months))
    return _(N_("%(years)s and %(months)s"), years=parts[0], months=parts[1]) if len(parts) == 2 else parts[0]


class RegisterPages(Controller):
    path = "/registers"

    @get("/", name="registers")
    async def registers(self, visit: Visit, cursor: CursorText = None) -> Template:
        """Every register, by code, each linking to its page."""
        async with visit.reading() as ctx:
            visit.standing = await standing(ctx)
            registers, next_cursor = await list_registers(ctx, None, REGISTERS_PAGE, cursor)
        return visit.page("registers.html", registers=registers, next_cursor=next_cursor)

    @get("/{code:str}", name="register")
    async def register(
        self,
        visit: Visit,
        code: CodePath,
        at: MomentText = None,
        cursor: CursorText = None,
        counts_cursor: CursorText = None,
        notice: NoticeKey = None,
    ) -> Template:
        """The register's record; for those who may see them, its holders now per organisation,
        and who held it at ``at`` (Brussels time; empty: now), a page at a time."""
        return await self._page(visit, code, at, cursor, counts_cursor)

    @post("/{code:str}/end", name="register-end")
    async def set_end(self, visit: Visit, code: CodePath, data: FormData) -> Template | Redirect:
        """Set, move or remove (empty) the last day of a register added through the API (platform
        admins): live access to it is cut back to the end of that day, in the same step."""
        end = Form(data, visit.gettext)
        ends_on = end.day("ends_on")
        if not end:
            return await self._page(visit, code, None, None, None, end=end, status=422)
        try:
            async with visit.changing() as ctx:
                await set_register_end(ctx, code, RegisterPatch(ends_on=ends_on))
        except EAMError as exc:
            message = end.absorb(exc)
            return await self._page(visit, code, None, None, None, end=end, message=message, status=exc.status)
        return visit.redirect(f"/registers/{code}", "register-end-set")

    async def _page(
        self,
        visit: Visit,
        code: str,
        at: str | None,
        cursor: str | None,
        counts_cursor: str | None,
        *,
        end: Form | None = None,
        message: str | None = None,
        status: int | None = None,
    ) -> Template:
        form = Form({"at": (at or "").strip()}, visit.gettext)
        moment = form.moment("at")
        found: list[Any] = []
        counts: list[Any] = []
        next_cursor = next_counts = None
        async with visit.reading() as ctx:
            visit.standing = await standing(ctx)
            detail = await register_detail(ctx, code)
            if detail.holders is not None:
                counts, next_counts = await holder_counts(ctx, code, COUNTS_PAGE, counts_cursor)
                if form:
                    found, next_cursor = await holders(ctx, code, moment, HOLDERS_PAGE, cursor)
            now = ctx.now
        # the next page of holders is of the same moment, to the second, even when it was "now"
        pinned = (moment or now).astimezone(BRUSSELS).strftime("%Y-%m-%dT%H:%M:%S")
        here = f"/registers/{code}"
        return visit.page(
            "register.html",
            status=status or (200 if form else 422),
            register=detail,
            end_values=end.values if end is not None else {},
            end_errors=end.errors if end is not None else {},
            message=message,
            counts=counts,
            holders=found,
            moment=moment or now,
            retention=retention_text(visit, detail.record.retention) if detail.record else None,
            at_value=form.values["at"] or visit.fmt.local_input(now),
            asked_now=moment is None,
            errors=form.errors,
            next_url=f"{here}?{urlencode({'at': pinned, 'cursor': next_cursor})}" if next_cursor else None,
            next_counts_url=f"{here}?{urlencode({'counts_cursor': next_counts})}" if next_counts else None,
            first_page=cursor is None,
            first_counts_page=counts_cursor is None,
        )
