from __future__ import annotations

import datetime as dt
import uuid

import msgspec


class LineProblem(msgspec.Struct, frozen=True, omit_defaults=True):
    #: The column the problem is in (as EAM names it: ``ssin``, ``org_nihdi``, ``role`` …), or
    #: ``line`` for the line as a whole.
    column: str
    #: What is wrong, in English.
    message: str
    #: The message before its values were filled in (``%(name)s`` placeholders) and those values:
    #: a stable key to show the message in another language. Absent for a few messages that
    #: quote another rule's text (a separation of duties).
    template: str | None = None
    values: dict[str, str] = {}


class ReceiptLine(msgspec.Struct, frozen=True, omit_defaults=True):
    line: int
    #: ``created``, ``updated``, ``unchanged`` or ``error``.
    outcome: str
    problems: list[LineProblem] = []
    notes: list[str] = []


class Summary(msgspec.Struct, frozen=True):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    error: int = 0


class Receipt(msgspec.Struct, frozen=True):
    """What an import did (or, in a dry run, would do) with each data line of the file."""

    #: The stored import; None for a dry run and for a refused file (nothing was written).
    id: uuid.UUID | None
    dry_run: bool
    #: ``awaiting_approval`` or ``pre_approved``.
    mode: str
    #: SHA-256 of the uploaded bytes, hex.
    file_digest: str
    summary: Summary
    lines: list[ReceiptLine]
    created_at: dt.datetime | None = None


class ImportOut(msgspec.Struct, frozen=True):
    id: uuid.UUID
    created_at: dt.datetime
    mode: str
    file_name: str | None
    file_digest: str
    line_count: int
    summary: Summary
