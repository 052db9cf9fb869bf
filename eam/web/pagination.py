"""Cursor pagination (keyset, via sqlakeyset): stable under inserts, no OFFSET scans.

Cursors are sqlakeyset bookmarks in URL-safe base64, so they can be pasted into a query string.
"""

from __future__ import annotations

import base64
import binascii

from typing import Annotated, Any, Generic, TypeVar

import msgspec
from litestar.params import Parameter
from sqlakeyset import BadBookmark
from sqlakeyset.asyncio import select_page
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from eam.errors import FieldError, ValidationFailed

T = TypeVar("T")

Limit = Annotated[int, Parameter(ge=1, le=200, description="Page size (1–200).")]
Cursor = Annotated[
    str | None, Parameter(max_length=512, description="The `next_cursor` of the previous page.")
]


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    #: Pass as ``cursor`` to get the next page; absent on the last page.
    next_cursor: str | None = None


async def fetch_page(session: AsyncSession, stmt: Select[Any], limit: int, cursor: str | None) -> tuple[list[Any], str | None]:
    """One page of ``stmt`` (which must order by a unique key last) and the next cursor."""
    try:
        bookmark = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode() if cursor else None
        page = await select_page(session, stmt, per_page=limit, page=bookmark)
    except (BadBookmark, ValueError, TypeError, KeyError, IndexError, binascii.Error):
        raise ValidationFailed("invalid cursor", [FieldError("query.cursor", "not a cursor this API issued")]) from None
    next_cursor = None
    if page.paging.has_next:
        next_cursor = base64.urlsafe_b64encode(page.paging.bookmark_next.encode()).decode().rstrip("=")
    return [row[0] if len(row) == 1 else row for row in page], next_cursor
