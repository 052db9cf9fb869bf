"""Reminders before an assignment ends (``EAM_REMINDER_DAYS``), written by the periodic job and
delivered to a real SMTP server on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import select

from eam.app import create_app
from eam.core.settings import Settings, SettingsError
from eam.jobs import REMIND_ENDING, run_all, run_job
from eam.notifications.mail import render
from eam.notifications.models import AssignmentReminder
from eam.outbox.service import DELIVERED
from tests.conftest import Api, Clock, serve_in_process
from tests.test_outbox_email import Inbox, assert_nothing_secret, bodies, deliver, mail_day, mail_settings, outbox_rows, sign_in, smtp, subject

__all__ = ["smtp"]  # the SMTP server fixture, shared with the outbox tests

ORG = "AZ Sint-Jan Brugge"


async def assignment(api: Api, org_id: str, user: str, register: str, ends: dt.datetime | None) -> dict[str, Any]:
    submitted = await api.request_access(org_id, user, register=register)
    assert submitted.status_code == 201, submitted.text
    body = {"valid_until": ends.isoformat()} if ends else {}
    approved = await api.post(f"/v1/access-requests/{submitted.json()['id']}/approve", "alice", json=body)
    assert approved.status_code == 200, approved.text
    return dict(approved.json())


async def remind(app: Litestar) -> int:
    return await run_job(app.state.services, REMIND_ENDING)


async def reminders(app: Litestar) -> list[tuple[str, int]]:
    async with app.state.sessionmaker() as session:
        rows = await session.scalars(select(AssignmentReminder).order_by(AssignmentReminder.assignment_id, AssignmentReminder.days_before))
        return [(str(row.assignment_id), row.days_before) for row in rows]


async def test_reminders_before_the_end_are_sent_once_to_the_holder_and_the_managers(
    database_url: str, smtp: tuple[Inbox, int], clock: Clock
) -> None:
    inbox, port = smtp
    app = create_app(mail_settings(database_url, port), clock=clock, run_housekeeping=False)
    async with serve_in_process(app) as http:
        api = Api(http)
        await sign_in(api, "alice", email="alice@example.org", name="Alice Manager")
        await sign_in(api, "bob", email="bob@example.org", name="Bob Manager")
        await sign_in(api, "dave", name="Dave Without Mail")
        await sign_in(api, "carol", email="carol@example.org", name="Carol Holder", national_number="85073003328")
        await sign_in(api, "erin", name="Erin Without Mail")
        org = await api.managed_organisation("alice")
        for manager in ("bob", "dave"):
            assert (await api.appoint(org["id"], manager)).status_code == 201
        now = clock.now
        ending = await assignment(api, org["id"], "carol", "HDBP0147", now + dt.timedelta(days=10))
        revoked = await assignment(api, org["id"], "carol", "HDBP0211", now + dt.timedelta(days=5))
        revoke = await api.post(f"/v1/assignments/{revoked['assignment_id']}/revoke", "bob", json={"reason": "Left the team"})
        assert revoke.status_code == 200, revoke.text
        await assignment(api, org["id"], "carol", "HDBP0031", None)  # open-ended
        later = await assignment(api, org["id"], "erin", "HDBP0147", now + dt.timedelta(days=20))
        await assignment(api, org["id"], "erin", "HDBP0211", now + dt.timedelta(hours=1))  # expires before the job runs
        await deliver(app)
        inbox.messages.clear()
        clock.advance(hours=2)

        # The 14-day reminder of the assignment ending in 10 days: carol, alice and bob (dave has no address).
        assert await remind(app) == 3
        assert await remind(app) == 0  # once
        assert (await deliver(app))[DELIVERED] == 3
        assert sorted(message["To"] for message in inbox.messages) == ["alice@example.org", "bob@example.org", "carol@example.org"]
        end_day = mail_day(now + dt.timedelta(days=10))
        [holder] = inbox.to("carol@example.org")
        assert subject(holder) == f"Your access ends on {end_day}: healthstat/HDBP0147 at {ORG}"
        text, html = bodies(holder)
        extension_page = f"https://eam.example.org/access/{ending['assignment_id']}/extend"  # straight to asking to extend
        assert f"ends on {end_day}" in text and "data_provider/hospital" in text and extension_page in text
        assert f'href="{extension_page}"' in html
        [manager] = inbox.to("alice@example.org")
        assert subject(manager) == f"Access ends on {end_day}: Carol Holder, healthstat/HDBP0147 at {ORG}"
        text, html = bodies(manager)
        assignment_page = f"https://eam.example.org/organisations/{org['id']}/assignments/{ending['assignment_id']}"
        assert "The access of Carol Holder" in text and assignment_page in text
        assert f'href="{assignment_page}"' in html
        for message in inbox.messages:
            assert_nothing_secret(message)
        assert await reminders(app) == [(ending["assignment_id"], 14)]

        # A week later: erin's assignment (13 days left) is reminded to the managers only.
        inbox.messages.clear()
        clock.advance(days=7)
        assert await remind(app) == 2
        await deliver(app)
        assert sorted(message["To"] for message in inbox.messages) == ["alice@example.org", "bob@example.org"]
        assert "Erin Without Mail" in subject(inbox.messages[0])

        # Under a day before the end: the 1-day reminder, once.
        inbox.messages.clear()
        clock.advance(days=2, hours=12)
        assert await remind(app) == 3
        assert (await run_all(app.state.services))[REMIND_ENDING.name] == 0  # the job in the round
        await deliver(app)
        assert sorted(message["To"] for message in inbox.messages) == ["alice@example.org", "bob@example.org", "carol@example.org"]
        assert len([row for row in await outbox_rows(app) if row.event == "assignment.ending"]) == 3 + 2 + 3
        assert sorted(await reminders(app)) == sorted([(ending["assignment_id"], 14), (ending["assignment_id"], 1), (later["assignment_id"], 14)])
        events = (await api.get("/v1/audit-events", "admin", params={"action": "assignment.reminded"})).json()["items"]
        assert len(events) == 3


async def test_an_assignment_first_seen_inside_both_windows_gets_the_nearest_reminder_only(
    database_url: str, smtp: tuple[Inbox, int], clock: Clock
) -> None:
    inbox, port = smtp
    app = create_app(mail_settings(database_url, port), clock=clock, run_housekeeping=False)
    async with serve_in_process(app) as http:
        api = Api(http)
        await sign_in(api, "alice", email="alice@example.org", name="Alice Manager")
        await sign_in(api, "carol", email="carol@example.org", name="Carol Holder")
        org = await api.managed_organisation("alice")
        ending = await assignment(api, org["id"], "carol", "HDBP0147", clock.now + dt.timedelta(hours=12))
        await deliver(app)
        inbox.messages.clear()
        assert await remind(app) == 2
        assert await remind(app) == 0
        assert await reminders(app) == [(ending["assignment_id"], 1), (ending["assignment_id"], 14)]
        # Extended: reminded again before the new end.
        extended = await api.patch(f"/v1/assignments/{ending['assignment_id']}", "alice", json={"valid_until": (clock.now + dt.timedelta(days=30)).isoformat()})
        assert extended.status_code == 200, extended.text
        assert await remind(app) == 0
        clock.advance(days=20)
        assert await remind(app) == 2


async def test_nothing_is_written_without_smtp(database_url: str, clock: Clock) -> None:
    settings = Settings(database_url=database_url, platform_admins=("admin",), expiry_sweep_seconds=0)
    app = create_app(settings, clock=clock, run_housekeeping=False)
    async with serve_in_process(app) as http:
        api = Api(http)
        org = await api.managed_organisation("alice")
        await assignment(api, org["id"], "carol", "HDBP0147", clock.now + dt.timedelta(days=3))
        assert await remind(app) == 0
        assert await reminders(app) == []
        assert await outbox_rows(app) == []


def test_reminder_days_are_read_and_checked() -> None:
    assert Settings.from_env({}).reminder_days == (14, 1)
    assert Settings.from_env({"EAM_REMINDER_DAYS": "1, 30,7"}).reminder_days == (30, 7, 1)
    assert Settings.from_env({"EAM_REMINDER_DAYS": ""}).reminder_days == ()
    for value in ("soon", "0", "14,400", "1.5"):
        with pytest.raises(SettingsError, match="EAM_REMINDER_DAYS"):
            Settings.from_env({"EAM_REMINDER_DAYS": value})


def test_reminders_are_rendered_in_dutch_and_french() -> None:
    values = dict(name="Carol", holder="Carol", organisation="AZ", application="healthstat", register="HDBP0147", profile="data_provider/hospital", end="2027-01-01", link="https://eam.example.org/")
    assert render("assignment_ending", "nl", **values)["subject"].startswith("Uw toegang eindigt op 2027-01-01")
    assert "verlenging" in render("assignment_ending", "nl", **values)["text"]
    assert render("assignment_ending", "fr", **values)["subject"].startswith("Votre accès prend fin le 2027-01-01")
    assert "De toegang van Carol" in render("assignment_ending_manager", "nl", **values)["html"]
    assert "L’accès de Carol" in render("assignment_ending_manager", "fr", **values)["text"]


async def test_two_workers_racing_send_each_reminder_once(database_url: str, smtp: tuple[Inbox, int], clock: Clock) -> None:
    inbox, port = smtp
    app = create_app(mail_settings(database_url, port), clock=clock, run_housekeeping=False)
    async with serve_in_process(app) as http:
        api = Api(http)
        await sign_in(api, "alice", email="alice@example.org", name="Alice Manager")
        await sign_in(api, "carol", email="carol@example.org", name="Carol Holder")
        org = await api.managed_organisation("alice")
        await assignment(api, org["id"], "carol", "HDBP0147", clock.now + dt.timedelta(days=5))
        results = await asyncio.gather(remind(app), remind(app), return_exceptions=True)
        assert sum(result for result in results if isinstance(result, int)) == 2, results
        assert len([row for row in await outbox_rows(app) if row.event == "assignment.ending"]) == 2
