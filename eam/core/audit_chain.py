"""The audit trail's hash chain: each event's ``hash`` covers every stored field of the event and
the hash of the event before it (``prev_hash``), so an event changed, removed or moved after it
was written shows, from that event on (``eam audit verify``).

Canonical encoding (what an outside party recomputes; never change it, old hashes depend on it):

- the document is a JSON object of every stored field: ``id``, ``occurred_at``, ``actor_id``,
  ``actor``, ``action``, ``organisation_id``, ``target_type``, ``target_id``, ``before``, ``after``,
  ``http_request_id`` and ``prev_hash``;
- ``occurred_at`` is RFC 3339 in UTC with microseconds (``2026-12-03T08:20:00.000000Z``), UUIDs
  are lowercase hyphenated text, an absent value is ``null``, ``before`` and ``after`` are the
  stored JSON documents;
- it is serialised as compact UTF-8 JSON, keys sorted at every level, non-ASCII characters not
  escaped (``msgspec.json.Encoder(order="sorted")``; for documents without floating-point numbers
  Python's ``json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` gives
  the same bytes);
- ``hash`` is the lowercase hexadecimal SHA-256 of those bytes. The first event's ``prev_hash``
  is :data:`GENESIS` (64 zeros).

Appending: ids are given here, one more than the newest event's, so ids increase in chain order
and a fork is impossible (two writers after the same event would both take its id + 1, and the
primary key refuses the second). On PostgreSQL the writer first takes a transaction-scoped
advisory lock (:data:`LOCK_KEY`), so concurrent writers queue instead of failing; on SQLite
every writing transaction holds the database's write lock from its ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from eam.audit.models import AuditEvent

#: ``prev_hash`` of the first event.
GENESIS = "0" * 64
#: ``pg_advisory_xact_lock`` key held while the chain's head is read and extended ("EAMAUDT").
LOCK_KEY = 0x45414D41554454
#: The stored fields, in table order; with ``prev_hash`` they make the hashed document.
FIELDS = (
    "id", "occurred_at", "actor_id", "actor", "action", "organisation_id", "target_type", "target_id",
    "before", "after", "http_request_id",
)

_encoder = msgspec.json.Encoder(order="sorted")
_HEAD = select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)


def instant(value: dt.datetime) -> str:
    """RFC 3339, UTC, microseconds (a naive value is taken as UTC, as SQLite returns it)."""
    utc = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _text(value: uuid.UUID | str | None) -> str | None:
    return None if value is None else str(value)


def document(event: Mapping[str, Any], prev_hash: str) -> dict[str, Any]:
    """The hashed document of ``event`` (its stored fields, by name) after ``prev_hash``."""
    return {
        "id": event["id"],
        "occurred_at": instant(event["occurred_at"]),
        "actor_id": _text(event["actor_id"]),
        "actor": event["actor"],
        "action": event["action"],
        "organisation_id": _text(event["organisation_id"]),
        "target_type": event["target_type"],
        "target_id": event["target_id"],
        "before": event["before"],
        "after": event["after"],
        "http_request_id": event["http_request_id"],
        "prev_hash": prev_hash,
    }


def encode(value: Any) -> bytes:
    """Compact UTF-8 JSON, keys sorted at every level: the canonical serialisation."""
    return _encoder.encode(value)


def canonical(event: Mapping[str, Any], prev_hash: str) -> bytes:
    """The bytes hashed for ``event`` after ``prev_hash``."""
    return _encoder.encode(document(event, prev_hash))


def event_hash(event: Mapping[str, Any], prev_hash: str) -> str:
    return hashlib.sha256(canonical(event, prev_hash)).hexdigest()


def as_stored(document: dict[str, Any] | None) -> dict[str, Any] | None:
    """A ``before``/``after`` document as it reads back from the database (JSON types only), so
    that the hash written is the hash recomputed later."""
    return None if document is None else msgspec.json.decode(msgspec.json.encode(document))


def head(session: Session) -> tuple[int, str]:
    """Lock the chain (PostgreSQL: until the transaction ends) and return the newest event's id
    and hash, ``(0, GENESIS)`` when there is none."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(LOCK_KEY)))
    row = session.execute(_HEAD).first()
    return (row[0], row[1]) if row else (0, GENESIS)


def link(events: Iterable[MutableMapping[str, Any]], last_id: int, last_hash: str) -> tuple[int, str]:
    """Give ``events`` (in order) their ``id``, ``prev_hash`` and ``hash`` after the event
    ``last_id`` whose hash is ``last_hash``; return the new head."""
    for event in events:
        last_id += 1
        event["id"] = last_id
        event["prev_hash"] = last_hash
        event["hash"] = last_hash = event_hash(event, last_hash)
    return last_id, last_hash
