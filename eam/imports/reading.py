"""Reading an uploaded CSV file into lines of named cells, as spreadsheets and people write them.

Accepted: UTF-8 with or without a byte-order mark; comma or semicolon separators (whichever the
header line uses); CRLF, LF or CR line ends, mixed; quoted fields with doubled quotes, separators
and line breaks inside; headers in any case, with spaces or hyphens for underscores and the
aliases below; empty lines anywhere (skipped); cells left off at the end of a line (empty).
Refused with a reason: other encodings, unknown or repeated columns, more values than columns.
The file is hostile input: its size and number of lines are limited, nothing in it is evaluated
or followed (no formula, path or URL), and values are checked like the API's.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from eam.core.errors import FieldError, PayloadTooLarge, ValidationFailed
from eam.core.texts import N_, said
from eam.imports.cells import restore

#: Column names as written in files → the column they stand for.
ALIASES: dict[str, str] = {
    "first_name": "first_name",
    "firstname": "first_name",
    "given_name": "first_name",
    "last_name": "last_name",
    "lastname": "last_name",
    "family_name": "last_name",
    "name": "name",
    "display_name": "name",
    "email": "email",
    "e_mail": "email",
    "ssin": "ssin",
    "niss": "ssin",
    "inss": "ssin",
    "national_number": "ssin",
    "person_id": "person_id",
    "org_nihdi": "org_nihdi",
    "nihdi": "org_nihdi",
    "organisation_nihdi": "org_nihdi",
    "role": "role",
    "app": "app",
    "application": "app",
    "register": "register",
    "register_code": "register",
    "data_collection": "register",
    "authorgroup": "authorgroup",
    "author_group": "authorgroup",
    "access_manager": "access_manager",
    "valid_until": "valid_until",
}
COLUMNS = sorted(set(ALIASES.values()))
#: Characters stripped around every value, the no-break space of spreadsheets included.
SPACE = " \t\u00a0\ufeff"


@dataclass(frozen=True)
class Line:
    """One data line: its number in the file (where it starts) and its values by column."""

    number: int
    cells: dict[str, str]
    problems: list[FieldError] = field(default_factory=list)

    def get(self, column: str) -> str:
        return self.cells.get(column, "")


@dataclass(frozen=True)
class CsvFile:
    columns: tuple[str, ...]
    delimiter: str
    lines: list[Line]


def decode(body: bytes) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1
        raise ValidationFailed(
            "the file is not UTF-8 text",
            [FieldError("file", f"line {line} is not UTF-8 text: save the file as \"CSV UTF-8\" and upload it again", line=line)],
        ) from None


def column_name(header: str) -> str:
    return "_".join(header.strip(SPACE).casefold().replace("-", " ").split())


def read_csv(body: bytes, *, max_bytes: int, max_lines: int) -> CsvFile:
    """Parse an upload; raise for a file that cannot be read at all (problems of single lines are
    kept on those lines)."""
    if len(body) > max_bytes:
        raise PayloadTooLarge(f"the file has {len(body)} bytes; at most {max_bytes} are accepted", limit=max_bytes)
    text = decode(body)
    first = next((line for line in text.splitlines() if line.strip(SPACE + ",;")), None)
    if first is None:
        raise ValidationFailed("the file is empty", [FieldError("file", "a header line and at least one data line are needed")])
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    end = 0
    try:
        for row in reader:
            start, end = end + 1, reader.line_num
            if any(cell.strip(SPACE) for cell in row):
                rows.append((start, row))
            if len(rows) > max_lines + 1:
                raise ValidationFailed(
                    f"the file has more than {max_lines} data lines", [FieldError("file", f"split it into files of at most {max_lines} lines", limit=max_lines)]
                )
    except csv.Error as exc:
        raise ValidationFailed("the file is not valid CSV", [FieldError("file", f"line {reader.line_num}: {exc}", line=reader.line_num)]) from None
    header_line, header = rows[0]
    columns = _columns(header_line, header)
    lines = [_line(number, row, columns) for number, row in rows[1:]]
    if not lines:
        raise ValidationFailed("the file has no data lines", [FieldError("file", "a header line and at least one data line are needed")])
    return CsvFile(columns=tuple(column for column in columns if column), delimiter=delimiter, lines=lines)


def _columns(line: int, header: list[str]) -> list[str]:
    columns: list[str] = []
    problems: list[FieldError] = []
    for position, raw in enumerate(header, start=1):
        name = column_name(raw)
        column = ALIASES.get(name)
        if not name and all(not column_name(rest) for rest in header[position:]):
            columns.append("")  # empty trailing header cells (a separator at the end of the line)
            continue
        if column is None:
            problems.append(FieldError("file", f"column {position}: unknown column {raw.strip(SPACE)!r}; known columns: {', '.join(COLUMNS)}", line=line, column=position))
        elif column in columns:
            problems.append(FieldError("file", f"column {position}: {raw.strip(SPACE)!r} appears twice", line=line, column=position))
        columns.append(column or "")
    if problems:
        raise ValidationFailed("the header line names columns EAM cannot read", problems)
    return columns


def _line(number: int, row: list[str], columns: list[str]) -> Line:
    cells: dict[str, str] = {}
    problems: list[FieldError] = []
    extra = [value for value in row[len(columns):] if value.strip(SPACE)]
    if extra:
        problems.append(said("line", N_("%(values)s values, but the header names %(columns)s columns"), values=len(row), columns=len(columns)))
    for column, value in zip(columns, row):
        if column:
            cells[column] = restore(value.strip(SPACE))
        elif value.strip(SPACE):
            problems.append(said("line", N_("a value under an empty column header")))
    return Line(number=number, cells=cells, problems=problems)
