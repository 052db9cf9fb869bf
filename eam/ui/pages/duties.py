"""Separation of duties as a page: the people who hold two profiles the catalogue declares
incompatible, now, each with the rule they break and both assignments (linked, so the access
manager can change or revoke one).

The page runs :func:`eam.assignments.duties.violations`, the operation behind
``GET /v1/separation-of-duties/violations``: access managers see the conflicts touching an
organisation where they manage access, platform admins see all; anyone else gets the "not
allowed" page. The rules themselves are listed too, so an empty table says what was checked.
"""

from __future__ import annotations

from litestar import Controller, get
from litestar.response import Template

from eam.assignments.duties import violations
from eam.ui.pages.admin import CursorText
from eam.ui.visit import Visit
from eam.users.flows import standing

#: Conflicts shown per page.
VIOLATIONS_PAGE = 50


class SeparationOfDutiesPages(Controller):
    path = "/separation-of-duties"

    @get("/", name="separation-of-duties")
    async def report(self, visit: Visit, cursor: CursorText = None) -> Template:
        async with visit.reading() as ctx:
            visit.standing = await standing(ctx)
            found, next_cursor = await violations(ctx, VIOLATIONS_PAGE, cursor)
            rules = ctx.catalogue.file.separation_of_duties
        return visit.page("separation_of_duties.html", violations=found, rules=rules, next_cursor=next_cursor)
