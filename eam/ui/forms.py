"""Reading submitted forms: each field checked for what a person can fix, with a message per field.

Forms check only what is about typing (present, length, a date); every business rule stays in
the domain operation the form calls, whose :class:`~eam.core.errors.ValidationFailed` is mapped
back to the fields it names (``$.justification`` → ``justification``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import msgspec

from eam.catalogue.schemas import ApplicationOut, AuthorGroup, Profile, RegisterOut
from eam.core.errors import EAMError, ValidationFailed
from eam.ui.i18n import BRUSSELS
from eam.ui.messages import DUTY_RULE, FIELD_RULES, PROBLEMS

Gettext = Callable[..., str]
T = TypeVar("T")


class Form:
    """The submitted values (kept to show them again) and the problems found, per field."""

    def __init__(self, data: Mapping[str, Any], gettext: Gettext) -> None:
        self.values: dict[str, Any] = {key: value for key, value in data.items() if key != "_csrf_token"}
        self.errors: dict[str, str] = {}
        self._ = gettext

    def __bool__(self) -> bool:
        return not self.errors

    def fail(self, field: str, rule: str, **variables: Any) -> None:
        self.errors.setdefault(field, self._(FIELD_RULES[rule], **variables))

    def text(self, name: str, *, required: bool = True, min_length: int = 0, max_length: int = 2000) -> str | None:
        value = str(self.values.get(name) or "").strip()
        if not value:
            if required:
                self.fail(name, "required")
            return None
        if len(value) < min_length:
            self.fail(name, "too-short", n=min_length)
        elif len(value) > max_length:
            self.fail(name, "too-long", n=max_length)
        return value

    def identifier(self, name: str) -> uuid.UUID | None:
        """A required id (a chosen organisation or person); one that is not an id is invalid."""
        value = self.text(name)
        if value is None:
            return None
        try:
            return uuid.UUID(value)
        except ValueError:
            self.fail(name, "invalid")
            return None

    def choice(self, name: str, allowed: Mapping[str, Any] | list[str], *, required: bool = True) -> str | None:
        value = str(self.values.get(name) or "")
        if not value:
            if required:
                self.fail(name, "required")
            return None
        if value not in allowed:
            self.fail(name, "invalid")
            return None
        return value

    def day(self, name: str, *, after: dt.date | None = None, required: bool = False) -> dt.date | None:
        value = str(self.values.get(name) or "").strip()
        if not value:
            if required:
                self.fail(name, "required")
            return None
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            self.fail(name, "date")
            return None
        if after is not None and day < after:
            self.fail(name, "past")
        return day

    def moment(self, name: str) -> dt.datetime | None:
        """A Brussels date and time (a ``datetime-local`` input: ``YYYY-MM-DDTHH:MM[:SS]``) as a
        UTC instant; None when empty. In the autumn's repeated hour the first one is meant."""
        value = str(self.values.get(name) or "").strip()
        if not value:
            return None
        try:
            local = dt.datetime.fromisoformat(value)
            if local.tzinfo is not None or "T" not in value:
                raise ValueError("not a local date and time")
            return local.replace(tzinfo=BRUSSELS).astimezone(dt.timezone.utc)
        except (ValueError, OverflowError):  # overflow: year 1 in Brussels is year 0 in UTC
            self.fail(name, "moment")
            return None

    def author_group(self, required: bool = True) -> str | None:
        """An author group as the API accepts it (letters, digits, space, ``_ . -``)."""
        value = self.text("author_group", required=required, max_length=128)
        if value is None:
            return None
        try:
            return msgspec.convert(value, AuthorGroup)
        except msgspec.ValidationError:
            self.fail("author_group", "invalid")
            return None

    def catalogue_choice(self, applications: list[ApplicationOut], registers: list[RegisterOut]) -> tuple[str | None, str | None, Profile | None]:
        """The application, register and profile chosen (``application``, ``register``,
        ``profile_key`` and, for a profile that needs one, ``author_group``)."""
        application = self.choice("application", [app.code for app in applications])
        if application is None:
            return None, None, None
        register = self.choice("register", [reg.code for reg in registers])
        profiles = {p.key: p for app in applications if app.code == application for p in app.profiles}
        key = self.choice("profile_key", list(profiles))
        if key is None:
            return application, register, None
        chosen = profiles[key]
        author_group = self.author_group() if chosen.author_group == "required" else None
        return application, register, Profile(role=chosen.role, data_level=chosen.data_level, author_group=author_group)

    def convert(self, schema: type[T], values: Mapping[str, Any], fields: Mapping[str, str] | None = None) -> T | None:
        """``values`` decoded into the API's input ``schema``, with the API's own constraints
        (patterns, lengths); a value that breaks one makes its field invalid (the innermost
        member named, ``record.controller`` → ``controller``, then ``fields``). msgspec names the
        first broken field only, so check what a person can fix field by field before."""
        try:
            return msgspec.convert(dict(values), schema)
        except msgspec.ValidationError as exc:
            path = str(exc).rpartition("- at `$.")[2].rstrip("`")
            name = path.rsplit(".", 1)[-1].split("[", 1)[0]
            self.fail((fields or {}).get(name, name) or "form", "invalid")
            return None

    def absorb(self, exc: EAMError, fields: Mapping[str, str] | None = None) -> str:
        """The page-level message for a refused operation; its field problems go to the fields.

        ``fields`` maps an API field name to the form's when they differ (``profile`` → ``profile_key``).
        """
        if isinstance(exc, ValidationFailed):
            for problem in exc.extensions.get("errors") or []:
                name = str(problem.get("field", "")).rsplit(".", 1)[-1]
                name = (fields or {}).get(name, name)
                self.errors.setdefault(name, str(problem.get("message", "")))
        return problem_message(exc, self._)


def problem_message(exc: EAMError, gettext: Gettext) -> str:
    """The person-facing message of a domain error, by its stable problem code (and, for a
    separation of duties, the rule that refused it)."""
    message = message_for(exc.code, exc.status, gettext)
    if exc.code == "separation-of-duties" and exc.extensions.get("rule"):
        message = f"{message} {gettext(DUTY_RULE) % {'rule': exc.extensions['rule']}}"
    return message


def message_for(code: str, status: int, gettext: Gettext) -> str:
    """The person-facing message of a problem type (``urn:eam:problem:<code>``)."""
    message = PROBLEMS.get(code)
    if message is None:
        message = PROBLEMS["conflict"] if status == 409 else PROBLEMS["bad-request"]
    return gettext(message)
