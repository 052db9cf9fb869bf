"""Registers as pages: the list of registers, and a register's page with its record of processing
(controller, legal basis, purpose, retention), how many people hold access to it now per
organisation, and who held it at a chosen moment.

The page runs the operations of the API (:func:`eam.assignments.holder_counts.register_detail`,
:func:`~eam.assignments.holder_counts.holder_counts`, :func:`eam.assignments.holders.holders`),
so it shows what ``GET /v1/registers/{code}``, ``…/holder-counts`` and ``…/holders`` answer,
to whom they answer it: anyone signed in reads the record; the holders and counts only of
organisations whose assignments the visitor may read (access managers: theirs; platform
admins: all). The moment is a Brussels date and time (default: now).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, get
from litestar.params import Parameter
from litestar.response import Template

from eam.assignments.holder_counts import holder_counts, register_detail
from eam.assignments.holders import holders
from eam.catalogue.schemas import Retention
from eam.catalogue.service import list_registers
from eam.ui.forms import Form
from eam.ui.i18n import BRUSSELS, N_
from eam.ui.pages.admin import CursorText, NoticeKey
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
            status=200 if form else 422,
            register=detail,
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
