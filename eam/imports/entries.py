"""What each line of an import asks for, checked on its own (before anything is looked up).

A line names a person (``ssin``, or ``person_id`` as EAM's export writes it), their name and
e-mail address, and an organisation (``org_nihdi``). It then either

- asks for **access** (the accounts file; a non-empty ``app``): ``role`` is the profile's CSV
  code of the catalogue (``1``/``2``/``3``, ``DATA_PROVIDER_HOSPITAL`` …), ``authorgroup``
  goes with the profiles that require one (and only those), ``register`` names the register
  (or the upload names one for every line), ``valid_until`` optionally ends the access; or
- registers the **person** with the organisation (the users file): ``role`` ``access_manager``
  or ``default`` (or the export's ``access_manager`` column, ``yes``/``no``) says whether they
  are to be one of its access managers. An import appoints access managers; it never removes one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

import msgspec

from eam.catalogue.loader import ProfileSpec
from eam.catalogue.schemas import AuthorGroup
from eam.catalogue.service import Catalogue
from eam.core.errors import FieldError, ValidationFailed
from eam.core.texts import N_, said
from eam.core.times import end_of_day, to_instant
from eam.imports.reading import Line
from eam.organisations.numbers import normalise_nihdi
from eam.users.people import PersonName, checked_national_number
from eam.users.schemas import Email

YES = {"yes", "y", "true", "1", "ja", "oui", "x"}
NO = {"no", "n", "false", "0", "nee", "non", ""}
#: ``valid_until`` left empty in a file with that column: open-ended; without the column: as held.
UNSET = "unset"


@dataclass(frozen=True)
class AccessAsked:
    application: str
    register: str
    profile: ProfileSpec
    author_group: str | None
    #: None: open-ended; the string UNSET: the file says nothing about the end date.
    valid_until: dt.datetime | None | str


@dataclass
class Entry:
    line: int
    problems: list[FieldError]
    notes: list[str] = field(default_factory=list)
    nihdi: str | None = None
    national_number: str | None = None
    person_id: uuid.UUID | None = None
    name: str | None = None
    email: str | None = None
    #: True: to be an access manager; None: as they are.
    manager: bool | None = None
    access: AccessAsked | None = None


def _checked(value: str, kind: object) -> object:
    return msgspec.convert(value, kind)


def read_entry(line: Line, catalogue: Catalogue, registers: dict[str, list[str]], default_register: str | None, ended: frozenset[str] = frozenset()) -> Entry:
    """Check one line's values; every problem is kept, with its column, to show them all at once."""
    entry = Entry(line=line.number, problems=list(line.problems))
    problem = entry.problems.append
    nihdi = line.get("org_nihdi")
    entry.nihdi = normalise_nihdi(nihdi) if nihdi else None
    if not nihdi:
        problem(said("org_nihdi", N_("the organisation's NIHDI number is missing")))
    elif entry.nihdi is None:
        problem(said("org_nihdi", N_("%(value)s is not an 8-digit NIHDI number"), value=repr(nihdi)))
    _read_person(line, entry)
    if line.get("app"):
        entry.access = _read_access(line, entry, catalogue, registers, default_register, ended)
    else:
        _read_membership(line, entry)
    return entry


def _read_person(line: Line, entry: Entry) -> None:
    problem = entry.problems.append
    ssin, person_id = line.get("ssin"), line.get("person_id")
    if ssin:
        try:
            entry.national_number = checked_national_number(ssin)
        except ValidationFailed:
            problem(said("ssin", N_("not a valid Belgian national number (NISS/SSIN): 11 digits with matching check digits")))
    if person_id:
        try:
            entry.person_id = uuid.UUID(person_id)
        except ValueError:
            problem(said("person_id", N_("%(value)s is not a person id from an EAM export"), value=repr(person_id)))
    if not ssin and not person_id:
        problem(said("ssin", N_("the person's national number (ssin) is missing")))
    name = line.get("name") or " ".join(part for part in (line.get("first_name"), line.get("last_name")) if part)
    if name:
        try:
            entry.name = str(_checked(name, PersonName))
        except msgspec.ValidationError:
            problem(said("name" if line.get("name") else "last_name", N_("a name of at most 200 printable characters")))
    email = line.get("email")
    if email:
        try:
            entry.email = str(_checked(email, Email))
        except msgspec.ValidationError:
            problem(said("email", N_("%(value)s is not an e-mail address"), value=repr(email)))


def _read_membership(line: Line, entry: Entry) -> None:
    role, manager = line.get("role").casefold(), line.get("access_manager").casefold()
    if role:
        if role not in ("access_manager", "default"):
            entry.problems.append(said("role", N_("%(value)s: use access_manager or default (or fill in app for an access line)"), value=repr(line.get("role"))))
        entry.manager = True if role == "access_manager" else None
    elif manager in YES:
        entry.manager = True
    elif manager not in NO:
        entry.problems.append(said("access_manager", N_("%(value)s: use yes or no"), value=repr(line.get("access_manager"))))


def _read_access(
    line: Line, entry: Entry, catalogue: Catalogue, registers: dict[str, list[str]], default_register: str | None, ended: frozenset[str]
) -> AccessAsked | None:
    problem = entry.problems.append
    application = line.get("app").casefold()
    spec = catalogue.file.applications.get(application)
    if spec is None:
        problem(said("app", N_("%(value)s: use one of %(choices)s"), value=repr(line.get("app")), choices=", ".join(catalogue.application_codes)))
        return None
    code = line.get("role")
    profile = next((p for p in spec.profiles if code.casefold() in ((p.csv_code or "").casefold(), p.key)), None) if code else None
    if profile is None:
        codes = ", ".join(p.csv_code for p in spec.profiles if p.csv_code)
        problem(said("role", N_("%(value)s is not a role of %(application)s: use one of %(choices)s"), value=repr(code), application=application, choices=codes) if code else said("role", N_("the role is missing: use one of %(choices)s"), choices=codes))
    group = line.get("authorgroup") or None
    if profile is not None and profile.author_group == "required" and group is None:
        problem(said("authorgroup", N_("role %(role)s (%(profile)s) needs an author group"), role=code, profile=profile.label))
    if profile is not None and profile.author_group == "forbidden" and group is not None:
        problem(said("authorgroup", N_("role %(role)s (%(profile)s) takes no author group: leave it empty"), role=code, profile=profile.label))
    if group is not None:
        try:
            _checked(group, AuthorGroup)
        except msgspec.ValidationError:
            problem(said("authorgroup", N_("%(value)s: letters, digits, spaces, '_', '.' and '-', at most 128"), value=repr(group)))
    register = line.get("register").upper() or default_register
    if register is None:
        problem(said("register", N_("which register? fill in the register column or choose one register for the whole file")))
    elif register not in registers:
        problem(said("register", N_("no register %(value)s"), value=repr(register)))
    elif application not in registers[register]:
        problem(said("register", N_("%(register)s is not available in %(application)s (only in %(choices)s)"), register=register, application=application, choices=", ".join(registers[register])))
    elif register in ended:
        problem(said("register", N_("register %(register)s has ended: it gives no new access"), register=register))
    valid_until = _read_end(line, entry)
    if profile is None or register is None:
        return None
    return AccessAsked(application=application, register=register, profile=profile, author_group=group, valid_until=valid_until)


def _read_end(line: Line, entry: Entry) -> dt.datetime | None | str:
    if "valid_until" not in line.cells:
        return UNSET
    value = line.get("valid_until")
    if not value:
        return None
    try:
        return end_of_day(dt.date.fromisoformat(value)) if len(value) == 10 else to_instant(value)
    except ValueError:
        entry.problems.append(said("valid_until", N_("%(value)s: a day (2027-06-30) or an RFC 3339 date-time"), value=repr(value)))
        return None
