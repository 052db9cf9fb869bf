"""The people picker: find a person by name or e-mail as you type (the people directory,
:mod:`eam.users.directory`: admins find everyone, access managers the people of their
organisations). Used to appoint an access manager and to filter the audit trail."""

from __future__ import annotations

import uuid
from typing import Literal

from litestar import Controller, get
from litestar.response import Template

from eam.core.context import Context
from eam.core.errors import EAMError
from eam.ui.pages.employee import SearchText
from eam.ui.visit import Visit
from eam.users.directory import PersonOut, find_person, search_people

#: People offered at once; typing more narrows the list.
PEOPLE_SHOWN = 10
#: The form fields a picker fills: the person to appoint, or the person to filter events by.
PickerField = Literal["user_id", "person_id"]


async def people_found(ctx: Context, q: object) -> list[PersonOut]:
    """The people matching ``q`` (nobody for an empty search)."""
    text = str(q or "").strip()
    if not text:
        return []
    found, _ = await search_people(ctx, text[:200], PEOPLE_SHOWN, None)
    return found


async def chosen_person(ctx: Context, raw: object) -> PersonOut | None:
    """The person a form names by id, if the caller may find them."""
    try:
        return await find_person(ctx, uuid.UUID(str(raw))) if raw else None
    except (ValueError, EAMError):
        return None


class PeoplePages(Controller):
    @get("/people/search", name="people-search")
    async def people_search(self, visit: Visit, q: SearchText = None, field: PickerField = "user_id") -> Template:
        """The people matching what was typed so far, as radio buttons named ``field``."""
        async with visit.reading() as ctx:
            found = await people_found(ctx, q)
        return visit.page("partials/people_choices.html", found=found, q=q or "", chosen=None, field=field)
