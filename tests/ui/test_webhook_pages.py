"""The webhook pages of platform admins: subscribe a URL (its secret shown once), refused URLs
said in words with what was typed kept, pause, resume and delete; nobody else gets in. In
process, as tests/ui/test_admin_pages.py."""

from __future__ import annotations

import re
from typing import Any

import pytest

from eam.core.settings import Settings
from tests.conftest import Api
from tests.ui.pages import text_of
from tests.ui.test_admin_pages import browser  # noqa: F401 (the fixture)


@pytest.fixture
def settings(database_url: str) -> Settings:
    """As the suite's, with the loopback receivers of tests allowed past the SSRF guard."""
    return Settings(database_url=database_url, platform_admins=("admin",), expiry_sweep_seconds=0, webhook_allowed_hosts=("127.0.0.1",))


async def test_admin_subscribes_pauses_resumes_and_deletes_a_webhook(api: Api, browser: Any) -> None:  # noqa: F811
    admin = await browser("admin")
    assert 'href="/admin/webhooks"' in (await admin.get("/admin/organisations")).text
    page = await admin.get("/admin/webhooks")
    assert page.status_code == 200 and "No subscription yet." in text_of(page.text)

    metadata = await admin.post("/admin/webhooks", {"url": "http://169.254.169.254/latest/meta-data", "events": "assignment.revoked"})
    assert metadata.status_code == 422 and 'role="alert"' in metadata.text and 'id="url-error"' in metadata.text
    assert 'value="http://169.254.169.254/latest/meta-data"' in metadata.text  # kept, to be corrected
    no_app = await admin.post("/admin/webhooks", {"url": "http://127.0.0.1:9/events", "format": "secevent"})
    assert no_app.status_code == 422 and 'id="application-error"' in no_app.text

    made = await admin.post("/admin/webhooks", {"url": "http://127.0.0.1:9/events", "events": "assignment.revoked", "application": "healthstat"})
    assert made.status_code == 201
    secret = re.search(r'id="webhook-secret" class="secret" readonly value="(whsec_[^"]+)"', made.text)
    assert secret is not None
    [subscription] = (await api.get("/v1/webhooks", "admin")).json()["items"]
    assert (subscription["url"], subscription["events"], subscription["application"]) == ("http://127.0.0.1:9/events", ["assignment.revoked"], "healthstat")
    listed = await admin.get("/admin/webhooks")
    assert secret.group(1) not in listed.text  # shown once

    paused = await admin.post(f"/admin/webhooks/{subscription['id']}/pause")
    assert paused.status_code == 303 and (await api.get(f"/v1/webhooks/{subscription['id']}", "admin")).json()["paused"] is True
    assert "nothing is sent to it until it is resumed" in text_of((await admin.get("/admin/webhooks", notice="webhook-paused")).text)
    await admin.post(f"/admin/webhooks/{subscription['id']}/resume")
    assert (await api.get(f"/v1/webhooks/{subscription['id']}", "admin")).json()["paused"] is False
    deleted = await admin.post(f"/admin/webhooks/{subscription['id']}/delete")
    assert deleted.status_code == 303 and (await api.get("/v1/webhooks", "admin")).json()["items"] == []
    actions = [event["action"] for event in (await api.get("/v1/audit-events", "admin", params={"target_id": subscription["id"]})).json()["items"]]
    assert actions == ["webhook.deleted", "webhook.resumed", "webhook.paused", "webhook.created"]


async def test_nobody_else_manages_webhooks(api: Api, browser: Any) -> None:  # noqa: F811
    await api.managed_organisation("alice")
    alice = await browser("alice")
    assert (await alice.get("/admin/webhooks")).status_code == 403
    assert (await alice.post("/admin/webhooks", {"url": "http://127.0.0.1:9/events"})).status_code == 403
    assert (await api.get("/v1/webhooks", "admin")).json()["items"] == []
