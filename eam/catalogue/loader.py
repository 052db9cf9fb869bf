"""Load and validate ``policies/catalogue.toml``.

Any problem stops start-up with a :class:`CatalogueError` naming the file and the line, so a
broken catalogue never reaches production half-applied.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Literal

import msgspec

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


class CatalogueFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    applications: dict[str, ApplicationSpec]
    registers: dict[str, RegisterSpec] = {}


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
        location = re.search(r"at `\$(.*)`", message)
        line = _line_of(text, _path_segments(location.group(1))) if location else None
        raise CatalogueError(path, line, message) from None
    _check_rules(path, text, catalogue)
    return catalogue


def _check_rules(path: Path, text: str, catalogue: CatalogueFile) -> None:
    def fail(segments: list[str], message: str) -> None:
        raise CatalogueError(path, _line_of(text, segments), message)

    if not catalogue.applications:
        fail([], "declares no application")
    for code, app in catalogue.applications.items():
        if not APPLICATION_CODE.match(code):
            fail(["applications", code], f"application code {code!r} must match {APPLICATION_CODE.pattern}")
        if not app.profiles:
            fail(["applications", code], f"application {code!r} allows no profile")
        keys = [profile.key for profile in app.profiles]
        for profile in app.profiles:
            for value in (profile.role, profile.data_level):
                if value is not None and not NAME.match(value):
                    fail(["applications", code, "profiles"], f"{value!r} must match {NAME.pattern}")
            if keys.count(profile.key) > 1:
                fail(["applications", code, "profiles"], f"profile {profile.key!r} is declared twice")
            if profile.author_group == "required" and profile.data_level:
                fail(["applications", code, "profiles"], f"{profile.key!r}: author group and data level exclude each other")
            for target in profile.narrows_to:
                if target not in keys:
                    fail(["applications", code, "profiles"], f"{profile.key!r} narrows to unknown profile {target!r}")
    for code, register in catalogue.registers.items():
        if not REGISTER_CODE.match(code):
            fail(["registers", code], f"register code {code!r} must match {REGISTER_CODE.pattern}")
        if not register.applications:
            fail(["registers", code], f"register {code!r} is available in no application")
        for app_code in register.applications:
            if app_code not in catalogue.applications:
                known = ", ".join(sorted(catalogue.applications))
                fail(["registers", code, "applications"], f"register {code!r} names unknown application {app_code!r} (known: {known})")


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
