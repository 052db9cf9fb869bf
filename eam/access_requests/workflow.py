"""The access-request workflow: submit, approve (optionally narrowed), reject, withdraw, expire.

Every transition is a compare-and-set ``UPDATE … WHERE status = 'pending' AND expires_at > now``
whose row count decides the winner: of two access managers deciding at once, one succeeds and
the other gets 409, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
from sqlalchemy import and_, bindparam, or_, Select, select, update
from sqlalchemy.orm import aliased

from eam.access_requests.models import AccessRequest
from eam.core.enums import RequestStatus
from eam.access_requests.schemas import AccessRequestCreate, AccessRequestOut, ApproveIn, ChangeRequestIn, RejectIn
from eam.assignments import renewal
from eam.assignments.schemas import AssignmentPatch
from eam.assignments.service import change, check_end_date, get_assignment, grant, live_assignment
from eam.core.audit import EXPIRY, Auditor
from eam.authz.vocabulary import org_domain
from eam.core.database import new_id
from eam.catalogue.schemas import Profile, profile_of
from eam.core.errors import AlreadyAssigned, DuplicateRequest, FieldError, Forbidden, NotFound, NotPending, ValidationFailed
from eam.notifications.access_requests import request_decided, request_expired, request_submitted
from eam.organisations.models import Organisation
from eam.organisations.service import check_active, organisation_ref, require_active_reference
from eam.users.models import User
from eam.users.schemas import UserRef, user_ref
from eam.core.context import Context

#: The decision comment of a request its requester replaced with a changed one.
AMENDED = "replaced by the requester with a changed request"

Requester = aliased(User)
Decider = aliased(User)


def _user_ref(user: User | None) -> UserRef | None:
    return user_ref(user) if user else None


def request_out(row: Any, now: dt.datetime) -> AccessRequestOut:
    request, org, requester, decider = row
    return AccessRequestOut(
        id=request.id,
        status=request.effective_status(now),
        organisation=organisation_ref(org),
        requester=_user_ref(requester),  # type: ignore[arg-type]
        application=request.application,
        register=request.register_code,
        profile=profile_of(request),
        justification=request.justification,
        valid_until=request.valid_until,
        created_at=request.created_at,
        expires_at=request.expires_at,
        decided_at=request.decided_at,
        decided_by=_user_ref(decider),
        decision_comment=request.decision_comment,
        assignment_id=request.assignment_id,
        changes_assignment_id=request.changes_assignment_id,
        escalation_level=request.escalation_level,
        escalated_at=request.escalated_at,
    )


#: A request with its organisation, requester and decider, as :func:`request_out` shows it.
_REQUEST_ROWS = (
    select(AccessRequest, Organisation, Requester, Decider)
    .join(Organisation, Organisation.id == AccessRequest.organisation_id)
    .join(Requester, Requester.id == AccessRequest.requester_id)
    .outerjoin(Decider, Decider.id == AccessRequest.decided_by)
)


def visible_statement(ctx: Context) -> Select[Any]:
    """Requests the caller may read: their own, their organisations' (access managers), all (admins)."""
    stmt = _REQUEST_ROWS
    org_ids = ctx.readable_organisations("access_request")
    if org_ids is not None:
        stmt = stmt.where(or_(AccessRequest.requester_id == ctx.user.id, AccessRequest.organisation_id.in_(org_ids)))
    return stmt


def filter_by_status(stmt: Select[Any], status: str | None, now: dt.datetime) -> Select[Any]:
    """Filter on the status users see: a pending request past its expiry is expired."""
    if status == RequestStatus.PENDING:
        return stmt.where(AccessRequest.status == RequestStatus.PENDING, AccessRequest.expires_at > now)
    if status == RequestStatus.EXPIRED:
        return stmt.where(
            or_(AccessRequest.status == RequestStatus.EXPIRED, and_(AccessRequest.status == RequestStatus.PENDING, AccessRequest.expires_at <= now))
        )
    if status is not None:
        return stmt.where(AccessRequest.status == status)
    return stmt


def _one_statement(for_members: bool) -> Select[Any]:
    """One request with its organisation, requester and decider, built once: for platform admins
    (any request), or for others (their own, or their organisations', bound per call)."""
    stmt = _REQUEST_ROWS.where(AccessRequest.id == bindparam("request_id"))
    if for_members:
        stmt = stmt.where(
            or_(AccessRequest.requester_id == bindparam("caller_id"), AccessRequest.organisation_id.in_(bindparam("org_ids", expanding=True)))
        )
    return stmt.execution_options(populate_existing=True)


_ONE_FOR_ADMINS = _one_statement(for_members=False)
_ONE_FOR_MEMBERS = _one_statement(for_members=True)

#: The compare-and-set of a decision, built once (see :func:`_decide`).
_DECIDE = (
    update(AccessRequest)
    .where(AccessRequest.id == bindparam("request_id"), AccessRequest.status == RequestStatus.PENDING, AccessRequest.expires_at > bindparam("now"))
    .values(
        status=bindparam("new_status"),
        decided_at=bindparam("now"),
        decided_by=bindparam("decider"),
        decision_comment=bindparam("comment"),
        assignment_id=bindparam("created_assignment"),
    )
    .returning(AccessRequest)
    .execution_options(synchronize_session=False, populate_existing=True)
)


async def get_request(ctx: Context, request_id: uuid.UUID) -> Any:
    org_ids = ctx.readable_organisations("access_request")
    if org_ids is None:
        found = await ctx.session.execute(_ONE_FOR_ADMINS, {"request_id": request_id})
    else:
        found = await ctx.session.execute(_ONE_FOR_MEMBERS, {"request_id": request_id, "caller_id": ctx.user.id, "org_ids": org_ids})
    row = found.first()
    if row is None:
        raise NotFound(f"no access request {request_id}")
    request = row[0]
    ctx.require_in(request.organisation_id, "access_request", "read", owner_id=request.requester_id)
    return row


async def submit(ctx: Context, data: AccessRequestCreate) -> AccessRequest:
    ctx.require(org_domain(data.organisation_id), "access_request", "create")
    org = await require_active_reference(ctx, data.organisation_id)
    await ctx.catalogue.require_register_in(ctx.session, data.register, data.application)
    await ctx.catalogue.require_open(ctx.session, data.register, ctx.now)
    ctx.catalogue.resolve_profile(data.application, data.profile)
    if len(data.justification.strip()) < 10:
        raise ValidationFailed("justification too short", [FieldError("$.justification", "needs at least 10 non-blank characters")])
    check_end_date(data.valid_until, ctx.now)
    await _refuse_pending_duplicate(ctx, org, data.application, data.register)
    assigned = await live_assignment(ctx, ctx.user.id, org.id, data.application, data.register)
    if assigned is not None:
        raise AlreadyAssigned(
            f"you already hold {data.application}/{data.register} at {org.name}; ask an access manager to change it",
            existing=f"/v1/assignments/{assigned.id}",
        )
    return await _add_pending(ctx, org, data.application, data.register, data.profile, data.justification, data.valid_until)


async def _add_pending(
    ctx: Context,
    org: Organisation,
    application: str,
    register: str,
    profile: Profile,
    justification: str,
    valid_until: dt.datetime | None,
    changes: uuid.UUID | None = None,
    requester_id: uuid.UUID | None = None,
    notify: bool = True,
) -> AccessRequest:
    """Record a pending request by the caller, or by the caller for ``requester_id`` (audited as
    submitted); it expires unless decided. The organisation's access managers are mailed (the
    outbox rows commit with the request) unless ``notify`` is False (an import's requests: one
    mail per line would flood them; they find them in the inbox)."""
    request = AccessRequest(
        requester_id=requester_id or ctx.user.id,
        submitted_by=ctx.user.id if requester_id not in (None, ctx.user.id) else None,
        organisation_id=org.id,
        application=application,
        register_code=register,
        role=profile.role,
        data_level=profile.data_level,
        author_group=profile.author_group,
        justification=justification,
        valid_until=valid_until,
        status=RequestStatus.PENDING,
        created_at=ctx.now,
        expires_at=ctx.now + dt.timedelta(days=ctx.settings.request_ttl_days),
        changes_assignment_id=changes,
    )
    ctx.session.add(request)
    await ctx.session.flush()
    ctx.audit.record("access_request.submitted", target_type="access_request", target_id=request.id, organisation_id=org.id, after=request.snapshot())
    if notify:
        await request_submitted(ctx, request, org)
    return request


async def submit_for(
    ctx: Context,
    requester_id: uuid.UUID,
    org: Organisation,
    application: str,
    register: str,
    profile: Profile,
    justification: str,
    valid_until: dt.datetime | None,
    changes: uuid.UUID | None = None,
) -> AccessRequest:
    """An access manager submits a request on a person's behalf (an import awaiting approval):
    it waits for a decision like any request, and four-eyes keeps its submitter from deciding it.
    The caller checked the rules a request is held to (the import's plan does, for every line)."""
    ctx.require(org_domain(org.id), "person", "register")
    return await _add_pending(ctx, org, application, register, profile, justification, valid_until, changes, requester_id=requester_id, notify=False)


async def _refuse_pending_duplicate(ctx: Context, org: Organisation, application: str, register: str) -> None:
    """One pending request per person × organisation × application × register (new or change)."""
    await expire_due(ctx, requester_id=ctx.user.id)
    pending = await ctx.session.scalar(
        select(AccessRequest).where(
            AccessRequest.requester_id == ctx.user.id,
            AccessRequest.organisation_id == org.id,
            AccessRequest.application == application,
            AccessRequest.register_code == register,
            AccessRequest.status == RequestStatus.PENDING,
        )
    )
    if pending is not None:
        raise DuplicateRequest(
            f"you already asked for {application}/{register} at {org.name}; it is pending",
            existing=f"/v1/access-requests/{pending.id}",
        )


async def ask_change(ctx: Context, assignment_id: uuid.UUID, data: ChangeRequestIn) -> AccessRequest:
    """A holder asks to change (another profile) or extend (another end date) access they hold,
    or to renew it up to ``EAM_RENEWAL_GRACE_DAYS`` after it ended (:mod:`eam.assignments.renewal`).

    It reaches the organisation's access managers like any request, under the same rules (one
    pending per access, expiry, four-eyes); approving it changes the assignment in place (or
    reopens it, if it had ended), so the holder keeps access throughout. Never for a revoked
    assignment, nor for a register that has ended.
    """
    assignment, _holder, org, _creator, _revoker = await get_assignment(ctx, assignment_id)
    if assignment.user_id != ctx.user.id:
        raise Forbidden("only the holder asks for a change; access managers change access directly")
    renewal.check_renewable(ctx, assignment)
    if renewal.is_ended(assignment, ctx.now) and (data.valid_until is msgspec.UNSET or data.valid_until == assignment.valid_until):
        raise ValidationFailed("a renewal asks for a new end date", [FieldError("$.valid_until", "the assignment has ended: ask for a new end date (or null for none)")])
    ctx.require(org_domain(org.id), "access_request", "create")
    check_active(org)
    await ctx.catalogue.require_open(ctx.session, assignment.register_code, ctx.now)
    profile = data.profile or profile_of(assignment)
    ctx.catalogue.resolve_profile(assignment.application, profile)
    valid_until = assignment.valid_until if data.valid_until is msgspec.UNSET else data.valid_until
    if profile == profile_of(assignment) and valid_until == assignment.valid_until:
        raise ValidationFailed("the change asks for what is held already", [FieldError("$", "ask for another profile or another end date")])
    check_end_date(valid_until, ctx.now)  # type: ignore[arg-type]
    if len(data.justification.strip()) < 10:
        raise ValidationFailed("justification too short", [FieldError("$.justification", "needs at least 10 non-blank characters")])
    await _refuse_pending_duplicate(ctx, org, assignment.application, assignment.register_code)
    return await _add_pending(
        ctx, org, assignment.application, assignment.register_code, profile, data.justification, valid_until, changes=assignment.id  # type: ignore[arg-type]
    )


async def _decide(
    ctx: Context, request_id: uuid.UUID, action: str, new_status: str, comment: str | None, assignment_id: uuid.UUID | None = None
) -> tuple[Any, ...]:
    """Authorise, then compare-and-set ``pending`` → ``new_status``; 409 for the loser of a race.

    An approval records the id of the assignment it goes on to create in the same update.

    Returns the request as decided (read back by the ``UPDATE … RETURNING`` itself), its
    organisation, its requester and the caller as decider, as :func:`request_out` shows them.
    """
    row = await get_request(ctx, request_id)
    request: AccessRequest = row[0]
    # Four-eyes: whoever submitted a request on the requester's behalf (an import) decides it no
    # more than the requester does; it is theirs as far as deciding goes.
    raised_by_caller = request.submitted_by is not None and request.submitted_by == ctx.user.id
    ctx.require_in(request.organisation_id, "access_request", action, owner_id=ctx.user.id if raised_by_caller else request.requester_id)
    before = request.snapshot()
    params = {
        "request_id": request_id,
        "now": ctx.now,
        "new_status": new_status,
        "decider": ctx.actor_id,
        "comment": comment,
        "created_assignment": assignment_id,
    }
    decided = await ctx.session.scalar(_DECIDE, params)
    if decided is None:
        await ctx.session.refresh(request)
        raise NotPending(
            f"access request {request_id} is {request.effective_status(ctx.now)}, not pending",
            current_status=request.effective_status(ctx.now),
        )
    ctx.audit.record(f"access_request.{new_status}", target_type="access_request", target_id=decided.id, organisation_id=decided.organisation_id, before=before, after=decided.snapshot())
    if new_status == RequestStatus.REJECTED:
        await request_decided(ctx, decided, row[1], row[2])  # an approval mails once it knows what it granted
    return decided, row[1], row[2], ctx.user


async def approve(ctx: Context, request_id: uuid.UUID, data: ApproveIn) -> tuple[Any, ...]:
    """Approve as asked or narrowed; the assignment and its policy row commit with the decision.

    A change request changes the assignment it names, in place (it must still be live, or have
    ended within the renewal grace period: then it is reopened, :mod:`eam.assignments.renewal`)."""
    changes = (await get_request(ctx, request_id))[0].changes_assignment_id
    assignment_id = changes or new_id()
    decided = await _decide(ctx, request_id, "approve", RequestStatus.APPROVED, data.comment, assignment_id)
    request: AccessRequest = decided[0]
    check_active(decided[1])
    requested = ctx.catalogue.resolve_profile(request.application, profile_of(request))
    approved_profile = data.profile or profile_of(request)
    approved = ctx.catalogue.resolve_profile(request.application, approved_profile)
    ctx.catalogue.check_narrowing(request.application, requested, approved)
    valid_until = data.valid_until if data.valid_until is not None else request.valid_until
    check_end_date(valid_until, ctx.now)
    await request_decided(ctx, request, decided[1], decided[2], approved_profile, valid_until)
    if changes is not None:
        assignment = (await get_assignment(ctx, changes, for_update=True))[0]
        if renewal.is_ended(assignment, ctx.now):  # a renewal: reopened first, then changed like any
            ctx.require_in(assignment.organisation_id, "assignment", "update", owner_id=assignment.user_id)
            await renewal.extend_to(ctx, assignment, valid_until, data.comment, asked_at=request.created_at)
        await change(ctx, changes, AssignmentPatch(profile=approved_profile, valid_until=valid_until, comment=data.comment))
        return decided
    await grant(
        ctx,
        user_id=request.requester_id,
        organisation_id=request.organisation_id,
        application=request.application,
        register=request.register_code,
        profile=approved,
        author_group=approved_profile.author_group,
        valid_from=ctx.now,
        valid_until=valid_until,
        request_id=request.id,
        assignment_id=assignment_id,
    )
    return decided


async def reject(ctx: Context, request_id: uuid.UUID, data: RejectIn) -> tuple[Any, ...]:
    if not data.reason.strip():
        raise ValidationFailed("a reason is required", [FieldError("$.reason", "must not be blank")])
    return await _decide(ctx, request_id, "reject", RequestStatus.REJECTED, data.reason)


async def withdraw(ctx: Context, request_id: uuid.UUID, reason: str | None = None) -> tuple[Any, ...]:
    """The optional reason is kept as the decision comment (and so in the audit event)."""
    if reason is not None and not reason.strip():
        raise ValidationFailed("a reason, when given, must not be blank", [FieldError("$.reason", "must not be blank")])
    return await _decide(ctx, request_id, "withdraw", RequestStatus.WITHDRAWN, reason)


async def amend(ctx: Context, request_id: uuid.UUID, data: AccessRequestCreate) -> AccessRequest:
    """The requester changes their pending request: it is withdrawn (noting why) and the new
    version submitted, in the one transaction, so the access managers only ever see one of them."""
    row = await get_request(ctx, request_id)
    if row[0].requester_id != ctx.user.id:
        raise Forbidden("only the requester can change a request")
    await withdraw(ctx, request_id, AMENDED)
    return await submit(ctx, data)


async def expire_due(ctx: Context, requester_id: uuid.UUID | None = None) -> int:
    """Mark pending requests past ``expires_at`` expired (they already read as expired).

    Recorded by the system actor ``expiry`` whoever's operation came across them; the requester
    is mailed that their request expired undecided.
    """
    session, now = ctx.session, ctx.now
    auditor = Auditor.system(session, EXPIRY, now)
    stmt = select(AccessRequest).where(AccessRequest.status == RequestStatus.PENDING, AccessRequest.expires_at <= now)
    if requester_id is not None:
        stmt = stmt.where(AccessRequest.requester_id == requester_id)
    count = 0
    for request in (await session.scalars(stmt)).all():
        result = await session.execute(
            update(AccessRequest)
            .where(AccessRequest.id == request.id, AccessRequest.status == RequestStatus.PENDING)
            .values(status=RequestStatus.EXPIRED, decided_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            before = request.snapshot()
            await session.refresh(request)
            auditor.record("access_request.expired", target_type="access_request", target_id=request.id, organisation_id=request.organisation_id, before=before, after=request.snapshot())
            await request_expired(ctx, request)
            count += 1
    return count
