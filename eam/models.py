"""Every mapped table, imported once so Alembic and the drift check see the whole schema."""

from eam.access_managers.models import AccessManager
from eam.access_requests.models import AccessRequest
from eam.assignments.models import Assignment
from eam.auditors.models import Auditor, PlatformAuditor
from eam.audit.models import AuditEvent
from eam.auth.models import BrowserSession, LoginAttempt
from eam.authz.models import CasbinRule, PolicyChange, PolicyVersion
from eam.catalogue.models import Register
from eam.core.database import Base
from eam.grant_tokens.models import RevokedGrantToken
from eam.imports.models import Import
from eam.notifications.models import AssignmentReminder, RequestDigest, UnmanagedOrganisationNotice
from eam.organisations.models import Organisation
from eam.outbox.models import OutboxMessage
from eam.reviews.models import AccessReview, AccessReviewItem
from eam.service_clients.models import ServiceClient
from eam.signing_keys.models import SigningKey
from eam.users.models import Membership, User
from eam.webhooks.models import WebhookSubscription

__all__ = [
    "AccessManager",
    "AccessRequest",
    "AccessReview",
    "AccessReviewItem",
    "Assignment",
    "AssignmentReminder",
    "RequestDigest",
    "UnmanagedOrganisationNotice",
    "AuditEvent",
    "Auditor",
    "BrowserSession",
    "Base",
    "CasbinRule",
    "Import",
    "LoginAttempt",
    "Membership",
    "Organisation",
    "OutboxMessage",
    "PlatformAuditor",
    "PolicyChange",
    "PolicyVersion",
    "Register",
    "RevokedGrantToken",
    "ServiceClient",
    "SigningKey",
    "User",
    "WebhookSubscription",
]
