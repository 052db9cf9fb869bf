from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, ClassVar, Literal

import msgspec

from eam.organisations.numbers import NOT_BLANK_PATTERN
from eam.organisations.schemas import Name

RegisterCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z][A-Z0-9_-]{2,31}$", examples=["HDBP0147"])]
ApplicationCode = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{1,31}$", examples=["healthstat"])]
AuthorGroup = Annotated[
    str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,127}$", examples=["cardiology-team"])
]


class Profile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A role plus a data level (report portal) or an author group (data-entry tool support)."""

    role: Annotated[str, msgspec.Meta(max_length=64, examples=["data_provider"])]
    data_level: Annotated[str, msgspec.Meta(max_length=64, examples=["hospital"])] | None = None
    author_group: AuthorGroup | None = None


def profile_of(row: Any) -> Profile:
    """The profile held by an access request or assignment row."""
    return Profile(role=row.role, data_level=row.data_level, author_group=row.author_group)


class AllowedProfile(msgspec.Struct, frozen=True):
    key: str
    role: str
    label: str
    data_level: str | None
    author_group: Literal["required", "forbidden"]
    narrows_to: tuple[str, ...]
    csv_code: str | None


class ApplicationOut(msgspec.Struct, frozen=True):
    code: str
    name: str
    profiles: list[AllowedProfile]


def _text(max_length: int, description: str, example: str) -> msgspec.Meta:
    """Non-blank text of at most ``max_length`` characters, without NUL characters."""
    return msgspec.Meta(min_length=1, max_length=max_length, pattern=NOT_BLANK_PATTERN, description=description, examples=[example])


Controller = Annotated[str, _text(200, "the controller: name and contact", "Sciensano, Rue Juliette Wytsmanstraat 14, 1050 Brussels")]
LegalBasis = Annotated[str, _text(1000, "GDPR article(s) and the law, decree or deliberation", "GDPR Art. 6(1)(e) and 9(2)(i); deliberation 21/042")]
Purpose = Annotated[str, _text(2000, "what the data are processed for", "Monitoring the quality of care for cystic fibrosis patients")]
RetentionNote = Annotated[str, _text(500, "what the period counts from, or a condition", "after the end of the data collection")]


class Retention(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How long the register's personal data are kept: a period of at least one month, plus
    what it counts from or any condition (``note``), e.g. "after the end of the data collection"."""

    years: Annotated[int, msgspec.Meta(ge=0, le=100)] = 0
    months: Annotated[int, msgspec.Meta(ge=0, le=11)] = 0
    note: RetentionNote | None = None

    def __post_init__(self) -> None:
        if self.years == 0 and self.months == 0:
            raise ValueError("a retention period must be at least one month (years and months both 0)")


#: The rule of :meth:`Retention.__post_init__`, stated in the schema: a year or a month at least
#: (``extra`` is what Litestar adds to the OpenAPI schema).
_AT_LEAST_ONE_MONTH = [
    {"required": ["years"], "properties": {"years": {"minimum": 1}}},
    {"required": ["months"], "properties": {"months": {"minimum": 1}}},
]
AtLeastOneMonth = msgspec.Meta(extra_json_schema={"anyOf": _AT_LEAST_ONE_MONTH, "extra": {"anyOf": _AT_LEAST_ONE_MONTH}})


class RegisterRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A register's entry in the record of processing activities (GDPR Art. 30(1)): who is the
    controller, on which legal basis and for which purpose the data are processed, how long they
    are kept. All four are required wherever a record is given (catalogue file, ``POST /v1/registers``)."""

    controller: Controller
    legal_basis: LegalBasis
    purpose: Purpose
    retention: Annotated[Retention, AtLeastOneMonth]

    def stripped(self) -> RegisterRecord:
        """The record as stored and shown: text without surrounding whitespace."""
        note = self.retention.note.strip() if self.retention.note is not None else None
        return RegisterRecord(
            controller=self.controller.strip(),
            legal_basis=self.legal_basis.strip(),
            purpose=self.purpose.strip(),
            retention=Retention(years=self.retention.years, months=self.retention.months, note=note),
        )


RECORD_EXAMPLE: dict[str, Any] = {
    "controller": "Sciensano, Rue Juliette Wytsmanstraat 14, 1050 Brussels, dpo@sciensano.be",
    "legal_basis": "GDPR Art. 6(1)(e) and 9(2)(i); deliberation of the information security committee 21/042",
    "purpose": "Monitoring the quality of care and the survival of cystic fibrosis patients",
    "retention": {"years": 30, "note": "after the patient's death"},
}


class RegisterIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {
        "code": "HDBP0250",
        "name": "Belgian Cystic Fibrosis Registry",
        "applications": ["healthstat", "hd4dp2"],
        "record": RECORD_EXAMPLE,
    }

    code: RegisterCode
    name: Name
    applications: Annotated[list[ApplicationCode], msgspec.Meta(min_length=1, max_length=16)]
    #: Required for every register added through the API.
    record: RegisterRecord
    #: The day the data collection closes: access to the register ends at the end of that day
    #: (Brussels time); none: it runs until an end date is set.
    ends_on: dt.date | None = None


class RegisterPatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Set, move or remove (``null``) the end date of a register added through the API (a
    catalogue file register changes in its file). Live access to it is cut back to the new end."""

    EXAMPLE: ClassVar[dict[str, Any]] = {"ends_on": "2030-06-30"}

    ends_on: dt.date | None


class RegisterOut(msgspec.Struct, frozen=True):
    code: str
    name: str
    applications: list[str]
    source: Literal["catalogue", "api"]
    #: The register's record of processing; None: not recorded yet (a register added through
    #: the API before records existed, or a catalogue file entry without one).
    record: RegisterRecord | None = None
    #: The day the register closes, and the instant access to it ends (the end of that day,
    #: Brussels time, in UTC); None: it does not end.
    ends_on: dt.date | None = None
    ends_at: dt.datetime | None = None
