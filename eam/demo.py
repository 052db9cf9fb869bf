"""Demo data for the quickstart: two organisations with an access manager each, employees, a
pending request, and the data protection officer of one of them as its auditor. Written through the domain services, so it is audited and policy-backed like
any other change."""

from __future__ import annotations

from sqlalchemy import func, select

from eam.access_managers.service import appoint
from eam.auditors.service import appoint as appoint_auditor
from eam.access_requests.schemas import AccessRequestCreate
from eam.access_requests.workflow import submit
from eam.auth.dev_tokens import DEV_ISSUER
from eam.auth.identity import Identity
from eam.catalogue.schemas import Profile
from eam.core.context import Services, context_for, system_context
from eam.core.database import transaction
from eam.organisations.models import Organisation
from eam.organisations.schemas import OrganisationCreate
from eam.organisations.service import create_organisation
from eam.users.models import User
from eam.users.service import user_for_identity

DEMO_USERS = {
    "admin": ("Platform Admin", "admin@healthdata.example"),
    "alice": ("Alice Access-Manager", "alice@azsintjan.example"),
    "bob": ("Bob Access-Manager", "bob@uzleuven.example"),
    "carol": ("Carol Employee", "carol@azsintjan.example"),
    "dave": ("Dave Employee", "dave@azsintjan.example"),
    "erin": ("Erin Employee", "erin@uzleuven.example"),
    "dora": ("Dora Data-Protection-Officer", "dpo@azsintjan.example"),
}


async def load_demo_data(services: Services) -> bool:
    """Load the demo set into an empty database; return False (and do nothing) otherwise.

    Organisations and access managers are set up by the system actor ``demo-data``; the
    pending request is submitted by the employee it belongs to.
    """
    async with transaction(services.sessionmaker, read_only=True) as session:
        if await session.scalar(select(func.count()).select_from(Organisation)):
            return False
    async with system_context(services, "demo-data") as system:
        session, now = system.session, system.now
        users: dict[str, User] = {}
        for subject, (name, email) in DEMO_USERS.items():
            identity = Identity(issuer=DEV_ISSUER, subject=subject, display_name=name, email=email)
            users[subject] = await user_for_identity(session, identity, services.settings.national_number_key, now)
        brugge = await create_organisation(system, OrganisationCreate(name="AZ Sint-Jan Brugge", nihdi="71000436", kbo="0403.254.239"))
        leuven = await create_organisation(system, OrganisationCreate(name="UZ Leuven", nihdi="71000931", kbo="0827.265.092"))
        await appoint(system, brugge.id, users["alice"].id)
        await appoint(system, leuven.id, users["bob"].id)
        await appoint_auditor(system, brugge.id, users["dora"].id)
        dave = context_for(services, session, users["dave"], now, actor=f"{users['dave'].display_name} <dave> (demo data)")
        await submit(
            dave,
            AccessRequestCreate(
                organisation_id=brugge.id,
                application="healthstat",
                register="HDBP0147",
                profile=Profile(role="data_provider", data_level="hospital"),
                justification="I report INTEGO figures for our general-practice network.",
            ),
        )
    return True
