"""Mail in the recipient's language, the digest choice, escalation of stale requests, and the
requester's mails on a narrowed approval and on expiry: end to end through a real SMTP server on
loopback (aiosmtpd), in English, Dutch and French, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from litestar import Litestar

from eam.app import create_app
from eam.core.settings import Settings, SettingsError
from eam.jobs import ESCALATE_REQUESTS, EXPIRE_REQUESTS, MAIL_UNMANAGED, REMIND_ENDING, SEND_DIGESTS, run_all, run_job
from tests.conftest import Api, Clock, assert_problem, serve_in_process
from tests.test_outbox_email import Inbox, assert_nothing_secret, bodies, deliver, mail_day, mail_app, mail_settings, sign_in, smtp
from tests.test_outbox_email import subject as folded_subject

__all__ = ["mail_app", "smtp"]

ORG = "AZ Sint-Jan Brugge"
#: What each language says, as the recipient reads it.
SAYS = {
    "en": {
        "reminder": "Reminder: an access request waits since",
        "admins": f"Escalated to platform admins: an access request at {ORG} waits since",
        "again": "It is sent again to every access manager",
        "narrowed": "Your access request was approved with changes: healthstat/HDBP0147 at " + ORG,
        "asked": "You asked for: data_provider/hospital",
        "expired": "Your access request expired without a decision: healthstat/HDBP0147 at " + ORG,
        "hello": "Hello",
    },
    "nl": {
        "reminder": "Herinnering: een toegangsaanvraag wacht sinds",
        "admins": f"Geëscaleerd naar de platformbeheerders: een toegangsaanvraag bij {ORG} wacht sinds",
        "again": "Ze wordt opnieuw naar alle toegangsbeheerders",
        "narrowed": "Uw toegangsaanvraag is goedgekeurd met wijzigingen: healthstat/HDBP0147 bij " + ORG,
        "asked": "U vroeg: data_provider/hospital",
        "expired": "Uw toegangsaanvraag is verlopen zonder beslissing: healthstat/HDBP0147 bij " + ORG,
        "hello": "Hallo",
    },
    "fr": {
        "reminder": "Rappel : une demande d’accès attend depuis le",
        "admins": f"Transmise aux administrateurs de la plateforme : une demande d’accès chez {ORG} attend depuis le",
        "again": "Elle est renvoyée à tous les gestionnaires d’accès",
        "narrowed": "Votre demande d’accès a été approuvée avec des modifications : healthstat/HDBP0147 chez " + ORG,
        "asked": "Vous avez demandé: data_provider/hospital",
        "expired": "Votre demande d’accès a expiré sans décision : healthstat/HDBP0147 chez " + ORG,
        "hello": "Bonjour",
    },
}
EVIL_NAME = "Carol <b>Requester</b>\r\nBcc: evil@example.org"


def subject(message: Any) -> str:
    """The subject with runs of spaces as one: the stdlib folds a long non-ASCII subject leaving a
    space before the fold, which unfolds to two (a known cosmetic quirk of ``email``'s folder)."""
    return " ".join(folded_subject(message).split())


async def escalate(app: Litestar) -> int:
    return await run_job(app.state.services, ESCALATE_REQUESTS)


async def set_me(api: Api, user: str, **body: Any) -> dict[str, Any]:
    response = await api.patch("/v1/me", user, json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_the_mail_language_and_digest_choice_are_validated_stored_and_audited(mail_app: Any) -> None:
    app, api = mail_app
    await sign_in(api, "carol", email="carol@example.org", name="Carol")
    assert (await api.get("/v1/me", "carol")).json()["language"] is None
    for bad in ({"language": "de"}, {"language": ""}, {"language": None}, {"notify_digest": "yes"}, {"colour": "red"}):
        assert_problem(await api.patch("/v1/me", "carol", json=bad), 422, "validation-error")
    me = await set_me(api, "carol", language="nl", notify_digest=True)
    assert me["language"] == "nl" and me["notify_digest"] is True and me["email"] == "carol@example.org"
    me = await set_me(api, "carol", email="c.peeters@example.org")  # the others stay as they were
    assert (me["language"], me["notify_digest"], me["email"]) == ("nl", True, "c.peeters@example.org")
    events = (await api.get("/v1/audit-events", "admin", params={"action": "user.updated"})).json()["items"]
    assert [event["after"] for event in reversed(events)] == [{"language": "nl", "notify_digest": True}, {"email": "c.peeters@example.org"}]


@pytest.mark.parametrize("language", ["en", "nl", "fr"])
async def test_a_stale_request_is_escalated_to_every_manager_then_to_the_platform_admins(
    language: str, database_url: str, smtp: tuple[Inbox, int], clock: Clock
) -> None:
    inbox, port = smtp
    app = create_app(mail_settings(database_url, port), clock=clock, run_housekeeping=False)
    async with serve_in_process(app) as http:
        api = Api(http)
        await sign_in(api, "admin", email="admin@example.org", name="Admin")
        await sign_in(api, "alice", email="alice@example.org", name="Alice Manager")
        await sign_in(api, "bob", email="bob@example.org", name="Bob Digest")
        await sign_in(api, "carol", email="carol@example.org", name=EVIL_NAME, national_number="85073003328")
        for person in ("admin", "alice", "bob"):
            await set_me(api, person, language=language)
        await set_me(api, "bob", notify_digest=True)
        org = await api.managed_organisation("alice")
        assert (await api.appoint(org["id"], "bob")).status_code == 201
        submitted = await api.request_access(org["id"], "carol", justification="Needed for <script>x</script> reports.")
        assert submitted.status_code == 201, submitted.text
        request_id = submitted.json()["id"]
        await deliver(app)
        assert [message["To"] for message in inbox.messages] == ["alice@example.org"]  # bob chose the digest
        inbox.messages.clear()

        clock.advance(hours=71)
        assert await escalate(app) == 0
        clock.advance(hours=2)  # 73 hours: level 1, to every access manager, digest or not
        assert await escalate(app) == 1
        assert await escalate(app) == 0  # once
        await deliver(app)
        assert sorted(message["To"] for message in inbox.messages) == ["alice@example.org", "bob@example.org"]
        submitted_day = mail_day(clock.now - dt.timedelta(hours=73), language)
        for message in inbox.messages:
            assert subject(message).startswith(SAYS[language]["reminder"]) and submitted_day in subject(message)
            assert message["Content-Language"] == language and message["Bcc"] is None
            text, html = bodies(message)
            assert SAYS[language]["again"] in text and "https://eam.example.org/inbox" in text
            assert "&lt;script&gt;" in html and "<script>" not in html and "&lt;b&gt;Requester&lt;/b&gt;" in html
            assert_nothing_secret(message)
        seen = (await api.get(f"/v1/access-requests/{request_id}", "carol")).json()
        assert seen["escalation_level"] == 1 and seen["escalated_at"] is not None
        inbox.messages.clear()

        clock.advance(hours=168 - 73 + 1)  # a week after submission: level 2, the platform admins
        assert (await run_all(app.state.services))[ESCALATE_REQUESTS.name] == 1
        assert await escalate(app) == 0
        await deliver(app)
        [to_admin] = inbox.to("admin@example.org")  # (the round also sent bob his digest)
        assert to_admin["To"] == "admin@example.org" and subject(to_admin).startswith(SAYS[language]["admins"])
        text, html = bodies(to_admin)
        assert "71000436" in text and f"https://eam.example.org/admin/organisations/{org['id']}" in text
        assert_nothing_secret(to_admin)
        seen = (await api.get(f"/v1/access-requests/{request_id}", "carol")).json()
        assert seen["escalation_level"] == 2
        events = (await api.get("/v1/audit-events", "admin", params={"action": "access_request.escalated"})).json()["items"]
        assert sorted(event["after"]["escalation_level"] for event in events) == [1, 2]
        assert {event["actor"] for event in events} == {"system:escalation"}


async def test_a_decided_request_is_not_escalated_and_zero_turns_a_level_off(database_url: str, smtp: tuple[Inbox, int], clock: Clock) -> None:
    inbox, port = smtp
    app = create_app(mail_settings(database_url, port, escalate_after_hours=0, escalate_to_admins_after_hours=48), clock=clock, run_housekeeping=False)
    async with serve_in_process(app) as http:
        api = Api(http)
        await sign_in(api, "admin", email="admin@example.org", name="Admin")
        await sign_in(api, "alice", email="alice@example.org", name="Alice Manager")
        org = await api.managed_organisation("alice")
        decided = await api.request_access(org["id"], "carol")
        waiting = await api.request_access(org["id"], "dave")
        closed = await api.organisation(name="Kliniek Gesloten", nihdi="71000535")
        assert (await api.appoint(closed["id"], "alice")).status_code == 201
        at_closed = await api.request_access(closed["id"], "dave")
        assert at_closed.status_code == 201, at_closed.text
        assert (await api.patch(f"/v1/organisations/{closed['id']}", json={"status": "disabled"})).status_code == 200
        assert (await api.post(f"/v1/access-requests/{decided.json()['id']}/reject", "alice", json={"reason": "Not in the team"})).status_code == 200
        clock.advance(hours=47)
        assert await escalate(app) == 0
        clock.advance(hours=2)
        assert await escalate(app) == 1  # straight to the platform admins: level 1 is off
        assert (await api.get(f"/v1/access-requests/{waiting.json()['id']}", "dave")).json()["escalation_level"] == 2
        assert (await api.get(f"/v1/access-requests/{decided.json()['id']}", "carol")).json()["escalation_level"] == 0
        assert (await api.get(f"/v1/access-requests/{at_closed.json()['id']}", "dave")).json()["escalation_level"] == 0  # disabled: left to expire


def test_escalation_settings_are_checked() -> None:
    env = {"EAM_ESCALATE_AFTER_HOURS": "24", "EAM_ESCALATE_TO_ADMINS_AFTER_HOURS": "96"}
    settings = Settings.from_env(env)
    assert (settings.escalate_after_hours, settings.escalate_to_admins_after_hours) == (24, 96)
    for bad in ({"EAM_ESCALATE_AFTER_HOURS": "-1"}, {"EAM_ESCALATE_AFTER_HOURS": "200"}, {"EAM_ESCALATE_TO_ADMINS_AFTER_HOURS": "soon"}):
        with pytest.raises(SettingsError, match="EAM_ESCALATE"):
            Settings.from_env(bad)


@pytest.mark.parametrize("language", ["en", "nl", "fr"])
async def test_the_requester_is_mailed_a_narrowed_approval_and_an_expiry_in_their_language(
    language: str, database_url: str, smtp: tuple[Inbox, int], clock: Clock
) -> None:
    inbox, port = smtp
    app = create_app(mail_settings(database_url, port), clock=clock, run_housekeeping=False)
    async with serve_in_process(app) as http:
        api = Api(http)
        await sign_in(api, "alice", email="alice@example.org", name="Alice Manager")
        await sign_in(api, "carol", email="carol@example.org", name="Carol <i>Requester</i>")
        await set_me(api, "carol", language=language)
        org = await api.managed_organisation("alice")
        narrowed = await api.request_access(org["id"], "carol")
        ends = (clock.now + dt.timedelta(days=60)).replace(microsecond=0)
        body = {"profile": {"role": "data_provider", "data_level": "individual"}, "valid_until": ends.isoformat(), "comment": "Individual <is> enough"}
        approved = await api.post(f"/v1/access-requests/{narrowed.json()['id']}/approve", "alice", json=body)
        assert approved.status_code == 200, approved.text
        stale = await api.request_access(org["id"], "carol", register="HDBP0211")
        assert stale.status_code == 201, stale.text
        await deliver(app)
        [decision] = inbox.to("carol@example.org")
        assert subject(decision) == SAYS[language]["narrowed"] and decision["Content-Language"] == language
        text, html = bodies(decision)
        assert SAYS[language]["asked"] in text and "data_provider/individual" in text and mail_day(ends - dt.timedelta(microseconds=1), language) in text
        assert "Individual &lt;is&gt; enough" in html and "Carol &lt;i&gt;Requester&lt;/i&gt;" in html and text.startswith(SAYS[language]["hello"])
        inbox.messages.clear()

        clock.advance(days=31)
        assert await run_job(app.state.services, EXPIRE_REQUESTS) == 1
        await deliver(app)
        [expired] = inbox.to("carol@example.org")
        assert subject(expired) == SAYS[language]["expired"].replace("HDBP0147", "HDBP0211")
        assert_nothing_secret(expired)


async def test_an_approval_as_asked_is_not_called_narrowed(mail_app: Any, smtp: tuple[Inbox, int]) -> None:
    app, api = mail_app
    await sign_in(api, "alice", email="alice@example.org", name="Alice Manager")
    await sign_in(api, "carol", email="carol@example.org", name="Carol")
    org = await api.managed_organisation("alice")
    request = await api.request_access(org["id"], "carol")
    assert (await api.post(f"/v1/access-requests/{request.json()['id']}/approve", "alice", json={})).status_code == 200
    await deliver(app)
    [decision] = smtp[0].to("carol@example.org")
    assert subject(decision) == f"Your access request was approved: healthstat/HDBP0147 at {ORG}"


DIGEST = {
    "en": ("Access requests waiting for your decision: 2", "asks for healthstat/HDBP0211"),
    "nl": ("Toegangsaanvragen die op uw beslissing wachten: 2", "vraagt healthstat/HDBP0211"),
    "fr": ("Demandes d’accès en attente de votre décision : 2", "demande healthstat/HDBP0211"),
}


@pytest.mark.parametrize("language", ["en", "nl", "fr"])
async def test_a_manager_on_the_digest_gets_one_mail_a_day_listing_what_waits(language: str, database_url: str, smtp: tuple[Inbox, int], clock: Clock) -> None:
    inbox, port = smtp
    app = create_app(mail_settings(database_url, port), clock=clock, run_housekeeping=False)
    digests = lambda: run_job(app.state.services, SEND_DIGESTS)  # noqa: E731
    async with serve_in_process(app) as http:
        api = Api(http)
        await sign_in(api, "alice", email="alice@example.org", name="Alice Manager")
        await sign_in(api, "bob", email="bob@example.org", name="Bob Digest")
        await set_me(api, "bob", language=language, notify_digest=True)
        org = await api.managed_organisation("alice")
        assert (await api.appoint(org["id"], "bob")).status_code == 201
        assert await digests() == 0  # nothing waits: no digest
        await sign_in(api, "carol", email="carol@example.org", name="Carol <b>Requester</b>")
        for register in ("HDBP0147", "HDBP0211"):
            assert (await api.request_access(org["id"], "carol", register=register)).status_code == 201
        own = await api.request_access(org["id"], "bob", register="HDBP0031")  # bob's own: not for him to decide
        assert own.status_code == 201, own.text
        await deliver(app)
        assert sorted(message["To"] for message in inbox.messages) == ["alice@example.org"] * 3  # none per request to bob
        inbox.messages.clear()
        assert await digests() == 1
        assert await digests() == 0  # once a day
        await deliver(app)
        [digest] = inbox.messages
        assert digest["To"] == "bob@example.org" and subject(digest) == DIGEST[language][0] and digest["Content-Language"] == language
        text, html = bodies(digest)
        assert DIGEST[language][1] in text and "HDBP0147" in text and "HDBP0031" not in text and "https://eam.example.org/inbox" in text
        assert "Carol &lt;b&gt;Requester&lt;/b&gt;" in html and "<b>Requester" not in html
        assert_nothing_secret(digest)
        clock.advance(days=1)
        assert (await run_all(app.state.services))[SEND_DIGESTS.name] == 1  # the next day, in the round


UNMANAGED = {
    "en": "No access manager at Kliniek Zonder (NIHDI 71000535)",
    "nl": "Geen toegangsbeheerder bij Kliniek Zonder (RIZIV 71000535)",
    "fr": "Aucun gestionnaire d’accès chez Kliniek Zonder (INAMI 71000535)",
}


@pytest.mark.parametrize("language", ["en", "nl", "fr"])
async def test_platform_admins_are_mailed_once_per_organisation_left_without_an_access_manager(
    language: str, database_url: str, smtp: tuple[Inbox, int], clock: Clock
) -> None:
    inbox, port = smtp
    app = create_app(mail_settings(database_url, port), clock=clock, run_housekeeping=False)
    unmanaged = lambda: run_job(app.state.services, MAIL_UNMANAGED)  # noqa: E731
    async with serve_in_process(app) as http:
        api = Api(http)
        await sign_in(api, "admin", email="admin@example.org", name="Admin")
        await set_me(api, "admin", language=language)
        await sign_in(api, "alice", email="alice@example.org", name="Alice Manager")
        await sign_in(api, "bob", email="bob@example.org", name="Bob Manager")
        managed = await api.managed_organisation("alice")
        org = await api.organisation(name="Kliniek Zonder", nihdi="71000535")  # nobody appointed yet
        assert await unmanaged() == 1
        assert await unmanaged() == 0  # once per occurrence
        await deliver(app)
        [notice] = inbox.messages
        assert notice["To"] == "admin@example.org" and subject(notice) == UNMANAGED[language] and notice["Content-Language"] == language
        text, html = bodies(notice)
        assert f"https://eam.example.org/admin/organisations/{org['id']}" in text and f'href="https://eam.example.org/admin/organisations/{org["id"]}"' in html
        assert managed["name"] not in text
        inbox.messages.clear()
        # Appointed: the occurrence ends. Disabled, its managers removed, enabled again: a new one.
        assert (await api.appoint(org["id"], "alice")).status_code == 201
        assert (await api.appoint(org["id"], "bob")).status_code == 201
        assert await unmanaged() == 0
        assert (await api.patch(f"/v1/organisations/{org['id']}", json={"status": "disabled"})).status_code == 200
        for person in ("alice", "bob"):
            removed = await api.delete(f"/v1/organisations/{org['id']}/access-managers/{await api.user_id(person)}")
            assert removed.status_code == 204, removed.text
        assert await unmanaged() == 0  # disabled: nobody needs to decide there
        assert (await api.patch(f"/v1/organisations/{org['id']}", json={"status": "active"})).status_code == 200
        assert (await run_all(app.state.services))[MAIL_UNMANAGED.name] == 1
        events = (await api.get("/v1/audit-events", "admin", params={"action": "organisation.unmanaged_noticed"})).json()["items"]
        assert len(events) == 2 and {event["actor"] for event in events} == {"system:lifecycle"}


#: The existing mails, as each language's subject begins.
EXISTING = {
    "en": ("Access request waiting:", "Your access request was approved:", "Your access request was rejected:", "Your access ends on", "Access ends on"),
    "nl": ("Toegangsaanvraag wacht:", "Uw toegangsaanvraag is goedgekeurd:", "Uw toegangsaanvraag is afgewezen:", "Uw toegang eindigt op", "Toegang eindigt op"),
    "fr": ("Demande d’accès en attente :", "Votre demande d’accès a été approuvée :", "Votre demande d’accès a été refusée :", "Votre accès prend fin le", "Fin d’accès le"),
}


@pytest.mark.parametrize("language", ["en", "nl", "fr"])
async def test_each_recipient_gets_the_earlier_mails_in_their_own_language(language: str, database_url: str, smtp: tuple[Inbox, int], clock: Clock) -> None:
    """Submitted, approved, rejected and the reminders (holder and manager): one rendering per
    recipient, so a manager reading French and a requester reading the other language each get theirs."""
    inbox, port = smtp
    other = "fr" if language != "fr" else "nl"
    app = create_app(mail_settings(database_url, port), clock=clock, run_housekeeping=False)
    async with serve_in_process(app) as http:
        api = Api(http)
        await sign_in(api, "alice", email="alice@example.org", name="Alice Manager")
        await sign_in(api, "bob", email="bob@example.org", name="Bob Manager")
        await sign_in(api, "carol", email="carol@example.org", name="Carol Requester")
        await set_me(api, "alice", language=language)
        await set_me(api, "bob", language=other)
        await set_me(api, "carol", language=language)
        org = await api.managed_organisation("alice")
        assert (await api.appoint(org["id"], "bob")).status_code == 201
        ends = clock.now + dt.timedelta(days=10)
        approved = await api.request_access(org["id"], "carol", valid_until=ends.isoformat())
        rejected = await api.request_access(org["id"], "carol", register="HDBP0211")
        await deliver(app)
        [to_alice, _] = inbox.to("alice@example.org")
        [to_bob, _] = inbox.to("bob@example.org")
        assert subject(to_alice).startswith(EXISTING[language][0]) and to_alice["Content-Language"] == language
        assert subject(to_bob).startswith(EXISTING[other][0]) and to_bob["Content-Language"] == other
        inbox.messages.clear()
        assert (await api.post(f"/v1/access-requests/{approved.json()['id']}/approve", "bob", json={})).status_code == 200  # as asked
        assert (await api.post(f"/v1/access-requests/{rejected.json()['id']}/reject", "bob", json={"reason": "Wrong <register>"})).status_code == 200
        await deliver(app)
        decided = sorted(subject(message) for message in inbox.to("carol@example.org"))
        assert [s for s in decided if s.startswith(EXISTING[language][1])] and [s for s in decided if s.startswith(EXISTING[language][2])]
        inbox.messages.clear()
        assert await run_job(app.state.services, REMIND_ENDING) == 3
        await deliver(app)
        [holder] = inbox.to("carol@example.org")
        assert subject(holder).startswith(EXISTING[language][3]) and holder["Content-Language"] == language
        [manager] = inbox.to("bob@example.org")
        assert subject(manager).startswith(EXISTING[other][4]) and manager["Content-Language"] == other
