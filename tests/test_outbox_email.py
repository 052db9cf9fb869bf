"""The transactional outbox and e-mail over SMTP, end to end against a real SMTP server on loopback
(aiosmtpd), on SQLite and PostgreSQL: what is sent, to whom, and the delivery guarantees."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import json
import re
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from litestar import Litestar
from sqlalchemy import select

from eam.access_requests.schemas import RejectIn
from eam.access_requests.workflow import reject
from eam.app import create_app
from eam.core.context import system_context
from eam.core.settings import Settings, SettingsError
from eam.core.times import BRUSSELS
from eam.notifications.mail import build_message, render
from eam.notifications.smtp import SmtpMailer
from eam.outbox.models import OutboxMessage
from eam.outbox.service import DEAD, DELIVERED, PENDING, claim, deliver_due
from tests.conftest import Api, Clock, assert_problem, auth, free_port, serve_in_process

NATIONAL_NUMBER = "85073003328"
JUSTIFICATION = "I report on <b>our</b> hospital's registrations & more."


class Inbox:
    """An aiosmtpd handler keeping what it accepted; ``refuse`` answers DATA with a 451."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[list[str]] = []
        self.refuse = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "451 4.3.0 mailbox busy, try again later"
        self.envelopes.append(list(envelope.rcpt_tos))
        self.messages.append(email.message_from_bytes(envelope.content, policy=default))  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["To"] == address]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def mail_settings(database_url: str, port: int, **extra: Any) -> Settings:
    return Settings(
        database_url=database_url,
        platform_admins=("admin",),
        expiry_sweep_seconds=0,
        issuer="https://eam.example.org",
        smtp_url=f"smtp://127.0.0.1:{port}",
        smtp_from="EAM <eam@example.org>",
        smtp_timeout_seconds=5,
        **extra,
    )


@pytest.fixture
async def mail_app(database_url: str, smtp: tuple[Inbox, int], clock: Clock) -> Any:
    app = create_app(mail_settings(database_url, smtp[1]), clock=clock, run_housekeeping=False)
    async with serve_in_process(app) as http:
        yield app, Api(http)


async def deliver(app: Litestar, mailer: SmtpMailer | None = None) -> dict[str, int]:
    services = app.state.services
    return await deliver_due(services.sessionmaker, services.settings, services.clock, mailer or SmtpMailer.from_settings(services.settings))


async def outbox_rows(app: Litestar) -> list[OutboxMessage]:
    async with app.state.sessionmaker() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at, OutboxMessage.recipient)))


async def sign_in(api: Api, user: str, **claims: Any) -> None:
    response = await api.get("/v1/me", None, headers=auth(user, **claims))
    assert response.status_code == 200, response.text


async def submitted_request(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    """An organisation with two access managers who have addresses (alice, bob) and one who has
    none (dave); carol, who has a national number, asks for access."""
    await sign_in(api, "alice", email="alice@example.org", name="Alice Manager")
    await sign_in(api, "bob", email="bob@example.org", name="Bob Manager")
    await sign_in(api, "dave", name="Dave Without Mail")
    await sign_in(api, "carol", email="carol@example.org", name="Carol <Requester>", national_number=NATIONAL_NUMBER)
    org = await api.managed_organisation("alice")
    for manager in ("bob", "dave"):
        assert (await api.appoint(org["id"], manager)).status_code == 201
    response = await api.request_access(org["id"], "carol", justification=JUSTIFICATION)
    assert response.status_code == 201, response.text
    return org, response.json()


def subject(message: EmailMessage) -> str:
    """The subject as a mail client shows it (the stdlib folds a long one after ``Subject:``)."""
    return str(message["Subject"]).strip()


def bodies(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def assert_nothing_secret(message: EmailMessage) -> None:
    raw = message.as_string()
    assert NATIONAL_NUMBER not in raw and not re.search(r"\d{2}\.\d{2}\.\d{2}-\d{3}\.\d{2}", raw)
    assert "Bearer" not in raw and "eyJ" not in raw  # no token


async def test_a_submitted_request_mails_each_access_manager_with_an_address(mail_app: Any, smtp: tuple[Inbox, int]) -> None:
    app, api = mail_app
    inbox = smtp[0]
    org, request = await submitted_request(api)
    assert inbox.messages == []  # nothing leaves before the worker runs
    assert await deliver(app) == {PENDING: 0, DELIVERED: 2, DEAD: 0}
    assert sorted(message["To"] for message in inbox.messages) == ["alice@example.org", "bob@example.org"]
    message = inbox.to("alice@example.org")[0]
    assert message["From"] == "EAM <eam@example.org>"
    assert subject(message) == "Access request waiting: healthstat/HDBP0147 at AZ Sint-Jan Brugge"
    assert message.get_content_type() == "multipart/alternative"
    text, html = bodies(message)
    for expected in ("Carol <Requester>", "healthstat", "HDBP0147", "data_provider/hospital", JUSTIFICATION, "https://eam.example.org/inbox"):
        assert expected in text
    assert "Carol &lt;Requester&gt;" in html and "&lt;b&gt;our&lt;/b&gt; hospital&#39;s registrations &amp; more." in html
    assert "<b>our</b>" not in html
    assert 'href="https://eam.example.org/inbox"' in html
    for sent in inbox.messages:
        assert_nothing_secret(sent)
    assert await deliver(app) == {PENDING: 0, DELIVERED: 0, DEAD: 0}  # delivered once
    assert [row.status for row in await outbox_rows(app)] == [DELIVERED, DELIVERED]


async def test_approval_and_rejection_mail_the_requester(mail_app: Any, smtp: tuple[Inbox, int]) -> None:
    app, api = mail_app
    inbox = smtp[0]
    org, request = await submitted_request(api)
    approved = await api.post(f"/v1/access-requests/{request['id']}/approve", "alice", json={"comment": "Welcome aboard"})
    assert approved.status_code == 200, approved.text
    await deliver(app)
    [decision] = inbox.to("carol@example.org")
    assert subject(decision) == "Your access request was approved: healthstat/HDBP0147 at AZ Sint-Jan Brugge"
    text, html = bodies(decision)
    assert "was approved" in text and "Welcome aboard" in text and "https://eam.example.org/requests" in text
    assert "Carol &lt;Requester&gt;" in html
    assert_nothing_secret(decision)

    other = await api.request_access(org["id"], "carol", register="HDBP0211", justification="Another registry to report on.")
    assert other.status_code == 201, other.text
    rejected = await api.post(f"/v1/access-requests/{other.json()['id']}/reject", "bob", json={"reason": "Not your department"})
    assert rejected.status_code == 200, rejected.text
    await deliver(app)
    rejection = inbox.to("carol@example.org")[-1]
    assert subject(rejection) == "Your access request was rejected: healthstat/HDBP0211 at AZ Sint-Jan Brugge"
    text, html = bodies(rejection)
    assert "was rejected" in text and "Reason: Not your department" in text and "Not your department" in html
    assert len(inbox.to("carol@example.org")) == 2


async def test_a_rolled_back_decision_sends_nothing(mail_app: Any, smtp: tuple[Inbox, int]) -> None:
    app, api = mail_app
    inbox = smtp[0]
    _org, request = await submitted_request(api)
    await deliver(app)
    with pytest.raises(RuntimeError):
        async with system_context(app.state.services, "test") as ctx:
            await reject(ctx, uuid.UUID(request["id"]), RejectIn(reason="Not your department"))
            assert len(ctx.session.new) == 1  # the decision's mail, in this transaction
            raise RuntimeError("the operation fails after the decision")
    assert await deliver(app) == {PENDING: 0, DELIVERED: 0, DEAD: 0}
    assert inbox.to("carol@example.org") == []
    assert len(await outbox_rows(app)) == 2
    assert (await api.get(f"/v1/access-requests/{request['id']}", "carol")).json()["status"] == "pending"


async def test_a_failing_server_is_retried_with_backoff_then_dead_lettered(
    database_url: str, smtp: tuple[Inbox, int], clock: Clock
) -> None:
    inbox, port = smtp
    settings = mail_settings(database_url, port, outbox_max_attempts=3, outbox_backoff_seconds=30, outbox_backoff_max_seconds=600)
    app = create_app(settings, clock=clock, run_housekeeping=False)
    async with serve_in_process(app) as http:
        api = Api(http)
        await submitted_request(api)
        inbox.refuse = True
        assert await deliver(app) == {PENDING: 2, DELIVERED: 0, DEAD: 0}
        first = await outbox_rows(app)
        for row in first:
            assert row.attempts == 1 and row.locked_until is None
            assert clock.now < row.next_attempt_at <= clock.now + dt.timedelta(seconds=30)  # base × 2^0, jittered
            assert row.last_error is not None and "451" in row.last_error and len(row.last_error) <= 200
        assert await deliver(app) == {PENDING: 0, DELIVERED: 0, DEAD: 0}  # not due yet
        clock.advance(seconds=30)
        assert await deliver(app) == {PENDING: 2, DELIVERED: 0, DEAD: 0}
        for row in await outbox_rows(app):
            assert row.attempts == 2
            assert clock.now < row.next_attempt_at <= clock.now + dt.timedelta(seconds=60)  # base × 2^1
        # The server goes down altogether: connection refused is a failure like any other.
        down = SmtpMailer.from_settings(settings.__class__(**{**_fields(settings), "smtp_url": f"smtp://127.0.0.1:{free_port()}"}))
        clock.advance(seconds=60)
        assert await deliver(app, down) == {PENDING: 0, DELIVERED: 0, DEAD: 2}
        for row in await outbox_rows(app):
            assert row.status == DEAD and row.attempts == 3
            assert row.last_error is not None and "SMTPConnect" in row.last_error
        clock.advance(days=1)
        assert await deliver(app) == {PENDING: 0, DELIVERED: 0, DEAD: 0}  # dead letters stay dead
    assert inbox.messages == []


def _fields(settings: Settings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in settings.__struct_fields__}


async def test_smtp_credentials_never_reach_the_kept_error(mail_app: Any, smtp: tuple[Inbox, int]) -> None:
    app, api = mail_app
    await submitted_request(api)
    settings = app.state.services.settings
    with_login = SmtpMailer.from_settings(settings.__class__(**{**_fields(settings), "smtp_url": f"smtp://mailer:s3cr%40t-pw@127.0.0.1:{smtp[1]}"}))
    assert with_login.password == "s3cr@t-pw"
    assert (await deliver(app, with_login))[PENDING] == 2  # the test server offers no AUTH
    for row in await outbox_rows(app):
        assert row.last_error and "s3cr" not in row.last_error and "mailer" not in row.last_error


async def test_a_killed_workers_lease_runs_out_and_the_row_is_delivered_again(mail_app: Any, smtp: tuple[Inbox, int], clock: Clock) -> None:
    app, api = mail_app
    inbox = smtp[0]
    await submitted_request(api)
    services = app.state.services
    claimed = await claim(services.sessionmaker, services.settings, clock(), limit=10)  # …and the worker dies
    assert len(claimed) == 2
    assert await deliver(app) == {PENDING: 0, DELIVERED: 0, DEAD: 0}  # leased: no one else takes them
    clock.advance(seconds=services.settings.outbox_lease_seconds + 1)
    assert await deliver(app) == {PENDING: 0, DELIVERED: 2, DEAD: 0}
    assert sorted(message["To"] for message in inbox.messages) == ["alice@example.org", "bob@example.org"]
    assert {row.attempts for row in await outbox_rows(app)} == {2}


async def test_concurrent_workers_never_deliver_a_row_twice_in_one_lease(mail_app: Any, smtp: tuple[Inbox, int]) -> None:
    app, api = mail_app
    inbox = smtp[0]
    org, _ = await submitted_request(api)
    for register in ("HDBP0211", "HDBP0031"):
        response = await api.request_access(org["id"], "carol", register=register, justification="Another registry to report on.")
        assert response.status_code == 201, response.text
    rows = await outbox_rows(app)
    assert len(rows) == 6
    mailer = SmtpMailer.from_settings(app.state.services.settings)
    delivered_by: dict[str, list[Any]] = {"one": [], "two": []}

    def worker(name: str) -> Any:
        async def deliver_slowly(row: OutboxMessage) -> None:
            delivered_by[name].append(row.id)
            await asyncio.sleep(0.05)
            await mailer(row)

        return deliver_slowly

    services = app.state.services
    results = await asyncio.gather(
        *(deliver_due(services.sessionmaker, services.settings, services.clock, worker(name), limit=1) for name in ("one", "two", "one", "two"))
    )
    everything = delivered_by["one"] + delivered_by["two"]
    assert len(everything) == len(set(everything))  # no row was handed to two workers
    assert sum(result[DELIVERED] for result in results) == len(everything)
    await deliver(app)
    assert len(inbox.messages) == len(rows)
    assert {row.status for row in await outbox_rows(app)} == {DELIVERED}


def test_mail_is_rendered_in_english_dutch_and_french() -> None:
    values = dict(requester="Carol", organisation="AZ", application="healthstat", register="HDBP0147", profile="data_provider/hospital", justification="Because.", link="https://eam.example.org/inbox")
    assert render("request_submitted", "en", **values)["subject"].startswith("Access request waiting")
    dutch = render("request_submitted", "nl", **values)
    assert dutch["subject"].startswith("Toegangsaanvraag wacht") and "Aanvrager" in dutch["text"] and "Aanvrager" in dutch["html"]
    french = render("request_submitted", "fr", **values)
    assert french["subject"].startswith("Demande d’accès en attente") and "Demandeur" in french["text"]
    decided = dict(values, name="Carol", decision="rejected", comment="Nee", narrowed="", asked="", asked_until="", approved_until="")
    assert "afgewezen" in render("request_decided", "nl", **decided)["text"]
    assert "refusée" in render("request_decided", "fr", **decided)["text"]
    assert render("request_submitted", "de", **values)["language"] == "en"


def test_user_text_cannot_inject_headers() -> None:
    payload = {"subject": "Hello\r\nBcc: evil@example.org", "text": "body", "html": "<p>body</p>"}
    message = build_message("EAM <eam@example.org>", "alice@example.org", payload)
    assert message["Bcc"] is None
    parsed = email.message_from_bytes(message.as_bytes(), policy=default)
    assert parsed["Bcc"] is None and parsed["Subject"] == "Hello Bcc: evil@example.org"
    sneaky = {"subject": "Demande d’accès\r\nBcc: evil@example.org chez é", "text": "body", "html": "<p>body</p>"}
    parsed = email.message_from_bytes(build_message("eam@example.org", "alice@example.org", sneaky).as_bytes(), policy=default)
    assert parsed["Bcc"] is None and parsed["Subject"] == "Demande d’accès Bcc: evil@example.org chez é"


@pytest.mark.parametrize(
    "text",
    [
        "Transmise aux administrateurs de la plateforme : une demande d’accès chez AZ Sint-Jan Brugge attend depuis le 3 décembre 2026",
        "Geëscaleerd naar de platformbeheerders: een toegangsaanvraag bij AZ Sint-Jan Brugge wacht sinds 3 december 2026",
        "A plain ASCII subject long enough to be folded over two lines by the message's own folding rules",
    ],
)
def test_a_long_subject_reads_back_exactly_as_written(text: str) -> None:
    """Folded to 78 characters a line, and unfolded by the reader to the very same text: no word
    cut between plain and encoded words ("depui s"), no doubled space."""
    raw = build_message("eam@example.org", "alice@example.org", {"subject": text, "text": "body", "html": "<p>body</p>"}).as_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert max(len(line) for line in head.split(b"\r\n")) <= 78
    assert str(email.message_from_bytes(raw, policy=default)["Subject"]) == text


async def test_the_app_delivers_by_itself_when_smtp_is_configured(database_url: str, smtp: tuple[Inbox, int], clock: Clock) -> None:
    inbox, port = smtp
    app = create_app(mail_settings(database_url, port, outbox_poll_seconds=0.05), clock=clock, run_housekeeping=True)
    async with serve_in_process(app) as http:
        await submitted_request(Api(http))
        for _ in range(200):
            if len(inbox.messages) == 2:
                break
            await asyncio.sleep(0.05)
    assert sorted(message["To"] for message in inbox.messages) == ["alice@example.org", "bob@example.org"]


def test_smtp_and_outbox_settings_are_read_and_checked() -> None:
    settings = Settings.from_env(
        {
            "EAM_SMTP_URL": "smtps://mail.example.org",
            "EAM_SMTP_FROM": "EAM <noreply@example.org>",
            "EAM_OUTBOX_MAX_ATTEMPTS": "5",
            "EAM_OUTBOX_BACKOFF_SECONDS": "10",
            "EAM_OUTBOX_BACKOFF_MAX_SECONDS": "100",
            "EAM_OUTBOX_LEASE_SECONDS": "60",
        }
    )
    assert (settings.outbox_max_attempts, settings.outbox_backoff_seconds, settings.outbox_backoff_max_seconds) == (5, 10.0, 100.0)
    mailer = SmtpMailer.from_settings(settings)
    assert (mailer.host, mailer.port, mailer.use_tls, mailer.start_tls, mailer.sender) == ("mail.example.org", 465, True, False, "EAM <noreply@example.org>")
    starttls = SmtpMailer.from_settings(Settings.from_env({"EAM_SMTP_URL": "smtp://mail.example.org:587?starttls=true"}))
    assert (starttls.port, starttls.use_tls, starttls.start_tls) == (587, False, True)
    for environ, named in (
        ({"EAM_SMTP_URL": "http://mail.example.org"}, "EAM_SMTP_URL"),
        ({"EAM_SMTP_FROM": "no address"}, "EAM_SMTP_FROM"),
        ({"EAM_OUTBOX_MAX_ATTEMPTS": "0"}, "EAM_OUTBOX_MAX_ATTEMPTS"),
        ({"EAM_OUTBOX_BACKOFF_SECONDS": "soon"}, "EAM_OUTBOX_BACKOFF_SECONDS"),
        ({"EAM_OUTBOX_BACKOFF_SECONDS": "600", "EAM_OUTBOX_BACKOFF_MAX_SECONDS": "60"}, "EAM_OUTBOX_BACKOFF_SECONDS"),
        ({"EAM_OUTBOX_LEASE_SECONDS": "5"}, "EAM_OUTBOX_LEASE_SECONDS"),
    ):
        with pytest.raises(SettingsError, match=named):
            Settings.from_env(environ)


async def test_admins_read_the_delivery_log_and_send_a_dead_message_again(database_url: str, smtp: tuple[Inbox, int], clock: Clock) -> None:
    inbox, port = smtp
    settings = mail_settings(database_url, port, outbox_max_attempts=1)
    app = create_app(settings, clock=clock, run_housekeeping=False)
    async with serve_in_process(app) as http:
        api = Api(http)
        await submitted_request(api)
        inbox.refuse = True
        assert await deliver(app) == {PENDING: 0, DELIVERED: 0, DEAD: 2}
        dead = (await api.get("/v1/outbox", "admin", params={"status": "dead"})).json()["items"]
        assert sorted(item["recipient"] for item in dead) == ["alice@example.org", "bob@example.org"]
        assert dead[0]["subject"] and dead[0]["attempts"] == 1 and "451" in dead[0]["last_error"]
        assert "body" not in json.dumps(dead) and JUSTIFICATION not in json.dumps(dead)  # the envelope only
        assert_problem(await api.get("/v1/outbox", "alice"), 403, "forbidden")
        assert_problem(await api.get("/v1/outbox", "admin", params={"status": "lost"}), 422, "validation-error")

        inbox.refuse = False
        again = await api.post(f"/v1/outbox/{dead[0]['id']}/resend", "admin")
        assert again.status_code == 200, again.text
        assert again.json()["status"] == "pending" and again.json()["attempts"] == 0
        assert_problem(await api.post(f"/v1/outbox/{dead[0]['id']}/resend", "admin"), 409, "conflict")
        assert_problem(await api.post(f"/v1/outbox/{uuid.uuid4()}/resend", "admin"), 404, "not-found")
        assert await deliver(app) == {PENDING: 0, DELIVERED: 1, DEAD: 0}
        assert [m["To"] for m in inbox.messages] == [dead[0]["recipient"]]
        assert len((await api.get("/v1/outbox", "admin", params={"status": "delivered"})).json()["items"]) == 1
        events = (await api.get("/v1/audit-events", "admin", params={"action": "outbox.resent"})).json()["items"]
        assert [event["target_id"] for event in events] == [dead[0]["id"]]


MONTHS = {
    "nl": ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december"],
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"],
}


def mail_day(moment: dt.datetime | dt.date, language: str = "en") -> str:
    """A day as a reader of ``language`` writes it, as mails say it (Brussels time)."""
    day = moment.astimezone(BRUSSELS).date() if isinstance(moment, dt.datetime) else moment
    if language == "en":
        return f"{day:%B} {day.day}, {day.year}"
    return f"{day.day} {MONTHS[language][day.month - 1]} {day.year}"
