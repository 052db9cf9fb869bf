"""Cursor pagination (keyset, via sqlakeyset): stable under inserts, no OFFSET scans.

Cursors are sqlakeyset bookmarks in URL-safe base64, so they can be pasted into a query string.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any, Generic, TypeVar

import msgspec
from sqlakeyset import BadBookmark, serialize_bookmark, unserialize_bookmark
from sqlakeyset.asyncio import select_page
from sqlakeyset.columns import parse_ob_clause
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from eam.core.errors import FieldError, ValidationFailed

T = TypeVar("T")


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    #: Pass as ``cursor`` to get the next page; absent on the last page.
    next_cursor: str | None = None


def _python_type(sql_type: Any) -> type:
    sql_type = getattr(sql_type, "impl_instance", sql_type)  # TypeDecorator: its implementation
    try:
        return sql_type.python_type
    except NotImplementedError:
        return object


def _checked_bookmark(stmt: Select[Any], bookmark: str) -> str:
    """The bookmark, if it is one ``stmt`` could have issued: canonical, one key per ORDER BY
    column, each of that column's type. Anything else would reach the database (a 500 there,
    or a silently wrong page on SQLite), so it is refused here.
    """
    place, backwards = unserialize_bookmark(bookmark)
    if place is None or serialize_bookmark((place, backwards)) != bookmark:
        raise BadBookmark("not a canonical bookmark")
    columns = parse_ob_clause(stmt)
    if len(place) != len(columns):
        raise BadBookmark("wrong number of keys")
    for value, column in zip(place, columns, strict=True):
        expected = _python_type(column.comparable_value.type)
        if value is None or not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool):
            raise BadBookmark("a key of the wrong type")
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            raise BadBookmark("an integer key out of range")
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            raise BadBookmark("a naive timestamp")
    return bookmark


def encode_cursor(position: str) -> str:
    return base64.urlsafe_b64encode(position.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        position = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode()
    except (ValueError, binascii.Error):
        raise _invalid_cursor() from None
    if not position:
        raise _invalid_cursor()
    return position


def _invalid_cursor() -> ValidationFailed:
    return ValidationFailed("invalid cursor", [FieldError("query.cursor", "not a cursor this API issued")])


async def fetch_page(session: AsyncSession, stmt: Select[Any], limit: int, cursor: str | None) -> tuple[list[Any], str | None]:
    """One page of ``stmt`` (which must order by a unique key last) and the next cursor."""
    try:
        bookmark = _checked_bookmark(stmt, decode_cursor(cursor)) if cursor else None
        page = await select_page(session, stmt, per_page=limit, page=bookmark)
    except (BadBookmark, ValueError, TypeError, KeyError, IndexError):
        raise _invalid_cursor() from None
    next_cursor = encode_cursor(page.paging.bookmark_next) if page.paging.has_next else None
    return [row[0] if len(row) == 1 else row for row in page], next_cursor


def page_of_sorted(items: list[T], key: Any, limit: int, cursor: str | None) -> tuple[list[T], str | None]:
    """Keyset paging over a short list already sorted by the unique string ``key``."""
    after = decode_cursor(cursor) if cursor else None
    remaining = [item for item in items if after is None or key(item) > after]
    page = remaining[:limit]
    next_cursor = encode_cursor(key(page[-1])) if len(remaining) > limit else None
    return page, next_cursor
