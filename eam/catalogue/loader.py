"""Load and validate ``eam/policies/catalogue.toml``.

Any problem stops start-up with a :class:`CatalogueError` naming the file and the line, so a
broken catalogue never reaches production half-applied.
"""

from __future__ import annotations

import datetime as dt

import re
import tomllib
from pathlib import Path
from typing import Any, Literal

import msgspec

from eam.catalogue.schemas import RegisterRecord

APPLICATION_CODE = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
REGISTER_CODE = re.compile(r"^[A-Z][A-Z0-9_-]{2,31}$")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class CatalogueError(Exception):
    def __init__(self, path: Path, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}")
        self.path, self.line, self.message = path, line, message


class ProfileSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    role: str
    label: str
    data_level: str | None = None
    author_group: Literal["required", "forbidden"] = "forbidden"
    csv_code: str | None = None
    narrows_to: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """``role/data_level``, or ``role`` where the application has no data levels."""
        return f"{self.role}/{self.data_level}" if self.data_level else self.role


class ApplicationSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    profiles: tuple[ProfileSpec, ...]


class RegisterSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    applications: tuple[str, ...]
    #: The register's record of processing (a ``[registers.<code>.record]`` table): optional, so
    #: a catalogue written before records existed still loads (the register shows "not recorded
    #: yet"); when given, it is complete and checked like ``POST /v1/registers`` checks it.
    record: RegisterRecord | None = None
    #: The day the data collection closes (``ends_on = 2027-06-30``): access to it ends at the end
    #: of that day, Brussels time (:func:`eam.core.times.end_of_day`).
    ends_on: dt.date | None = None


class DutySeparationSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A ``[[separation_of_duties]]`` rule: no person may hold two of ``profiles`` at once.

    Each profile is written ``application:profile`` (``hd4dp2:local_study_lead``,
    ``healthstat:sponsor/sponsor``). ``scope`` says which two assignments meet: ``register``
    (the same register, at any organisations) or ``organisation_register`` (the same register
    at the same organisation).
    """

    name: str
    description: str
    profiles: tuple[str, ...]
    scope: Literal["register", "organisation_register"] = "organisation_register"


class CatalogueFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    applications: dict[str, ApplicationSpec]
    registers: dict[str, RegisterSpec] = {}
    separation_of_duties: tuple[DutySeparationSpec, ...] = ()


def load_catalogue_file(path: Path) -> CatalogueFile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogueError(path, None, f"cannot read the catalogue: {exc.strerror}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise CatalogueError(path, int(match.group(1)) if match else None, str(exc)) from None
    try:
        catalogue = msgspec.convert(raw, CatalogueFile)
    except msgspec.ValidationError as exc:
        message = str(exc)
        raise CatalogueError(path, _error_line(text, raw, message), message) from None
    _check_rules(path, text, catalogue)
    return catalogue


def _check_rules(path: Path, text: str, catalogue: CatalogueFile) -> None:
    def fail(segments: list[str], message: str, profile_index: int | None = None) -> None:
        line = _line_of(text, segments)
        if profile_index is not None:
            line = _inline_table_line(text, line, profile_index)
        raise CatalogueError(path, line, message)

    if not catalogue.applications:
        fail([], "declares no application")
    for code, app in catalogue.applications.items():
        if not APPLICATION_CODE.match(code):
            fail(["applications", code], f"application code {code!r} must match {APPLICATION_CODE.pattern}")
        if not app.profiles:
            fail(["applications", code], f"application {code!r} allows no profile")
        keys = [profile.key for profile in app.profiles]
        for index, profile in enumerate(app.profiles):
            where = ["applications", code, "profiles"]
            for value in (profile.role, profile.data_level):
                if value is not None and not NAME.match(value):
                    fail(where, f"{value!r} must match {NAME.pattern}", index)
            if keys.count(profile.key) > 1:
                fail(where, f"profile {profile.key!r} is declared twice", index)
            if profile.author_group == "required" and profile.data_level:
                fail(where, f"{profile.key!r}: author group and data level exclude each other", index)
            for target in profile.narrows_to:
                if target not in keys:
                    fail(where, f"{profile.key!r} narrows to unknown profile {target!r}", index)
    for code, register in catalogue.registers.items():
        if not REGISTER_CODE.match(code):
            fail(["registers", code], f"register code {code!r} must match {REGISTER_CODE.pattern}")
        if not register.applications:
            fail(["registers", code], f"register {code!r} is available in no application")
        for app_code in register.applications:
            if app_code not in catalogue.applications:
                known = ", ".join(sorted(catalogue.applications))
                fail(["registers", code, "applications"], f"register {code!r} names unknown application {app_code!r} (known: {known})")
    _check_duties(path, text, catalogue)


def _check_duties(path: Path, text: str, catalogue: CatalogueFile) -> None:
    """A rule names known profiles, at least two, and can be broken: one person holds at most
    one profile per application × register at an organisation, so two profiles of one
    application can only meet across organisations (``scope = "register"``)."""
    names: set[str] = set()
    for index, rule in enumerate(catalogue.separation_of_duties):
        def fail(key: str, message: str) -> None:
            raise CatalogueError(path, _rule_line(text, index, key), f"separation_of_duties {rule.name!r}: {message}")

        if not NAME.match(rule.name):
            fail("name", f"the name must match {NAME.pattern}")
        if rule.name in names:
            fail("name", "is declared twice")
        names.add(rule.name)
        if len(set(rule.profiles)) < 2 or len(set(rule.profiles)) != len(rule.profiles):
            fail("profiles", "names at least two profiles, each once")
        applications = []
        for written in rule.profiles:
            application, _, key = written.partition(":")
            spec = catalogue.applications.get(application)
            if spec is None or key not in {profile.key for profile in spec.profiles}:
                fail("profiles", f"{written!r} is not an application:profile of the catalogue (e.g. 'hd4dp2:local_study_lead')")
            applications.append(application)
        if rule.scope == "organisation_register" and len(set(applications)) < len(applications):
            fail(
                "scope",
                "can never be broken: a person holds one profile per application and register at an "
                'organisation, so profiles of one application conflict only with scope = "register"',
            )


def _rule_line(text: str, index: int, key: str) -> int | None:
    """The line of ``key`` in the ``index``-th ``[[separation_of_duties]]`` table (or its header)."""
    lines = text.splitlines()
    headers = [number for number, line in enumerate(lines) if re.match(r"^\s*\[\[\s*separation_of_duties\s*\]\]", line)]
    if index >= len(headers):
        return None
    start = headers[index]
    for offset, line in enumerate(lines[start + 1 :], start=start + 2):
        if line.lstrip().startswith("["):
            break
        if re.match(r"^\s*" + re.escape(key) + r"\s*=", line):
            return offset
    return start + 1


#: The tables whose keys msgspec writes as ``[...]`` in error paths, and what each entry must be.
KEYED_TABLES: dict[str, type[msgspec.Struct]] = {"applications": ApplicationSpec, "registers": RegisterSpec}


def _error_line(text: str, raw: dict[str, Any], message: str) -> int | None:
    """The line a msgspec validation error is about.

    msgspec names table keys ``[...]``: the entry that fails on its own is the one meant. An
    unknown field is pointed at on its own line, a profile on the line of its inline table.
    """
    location = re.search(r" - at `\$(.*)`$", message)
    json_path = location.group(1) if location else ""
    keyed = re.match(r"\.(applications|registers)\[\.\.\.\]", json_path)
    if keyed and isinstance(raw.get(keyed.group(1)), dict):
        section = keyed.group(1)
        for key, value in raw[section].items():
            try:
                msgspec.convert(value, KEYED_TABLES[section])
            except msgspec.ValidationError:
                json_path = f".{section}.{key}{json_path[keyed.end():]}"
                break
    rule = re.match(r"\.separation_of_duties\[(\d+)\](?:\.(\w+))?", json_path)
    if rule:
        unknown = re.match(r"Object contains unknown field `([^`]+)`", message)
        return _rule_line(text, int(rule.group(1)), rule.group(2) or (unknown.group(1) if unknown else ""))
    profile = re.search(r"\.profiles\[(\d+)\]", json_path)
    if profile:
        array_line = _line_of(text, _path_segments(json_path[: profile.start()] + ".profiles"))
        return _inline_table_line(text, array_line, int(profile.group(1)))
    segments = _path_segments(json_path)
    unknown = re.match(r"Object contains unknown field `([^`]+)`", message)
    if unknown:
        segments.append(unknown.group(1))
    return _line_of(text, segments)


def _inline_table_line(text: str, array_line: int | None, index: int) -> int | None:
    """The line of the ``index``-th inline table of the array that starts on ``array_line``.

    TOML inline tables sit on one line each, so counting opening braces (outside strings and
    comments) finds the entry; ``array_line`` itself when it cannot be found.
    """
    if array_line is None:
        return None
    seen = 0
    for number, line in enumerate(text.splitlines()[array_line - 1 :], start=array_line):
        code = re.sub(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'', '""', line).split("#", 1)[0]
        if number > array_line and code.lstrip().startswith("["):
            break
        seen += code.count("{")
        if seen > index:
            return number
    return array_line


def _path_segments(json_path: str) -> list[str]:
    return [segment for segment in re.split(r"[.\[\]]+", json_path) if segment and not segment.isdigit()]


def _line_of(text: str, segments: list[str]) -> int | None:
    """The line of the innermost table header or key named by ``segments`` (best effort)."""
    lines = text.splitlines()
    best: int | None = None
    start = 0
    for depth in range(len(segments), 0, -1):
        header = re.compile(r"^\s*\[\s*" + r"\s*\.\s*".join(re.escape(s) for s in segments[:depth]) + r"\s*\]")
        for number, line in enumerate(lines):
            if header.match(line):
                best, start = number + 1, number + 1
                remaining = segments[depth:]
                if remaining:
                    key = re.compile(r"^\s*" + re.escape(remaining[0]) + r"\s*=")
                    for offset, following in enumerate(lines[start:]):
                        if following.lstrip().startswith("["):
                            break
                        if key.match(following):
                            return start + offset + 1
                return best
    if segments:
        key = re.compile(r"^\s*" + re.escape(segments[-1]) + r"\s*=")
        for number, line in enumerate(lines):
            if key.match(line):
                return number + 1
    return best
