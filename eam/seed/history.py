"""The history of one organisation: access requests, the assignments approved from them, their
``p2`` Casbin rows and the audit events the services would have written.

Per organisation (sizes and mixes in :mod:`eam.seed.shape`):

- each employee gets a Pareto weight; the organisation's requests are dealt to employees by
  weight, each on an application x register pair the employee does not use yet (so there is at
  most one live assignment, and one pending request, per user x organisation x pair);
- an approved request was decided by an access manager of the organisation (another person
  than the requester where the organisation has one) a log-normal delay after it was sent
  (median three hours, a long tail of days), and its assignment starts then; scheduled ones
  start within 90 days (approved recently, as an access manager planning a start date);
- only one Local Study Lead per register and organisation (as HD4DP v2 requires): further
  leads are associates; Local Study Support names a colleague's author group;
- requests are spread over the last three years, more of them recent (a growing platform);
  pending ones were sent within the request lifetime, so they are still pending now.

Audit events mirror the services: ``access_request.submitted`` by the requester,
``access_request.approved|rejected|withdrawn`` by the decider (before/after snapshots),
``assignment.created`` by the approver, ``assignment.revoked`` with the reason,
``assignment.expired`` and ``access_request.expired`` by the expiry sweep. Snapshots come from
the models' own ``snapshot`` methods. Actors carry the suffix ``(demo data)`` like ``eam demo-data``.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import operator
from collections import Counter
from collections.abc import Iterator

from eam.access_requests.models import AccessRequest
from eam.assignments.models import Assignment
from eam.authz.vocabulary import register_access_rule
from eam.catalogue.loader import CatalogueFile
from eam.core.audit import EXPIRY, SYSTEM_PREFIX
from eam.seed import names
from eam.seed.generate import COLUMNS, HISTORY, Generator, Org, Person, _Row, rule_row
from eam.seed.shape import (
    ASSIGNMENT_OUTCOMES,
    HD4DP2_MIX,
    HEALTHSTAT_MIX,
    NARROWED,
    OTHER_REQUESTS,
    draw_counts,
    outcome,
    pick_distinct,
    weighted_sample,
    zipf_weights,
)

Rows = dict[str, list[tuple[object, ...]]]
#: Profile as stored: (role, data_level).
Profile = tuple[str, str | None]
SWEEP_ACTOR = f"{SYSTEM_PREFIX}{EXPIRY} (demo data)"
DAY = dt.timedelta(days=1)


class History:
    def __init__(self, gen: Generator, catalogue: CatalogueFile, combos: list[tuple[str, str]], request_ttl_days: int) -> None:
        """``combos``: every application x register pair, most popular first."""
        self.gen, self.rng, self.now = gen, gen.rng, gen.now
        self.combos = combos
        self.combo_weights = zipf_weights(len(combos))
        self.ttl = dt.timedelta(days=request_ttl_days)
        self.outcomes: Counter[str] = Counter()
        #: A seeded employee with an open-ended active assignment: (subject, what they hold).
        self.example: tuple[str, str] | None = None
        self.profiles: dict[str, tuple[list[tuple[Profile, bool]], list[float]]] = {}
        self.wider: dict[tuple[str, Profile], list[Profile]] = {}
        mixes = {"healthstat": HEALTHSTAT_MIX, "hd4dp2": HD4DP2_MIX}
        for app, spec in catalogue.applications.items():
            mix = mixes.get(app, {})
            choices = [((p.role, p.data_level), p.author_group == "required") for p in spec.profiles]
            weights = [mix.get(p.key, 0.0) for p in spec.profiles]
            self.profiles[app] = (choices, list(_accumulate(weights if any(weights) else [1.0] * len(choices))))
            for p in spec.profiles:
                for target in p.narrows_to:
                    role, _, level = target.partition("/")
                    self.wider.setdefault((app, (role, level or None)), []).append((p.role, p.data_level))

    def organisation(self, org: Org) -> Iterator[Rows]:
        """The organisation's rows, in batches of a few thousand requests."""
        rng = self.rng
        combos = weighted_sample(rng, self.combos, self.combo_weights, org.combos)
        cumulative = list(_accumulate(zipf_weights(len(combos))))
        others = [outcome(rng, OTHER_REQUESTS) for _ in range(round(org.assignments * sum(s for _, s in OTHER_REQUESTS)))]
        weights = [rng.paretovariate(1.2) for _ in org.employees]
        counts = draw_counts(rng, org.assignments + len(others), weights, len(combos))
        pairs = [(person, combo) for person, count in zip(org.employees, counts, strict=True) for combo in pick_distinct(rng, combos, cumulative, count)]
        rng.shuffle(pairs)
        leads: set[str] = set()
        rows: Rows = _empty()
        for index, (person, (app, register)) in enumerate(pairs):
            if index < org.assignments:
                self.approved(rows, org, person, app, register, leads)
            else:
                self.unapproved(rows, org, person, app, register, others[index - org.assignments])
            if len(rows["access_requests"]) >= 5000:
                yield rows
                rows = _empty()
        yield rows

    # -- one request ---------------------------------------------------------------------

    def profile(self, org: Org, app: str, register: str, leads: set[str] | None) -> tuple[Profile, str | None]:
        choices, cumulative = self.profiles[app]
        (role, level), needs_group = choices[bisect.bisect_right(cumulative, self.rng.random() * cumulative[-1], hi=len(choices) - 1)]
        if leads is not None and role == "local_study_lead":
            if register in leads:
                role = "local_study_associate"
            leads.add(register)
        group = self.rng.choice(org.employees).display_name if needs_group else None
        return (role, level), group

    def sent(self) -> dt.datetime:
        """When a decided request was sent: within the history, denser towards now."""
        return self.now - HISTORY * (1 - math.sqrt(self.rng.random())) - DAY

    def decided(self, sent: dt.datetime) -> dt.datetime:
        minutes = min(max(2.0, self.rng.lognormvariate(math.log(180), 1.3)), 10 * 24 * 60)
        return min(sent + dt.timedelta(minutes=minutes), self.now - dt.timedelta(minutes=1))

    def decider(self, org: Org, requester: Person) -> Person:
        others = [m for m in org.managers if m.id != requester.id]
        return self.rng.choice(others or org.managers)

    def approved(self, rows: Rows, org: Org, person: Person, app: str, register: str, leads: set[str]) -> None:
        rng, now, gen = self.rng, self.now, self.gen
        state = outcome(rng, ASSIGNMENT_OUTCOMES)
        self.outcomes[f"assignments {state}"] += 1
        (role, level), group = self.profile(org, app, register, leads)
        asked = (role, level)
        if self.wider.get((app, asked)) and rng.random() < NARROWED:
            asked = rng.choice(self.wider[(app, asked)])
        if state == "scheduled":
            decided = now - DAY * 14 * rng.random()
            sent = decided - dt.timedelta(minutes=rng.uniform(2, 600))
            valid_from = now + DAY * rng.uniform(1, 90)
            valid_until = valid_from + DAY * rng.uniform(30, 365) if rng.random() < 0.5 else None
        else:
            sent = self.sent()
            decided = valid_from = self.decided(sent)
            valid_until = None
            if state == "active" and rng.random() < 0.2:
                valid_until = now + DAY * rng.uniform(7, 730)
            elif state == "revoked" and rng.random() < 0.3:
                valid_until = now + DAY * rng.uniform(7, 730)
            elif state == "expired":
                valid_until = valid_from + (now - valid_from) * rng.uniform(0.2, 0.95)
        manager = self.decider(org, person)
        comment = "narrowed: a smaller profile is enough" if asked != (role, level) else rng.choice(names.APPROVAL_COMMENTS)
        request = _Row(
            id=gen.uuid(), requester_id=person.id, organisation_id=org.id, application=app, register_code=register,
            role=asked[0], data_level=asked[1], author_group=group, justification=rng.choice(names.JUSTIFICATIONS),
            valid_until=valid_until, status="pending", created_at=sent, expires_at=sent + self.ttl, decided_at=None,
            decided_by=None, decision_comment=None, assignment_id=None,
        )
        pending = AccessRequest.snapshot(request)  # type: ignore[arg-type]
        request.status, request.decided_at, request.decided_by, request.decision_comment = "approved", decided, manager.id, comment
        approved_snapshot = AccessRequest.snapshot(request)  # type: ignore[arg-type]
        assignment = _Row(
            id=gen.uuid(), user_id=person.id, organisation_id=org.id, application=app, register_code=register, role=role,
            data_level=level, author_group=group, valid_from=valid_from, valid_until=valid_until, status="active",
            request_id=request.id, created_at=decided, created_by=manager.id, updated_at=decided, revoked_at=None,
            revoked_by=None, revoke_reason=None,
        )
        request.assignment_id = assignment.id
        events = rows["audit_events"]
        events.append(gen.event(sent, person.id, person.actor, "access_request.submitted", org.id, "access_request", request.id, None, pending))
        events.append(gen.event(decided, manager.id, manager.actor, "access_request.approved", org.id, "access_request", request.id, pending, approved_snapshot))
        live = Assignment.snapshot(assignment)  # type: ignore[arg-type]
        events.append(gen.event(decided, manager.id, manager.actor, "assignment.created", org.id, "assignment", assignment.id, None, live))
        if state == "revoked":
            by = self.decider(org, person)
            assignment.revoked_at = assignment.updated_at = valid_from + (now - valid_from) * rng.uniform(0.05, 0.98)
            assignment.status, assignment.revoked_by, assignment.revoke_reason = "revoked", by.id, rng.choice(names.REVOCATIONS)
            after = {**Assignment.snapshot(assignment), "reason": assignment.revoke_reason}  # type: ignore[arg-type]
            events.append(gen.event(assignment.revoked_at, by.id, by.actor, "assignment.revoked", org.id, "assignment", assignment.id, live, after))
        elif state == "expired":
            assignment.status, assignment.updated_at = "expired", valid_until
            after = Assignment.snapshot(assignment)  # type: ignore[arg-type]
            events.append(gen.event(valid_until, None, SWEEP_ACTOR, "assignment.expired", org.id, "assignment", assignment.id, live, after))
        else:  # active or scheduled: live, so it holds its one p2 row
            if state == "active" and valid_until is None and self.example is None:
                self.example = (person.subject, f"{app} {register} at {org.name}")
            rule = register_access_rule(
                person.id, org.id, app, register, role=role, data_level=level, author_group=group,
                valid_from=valid_from, valid_until=valid_until,
            )
            rows["casbin_rule"].append(rule_row(rule))
        rows["access_requests"].append(_values(request, "access_requests"))
        rows["assignments"].append(_values(assignment, "assignments"))

    def unapproved(self, rows: Rows, org: Org, person: Person, app: str, register: str, state: str) -> None:
        rng, now, gen = self.rng, self.now, self.gen
        self.outcomes[f"requests {state}"] += 1
        (role, level), group = self.profile(org, app, register, None)
        if state == "pending":
            sent = now - (self.ttl - DAY) * rng.random() - dt.timedelta(minutes=1)
        elif state == "expired":
            sent = min(self.sent(), now - self.ttl - DAY)
        else:
            sent = self.sent()
        request = _Row(
            id=gen.uuid(), requester_id=person.id, organisation_id=org.id, application=app, register_code=register,
            role=role, data_level=level, author_group=group, justification=rng.choice(names.JUSTIFICATIONS),
            valid_until=None, status="pending", created_at=sent, expires_at=sent + self.ttl, decided_at=None,
            decided_by=None, decision_comment=None, assignment_id=None,
        )
        pending = AccessRequest.snapshot(request)  # type: ignore[arg-type]
        events = rows["audit_events"]
        events.append(gen.event(sent, person.id, person.actor, "access_request.submitted", org.id, "access_request", request.id, None, pending))
        if state != "pending":
            if state == "expired":
                actor_id, actor, request.decided_at = None, SWEEP_ACTOR, request.expires_at
            elif state == "withdrawn":
                actor_id, actor, request.decided_at, request.decided_by = person.id, person.actor, self.decided(sent), person.id
            else:
                manager = self.decider(org, person)
                actor_id, actor, request.decided_at, request.decided_by = manager.id, manager.actor, self.decided(sent), manager.id
                request.decision_comment = rng.choice(names.REJECTIONS)
            request.status = state
            after = AccessRequest.snapshot(request)  # type: ignore[arg-type]
            events.append(gen.event(request.decided_at, actor_id, actor, f"access_request.{state}", org.id, "access_request", request.id, pending, after))
        rows["access_requests"].append(_values(request, "access_requests"))


def _empty() -> Rows:
    return {"access_requests": [], "assignments": [], "casbin_rule": [], "audit_events": []}


_GETTERS = {table: operator.attrgetter(*COLUMNS[table]) for table in ("access_requests", "assignments")}


def _values(row: _Row, table: str) -> tuple[object, ...]:
    return _GETTERS[table](row)  # type: ignore[no-any-return]


def _accumulate(weights: list[float]) -> Iterator[float]:
    total = 0.0
    for weight in weights:
        total += weight
        yield total
