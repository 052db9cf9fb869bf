"""Points in time as EAM accepts them from outside: one type for every datetime a client sends.

Every datetime in a request, body member or query parameter, is an :class:`Instant`: an RFC 3339
``date-time`` (section 5.6) that names its UTC offset (``Z`` or ``±hh:mm``), held in UTC. A time
without an offset is ambiguous (whose local time?) and refused, and so is one that leaves what a
datetime can hold once converted to UTC: year 1 with a positive offset, or
``9999-12-31T23:59:59-23:59``, would overflow on the way to the database. Both databases store
every instant from ``0001-01-01T00:00:00Z`` to ``9999-12-31T23:59:59.999999Z`` (SQLite as text,
PostgreSQL ``timestamptz``), so that range is what is accepted; each refusal is a 422 naming
the field, never a 500.

The HTTP layer decodes the type with :data:`TYPE_DECODERS` (Litestar's ``type_decoders``) and
documents it as ``format: date-time``; anything else that converts untrusted input with msgspec
passes :func:`dec_hook`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

EARLIEST = dt.datetime.min.replace(tzinfo=dt.UTC)
LATEST = dt.datetime.max.replace(tzinfo=dt.UTC)
DESCRIPTION = (
    "RFC 3339 date-time with its UTC offset (`Z` or `±hh:mm`), between "
    "0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z once converted to UTC"
)


#: The platform's time zone: a day a person names ("until 30 June") is a day in Brussels.
BRUSSELS = ZoneInfo("Europe/Brussels")


def end_of_day(day: dt.date) -> dt.datetime:
    """Access "until" a day ends at midnight after it, Brussels time, as a UTC instant."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=BRUSSELS).astimezone(dt.UTC)


def last_day(until: dt.datetime) -> dt.date:
    """The last Brussels day of something that lasts until ``until`` (the inverse of
    :func:`end_of_day`): access ending at midnight after 17 December lasts until 17 December."""
    return (until - dt.timedelta(microseconds=1)).astimezone(BRUSSELS).date()


class Instant(dt.datetime):
    """A point in time a client sent: timezone-aware, in UTC, within what the databases store."""

    __slots__ = ()


def to_instant(value: object) -> Instant:
    """The instant ``value`` (RFC 3339 text or a datetime) names; ValueError/TypeError says why not."""
    if isinstance(value, Instant):
        return value
    if isinstance(value, str):
        try:
            parsed = msgspec.convert(value, dt.datetime)
        except msgspec.ValidationError:
            raise ValueError("must be an RFC 3339 date-time such as 2030-06-30T00:00:00Z") from None
    elif isinstance(value, dt.datetime):
        parsed = value
    else:
        raise TypeError(f"Expected `str` (an RFC 3339 date-time), got `{type(value).__name__}`")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("must name its UTC offset (Z or ±hh:mm): a time without one is ambiguous")
    try:
        utc = parsed.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("is out of range: it must lie between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in UTC") from None
    return Instant(utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond, tzinfo=dt.UTC)


def is_instant(annotation: Any) -> bool:
    return annotation is Instant


def dec_hook(annotation: type, value: Any) -> Any:
    """msgspec's ``dec_hook`` for the types of this module (msgspec turns a ValueError into a
    ValidationError at the field's path)."""
    if annotation is Instant:
        return to_instant(value)
    raise NotImplementedError(f"no decoder for {annotation!r}")


TYPE_DECODERS: list[tuple[Callable[[Any], bool], Callable[[type, Any], Any]]] = [(is_instant, lambda _type, value: to_instant(value))]
