"""Access review mail through a real SMTP server on loopback (SQLite and PostgreSQL): each
reviewer is mailed once when a campaign starts and once before it closes, if items of their
organisation are still pending then."""

from __future__ import annotations

import datetime as dt

from eam.app import create_app
from eam.jobs import REMIND_REVIEWERS, run_job
from tests.conftest import Api, Clock, serve_in_process
from tests.test_outbox_email import Inbox, assert_nothing_secret, bodies, deliver, mail_day, mail_settings, sign_in, smtp, subject

__all__ = ["smtp"]


async def test_reviewers_are_mailed_at_the_start_and_once_before_the_deadline(database_url: str, smtp: tuple[Inbox, int], clock: Clock) -> None:
    inbox, port = smtp
    app = create_app(mail_settings(database_url, port, review_reminder_days=3), clock=clock, run_housekeeping=False)
    async with serve_in_process(app) as http:
        api = Api(http)
        await sign_in(api, "alice", email="alice@example.org", name="Alice Manager")
        await sign_in(api, "bob", email="bob@example.org", name="Bob Manager")
        await sign_in(api, "dave", name="Dave Without Mail")
        await sign_in(api, "carol", email="carol@example.org", name="Carol Holder", national_number="85073003328")
        org = await api.managed_organisation("alice")
        for manager in ("bob", "dave"):
            assert (await api.appoint(org["id"], manager)).status_code == 201
        held = await api.approved_assignment(org["id"], "carol")
        assert (await api.patch("/v1/me", "bob", json={"language": "nl"})).status_code == 200
        await deliver(app)
        inbox.messages.clear()

        deadline = clock.now + dt.timedelta(days=10)
        started = await api.post("/v1/access-reviews", "alice", json={"organisation_id": org["id"], "deadline": deadline.isoformat(), "default_decision": "keep"})
        assert started.status_code == 201, started.text
        review = started.json()
        await deliver(app)
        assert sorted(message["To"] for message in inbox.messages) == ["alice@example.org", "bob@example.org"]
        first = inbox.to("bob@example.org")[0]  # in Dutch, the language bob chose
        assert subject(first) == f"Toegangsreview uit te voeren tegen {mail_day(deadline, 'nl')}: AZ Sint-Jan Brugge"
        assert first["Content-Language"] == "nl"
        assert subject(inbox.to("alice@example.org")[0]) == f"Access review to do by {mail_day(deadline)}: AZ Sint-Jan Brugge"
        text, html = bodies(first)
        assert f"https://eam.example.org/reviews/{review['id']}" in text and f'href="https://eam.example.org/reviews/{review["id"]}"' in html
        assert "Carol" not in text  # no holder named
        for message in inbox.messages:
            assert_nothing_secret(message)

        inbox.messages.clear()
        assert await run_job(app.state.services, REMIND_REVIEWERS) == 0  # 10 days left
        clock.advance(days=8)
        assert await run_job(app.state.services, REMIND_REVIEWERS) == 2
        assert await run_job(app.state.services, REMIND_REVIEWERS) == 0  # once
        await deliver(app)
        assert sorted(message["To"] for message in inbox.messages) == ["alice@example.org", "bob@example.org"]
        assert subject(inbox.to("alice@example.org")[0]) == f"Access review closes on {mail_day(deadline)}: AZ Sint-Jan Brugge"
        assert held["id"]


async def test_no_reminder_when_nothing_is_pending(database_url: str, smtp: tuple[Inbox, int], clock: Clock) -> None:
    inbox, port = smtp
    app = create_app(mail_settings(database_url, port), clock=clock, run_housekeeping=False)
    async with serve_in_process(app) as http:
        api = Api(http)
        await sign_in(api, "alice", email="alice@example.org", name="Alice Manager")
        org = await api.managed_organisation("alice")
        held = await api.approved_assignment(org["id"], "carol")
        review = (await api.post("/v1/access-reviews", "alice", json={"organisation_id": org["id"], "deadline": (clock.now + dt.timedelta(days=2)).isoformat(), "default_decision": "keep"})).json()
        decided = await api.post(f"/v1/access-reviews/{review['id']}/items/{held['id']}/decision", "alice", json={"decision": "keep", "reason": "Needed."})
        assert decided.status_code == 200, decided.text
        assert await run_job(app.state.services, REMIND_REVIEWERS) == 0
        events = (await api.get("/v1/audit-events", "admin", params={"action": "access_review.reminded"})).json()["items"]
        assert len(events) == 1 and events[0]["after"]["mails"] == 0
