"""Deciding what each line of an import does, before anything is written.

The plan reads EAM's current state once (:mod:`eam.imports.state`), then walks the lines in file
order. Line order never matters: every line naming a national number refers to one person,
created once whichever line names them first, and an author group is part of a profile, not a
thing that must exist before a line can use it.

Outcomes per line: ``created`` (a new person, membership, access, request or access-manager
role), ``updated`` (a prepared person's name or e-mail, a held profile or end date), ``unchanged``
(all of it is so already, e.g. importing a file a second time) or ``error`` (with every problem
and its column). Dry runs stop here; :mod:`eam.imports.apply` carries out the steps.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from enum import StrEnum

from eam.assignments.duties import Held, conflict, profile_key, refusal_text
from eam.auth.identity import national_number_hash
from eam.authz.guard import own_object
from eam.authz.vocabulary import org_domain
from eam.catalogue.service import Catalogue
from eam.core.context import Context
from eam.core.enums import OrganisationStatus
from eam.core.errors import FieldError
from eam.core.texts import N_, said
from eam.imports.entries import UNSET, AccessAsked, Entry
from eam.imports.state import AccessKey, Holdings, profile_tuple
from eam.organisations.models import Organisation
from eam.users.models import PREPARED_ISSUER, User


class Mode(StrEnum):
    #: Access lines become pending requests that another access manager decides (four-eyes).
    AWAITING_APPROVAL = "awaiting_approval"
    #: Access lines become assignments at once: only for access managers of the organisation.
    PRE_APPROVED = "pre_approved"


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    ERROR = "error"


@dataclass
class Person:
    """A person as the import sees them: known to EAM (``user``) or to be prepared."""

    user: User | None
    digest: str | None
    name: str | None = None
    email: str | None = None
    #: The line that named them first (a later line naming them otherwise is an error).
    named_on: int | None = None
    to_update: bool = False

    @property
    def key(self) -> uuid.UUID | str:
        return self.user.id if self.user is not None else f"nn:{self.digest}"

    @property
    def prepared(self) -> bool:
        return self.user is None or self.user.issuer == PREPARED_ISSUER


class StepKind(StrEnum):
    PREPARE = "prepare"  # a person new to EAM, prepared before their first sign-in
    UPDATE_PERSON = "update_person"  # a prepared person's name or e-mail address
    ADD_MEMBER = "add_member"
    APPOINT = "appoint"  # an access manager
    GRANT = "grant"  # pre-approved access
    CHANGE = "change"  # pre-approved change of access held
    REQUEST = "request"  # access awaiting approval
    CHANGE_REQUEST = "change_request"  # a change of access held, awaiting approval


@dataclass
class Step:
    """One change the import makes, in line order."""

    kind: StepKind
    line: int
    person: Person
    organisation: Organisation
    access: AccessAsked | None = None
    assignment_id: uuid.UUID | None = None


@dataclass
class Planned:
    entry: Entry
    outcome: Outcome = Outcome.UNCHANGED
    notes: list[str] = field(default_factory=list)


@dataclass
class Plan:
    lines: list[Planned]
    steps: list[Step]
    organisations: list[Organisation]

    @property
    def has_errors(self) -> bool:
        return any(line.outcome == Outcome.ERROR for line in self.lines)


class Planner:
    def __init__(self, ctx: Context, catalogue: Catalogue, held: Holdings, mode: Mode) -> None:
        self.ctx, self.catalogue, self.held, self.mode = ctx, catalogue, held, mode
        self.people: dict[str, Person] = {}
        #: people related to an organisation in any way count as its members already
        self.members: set[tuple[uuid.UUID, object]] = set(held.related)
        self.managers = set(held.managers)
        #: access key → (line, what it asks) for the lines already planned
        self.asked: dict[tuple[uuid.UUID, object, str, str], tuple[int, AccessAsked]] = {}
        #: person → (organisation, application, register) → the access a planned line gives them
        self.giving: dict[object, dict[tuple[uuid.UUID, str, str], Held]] = {}
        self.steps: list[Step] = []
        self.touched: dict[uuid.UUID, Organisation] = {}

    def _duties_kept(self, entry: Entry, person: Person, org: Organisation, asked: AccessAsked) -> bool:
        """Whether the access a line gives keeps the separation of duties, next to what the
        person holds and to what the file's earlier lines give them (a line's access replaces
        the one held for the same organisation × application × register)."""
        wanted = Held(org.id, asked.application, asked.register, asked.profile.key, f"line {entry.line}")
        giving = self.giving.setdefault(person.key, {})
        rules = self.catalogue.file.separation_of_duties
        if rules:
            held: dict[tuple[uuid.UUID, str, str], Held] = {}
            if person.user is not None:
                for (org_id, user_id, application, register), assignment in self.held.live.items():
                    if user_id == person.user.id and register == asked.register:
                        held[(org_id, application, register)] = Held(org_id, application, register, profile_key(assignment.role, assignment.data_level))
            held.update(giving)
            found = conflict(rules, wanted, held.values())
            if found is not None:
                rule, other = found
                names = {known.id: known.name for known in self.held.organisations.values()}
                source = f"asked for on {other.ref}" if other.ref else f"held at {names.get(other.organisation_id, 'another organisation')}"
                entry.problems.append(FieldError("role", refusal_text(rule, wanted, other, source)))
                return False
        giving[(org.id, asked.application, asked.register)] = wanted
        return True

    def plan(self, entries: list[Entry]) -> Plan:
        planned = [self._plan(entry) for entry in entries]
        return Plan(lines=planned, steps=self.steps, organisations=list(self.touched.values()))

    def _plan(self, entry: Entry) -> Planned:
        line = Planned(entry=entry)
        org = self._organisation(entry) if entry.nihdi else None
        person = self._person(entry, org) if org is not None and not entry.problems else None
        if entry.problems or org is None or person is None:
            line.outcome = Outcome.ERROR
            return line
        steps: list[Step] = []
        outcomes: set[Outcome] = set()
        if person.user is None and person.named_on == entry.line:
            steps.append(Step(StepKind.PREPARE, entry.line, person, org))
            outcomes.add(Outcome.CREATED)
        elif person.to_update and person.named_on == entry.line:
            steps.append(Step(StepKind.UPDATE_PERSON, entry.line, person, org))
            outcomes.add(Outcome.UPDATED)
        elif person.user is not None and not person.prepared and self._differs(entry, person):
            line.notes.append("people who have signed in keep the name and e-mail address of their own profile")
        if (org.id, person.key) not in self.members:
            self.members.add((org.id, person.key))  # type: ignore[arg-type]
            steps.append(Step(StepKind.ADD_MEMBER, entry.line, person, org))
            outcomes.add(Outcome.CREATED)
        if entry.access is not None:
            outcome = self._access(entry, line, person, org, steps)
        else:
            outcome = self._manager(entry, person, org, steps)
        if entry.problems:
            line.outcome = Outcome.ERROR
            return line
        outcomes.add(outcome)
        self.steps.extend(steps)
        self.touched[org.id] = org
        line.outcome = next((o for o in (Outcome.CREATED, Outcome.UPDATED) if o in outcomes), Outcome.UNCHANGED)
        return line

    def _organisation(self, entry: Entry) -> Organisation | None:
        org = self.held.organisations.get(entry.nihdi or "")
        if org is None:
            entry.problems.append(said("org_nihdi", N_("no organisation has the NIHDI number %(nihdi)s"), nihdi=entry.nihdi))
        elif org.status != OrganisationStatus.ACTIVE:
            entry.problems.append(said("org_nihdi", N_("%(organisation)s is disabled"), organisation=org.name))
        elif not self.ctx.allows(org_domain(org.id), "person", "register"):
            entry.problems.append(said("org_nihdi", N_("you are not an access manager of %(organisation)s"), organisation=org.name))
        else:
            return org
        return None

    def _person(self, entry: Entry, org: Organisation) -> Person | None:
        digest = national_number_hash(self.ctx.settings.national_number_key, entry.national_number) if entry.national_number else None
        by_id = self.held.by_id.get(entry.person_id) if entry.person_id else None
        if entry.person_id is not None and (by_id is None or (org.id, by_id.id) not in self.held.related):
            entry.problems.append(said("person_id", N_("no person %(person)s at %(organisation)s"), person=entry.person_id, organisation=org.name))
            return None
        user = self.held.by_number.get(digest) if digest else by_id
        if by_id is not None and digest is not None and (user is None or user.id != by_id.id):
            entry.problems.append(said("ssin", N_("this national number belongs to another person than person_id")))
            return None
        key = str(user.id) if user is not None else f"nn:{digest}"
        person = self.people.get(key)
        if person is None:
            person = self.people[key] = Person(user=user, digest=digest)
        if person.named_on is None:
            return self._name(entry, person)
        if (entry.name and entry.name != person.name) or (entry.email and entry.email != person.email):
            if person.prepared:
                entry.problems.append(said("name" if entry.name != person.name else "email", N_("line %(line)s names this person %(name)s <%(email)s>"), line=person.named_on, name=person.name, email=person.email))
                return None
        return person

    def _name(self, entry: Entry, person: Person) -> Person | None:
        if person.user is None:
            if not entry.name:
                entry.problems.append(said("last_name", N_("a person new to EAM needs a first and last name")))
            if not entry.email:
                entry.problems.append(said("email", N_("a person new to EAM needs a professional e-mail address")))
            if not entry.name or not entry.email:
                return None
        person.named_on = entry.line
        person.name = entry.name or (person.user.display_name if person.user else None)
        person.email = entry.email or (person.user.email if person.user else None)
        if person.user is not None and person.prepared:
            person.to_update = (person.name, person.email) != (person.user.display_name, person.user.email)
        return person

    @staticmethod
    def _differs(entry: Entry, person: Person) -> bool:
        assert person.user is not None
        return bool((entry.name and entry.name != person.user.display_name) or (entry.email and entry.email != person.user.email))

    def _manager(self, entry: Entry, person: Person, org: Organisation, steps: list[Step]) -> Outcome:
        if not entry.manager or (org.id, person.key) in self.managers:
            return Outcome.UNCHANGED
        if not self.ctx.allows(org_domain(org.id), "access_manager", "appoint"):
            entry.problems.append(said("role", N_("you may not appoint access managers of %(organisation)s"), organisation=org.name))
            return Outcome.ERROR
        self.managers.add((org.id, person.key))  # type: ignore[arg-type]
        steps.append(Step(StepKind.APPOINT, entry.line, person, org))
        return Outcome.UPDATED if person.user is not None else Outcome.CREATED

    def _access(self, entry: Entry, line: Planned, person: Person, org: Organisation, steps: list[Step]) -> Outcome:
        asked = entry.access
        assert asked is not None
        if isinstance(asked.valid_until, type(self.ctx.now)) and asked.valid_until <= self.ctx.now:
            entry.problems.append(said("valid_until", N_("lies in the past")))
            return Outcome.ERROR
        key = (org.id, person.key, asked.application, asked.register)
        wanted = (asked.profile.role, asked.profile.data_level, asked.author_group)
        earlier = self.asked.get(key)
        if earlier is not None:
            if earlier[1] == asked:
                line.notes.append(f"repeats line {earlier[0]}")
                return Outcome.UNCHANGED
            entry.problems.append(said("role", N_("line %(line)s asks otherwise for this person's %(application)s access to %(register)s"), line=earlier[0], application=asked.application, register=asked.register))
            return Outcome.ERROR
        self.asked[key] = (entry.line, asked)
        held_key: AccessKey | None = (org.id, person.user.id, asked.application, asked.register) if person.user else None
        live = self.held.live.get(held_key) if held_key else None
        pending = self.held.pending.get(held_key) if held_key else None
        same_end = asked.valid_until == UNSET or (live is not None and live.valid_until == asked.valid_until)
        if live is not None and profile_tuple(live) == wanted and same_end:
            return Outcome.UNCHANGED
        if pending is not None:
            if profile_tuple(pending) == wanted and (asked.valid_until == UNSET or pending.valid_until == asked.valid_until) and self.mode == Mode.AWAITING_APPROVAL:
                return Outcome.UNCHANGED
            entry.problems.append(said("role", N_("a request for this access is pending: approve or reject it first")))
            return Outcome.ERROR
        if live is not None and asked.valid_until == UNSET:
            asked = replace(asked, valid_until=live.valid_until)  # a change keeps the end date held
        if not self._duties_kept(entry, person, org, asked):
            return Outcome.ERROR
        if self.mode == Mode.PRE_APPROVED:
            owned = person.user is not None and person.user.id == self.ctx.user.id
            action = "update" if live is not None else "create"
            if not self.ctx.allows(org_domain(org.id), own_object("assignment") if owned else "assignment", action):
                if owned:
                    entry.problems.append(said("role", N_("nobody grants access to themselves")))
                else:
                    entry.problems.append(said("role", N_("only access managers of %(organisation)s pre-approve access"), organisation=org.name))
                return Outcome.ERROR
            steps.append(Step(StepKind.CHANGE if live else StepKind.GRANT, entry.line, person, org, asked, live.id if live else None))
            return Outcome.UPDATED if live is not None else Outcome.CREATED
        steps.append(Step(StepKind.CHANGE_REQUEST if live else StepKind.REQUEST, entry.line, person, org, asked, live.id if live else None))
        if live is not None:
            line.notes.append("asks to change the access held")
        return Outcome.CREATED
