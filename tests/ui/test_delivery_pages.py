"""The delivery log page of platform admins: the messages EAM sends, filtered by state, and a
given-up message sent again; nobody else reads it. In process, as tests/ui/test_admin_pages.py."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from litestar import Litestar

from eam.outbox.models import OutboxMessage
from tests.conftest import Api, Clock
from tests.ui.pages import text_of
from tests.ui.test_admin_pages import browser  # noqa: F401 (the fixture)


async def add_message(app: Litestar, now: dt.datetime, status: str, event: str, recipient: str, error: str | None = None) -> uuid.UUID:
    row = OutboxMessage(
        id=uuid.uuid4(), channel="email", event=event, recipient=recipient, payload={"subject": f"About {event}", "text": "secret body", "html": ""},
        status=status, attempts=8 if status == "dead" else 1, created_at=now, next_attempt_at=now, last_error=error,
    )
    async with app.state.sessionmaker() as session, session.begin():
        session.add(row)
    return row.id


async def test_admins_read_the_delivery_log_and_send_a_given_up_message_again(api: Api, app: Litestar, clock: Clock, browser: Any) -> None:  # noqa: F811
    dead = await add_message(app, clock(), "dead", "access_request.submitted", "alice@example.org", "SMTPRecipientsRefused: 550 mailbox full")
    await add_message(app, clock(), "delivered", "access_request.approved", "carol@example.org")
    admin = await browser("admin")
    assert 'href="/admin/deliveries"' in (await admin.get("/admin/organisations")).text
    page = await admin.get("/admin/deliveries")
    text = text_of(page.text)
    assert page.status_code == 200
    assert "alice@example.org" in text and "carol@example.org" in text and "550 mailbox full" in text
    assert "About access_request.submitted" in text and "secret body" not in page.text  # the envelope only
    given_up = await admin.get("/admin/deliveries", status="dead")
    assert "alice@example.org" in given_up.text and "carol@example.org" not in given_up.text
    assert f'action="/admin/deliveries/{dead}/resend"' in given_up.text

    again = await admin.post(f"/admin/deliveries/{dead}/resend")
    assert again.status_code == 303 and again.headers["location"] == "/admin/deliveries?notice=message-resent"
    assert "The message will be sent again at once." in text_of((await admin.get("/admin/deliveries", notice="message-resent")).text)
    assert "alice@example.org" not in (await admin.get("/admin/deliveries", status="dead")).text
    row = (await api.get("/v1/outbox", "admin", params={"status": "pending"})).json()["items"]
    assert [item["id"] for item in row] == [str(dead)] and row[0]["attempts"] == 0
    twice = await admin.post(f"/admin/deliveries/{dead}/resend")  # not given up any more: refused in words
    assert twice.status_code == 409 and 'role="alert"' in twice.text


async def test_nobody_else_reads_the_delivery_log(api: Api, browser: Any) -> None:  # noqa: F811
    await api.managed_organisation("alice")
    for user in ("alice", "carol"):
        visitor = await browser(user)
        assert (await visitor.get("/admin/deliveries")).status_code == 403
