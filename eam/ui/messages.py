"""What the pages say about outcomes, in words a person understands (translated where shown).

Problems are told by the same stable problem codes the API answers with
(:mod:`eam.core.errors`), so a page and the API never disagree about what went wrong.
"""

from __future__ import annotations

from eam.ui.i18n import N_

#: After a change, the page it leads to says what happened (``?notice=<key>``).
NOTICES: dict[str, str] = {
    "imported": N_("The file was imported."),
    "person-registered": N_("The person was registered. You can now grant or request access for them."),
    "submitted": N_("Your request was sent to the access managers of the organisation."),
    "withdrawn": N_("Your request was withdrawn."),
    "amended": N_("Your request was changed; the access managers see the new version."),
    "extension-asked": N_("Your request to extend your access was sent to the access managers."),
    "extended": N_("The access was extended."),
    "change-asked": N_("Your request to change your access was sent to the access managers. You keep your current access meanwhile."),
    "approved": N_("The request was approved."),
    "rejected": N_("The request was rejected."),
    "signed-out": N_("You are signed out."),
    "language": N_("The language was changed."),
    "revoked": N_("The access was revoked."),
    "changed": N_("The access was changed."),
    "granted": N_("The access was granted."),
    "appointed": N_("The access manager was appointed."),
    "removed": N_("The access manager was removed."),
    "auditor-appointed": N_("The auditor was appointed."),
    "auditor-removed": N_("The auditor was removed."),
    "created": N_("It was created."),
    "disabled": N_("The organisation was disabled."),
    "enabled": N_("The organisation was enabled again."),
    "rotated": N_("A new signing key is in use."),
    "organisation-created": N_("The organisation was added. Appoint its first access manager below."),
    "register-added": N_("The register was added."),
    "message-resent": N_("The message will be sent again at once."),
    "webhook-paused": N_("The subscription is paused: nothing is sent to it until it is resumed."),
    "webhook-resumed": N_("The subscription is resumed."),
    "webhook-deleted": N_("The subscription was deleted."),
    "register-end-set": N_("The register's end date was saved; live access to it was cut back to it."),
    "client-disabled": N_("The service client was disabled: its secret no longer works."),
    "person-left": N_("The person was marked as having left: their access here ended."),
    "review-started": N_("The access review has started. Its reviewers were told."),
    "review-decided": N_("Your decision was recorded."),
    "notifications-saved": N_("Your choice of e-mails was saved."),
}

#: One message per problem type (``urn:eam:problem:<code>``) a page can meet.
PROBLEMS: dict[str, str] = {
    "validation-error": N_("Some fields need your attention."),
    "unknown-query-parameter": N_("The address of this page is not valid."),
    "bad-request": N_("The request could not be understood."),
    "malformed-body": N_("The form could not be read. Please try again."),
    "unsupported-media-type": N_("The form could not be read. Please try again."),
    "unauthenticated": N_("Please sign in."),
    "forbidden": N_("You are not allowed to do this."),
    "csrf": N_("This form has expired or was sent from another site. Please reload the page and try again."),
    "not-found": N_("This does not exist, or you are not allowed to see it."),
    "conflict": N_("This conflicts with the current state. Please reload the page."),
    "duplicate-request": N_("You already have a pending request for this access."),
    "already-assigned": N_("This person already holds access to this register in this application."),
    "request-not-pending": N_("This request is no longer pending: it was decided, withdrawn or has expired."),
    "assignment-not-active": N_("This access is no longer active."),
    "organisation-disabled": N_("This organisation is disabled."),
    "renewal-window-closed": N_("This access ended too long ago to be renewed; ask for access again."),
    "register-closed": N_("This register has ended: it gives no new access."),
    "last-access-manager": N_("An organisation always keeps at least one access manager."),
    "person-left": N_("This person has left the organisation already."),
    "review-own-assignment": N_("Nobody reviews their own access: another reviewer of the organisation decides on it (four-eyes rule)."),
    "review-closed": N_("This access review is closed: its deadline has passed."),
    "review-item-decided": N_("This access has been reviewed already, perhaps by another reviewer just now."),
    "already-exists": N_("This already exists."),
    "separation-of-duties": N_("This person would hold two profiles that must be held by different people (separation of duties), because of what they hold already."),
    "no-active-assignment": N_("You hold no active access in this application."),
    "service-unavailable": N_("The service is busy or unavailable. Please try again in a moment."),
    "too-many-requests": N_("Too many attempts. Please wait a minute and try again."),
}

#: Added to the separation-of-duties message: the catalogue rule that refused it.
DUTY_RULE = N_("Rule: %(rule)s.")

#: Field problems, by the rule that failed (see :func:`eam.ui.forms.field_message`).
FIELD_RULES: dict[str, str] = {
    "required": N_("This field is required."),
    "too-short": N_("Please write at least %(n)s characters."),
    "too-long": N_("Please write at most %(n)s characters."),
    "invalid": N_("This value is not valid."),
    "date": N_("Please give a date."),
    "moment": N_("Please give a date and a time."),
    "retention": N_("Please give a period of at least one month."),
    "past": N_("Please give a date in the future."),
    "before-start": N_("The last day must not be before the first."),
}

#: How statuses read on a page.
STATUSES: dict[str, str] = {
    "pending": N_("pending"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    "withdrawn": N_("withdrawn"),
    "expired": N_("expired"),
    "active": N_("active"),
    "scheduled": N_("scheduled"),
    "revoked": N_("revoked"),
    "disabled": N_("disabled"),
    "current": N_("current"),
    "previous": N_("previous"),
    "retired": N_("retired"),
    "open": N_("open"),
    "closed": N_("closed"),
    "decided": N_("decided"),
    "delivered": N_("delivered"),
    "dead": N_("given up"),
}

#: An access review's decision on an item.
REVIEW_DECISIONS: dict[str, str] = {"keep": N_("kept"), "change": N_("changed"), "revoke": N_("revoked")}
#: How often an access review comes back.
RECURRENCES: dict[str, str] = {"none": N_("once"), "monthly": N_("every month"), "quarterly": N_("every quarter"), "yearly": N_("every year")}

#: A bulk decision's outcome for one request that succeeded.
DECIDED: dict[str, str] = {"approve": N_("Approved"), "reject": N_("Rejected")}

#: A sign-in refused on the way back from the login provider (the technical reason follows).
SIGN_IN_FAILED = N_("Signing in did not succeed. Please try again; if it keeps failing, tell your helpdesk what is shown below.")


#: Outcomes of the lines of an import.
OUTCOMES: dict[str, str] = {
    "created": N_("created"),
    "updated": N_("updated"),
    "unchanged": N_("unchanged"),
    "error": N_("error"),
}
