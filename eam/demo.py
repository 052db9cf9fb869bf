"""Demo data for the quickstart: two organisations with an access manager each, employees, a
pending request. Written through the domain services, so it is audited and policy-backed like
any other change."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from eam.access_managers.service import appoint
from eam.access_requests.schemas import AccessRequestCreate
from eam.access_requests.workflow import submit
from eam.audit.recorder import Auditor
from eam.auth.dev_tokens import DEV_ISSUER
from eam.auth.identity import Identity
from eam.authz.enforcer import Authorizer
from eam.authz.sync import catch_up
from eam.authz.vocabulary import user_subject
from eam.catalogue.schemas import Profile
from eam.catalogue.service import Catalogue
from eam.database import Clock, transaction
from eam.organisations.models import Organisation
from eam.organisations.schemas import OrganisationCreate
from eam.organisations.service import create_organisation
from eam.settings import Settings
from eam.users.models import User
from eam.users.service import user_for_identity
from eam.signing_keys.keyring import KeyRing
from eam.web.context import Context

DEMO_USERS = {
    "admin": ("Platform Admin", "admin@healthdata.example"),
    "alice": ("Alice Access-Manager", "alice@azsintjan.example"),
    "bob": ("Bob Access-Manager", "bob@uzleuven.example"),
    "carol": ("Carol Employee", "carol@azsintjan.example"),
    "dave": ("Dave Employee", "dave@azsintjan.example"),
    "erin": ("Erin Employee", "erin@uzleuven.example"),
}


async def load_demo_data(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, catalogue: Catalogue, authorizer: Authorizer, clock: Clock
) -> bool:
    """Load the demo set into an empty database; return False (and do nothing) otherwise."""
    async with transaction(sessionmaker) as session:
        if await session.scalar(select(func.count()).select_from(Organisation)):
            return False
        now = clock()
        users: dict[str, User] = {}
        for subject, (name, email) in DEMO_USERS.items():
            identity = Identity(issuer=DEV_ISSUER, subject=subject, display_name=name, email=email)
            users[subject] = await user_for_identity(session, identity, settings.national_number_key, now)
        await catch_up(authorizer, session)
        authorizer.add_config_admin(user_subject(users["admin"].id))

        def as_user(subject: str) -> Context:
            user = users[subject]
            auditor = Auditor(session=session, actor_id=user.id, actor=f"{user.display_name} <{subject}> (demo data)", now=now)
            return Context(session=session, user=user, settings=settings, catalogue=catalogue, authz=authorizer, audit=auditor, now=now, keyring=KeyRing(settings))

        admin = as_user("admin")
        brugge = await create_organisation(admin, OrganisationCreate(name="AZ Sint-Jan Brugge", nihdi="71000436", kbo="0403.254.239"))
        leuven = await create_organisation(admin, OrganisationCreate(name="UZ Leuven", nihdi="71000931", kbo="0827.265.092"))
        await appoint(admin, brugge.id, users["alice"].id)
        await appoint(admin, leuven.id, users["bob"].id)
        await submit(
            as_user("dave"),
            AccessRequestCreate(
                organisation_id=brugge.id,
                application="healthstat",
                register="HDBP0147",
                profile=Profile(role="data_provider", data_level="hospital"),
                justification="I report INTEGO figures for our general-practice network.",
            ),
        )
    return True
