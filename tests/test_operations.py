"""Operations: request ids, the access log and its redaction, Prometheus metrics, rate limits,
and the settings behind them."""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from eam.app import create_app
from eam.observability.logs import redact
from eam.core.settings import SHIPPED_POLICIES_DIR, Settings, SettingsError
from tests.conftest import Api, Clock, assert_problem, free_port, serve_in_process, token, wait_until_serving

NATIONAL_NUMBER = "85073003328"
GRANT_REQUEST = {"application": "healthstat"}

# --- helpers -------------------------------------------------------------------------------


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels`` (0 when none)."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(key) == value for key, value in labels.items())
    )


def delta(before: str, after: str, name: str, **labels: str) -> float:
    return metric(after, name, **labels) - metric(before, name, **labels)


async def scrape(api: Api) -> str:
    response = await api.get("/metrics", None)
    assert response.status_code == 200, response.text
    return response.text


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


class EamServe:
    """``eam serve`` in a subprocess on a new SQLite file (demo data) unless ``EAM_DATABASE_URL``
    says otherwise, stderr kept apart."""

    def __init__(self, tmp_path: Path, *args: str, **env: str) -> None:
        environ = {key: value for key, value in os.environ.items() if not key.startswith("EAM_")}
        environ.update(EAM_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'eam.db'}", EAM_POLICIES_DIR=str(SHIPPED_POLICIES_DIR))
        environ.update(env)
        self.base = f"http://127.0.0.1:{free_port()}"
        command = [sys.executable, "-m", "eam", "serve", "--port", self.base.rsplit(":", 1)[1], *args]
        self.process = subprocess.Popen(command, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wait_until_serving(self.process, f"{self.base}/health/ready")

    def call(self, method: str, path: str, user: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if user is not None:
            headers.setdefault("Authorization", f"Bearer {token(user)}")
        return httpx.request(method, self.base + path, headers=headers, timeout=10, **kwargs)

    def stop(self) -> str:
        self.process.terminate()
        try:
            return self.process.communicate(timeout=30)[1]
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.communicate()[1]


# --- 1. request ids ------------------------------------------------------------------------


SANE_IDS = ["ops-1", "Az09._:-" * 16]  # the second: 128 characters, every allowed kind
INSANE_IDS = ["x" * 129, "two words", "tab\tseparated", "semi;colon", ""]


@pytest.mark.parametrize("sent, kept", [(sent, True) for sent in SANE_IDS] + [(sent, False) for sent in INSANE_IDS])
async def test_a_sane_request_id_is_echoed_and_any_other_replaced_by_a_uuid(api: Api, sent: str, kept: bool) -> None:
    response = await api.get("/v1/me", "carol", headers={"X-Request-ID": sent})
    assert response.status_code == 200, response.text
    echoed = response.headers["x-request-id"]
    assert echoed == sent if kept else (echoed != sent and str(uuid.UUID(echoed)) == echoed)


async def test_unrouted_404_and_405_answers_carry_a_request_id(api: Api) -> None:
    missing = await api.get("/no/such/path", None, headers={"X-Request-ID": "ops-404"})
    assert_problem(missing, 404, "not-found")
    assert missing.headers["x-request-id"] == "ops-404"
    wrong_method = await api.call("PUT", "/v1/me", None)
    assert_problem(wrong_method, 405, "method-not-allowed")
    assert str(uuid.UUID(wrong_method.headers["x-request-id"])) == wrong_method.headers["x-request-id"]
    assert (await api.get("/v1/me", None)).headers["x-request-id"]  # and a 401


@pytest.mark.parametrize("sent", ["ops-audit-{hex}", "not a sane id {hex}"])
async def test_the_audit_event_stores_the_request_id_of_the_response(api: Api, sent: str) -> None:
    created = await api.post(
        "/v1/organisations", json={"name": "AZ Sint-Jan Brugge", "nihdi": "71000436"}, headers={"X-Request-ID": sent.format(hex=uuid.uuid4().hex)}
    )
    assert created.status_code == 201, created.text
    events = (await api.get("/v1/audit-events", params={"target_id": created.json()["id"]})).json()["items"]
    assert [(e["action"], e["http_request_id"]) for e in events] == [("organisation.created", created.headers["x-request-id"])]


# --- 2. logs -------------------------------------------------------------------------------


async def test_one_access_record_per_request_with_path_route_status_and_request_id(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    org = await api.organisation()
    caplog.set_level(logging.INFO, logger="eam.access")
    calls = [
        ("GET", "/v1/organisations?limit=5&q=secret", "admin", 200, "/v1/organisations"),
        # a parameter the operation does not read is refused (before authentication), and not logged either
        ("GET", f"/v1/organisations/{org['id']}?limit=5&token=secret", "admin", 422, "/v1/organisations/{organisation_id}"),
        ("GET", "/v1/me?access_token=secret", None, 422, "/v1/me"),
        ("GET", "/v1/me", None, 401, "/v1/me"),
        ("GET", "/no/such/path?q=secret", None, 404, None),
        ("DELETE", "/v1/me", None, 405, None),
    ]
    for index, (method, url, user, status, route) in enumerate(calls):
        caplog.clear()
        response = await api.call(method, url, user, headers={"X-Request-ID": f"ops-log-{index}"})
        assert response.status_code == status, response.text
        [record] = [r for r in caplog.records if r.name == "eam.access"]
        path = url.split("?")[0]
        assert (record.method, record.path, record.route, record.status, record.request_id) == (method, path, route, status, f"ops-log-{index}")
        assert isinstance(record.duration_ms, float) and 0 <= record.duration_ms < 10_000
        assert record.getMessage() == f"{method} {path} {status}"


LOGGING_SCRIPT = """
import logging, logging.config, sys
from eam.observability.logs import log_config
from eam.core.settings import Settings
logging.config.dictConfig(log_config(Settings(log_format=sys.argv[1], log_level="INFO")))
secret = sys.argv[2]
log = logging.getLogger("eam.test")
log.info("plain %s", "text", extra={"request_id": "r-1", "status": 200, "note": "for " + secret})
log.debug("below the level")
logging.getLogger("uvicorn.access").info("GET /x?token=%s 200", secret)
log.warning("Authorization: Basic abc and client_secret=xyz&scope=a from %s", "85.07.30-033.28")
try:
    raise ValueError("subject " + secret + " national number 85073003328")
except ValueError:
    log.exception("failed for request %s", "3f2a9c1e-7b4d-4e8a-9c2f-a12345678901")
log.info("%s %s", "a broken call")
print("survived")
"""


def run_logging_script(log_format: str, secret: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-c", LOGGING_SCRIPT, log_format, secret], capture_output=True, text=True, timeout=60, check=False)
    assert result.stdout == "survived\n", result.stderr  # a broken log call does not raise
    for leaked in (secret, "85073003328", "85.07.30-033.28", "abc", "xyz", "GET /x"):
        assert leaked not in result.stderr
    return result


def test_json_log_lines_carry_level_logger_message_time_and_extras_all_redacted() -> None:
    jwt = token("carol", national_number=NATIONAL_NUMBER)
    records = [json.loads(line) for line in run_logging_script("json", jwt).stderr.splitlines()]
    assert [(r["level"], r["logger"]) for r in records] == [("INFO", "eam.test"), ("WARNING", "eam.test"), ("ERROR", "eam.test"), ("INFO", "eam.test")]
    plain, credentials, failure, broken = records
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00", plain["time"])
    assert (plain["message"], plain["request_id"], plain["status"], plain["note"]) == ("plain text", "r-1", 200, "for [redacted-token]")
    assert credentials["message"] == "Authorization: Basic [redacted] and client_secret=[redacted]&scope=a from [redacted-number]"
    assert failure["message"] == "failed for request 3f2a9c1e-7b4d-4e8a-9c2f-a12345678901"
    assert "ValueError: subject [redacted-token] national number [redacted-number]" in failure["exc_info"]
    assert "Traceback" in failure["exc_info"]
    assert "a broken call" in broken["message"]


def test_text_log_lines_are_plain_and_redacted_too() -> None:
    stderr = run_logging_script("text", token("carol")).stderr
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO eam\.test plain text$", stderr, re.MULTILINE)
    assert "ValueError: subject [redacted-token] national number [redacted-number]" in stderr
    assert not any(line.startswith("{") for line in stderr.splitlines())


REDACTED = [
    ("Bearer {jwt}", "Bearer [redacted-token]"),
    ("token={jwt}&x=1", "token=[redacted-token]&x=1"),
    ("Authorization: Basic abc", "Authorization: Basic [redacted]"),
    ("client_secret=xyz", "client_secret=[redacted]"),
    ("NISS 85.07.30-033.28.", "NISS [redacted-number]."),
    ("niss=85073003328", "niss=[redacted-number]"),
    ("850730-033.28 and 85073003328", "[redacted-number] and [redacted-number]"),
]
KEPT = [
    "NIHDI 71000436",
    "organisation 123e4567-e89b-12d3-a456-426614174000",
    "request a57333a9-3fe2-47d1-851e-85073003328e",  # 11 decimal digits inside a UUID
    "2026-11-25T06:50:59.118394+00:00 on 2026-11-25",
    "GET /v1/me 200 in 12.53 ms from 127.0.0.1:36077",
    "eyJ alone is not a token",
]


@pytest.mark.parametrize("text, expected", REDACTED)
def test_redact_blanks_tokens_credentials_and_national_numbers(text: str, expected: str) -> None:
    assert redact(text.format(jwt=token("carol"))) == expected


@pytest.mark.parametrize("text", KEPT)
def test_redact_keeps_ordinary_text(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_eam_serve_logs_every_request_and_never_a_token_or_national_number(tmp_path: Path, log_format: str) -> None:
    carol = token("carol", national_number=NATIONAL_NUMBER)
    server = EamServe(tmp_path, EAM_LOG_FORMAT=log_format)
    try:
        as_carol = {"Authorization": f"Bearer {carol}"}
        orgs = server.call("GET", "/v1/organisations", headers={**as_carol, "X-Request-ID": "ops-e2e-orgs"}).json()["items"]
        brugge = next(o for o in orgs if o["nihdi"] == "71000436")
        body = {"organisation_id": brugge["id"], "application": "healthstat", "register": "HDBP0147",
                "profile": {"role": "data_provider", "data_level": "hospital"}, "justification": "Reporting for our hospital."}
        submitted = server.call("POST", "/v1/access-requests", headers=as_carol, json=body)
        assert submitted.status_code == 201, submitted.text
        assert server.call("POST", f"/v1/access-requests/{submitted.json()['id']}/approve", "alice", json={}).status_code == 200
        grant = server.call("POST", "/v1/grant-tokens", headers={**as_carol, "X-Request-ID": "ops-e2e-grant"}, json=GRANT_REQUEST)
        assert grant.status_code == 200, grant.text
        granted = grant.json()["access_token"]
        assert server.call("POST", "/oauth2/introspect", data={"token": granted}).status_code == 401
        assert server.call("GET", f"/v1/me?access_token={carol}", headers=as_carol).status_code == 422  # not a parameter
        assert server.call("GET", f"/nope/{NATIONAL_NUMBER}", headers={"X-Request-ID": "ops-e2e-404"}).status_code == 404
    finally:
        stderr = server.stop()
    for leaked in (carol, granted, NATIONAL_NUMBER, "access_token="):
        assert leaked not in stderr
    assert not re.search(r"eyJ[\w-]+\.[\w-]+\.", stderr)  # no token at all, alice's neither
    lines = stderr.splitlines()
    if log_format == "text":
        assert re.search(r"^\S+ \S+ INFO eam\.access POST /v1/grant-tokens 200$", stderr, re.MULTILINE), stderr
        assert re.search(r"^\S+ \S+ INFO eam\.access GET /nope/\[redacted-number\] 404$", stderr, re.MULTILINE), stderr
        assert not any(line.startswith("{") for line in lines)
        return
    # Before logging is configured, the CLI's notice and import-time Python warnings are plain text.
    first = next(index for index, line in enumerate(lines) if line.startswith("{"))
    records = [json.loads(line) for line in lines[first:]]
    assert all({"level", "logger", "message", "time"} <= record.keys() for record in records)
    requests = {r["request_id"]: r for r in records if r["logger"] == "eam.access"}
    assert len(requests) == sum(1 for r in records if r["logger"] == "eam.access")  # one line per request
    assert {key: requests["ops-e2e-grant"][key] for key in ("method", "path", "route", "status")} == {
        "method": "POST", "path": "/v1/grant-tokens", "route": "/v1/grant-tokens", "status": 200
    }
    assert requests["ops-e2e-orgs"]["status"] == 200
    assert requests["ops-e2e-404"]["path"] == "/nope/[redacted-number]" and requests["ops-e2e-404"]["route"] is None
    assert any(r["path"] == "/v1/me" and r["status"] == 422 for r in requests.values())
    assert any(r["path"] == "/oauth2/introspect" and r["status"] == 401 for r in requests.values())


# --- 3. metrics ----------------------------------------------------------------------------


async def test_metrics_is_prometheus_text_outside_the_api_contract(api: Api, app: Any) -> None:
    # Litestar's middleware makes its HTTP metrics at the first request it counts (``/metrics``
    # itself is not counted): one request first, whatever ran before in this process.
    assert (await api.get("/v1/me", "carol")).status_code == 200
    response = await api.get("/metrics", None)
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE_LATEST
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {"eam_http_requests", "eam_http_request_duration_seconds", "eam_grant_tokens_issued", "eam_service_tokens_issued",
            "eam_audit_events", "eam_access_request_decisions", "eam_casbin_policy_rules"} <= names
    assert "/metrics" not in app.openapi_schema.to_schema()["paths"]
    assert metric(response.text, "eam_http_requests_total", path="/metrics") == 0  # not counted itself


async def test_token_counters_count_each_issued_token_once(api: Api) -> None:
    org = await api.managed_organisation()
    await api.approved_assignment(org["id"])
    counted = {"direct": ("/v1/grant-tokens", "carol", {"json": GRANT_REQUEST})}
    exchange = {"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "subject_token": token("carol"),
                "subject_token_type": "urn:ietf:params:oauth:token-type:access_token", "audience": "healthstat"}
    counted["token_exchange"] = ("/oauth2/token", None, {"data": exchange})
    for grant, (path, user, body) in counted.items():
        before = await scrape(api)
        assert (await api.post("/v1/grant-tokens", "dave", json=GRANT_REQUEST)).status_code != 200  # dave holds nothing
        assert (await api.post(path, user, **body)).status_code == 200
        after = await scrape(api)
        for label in counted:
            assert delta(before, after, "eam_grant_tokens_issued_total", application="healthstat", grant=label) == (label == grant)

    created = await api.post("/v1/service-clients", json={"name": "portal", "audiences": ["healthstat"], "client_id": "ops-portal"})
    assert created.status_code == 201, created.text
    credentials = basic("ops-portal", created.json()["client_secret"])
    before = await scrape(api)
    form = {"grant_type": "client_credentials"}
    assert (await api.post("/oauth2/token", None, data=form, headers=basic("ops-portal", "wrong"))).status_code == 401
    assert (await api.post("/oauth2/token", None, data=form, headers=credentials)).status_code == 200
    assert delta(before, await scrape(api), "eam_service_tokens_issued_total") == 1


async def test_decisions_and_audit_events_count_only_when_committed(api: Api) -> None:
    org = await api.managed_organisation()
    request_id = (await api.request_access(org["id"])).json()["id"]
    approve = f"/v1/access-requests/{request_id}/approve"

    async def counts() -> tuple[float, float]:
        text = await scrape(api)
        return (metric(text, "eam_access_request_decisions_total", outcome="approved"),
                metric(text, "eam_audit_events_total", action="access_request.approved"))

    start = await counts()
    # Decided, audited, then refused (widened profile): the transaction rolls back, nothing counts.
    widened = await api.post(approve, "alice", json={"profile": {"role": "sponsor", "data_level": "sponsor"}})
    assert widened.status_code == 422, widened.text
    assert (await api.post(approve, "carol", json={})).status_code in (403, 404)
    assert await counts() == start
    assert (await api.post(approve, "alice", json={})).status_code == 200
    assert await counts() == (start[0] + 1, start[1] + 1)
    assert_problem(await api.post(approve, "alice", json={}), 409, "request-not-pending")
    assert await counts() == (start[0] + 1, start[1] + 1)


async def test_http_metrics_are_labelled_with_the_route_template_not_the_id(api: Api) -> None:
    org = await api.organisation()
    template = {"method": "GET", "path": "/v1/organisations/{organisation_id}", "status_code": "200"}
    before = await scrape(api)
    for _ in range(2):
        assert (await api.get(f"/v1/organisations/{org['id']}")).status_code == 200
    after = await scrape(api)
    assert delta(before, after, "eam_http_requests_total", **template) == 2
    assert delta(before, after, "eam_http_request_duration_seconds_count", **template) == 2
    assert org["id"] not in after


async def test_policy_rule_gauge_is_the_number_of_rules_held_in_memory(api: Api, app: Any) -> None:
    before = metric(await scrape(api), "eam_casbin_policy_rules")
    assert before == len(app.state.authorizer.rules_in_memory()) > 0  # no p2 rows yet
    org = await api.managed_organisation()  # appointing alice adds a grouping rule
    after = metric(await scrape(api), "eam_casbin_policy_rules")
    assert after == len(app.state.authorizer.rules_in_memory()) > before
    await api.approved_assignment(org["id"])  # a p2 row stays in the database, not in memory
    assert metric(await scrape(api), "eam_casbin_policy_rules") == after


def test_eam_serve_with_two_workers_answers_metrics_for_both(tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    server = EamServe(tmp_path, "--workers", "2", PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), EAM_LOG_FORMAT="text")
    # A worker writes histogram_<pid>.db once it has timed a request. Which worker accepts a new
    # connection is up to the kernel and to which one is running (the second may still be starting,
    # or a busy machine may not schedule it), so requests go on until both have served, at least 20.
    requests, deadline = 0, time.monotonic() + 60
    try:
        while requests < 20 or len(list(metrics_dir.glob("histogram_*.db"))) < 2:
            assert time.monotonic() < deadline, f"one worker served all {requests} requests: {sorted(path.name for path in metrics_dir.iterdir())}"
            assert httpx.get(f"{server.base}/health/live", timeout=10).status_code == 200  # a new connection each
            requests += 1
        scrapes = [server.call("GET", "/metrics").text for _ in range(4)]
    finally:
        server.stop()
    for text in scrapes:
        assert metric(text, "eam_http_requests_total", path="/health/live") == requests
        assert metric(text, "eam_casbin_policy_rules") > 0
    # Both served, and the total is theirs together.
    assert len(list(metrics_dir.glob("histogram_*.db"))) == 2, sorted(path.name for path in metrics_dir.iterdir())


# --- 4. rate limits ------------------------------------------------------------------------

GROUPS = {
    "tokens": [("POST", "/oauth2/token"), ("POST", "/oauth2/revoke"), ("POST", "/v1/grant-tokens")],
    "introspection": [("POST", "/oauth2/introspect")],
    "sign_in": [("GET", "/auth/login"), ("GET", "/auth/callback")],
}


def limited_app(settings: Settings, clock: Clock, **per_minute: int) -> Any:
    limits = {f"rate_limit_{group}_per_minute": per_minute.get(group, 5) for group in GROUPS}
    return create_app(msgspec.structs.replace(settings, **limits), clock=clock, run_housekeeping=False)


async def send(http: httpx.AsyncClient, method: str, path: str) -> httpx.Response:
    return await http.request(method, path, data={"grant_type": "nonsense"}, headers={"Authorization": f"Bearer {token('carol')}"} if path.startswith("/v1/") else {})


@pytest.mark.parametrize("group", GROUPS)
async def test_a_limit_group_shares_one_budget_and_leaves_the_others_alone(settings: Settings, clock: Clock, group: str) -> None:
    async with serve_in_process(limited_app(settings, clock, **{group: 3})) as http:
        endpoints = GROUPS[group]
        for index in range(3):  # any answer counts, even a refusal
            response = await send(http, *endpoints[index % len(endpoints)])
            assert response.status_code not in (429, 500), response.text
            assert (response.headers["ratelimit-limit"], response.headers["ratelimit-remaining"]) == ("3", str(2 - index))
        for method, path in endpoints:
            refused = await send(http, method, path)
            body = assert_problem(refused, 429, "too-many-requests")
            assert body["instance"] == path
            assert 1 <= int(refused.headers["retry-after"]) <= 60
            assert (refused.headers["ratelimit-limit"], refused.headers["ratelimit-remaining"]) == ("3", "0")
            assert 1 <= int(refused.headers["ratelimit-reset"]) <= 60 and refused.headers["ratelimit-policy"] == "3; w=60"
            assert refused.headers["x-request-id"]
        for other in GROUPS.keys() - {group}:  # their own budgets, untouched so far
            for index, (method, path) in enumerate(GROUPS[other]):
                response = await send(http, method, path)
                assert response.status_code not in (429, 500), (path, response.text)
                assert (response.headers["ratelimit-limit"], response.headers["ratelimit-remaining"]) == ("5", str(4 - index))
        for _ in range(5):
            me = await http.get("/v1/me", headers={"Authorization": f"Bearer {token('carol')}"})
            assert me.status_code == 200 and "ratelimit-limit" not in me.headers


@pytest.mark.parametrize("group", GROUPS)
async def test_a_limit_of_zero_is_no_limit(settings: Settings, clock: Clock, group: str) -> None:
    async with serve_in_process(limited_app(settings, clock, **{group: 0})) as http:
        for index in range(6):
            response = await send(http, *GROUPS[group][index % len(GROUPS[group])])
            assert response.status_code != 429 and "ratelimit-limit" not in response.headers, response.text


# --- 5. settings ---------------------------------------------------------------------------


REFUSED_SETTINGS = [
    ("EAM_LOG_FORMAT", "xml"), ("EAM_LOG_FORMAT", "JSON"), ("EAM_LOG_LEVEL", "loud"), ("EAM_LOG_LEVEL", "TRACE"),
    ("EAM_RATE_LIMIT_SIGN_IN_PER_MINUTE", "-1"), ("EAM_RATE_LIMIT_TOKENS_PER_MINUTE", "-600"),
    ("EAM_RATE_LIMIT_INTROSPECTION_PER_MINUTE", "many"), ("EAM_SHUTDOWN_GRACE_SECONDS", "0"),
    ("EAM_SHUTDOWN_GRACE_SECONDS", "601"), ("EAM_SHUTDOWN_GRACE_SECONDS", "soon"),
]


@pytest.mark.parametrize("variable, value", REFUSED_SETTINGS)
def test_bad_operations_settings_are_refused_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({variable: value})


def test_operations_settings_are_read_from_the_environment() -> None:
    settings = Settings.from_env({
        "EAM_LOG_FORMAT": "text", "EAM_LOG_LEVEL": "warning", "EAM_POLICIES_DIR": "/some/dir",
        "EAM_RATE_LIMIT_SIGN_IN_PER_MINUTE": "0", "EAM_RATE_LIMIT_TOKENS_PER_MINUTE": "7", "EAM_RATE_LIMIT_INTROSPECTION_PER_MINUTE": "9",
    })
    assert (settings.log_format, settings.log_level) == ("text", "WARNING")
    assert isinstance(settings.policies_dir, Path) and settings.catalogue_file == Path("/some/dir/catalogue.toml")
    limits = (settings.rate_limit_sign_in_per_minute, settings.rate_limit_tokens_per_minute, settings.rate_limit_introspection_per_minute)
    assert limits == (0, 7, 9)
    assert Settings.from_env({"EAM_SHUTDOWN_GRACE_SECONDS": "45"}).shutdown_grace_seconds == 45
    defaults = Settings.from_env({})
    assert (defaults.log_format, defaults.log_level, defaults.policies_dir) == ("json", "INFO", SHIPPED_POLICIES_DIR)


# --- 6. graceful shutdown -------------------------------------------------------------------


def test_sigterm_lets_an_in_flight_request_finish_then_stops(tmp_path: Path) -> None:
    """A request whose body is still arriving when SIGTERM comes is answered (and committed);
    only then does the server stop, cleanly."""
    server = EamServe(tmp_path, EAM_SHUTDOWN_GRACE_SECONDS="15")
    port = int(server.base.rsplit(":", 1)[1])
    body = json.dumps({"name": "AZ Groeninge", "nihdi": "71000535"}).encode()
    head = (
        f"POST /v1/organisations HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token('admin')}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=20) as connection:
        connection.sendall(head + body[:10])
        server.call("GET", "/health/live")  # the server has read the first part by now
        server.process.send_signal(signal.SIGTERM)
        try:
            wait_until_refused(port)  # it stops accepting connections ...
            assert server.process.poll() is None, "... but waits for the request in flight"
            connection.sendall(body[10:])
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        finally:
            stderr = server.stop()
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line == b"HTTP/1.1 201 Created", answer[:500]
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["nihdi"] == "71000535"
    assert server.process.returncode in (0, -signal.SIGTERM)
    assert "Application shutdown complete." in stderr, stderr


def wait_until_refused(port: int, attempts: int = 200) -> None:
    for _ in range(attempts):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            return
        threading.Event().wait(0.05)
    raise AssertionError("the server kept accepting connections after SIGTERM")
