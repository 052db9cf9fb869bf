"""The audit trail as a page: access managers and auditors read their organisations' events,
platform admins and platform-wide auditors all of them (the rule of :func:`eam.audit.service.list_events`, as in the API), newest first,
filtered by person, register, action, organisation and period.

A period is given in Brussels days: from the start of the first day to the end of the last,
as UTC instants (:func:`eam.ui.i18n.start_of_day`, :func:`eam.ui.i18n.end_of_day`).

The page links to the API's JSON Lines export of the same events (the browser's session cookie
signs the download in), with the page's filters as the API's parameters.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, get
from litestar.params import Parameter
from litestar.response import Template

from eam.audit.schemas import AuditEventOut
from eam.audit.service import AuditFilter, list_events
from eam.catalogue.schemas import Profile
from eam.catalogue.service import list_registers
from eam.core.audit import SYSTEM_PREFIX
from eam.core.errors import EAMError
from eam.organisations.schemas import OrganisationRef
from eam.organisations.service import get_organisation, organisation_ref
from eam.ui.forms import Form
from eam.ui.i18n import N_, end_of_day, start_of_day
from eam.ui.messages import STATUSES
from eam.ui.pages.admin import CursorText
from eam.ui.pages.employee import REGISTERS_SHOWN, SearchText
from eam.ui.pages.people import chosen_person, people_found
from eam.ui.visit import Visit
from eam.users.flows import standing

AUDIT_PAGE = 50
#: The `` <subject>`` part of how the trail names an actor.
SUBJECT = re.compile(r" <[^<>]*>")
Short = Annotated[str | None, Parameter(max_length=64)]

#: Every action EAM records, as a person reads it.
ACTIONS: dict[str, str] = {
    "access_request.submitted": N_("Access requested"),
    "access_request.approved": N_("Request approved"),
    "access_request.rejected": N_("Request rejected"),
    "access_request.withdrawn": N_("Request withdrawn"),
    "access_request.expired": N_("Request expired"),
    "access_request.escalated": N_("Request escalated"),
    "assignment.created": N_("Access granted"),
    "assignment.changed": N_("Access changed"),
    "assignment.revoked": N_("Access revoked"),
    "assignment.expired": N_("Access expired"),
    "assignment.extended": N_("Access extended"),
    "assignment.renewed": N_("Access renewed"),
    "assignment.reminded": N_("Reminded: access ends soon"),
    "access_review.started": N_("Access review started"),
    "access_review.decided": N_("Access reviewed"),
    "access_review.closed": N_("Access review closed"),
    "access_review.reminded": N_("Reviewers reminded"),
    "access_manager.appointed": N_("Access manager appointed"),
    "access_manager.removed": N_("Access manager removed"),
    "auditor.appointed": N_("Auditor appointed"),
    "auditor.removed": N_("Auditor removed"),
    "person.left": N_("Person left the organisation"),
    "person.prepared": N_("Person registered before their first sign-in"),
    "person.added": N_("Person added to the organisation"),
    "person.updated": N_("Person's name or e-mail changed"),
    "person.linked": N_("First sign-in of a registered person"),
    "import.applied": N_("CSV file imported"),
    "organisation.exported": N_("Organisation exported as CSV"),
    "outbox.resent": N_("Message sent again"),
    "organisation.created": N_("Organisation added"),
    "organisation.updated": N_("Organisation changed"),
    "organisation.disabled": N_("Organisation disabled"),
    "organisation.enabled": N_("Organisation enabled"),
    "organisation.unmanaged_noticed": N_("Platform admins told: no access manager"),
    "register.added": N_("Register added"),
    "register.end_set": N_("Register end date set"),
    "service_client.created": N_("Service client registered"),
    "service_client.scopes_changed": N_("Service client scopes changed"),
    "service_client.secret_rotated": N_("Service client secret replaced"),
    "service_client.disabled": N_("Service client disabled"),
    "signing_key.rotated": N_("Signing key rotated"),
    "signing_key.retired": N_("Signing key retired"),
    "grant_token.revoked": N_("Grant token revoked"),
    "user.signed_in": N_("Signed in"),
    "user.updated": N_("Profile changed"),
    "webhook.created": N_("Webhook subscribed"),
    "webhook.paused": N_("Webhook paused"),
    "webhook.resumed": N_("Webhook resumed"),
    "webhook.deleted": N_("Webhook deleted"),
    "webhook.replayed": N_("Webhook delivery sent again"),
}
TARGETS: dict[str, str] = {
    "access_request": N_("Request"),
    "assignment": N_("Access"),
    "organisation": N_("Organisation"),
    "user": N_("Person"),
    "register": N_("Register"),
    "service_client": N_("Service client"),
    "signing_key": N_("Signing key"),
    "grant_token": N_("Grant token"),
    "webhook": N_("Webhook"),
}


class EventView(msgspec.Struct, frozen=True):
    """One event as the page shows it."""

    event: AuditEventOut
    actor: str
    action: str
    target: str
    details: list[str]


def actor_name(actor: str, gettext: Any) -> str:
    """``Alice <alice>`` → ``Alice`` (the sign-in subject is for machines); ``system:expiry`` →
    ``EAM (expiry)``."""
    if actor.startswith(SYSTEM_PREFIX):
        return gettext(N_("EAM (%(task)s)"), task=actor.removeprefix(SYSTEM_PREFIX))
    return SUBJECT.sub("", actor)


def event_view(visit: Visit, event: AuditEventOut) -> EventView:
    _ = visit.gettext
    snapshot: dict[str, Any] = event.after or event.before or {}
    kind = _(TARGETS[event.target_type]) if event.target_type in TARGETS else event.target_type
    if event.target_type in ("access_request", "assignment") and snapshot.get("application"):
        application = str(snapshot["application"])
        profile = Profile(role=str(snapshot.get("role") or ""), data_level=snapshot.get("data_level"), author_group=snapshot.get("author_group"))
        what = f"{application} · {snapshot.get('register', '')} · {visit.profile_label(application, profile)}"
    elif event.target_type == "user" and event.subject is not None:
        what = event.subject.display_name
    elif event.target_type in ("organisation", "register", "service_client") and snapshot.get("name"):
        what = f"{snapshot['name']} ({event.target_id})" if event.target_type != "organisation" else str(snapshot["name"])
    else:
        what = event.target_id
    target = f"{kind}: {what}"
    if event.subject is not None and event.target_type != "user":
        target += " — " + _(N_("for %(name)s"), name=event.subject.display_name)
    details = []
    before_status, after_status = (event.before or {}).get("status"), (event.after or {}).get("status")
    if before_status and after_status and before_status != after_status:
        details.append(f"{_(STATUSES.get(before_status, before_status))} → {_(STATUSES.get(after_status, after_status))}")
    for key, label in (("reason", N_("Reason: %(text)s")), ("decision_comment", N_("Comment: %(text)s")), ("comment", N_("Comment: %(text)s"))):
        if (event.after or {}).get(key):
            details.append(_(label, text=str(event.after[key])))  # type: ignore[index]
    action = _(ACTIONS[event.action]) if event.action in ACTIONS else event.action
    return EventView(event=event, actor=actor_name(event.actor, _), action=action, target=target, details=details)


class AuditPages(Controller):
    @get("/audit", name="audit")
    async def audit(
        self,
        visit: Visit,
        q: SearchText = None,
        person_id: Short = None,
        register: Short = None,
        action: Short = None,
        from_day: Short = None,
        to_day: Short = None,
        organisation_id: Short = None,
        cursor: CursorText = None,
    ) -> Template:
        """The events the caller may read, newest first, filtered as asked (empty fields: any)."""
        values = {"q": q, "person_id": person_id, "register": register, "action": action, "from_day": from_day, "to_day": to_day, "organisation_id": organisation_id}
        form = Form({key: (value or "").strip() for key, value in values.items()}, visit.gettext)
        first, last = form.day("from_day"), form.day("to_day")
        if first and last and last < first:
            form.fail("to_day", "before-start")
        person, organisation = form_uuid(form, "person_id"), form_uuid(form, "organisation_id")
        chosen_action = form.choice("action", list(ACTIONS), required=False)
        wanted = AuditFilter(
            organisation_id=organisation,
            person_id=person,
            register=form.values["register"] or None,
            action=chosen_action,
            since=start_of_day(first) if first else None,
            until=end_of_day(last) if last else None,
        )
        async with visit.reading() as ctx:
            visit.standing = await standing(ctx)
            if form:
                events, next_cursor = await list_events(ctx, wanted, AUDIT_PAGE, cursor)
            else:  # nothing to show, but the caller must be one who may read the trail at all
                await list_events(ctx, AuditFilter(), 1, None)
                events, next_cursor = [], None
            registers, _ = await list_registers(ctx, None, REGISTERS_SHOWN, None)
            found = await people_found(ctx, form.values["q"])
            chosen = await chosen_person(ctx, person)
            choices: list[OrganisationRef] = list({org.id: org for org in [*visit.standing.access_manager_of, *visit.standing.auditor_of]}.values())
            if organisation and organisation not in {org.id for org in choices}:
                try:
                    choices.append(organisation_ref(await get_organisation(ctx, organisation)))
                except EAMError:
                    pass
        shown = {key: value for key, value in form.values.items() if value}
        return visit.page(
            "audit.html",
            status=200 if form else 422,
            events=[event_view(visit, event) for event in events],
            next_url=f"/audit?{urlencode({**shown, 'cursor': next_cursor})}" if next_cursor else None,
            values=form.values,
            errors=form.errors,
            message=None if form else visit.gettext("Some fields need your attention."),
            actions=ACTIONS,
            registers=registers,
            organisations=choices,
            found=found,
            chosen=chosen,
            filtered=bool(shown),
            export_url=export_url(wanted) if form and events else None,
        )


EXPORT = "/v1/audit-events/export.jsonl"


def export_url(wanted: AuditFilter) -> str:
    """The API export of the events ``wanted`` selects (oldest first, with their chain hashes)."""
    params = {
        "organisation_id": wanted.organisation_id,
        "person_id": wanted.person_id,
        "register": wanted.register,
        "action": wanted.action,
        "since": wanted.since.isoformat() if wanted.since else None,
        "until": wanted.until.isoformat() if wanted.until else None,
    }
    query = urlencode({key: str(value) for key, value in params.items() if value is not None})
    return f"{EXPORT}?{query}" if query else EXPORT


def form_uuid(form: Form, name: str) -> uuid.UUID | None:
    raw = form.values.get(name)
    if not raw:
        return None
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        form.fail(name, "invalid")
        return None
