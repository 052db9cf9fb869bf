"""The OAuth endpoints: token exchange (RFC 8693), introspection (RFC 7662), revocation
(RFC 7009), server metadata (RFC 8414) and the JWKS, plus grant-token lifetime rules.

Time never passes by sleeping: ``clock.advance`` moves the app's clock.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any
from urllib.parse import quote_plus, urlencode

import jwt
import pytest

from tests.conftest import Api, Clock, token

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
REGISTER_ACCESS = "eam_register_access"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


# --- helpers -----------------------------------------------------------------------------


def exchange_form(subject: str | None = "carol", **extra: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "grant_type": TOKEN_EXCHANGE,
        "subject_token_type": ACCESS_TOKEN_TYPE,
        "audience": "healthstat",
    }
    if subject is not None:
        form["subject_token"] = token(subject)
    form.update(extra)
    return form


async def exchange(api: Api, form: dict[str, Any] | None = None, *, headers: dict[str, str] | None = None, **extra: Any) -> Any:
    return await api.post("/oauth2/token", None, data=form if form is not None else exchange_form(**extra), headers=headers or {})


def basic(client_id: str, secret: str) -> dict[str, str]:
    """RFC 6749 section 2.3.1: form-urlencode id and secret, then base64 ``id:secret``."""
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


async def create_client(api: Api, client_id: str = "healthstat-portal", audiences: tuple[str, ...] = ("healthstat",)) -> tuple[str, str]:
    response = await api.post(
        "/v1/service-clients", json={"name": f"{client_id} backend", "audiences": list(audiences), "client_id": client_id}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["client"]["client_id"] == client_id
    return client_id, body["client_secret"]


async def introspect(api: Api, access_token: str, credentials: tuple[str, str] | None, *, how: str = "basic") -> Any:
    form = {"token": access_token}
    headers: dict[str, str] = {}
    if credentials is not None and how == "basic":
        headers = basic(*credentials)
    elif credentials is not None:
        form.update(client_id=credentials[0], client_secret=credentials[1])
    return await api.post("/oauth2/introspect", None, data=form, headers=headers)


async def is_active(api: Api, access_token: str, credentials: tuple[str, str]) -> bool:
    response = await introspect(api, access_token, credentials)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    if not body["active"]:
        assert body == {"active": False}, "an inactive token must reveal nothing else (RFC 7662 section 2.2)"
    return body["active"]


async def grant_token(api: Api, user: str = "carol", **request: Any) -> dict[str, Any]:
    response = await api.post("/v1/grant-tokens", user, json={"application": "healthstat", **request})
    assert response.status_code == 200, response.text
    return response.json()


async def assign(api: Api, org_id: str, register: str = "HDBP0147", *, user: str = "carol", manager: str = "alice", **approve: Any) -> dict[str, Any]:
    """An approved access request: an active healthstat data_provider/hospital assignment."""
    submitted = await api.request_access(org_id, user, register=register)
    assert submitted.status_code == 201, submitted.text
    approved = await api.post(f"/v1/access-requests/{submitted.json()['id']}/approve", manager, json=approve)
    assert approved.status_code == 200, approved.text
    response = await api.get(f"/v1/assignments/{approved.json()['assignment_id']}", manager)
    assert response.status_code == 200, response.text
    return response.json()


async def second_organisation(api: Api) -> dict[str, Any]:
    return await api.managed_organisation("alice", name="UZ Leuven", nihdi="71000535")


async def claims_of(api: Api, access_token: str) -> dict[str, Any]:
    """The token's claims, its signature checked against the published JWKS (times not checked:
    the app's clock may have been moved)."""
    response = await api.get("/.well-known/jwks.json", None)
    assert response.status_code == 200, response.text
    header = jwt.get_unverified_header(access_token)
    assert header["typ"] == "at+jwt"
    key = next(k for k in response.json()["keys"] if k["kid"] == header["kid"])
    return jwt.decode(
        access_token,
        jwt.PyJWK(key).key,
        algorithms=[key["alg"]],
        audience="healthstat",
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )


def registers_in(details: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((detail["organisation"]["nihdi"], detail["register"]) for detail in details)


def assert_oauth_error(response: Any, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["error"] == error, body
    assert body["error_description"]
    assert body["status"] == status and body["type"].startswith("urn:eam:problem:") and body["title"]
    assert "access_token" not in body
    return body


def later(clock: Clock, seconds: float) -> str:
    return (clock.now + dt.timedelta(seconds=seconds)).isoformat()


# --- token exchange (RFC 8693) ----------------------------------------------------------


async def test_token_exchange_issues_a_grant_token_for_the_subject(api: Api, settings) -> None:
    org = await api.managed_organisation()
    assignment = await api.approved_assignment(org["id"])
    response = await exchange(api)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["issued_token_type"] == ACCESS_TOKEN_TYPE
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == settings.grant_token_ttl_seconds
    claims = await claims_of(api, body["access_token"])
    assert claims["client_id"] == "urn:eam:api"
    assert claims["iss"] == settings.issuer_url
    assert claims["aud"] == "healthstat"
    assert claims["sub"] == await api.user_id("carol")
    assert claims["exp"] - claims["iat"] == body["expires_in"]
    assert [d["assignment_id"] for d in claims["authorization_details"]] == [assignment["id"]]
    assert body["authorization_details"] == claims["authorization_details"]


async def test_token_exchange_resource_narrows_to_one_register(api: Api) -> None:
    org = await api.managed_organisation()
    await assign(api, org["id"], "HDBP0147")
    await assign(api, org["id"], "HDBP0031")
    everything = (await exchange(api)).json()
    assert registers_in(everything["authorization_details"]) == [("71000436", "HDBP0031"), ("71000436", "HDBP0147")]

    response = await exchange(api, resource="urn:eam:register:HDBP0147")
    assert response.status_code == 200, response.text
    claims = await claims_of(api, response.json()["access_token"])
    assert registers_in(claims["authorization_details"]) == [("71000436", "HDBP0147")]


async def test_token_exchange_several_resources_select_each_register(api: Api) -> None:
    org = await api.managed_organisation()
    for register in ("HDBP0147", "HDBP0031", "HDBP0211"):
        await assign(api, org["id"], register)
    response = await exchange(api, resource=["urn:eam:register:HDBP0147", "urn:eam:register:HDBP0211"])
    assert response.status_code == 200, response.text
    assert registers_in(response.json()["authorization_details"]) == [("71000436", "HDBP0147"), ("71000436", "HDBP0211")]


async def test_token_exchange_authorization_details_narrow_to_one_organisation(api: Api) -> None:
    first = await api.managed_organisation()
    second = await second_organisation(api)
    await assign(api, first["id"], "HDBP0147")
    await assign(api, second["id"], "HDBP0147")
    everything = (await exchange(api)).json()
    assert registers_in(everything["authorization_details"]) == [("71000436", "HDBP0147"), ("71000535", "HDBP0147")]

    details = [{"type": REGISTER_ACCESS, "register": "HDBP0147", "organisation": "71000436"}]
    response = await exchange(api, authorization_details=json.dumps(details))
    assert response.status_code == 200, response.text
    claims = await claims_of(api, response.json()["access_token"])
    assert registers_in(claims["authorization_details"]) == [("71000436", "HDBP0147")]
    assert claims["authorization_details"][0]["organisation"]["id"] == first["id"]


async def test_token_exchange_authorization_details_name_the_organisation_by_id_object(api: Api) -> None:
    first = await api.managed_organisation()
    second = await second_organisation(api)
    await assign(api, first["id"], "HDBP0147")
    await assign(api, second["id"], "HDBP0031")
    details = [{"type": REGISTER_ACCESS, "organisation": {"id": second["id"]}}]
    response = await exchange(api, authorization_details=json.dumps(details))
    assert response.status_code == 200, response.text
    assert registers_in(response.json()["authorization_details"]) == [("71000535", "HDBP0031")]


async def test_token_exchange_by_a_service_client_names_the_client(api: Api) -> None:
    org = await api.managed_organisation()
    await api.approved_assignment(org["id"])
    client_id, secret = await create_client(api)
    response = await exchange(api, headers=basic(client_id, secret))
    assert response.status_code == 200, response.text
    claims = await claims_of(api, response.json()["access_token"])
    assert claims["client_id"] == client_id
    introspected = (await introspect(api, response.json()["access_token"], (client_id, secret))).json()
    assert introspected["active"] is True and introspected["client_id"] == client_id


async def test_token_exchange_by_a_client_not_serving_the_audience_is_invalid_target(api: Api) -> None:
    org = await api.managed_organisation()
    await api.approved_assignment(org["id"])
    client_id, secret = await create_client(api, "hd4dp2-tool", ("hd4dp2",))
    assert_oauth_error(await exchange(api, headers=basic(client_id, secret)), 400, "invalid_target")


async def test_token_exchange_with_a_wrong_client_secret_is_invalid_client(api: Api) -> None:
    org = await api.managed_organisation()
    await api.approved_assignment(org["id"])
    client_id, _ = await create_client(api)
    response = await exchange(api, headers=basic(client_id, "not-the-secret"))
    assert_oauth_error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"].startswith("Basic")


# --- token exchange errors ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        pytest.param({"grant_type": None}, 400, "invalid_request", id="missing-grant-type"),
        pytest.param({"grant_type": "password"}, 400, "unsupported_grant_type", id="other-grant-type"),
        pytest.param({"subject_token": None}, 400, "invalid_request", id="missing-subject-token"),
        pytest.param({"subject_token": "not-a-jwt"}, 400, "invalid_request", id="invalid-subject-token"),
        pytest.param({"subject_token_type": "urn:ietf:params:oauth:token-type:saml2"}, 400, "invalid_request", id="unsupported-subject-token-type"),
        pytest.param({"audience": "nope"}, 400, "invalid_target", id="unknown-audience"),
        pytest.param({"audience": None}, 400, "invalid_request", id="missing-audience"),
        pytest.param({"resource": "https://healthstat.be/HDBP0147"}, 400, "invalid_target", id="resource-not-a-register-urn"),
        pytest.param({"resource": "urn:eam:register:HDBP9999"}, 400, "invalid_target", id="resource-unknown-register"),
        pytest.param({"resource": "urn:eam:register:"}, 400, "invalid_target", id="resource-empty-register"),
        pytest.param({"authorization_details": '[{"type": "eam_register_access"'}, 400, "invalid_authorization_details", id="details-malformed-json"),
        pytest.param({"authorization_details": '{"type": "eam_register_access"}'}, 400, "invalid_authorization_details", id="details-not-an-array"),
        pytest.param({"authorization_details": "[]"}, 400, "invalid_authorization_details", id="details-empty"),
        pytest.param({"authorization_details": '[{"type": "payment_initiation"}]'}, 400, "invalid_authorization_details", id="details-unknown-type"),
        pytest.param({"authorization_details": '[{"register": "HDBP0147"}]'}, 400, "invalid_authorization_details", id="details-without-type"),
        pytest.param({"authorization_details": '[{"type": "eam_register_access", "locations": ["x"]}]'}, 400, "invalid_authorization_details", id="details-unknown-field"),
        pytest.param({"authorization_details": '[{"type": "eam_register_access", "organisation": {"id": "a", "nihdi": "71000436"}}]'}, 400, "invalid_authorization_details", id="details-organisation-id-and-nihdi"),
        pytest.param({"authorization_details": '[{"type": "eam_register_access", "organisation": "not-an-org"}]'}, 400, "invalid_target", id="details-bad-organisation"),
        pytest.param({"actor_token": "<dave's token>", "actor_token_type": ACCESS_TOKEN_TYPE}, 400, "invalid_request", id="actor-token"),
        pytest.param({"requested_token_type": "urn:ietf:params:oauth:token-type:refresh_token"}, 400, "invalid_request", id="unsupported-requested-token-type"),
    ],
)
async def test_token_exchange_refuses_a_bad_request(api: Api, form: dict[str, Any], status: int, error: str) -> None:
    org = await api.managed_organisation()
    await api.approved_assignment(org["id"])
    assert (await exchange(api)).status_code == 200  # the same request without the defect succeeds
    data = {name: value for name, value in {**exchange_form(), **form}.items() if value is not None}
    if data.get("actor_token") == "<dave's token>":
        data["actor_token"] = token("dave")  # made here, not at collection, so it is fresh
    assert_oauth_error(await exchange(api, data), status, error)


async def test_token_exchange_treats_optional_parameters_sent_empty_as_omitted(api: Api) -> None:
    """RFC 6749 section 3.2: "Parameters sent without a value MUST be treated as if they were
    omitted from the request"; required ones sent empty are therefore missing."""
    org = await api.managed_organisation()
    await assign(api, org["id"], "HDBP0147")
    await assign(api, org["id"], "HDBP0031")
    empty = {"resource": "", "authorization_details": "", "requested_token_type": "", "actor_token": "", "scope": ""}
    response = await exchange(api, exchange_form(**empty))
    assert response.status_code == 200, response.text
    claims = await claims_of(api, response.json()["access_token"])
    assert registers_in(claims["authorization_details"]) == [("71000436", "HDBP0031"), ("71000436", "HDBP0147")]
    assert_oauth_error(await exchange(api, exchange_form(audience="")), 400, "invalid_request")


async def test_token_exchange_refuses_a_grant_token_as_subject_token(api: Api) -> None:
    org = await api.managed_organisation()
    await api.approved_assignment(org["id"])
    grant = (await exchange(api)).json()["access_token"]
    body = assert_oauth_error(await exchange(api, exchange_form(None, subject_token=grant)), 400, "invalid_request")
    assert "grant token" in body["error_description"]


async def test_token_exchange_refuses_a_repeated_parameter(api: Api) -> None:
    org = await api.managed_organisation()
    await api.approved_assignment(org["id"])
    form = exchange_form(audience=["healthstat", "healthstat"])
    body = assert_oauth_error(await exchange(api, form), 400, "invalid_request")
    assert "audience" in body["error_description"]


async def test_token_exchange_refuses_a_json_body(api: Api) -> None:
    org = await api.managed_organisation()
    await api.approved_assignment(org["id"])
    response = await api.post("/oauth2/token", None, json=exchange_form())
    assert_oauth_error(response, 400, "invalid_request")
    # The media type decides, not whether the body happens to parse as form encoding.
    labelled_json = {"Content-Type": "application/json"}
    response = await api.post("/oauth2/token", None, content=urlencode(exchange_form()), headers=labelled_json)
    assert_oauth_error(response, 400, "invalid_request")
    assert (await api.post("/oauth2/token", None, content=urlencode(exchange_form()), headers=FORM)).status_code == 200


async def test_token_exchange_refuses_a_body_that_is_not_form_encoding(api: Api) -> None:
    response = await api.post("/oauth2/token", None, content=b"grant_type", headers=FORM)
    assert_oauth_error(response, 400, "invalid_request")


async def test_token_exchange_for_a_user_without_assignment_is_invalid_target(api: Api) -> None:
    org = await api.managed_organisation()
    await api.approved_assignment(org["id"])  # carol holds access; dave does not
    assert (await exchange(api, subject="carol")).status_code == 200
    assert_oauth_error(await exchange(api, subject="dave"), 400, "invalid_target")


async def test_token_exchange_for_an_unheld_register_is_invalid_target(api: Api) -> None:
    org = await api.managed_organisation()
    await api.approved_assignment(org["id"])  # HDBP0147 only
    assert_oauth_error(await exchange(api, resource="urn:eam:register:HDBP0031"), 400, "invalid_target")


# --- introspection (RFC 7662) -------------------------------------------------------------


async def carol_token(api: Api) -> tuple[dict[str, Any], dict[str, Any], str]:
    org = await api.managed_organisation()
    assignment = await api.approved_assignment(org["id"])
    return org, assignment, (await grant_token(api))["access_token"]


@pytest.mark.parametrize("how", ["basic", "post"])
async def test_introspection_of_an_active_token(api: Api, settings, how: str) -> None:
    org, assignment, access_token = await carol_token(api)
    credentials = await create_client(api)
    response = await introspect(api, access_token, credentials, how=how)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    claims = await claims_of(api, access_token)
    assert body["active"] is True
    assert body["sub"] == await api.user_id("carol")
    assert body["aud"] == "healthstat"
    assert body["iss"] == settings.issuer_url
    assert body["exp"] == claims["exp"] and body["iat"] == claims["iat"] and body["jti"] == claims["jti"]
    assert body["client_id"] == "urn:eam:api"
    assert body["token_type"] == "Bearer"
    assert body["authorization_details"] == [
        {
            "type": REGISTER_ACCESS,
            "organisation": {"id": org["id"], "nihdi": "71000436"},
            "register": "HDBP0147",
            "role": "data_provider",
            "data_level": "hospital",
            "assignment_id": assignment["id"],
            "valid_until": None,
        }
    ]


async def test_introspection_basic_credentials_are_form_url_decoded(api: Api) -> None:
    _, _, access_token = await carol_token(api)
    client_id, secret = await create_client(api, "healthstat.portal-1")
    # Every character may arrive percent-encoded (RFC 6749 appendix B): the server must decode.
    encoded_id = "".join(f"%{ord(ch):02X}" for ch in client_id)
    raw = f"{encoded_id}:{quote_plus(secret)}".encode()
    headers = {"Authorization": "Basic " + base64.b64encode(raw).decode()}
    response = await api.post("/oauth2/introspect", None, data={"token": access_token}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["active"] is True


async def test_introspection_without_client_authentication_is_401(api: Api) -> None:
    _, _, access_token = await carol_token(api)
    response = await introspect(api, access_token, None)
    assert_oauth_error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"].startswith("Basic")


async def test_introspection_with_a_user_bearer_token_is_401(api: Api) -> None:
    _, _, access_token = await carol_token(api)
    await create_client(api)
    response = await api.post("/oauth2/introspect", "carol", data={"token": access_token})
    # RFC 6750 section 3.1: a bearer credential that is not a service token is an invalid token.
    body = assert_oauth_error(response, 401, "invalid_token")
    assert "person" in body["error_description"]
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_introspection_with_a_wrong_secret_is_401(api: Api) -> None:
    _, _, access_token = await carol_token(api)
    client_id, secret = await create_client(api)
    assert (await introspect(api, access_token, (client_id, secret))).status_code == 200
    assert_oauth_error(await introspect(api, access_token, (client_id, secret + "x")), 401, "invalid_client")
    assert_oauth_error(await introspect(api, access_token, (client_id, secret + "x"), how="post"), 401, "invalid_client")
    assert_oauth_error(await introspect(api, access_token, ("unknown-client", secret)), 401, "invalid_client")


async def test_introspection_by_a_disabled_client_is_401(api: Api) -> None:
    _, _, access_token = await carol_token(api)
    credentials = await create_client(api)
    assert await is_active(api, access_token, credentials)
    disabled = await api.post(f"/v1/service-clients/{credentials[0]}/disable")
    assert disabled.status_code == 200, disabled.text
    assert_oauth_error(await introspect(api, access_token, credentials), 401, "invalid_client")


async def test_introspection_after_secret_rotation_takes_the_new_secret_only(api: Api) -> None:
    _, _, access_token = await carol_token(api)
    client_id, old_secret = await create_client(api)
    assert await is_active(api, access_token, (client_id, old_secret))
    rotated = await api.post(f"/v1/service-clients/{client_id}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["client_secret"]
    assert new_secret != old_secret
    assert_oauth_error(await introspect(api, access_token, (client_id, old_secret)), 401, "invalid_client")
    assert await is_active(api, access_token, (client_id, new_secret))


async def test_introspection_by_a_client_of_another_audience_says_inactive(api: Api) -> None:
    _, _, access_token = await carol_token(api)
    own = await create_client(api)
    other = await create_client(api, "hd4dp2-tool", ("hd4dp2",))
    assert await is_active(api, access_token, own)
    response = await introspect(api, access_token, other)
    assert response.status_code == 200, response.text
    assert response.json() == {"active": False}


@pytest.mark.parametrize("garbage", ["garbage", "eyJhbGciOiJub25lIn0.e30.", "a.b.c"])
async def test_introspection_of_a_garbage_token_says_inactive(api: Api, garbage: str) -> None:
    credentials = await create_client(api)
    response = await introspect(api, garbage, credentials)
    assert response.status_code == 200, response.text
    assert response.json() == {"active": False}


async def test_introspection_of_a_user_dev_token_says_inactive(api: Api) -> None:
    credentials = await create_client(api)
    assert not await is_active(api, token("carol"), credentials)


async def test_introspection_without_a_token_parameter_is_invalid_request(api: Api) -> None:
    client_id, secret = await create_client(api)
    response = await api.post("/oauth2/introspect", None, data={"token_type_hint": "access_token"}, headers=basic(client_id, secret))
    assert_oauth_error(response, 400, "invalid_request")


async def test_introspection_with_basic_and_form_credentials_at_once_is_401(api: Api) -> None:
    _, _, access_token = await carol_token(api)
    client_id, secret = await create_client(api)
    form = {"token": access_token, "client_id": client_id, "client_secret": secret}
    response = await api.post("/oauth2/introspect", None, data=form, headers=basic(client_id, secret))
    assert_oauth_error(response, 401, "invalid_client")


# --- tokens stop being active at once ---------------------------------------------------------


async def test_token_is_inactive_once_its_assignment_is_revoked(api: Api) -> None:
    _, assignment, access_token = await carol_token(api)
    credentials = await create_client(api)
    assert await is_active(api, access_token, credentials)
    revoked = await api.post(f"/v1/assignments/{assignment['id']}/revoke", "alice", json={"reason": "Left the hospital."})
    assert revoked.status_code == 200, revoked.text
    assert not await is_active(api, access_token, credentials)


async def test_token_is_inactive_once_its_assignment_profile_changes(api: Api) -> None:
    _, assignment, access_token = await carol_token(api)
    credentials = await create_client(api)
    assert await is_active(api, access_token, credentials)
    changed = await api.patch(
        f"/v1/assignments/{assignment['id']}", "alice", json={"profile": {"role": "data_provider", "data_level": "individual"}}
    )
    assert changed.status_code == 200, changed.text
    assert not await is_active(api, access_token, credentials)


async def test_token_is_inactive_once_its_assignment_end_date_changes(api: Api, clock: Clock) -> None:
    _, assignment, access_token = await carol_token(api)
    credentials = await create_client(api)
    assert await is_active(api, access_token, credentials)
    changed = await api.patch(f"/v1/assignments/{assignment['id']}", "alice", json={"valid_until": later(clock, 3600)})
    assert changed.status_code == 200, changed.text
    assert not await is_active(api, access_token, credentials)


async def test_token_is_inactive_once_its_organisation_is_disabled(api: Api) -> None:
    org, _, access_token = await carol_token(api)
    credentials = await create_client(api)
    assert await is_active(api, access_token, credentials)
    disabled = await api.patch(f"/v1/organisations/{org['id']}", json={"status": "disabled"})
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["status"] == "disabled"
    assert not await is_active(api, access_token, credentials)


async def test_token_is_inactive_once_its_assignment_ends(api: Api, clock: Clock) -> None:
    org = await api.managed_organisation()
    assignment = await api.approved_assignment(org["id"])
    changed = await api.patch(f"/v1/assignments/{assignment['id']}", "alice", json={"valid_until": later(clock, 120)})
    assert changed.status_code == 200, changed.text
    access_token = (await grant_token(api))["access_token"]
    credentials = await create_client(api)
    clock.advance(seconds=118)
    assert await is_active(api, access_token, credentials)
    clock.advance(seconds=3)
    assert not await is_active(api, access_token, credentials)


async def test_token_is_inactive_once_it_expires(api: Api, clock: Clock, settings) -> None:
    _, _, access_token = await carol_token(api)
    credentials = await create_client(api)
    clock.advance(seconds=settings.grant_token_ttl_seconds - 2)
    assert await is_active(api, access_token, credentials)
    clock.advance(seconds=3)
    assert not await is_active(api, access_token, credentials)


async def test_token_issued_after_a_profile_change_is_active(api: Api) -> None:
    _, assignment, old_token = await carol_token(api)
    credentials = await create_client(api)
    changed = await api.patch(
        f"/v1/assignments/{assignment['id']}", "alice", json={"profile": {"role": "data_provider", "data_level": "individual"}}
    )
    assert changed.status_code == 200, changed.text
    new_token = (await grant_token(api))["access_token"]
    assert not await is_active(api, old_token, credentials)
    body = (await introspect(api, new_token, credentials)).json()
    assert body["active"] is True
    assert [(d["role"], d["data_level"]) for d in body["authorization_details"]] == [("data_provider", "individual")]


async def test_token_issued_after_an_end_date_change_is_active(api: Api, clock: Clock) -> None:
    _, assignment, old_token = await carol_token(api)
    credentials = await create_client(api)
    changed = await api.patch(f"/v1/assignments/{assignment['id']}", "alice", json={"valid_until": later(clock, 3600)})
    assert changed.status_code == 200, changed.text
    new_token = (await exchange(api)).json()["access_token"]
    assert not await is_active(api, old_token, credentials)
    assert await is_active(api, new_token, credentials)


async def test_token_issued_after_another_assignment_is_revoked_is_active(api: Api) -> None:
    org = await api.managed_organisation()
    kept = await assign(api, org["id"], "HDBP0147")
    dropped = await assign(api, org["id"], "HDBP0031")
    credentials = await create_client(api)
    old_token = (await grant_token(api))["access_token"]
    revoked = await api.post(f"/v1/assignments/{dropped['id']}/revoke", "alice", json={"reason": "Study ended."})
    assert revoked.status_code == 200, revoked.text
    new_token = (await grant_token(api))["access_token"]
    assert not await is_active(api, old_token, credentials)
    body = (await introspect(api, new_token, credentials)).json()
    assert body["active"] is True
    assert [d["assignment_id"] for d in body["authorization_details"]] == [kept["id"]]


# --- revocation (RFC 7009) ------------------------------------------------------------------


async def test_holder_revokes_her_grant_token(api: Api) -> None:
    _, _, access_token = await carol_token(api)
    credentials = await create_client(api)
    assert await is_active(api, access_token, credentials)
    jti = (await claims_of(api, access_token))["jti"]
    response = await api.post("/oauth2/revoke", "carol", data={"token": access_token, "token_type_hint": "access_token"})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert not await is_active(api, access_token, credentials)
    events = await api.get("/v1/audit-events", params={"action": "grant_token.revoked"})
    assert events.status_code == 200, events.text
    items = events.json()["items"]
    assert len(items) == 1
    assert items[0]["target_type"] == "grant_token" and items[0]["target_id"] == jti
    assert items[0]["actor_id"] == await api.user_id("carol")
    assert items[0]["before"]["sub"] == await api.user_id("carol") and items[0]["before"]["aud"] == "healthstat"


async def test_revoking_a_token_twice_is_audited_once(api: Api) -> None:
    _, _, access_token = await carol_token(api)
    credentials = await create_client(api)
    for _ in range(2):
        response = await api.post("/oauth2/revoke", "carol", data={"token": access_token})
        assert response.status_code == 200, response.text
    response = await api.post("/oauth2/revoke", None, data={"token": access_token}, headers=basic(*credentials))
    assert response.status_code == 200, response.text
    assert not await is_active(api, access_token, credentials)
    events = (await api.get("/v1/audit-events", params={"action": "grant_token.revoked"})).json()["items"]
    assert len(events) == 1


async def test_revoking_leaves_other_tokens_of_the_holder_active(api: Api) -> None:
    _, _, first = await carol_token(api)
    second = (await grant_token(api))["access_token"]
    credentials = await create_client(api)
    response = await api.post("/oauth2/revoke", "carol", data={"token": first})
    assert response.status_code == 200, response.text
    assert not await is_active(api, first, credentials)
    assert await is_active(api, second, credentials)


async def test_another_user_may_not_revoke_the_token(api: Api) -> None:
    _, _, access_token = await carol_token(api)
    credentials = await create_client(api)
    assert_oauth_error(await api.post("/oauth2/revoke", "dave", data={"token": access_token}), 400, "unauthorized_client")
    assert await is_active(api, access_token, credentials)
    events = (await api.get("/v1/audit-events", params={"action": "grant_token.revoked"})).json()["items"]
    assert events == []


async def test_service_client_serving_the_audience_revokes_the_token(api: Api) -> None:
    _, _, access_token = await carol_token(api)
    client_id, secret = await create_client(api)
    assert await is_active(api, access_token, (client_id, secret))
    response = await api.post("/oauth2/revoke", None, data={"token": access_token}, headers=basic(client_id, secret))
    assert response.status_code == 200, response.text
    assert not await is_active(api, access_token, (client_id, secret))
    events = (await api.get("/v1/audit-events", params={"action": "grant_token.revoked"})).json()["items"]
    assert [event["actor"] for event in events] == [f"client:{client_id}"]


async def test_service_client_of_another_audience_may_not_revoke_the_token(api: Api) -> None:
    _, _, access_token = await carol_token(api)
    own = await create_client(api)
    other_id, other_secret = await create_client(api, "hd4dp2-tool", ("hd4dp2",))
    response = await api.post("/oauth2/revoke", None, data={"token": access_token}, headers=basic(other_id, other_secret))
    assert_oauth_error(response, 400, "unauthorized_client")
    assert await is_active(api, access_token, own)


@pytest.mark.parametrize("caller", ["carol", "client"])
async def test_revoking_an_invalid_token_answers_200(api: Api, caller: str) -> None:
    client_id, secret = await create_client(api)
    if caller == "client":
        response = await api.post("/oauth2/revoke", None, data={"token": "not-a-token"}, headers=basic(client_id, secret))
    else:
        response = await api.post("/oauth2/revoke", "carol", data={"token": "not-a-token"})
    assert response.status_code == 200, response.text
    assert (await api.get("/v1/audit-events", params={"action": "grant_token.revoked"})).json()["items"] == []


async def test_revoking_without_credentials_is_401(api: Api) -> None:
    _, _, access_token = await carol_token(api)
    credentials = await create_client(api)
    response = await api.post("/oauth2/revoke", None, data={"token": access_token})
    assert_oauth_error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"].startswith("Basic")
    assert await is_active(api, access_token, credentials)


async def test_revoking_with_a_wrong_client_secret_is_401(api: Api) -> None:
    _, _, access_token = await carol_token(api)
    client_id, secret = await create_client(api)
    response = await api.post("/oauth2/revoke", None, data={"token": access_token}, headers=basic(client_id, secret + "x"))
    assert_oauth_error(response, 401, "invalid_client")
    assert await is_active(api, access_token, (client_id, secret))


# --- lifetime and issuance rules -------------------------------------------------------------


async def test_token_never_outlives_the_earliest_end_date(api: Api, clock: Clock) -> None:
    org = await api.managed_organisation()
    await assign(api, org["id"], "HDBP0147")
    ending = await assign(api, org["id"], "HDBP0031")
    valid_until = clock.now + dt.timedelta(seconds=60)
    changed = await api.patch(f"/v1/assignments/{ending['id']}", "alice", json={"valid_until": valid_until.isoformat()})
    assert changed.status_code == 200, changed.text
    body = await grant_token(api)
    assert 59 <= body["expires_in"] <= 60
    claims = await claims_of(api, body["access_token"])
    assert claims["exp"] == int(valid_until.timestamp())
    assert claims["exp"] - claims["iat"] == body["expires_in"]
    ending_detail = next(d for d in body["authorization_details"] if d["register"] == "HDBP0031")
    assert dt.datetime.fromisoformat(ending_detail["valid_until"]) == valid_until.replace(microsecond=0)


async def test_token_exchange_never_outlives_the_earliest_end_date(api: Api, clock: Clock) -> None:
    org = await api.managed_organisation()
    assignment = await api.approved_assignment(org["id"])
    valid_until = clock.now + dt.timedelta(seconds=60)
    await api.patch(f"/v1/assignments/{assignment['id']}", "alice", json={"valid_until": valid_until.isoformat()})
    body = (await exchange(api)).json()
    assert 59 <= body["expires_in"] <= 60
    assert (await claims_of(api, body["access_token"]))["exp"] == int(valid_until.timestamp())


async def test_grant_token_without_an_active_assignment_is_403(api: Api) -> None:
    org = await api.managed_organisation()
    assignment = await api.approved_assignment(org["id"])
    await grant_token(api)
    await api.post(f"/v1/assignments/{assignment['id']}/revoke", "alice", json={"reason": "Left the hospital."})
    response = await api.post("/v1/grant-tokens", "carol", json={"application": "healthstat"})
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].split(";")[0] == "application/problem+json"
    body = response.json()
    assert body["type"] == "urn:eam:problem:no-active-assignment"
    assert "access_token" not in body


async def test_grant_token_leaves_out_a_scheduled_assignment(api: Api, clock: Clock) -> None:
    org = await api.managed_organisation()
    await api.approved_assignment(org["id"])
    carol_id = await api.user_id("carol")
    scheduled = await api.post(
        "/v1/assignments",
        "alice",
        json={
            "user_id": carol_id,
            "organisation_id": org["id"],
            "application": "healthstat",
            "register": "HDBP0031",
            "profile": {"role": "data_provider", "data_level": "hospital"},
            "valid_from": later(clock, 3600),
        },
    )
    assert scheduled.status_code == 201, scheduled.text
    assert scheduled.json()["status"] == "scheduled"
    assert registers_in((await grant_token(api))["authorization_details"]) == [("71000436", "HDBP0147")]
    clock.advance(seconds=3601)
    assert registers_in((await grant_token(api))["authorization_details"]) == [("71000436", "HDBP0031"), ("71000436", "HDBP0147")]


async def test_grant_token_register_filter(api: Api) -> None:
    org = await api.managed_organisation()
    await assign(api, org["id"], "HDBP0147")
    await assign(api, org["id"], "HDBP0031")
    body = await grant_token(api, register="HDBP0031")
    assert registers_in(body["authorization_details"]) == [("71000436", "HDBP0031")]
    claims = await claims_of(api, body["access_token"])
    assert registers_in(claims["authorization_details"]) == [("71000436", "HDBP0031")]


@pytest.mark.parametrize("by", ["id", "nihdi"])
async def test_grant_token_organisation_filter(api: Api, by: str) -> None:
    first = await api.managed_organisation()
    second = await second_organisation(api)
    await assign(api, first["id"], "HDBP0147")
    await assign(api, second["id"], "HDBP0147")
    assert len((await grant_token(api))["authorization_details"]) == 2
    body = await grant_token(api, organisation=second["id"] if by == "id" else "71000535")
    assert registers_in(body["authorization_details"]) == [("71000535", "HDBP0147")]
    assert body["authorization_details"][0]["organisation"]["id"] == second["id"]


async def test_grant_token_register_in_another_organisation_is_403(api: Api) -> None:
    first = await api.managed_organisation()
    second = await second_organisation(api)
    await assign(api, first["id"], "HDBP0147")
    await assign(api, second["id"], "HDBP0031")
    response = await api.post("/v1/grant-tokens", "carol", json={"application": "healthstat", "register": "HDBP0031", "organisation": first["id"]})
    assert response.status_code == 403, response.text
    assert response.json()["type"] == "urn:eam:problem:no-active-assignment"


@pytest.mark.parametrize(
    ("request_body", "field"),
    [
        pytest.param({"organisation": "not-an-organisation"}, "$.organisation", id="bad-organisation"),
        pytest.param({"application": "nope"}, "$.application", id="unknown-application"),
        pytest.param({"register": "HDBP9999"}, "$.register", id="unknown-register"),
    ],
)
async def test_grant_token_refuses_an_invalid_request(api: Api, request_body: dict[str, Any], field: str) -> None:
    org = await api.managed_organisation()
    await api.approved_assignment(org["id"])
    response = await api.post("/v1/grant-tokens", "carol", json={"application": "healthstat", **request_body})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].split(";")[0] == "application/problem+json"
    body = response.json()
    assert body["type"] == "urn:eam:problem:validation-error"
    assert field in [error["field"] for error in body["errors"]]


# --- metadata (RFC 8414) and JWKS (RFC 7517) -----------------------------------------------------


async def test_server_metadata(api: Api, settings) -> None:
    response = await api.get("/.well-known/oauth-authorization-server", None)
    assert response.status_code == 200, response.text
    body = response.json()
    issuer = settings.issuer_url
    assert body["issuer"] == issuer
    assert body["token_endpoint"] == f"{issuer}/oauth2/token"
    assert body["introspection_endpoint"] == f"{issuer}/oauth2/introspect"
    assert body["revocation_endpoint"] == f"{issuer}/oauth2/revoke"
    assert body["jwks_uri"] == f"{issuer}/.well-known/jwks.json"
    assert body["grant_types_supported"] == [TOKEN_EXCHANGE, "client_credentials"]
    assert {"tokens:introspect", "organisations:read", "audit:read"} <= set(body["scopes_supported"])
    assert body["authorization_details_types_supported"] == [REGISTER_ACCESS]
    assert "client_secret_basic" in body["introspection_endpoint_auth_methods_supported"]
    assert "client_secret_post" in body["introspection_endpoint_auth_methods_supported"]
    assert settings.grant_signing_alg in body["access_token_signing_alg_values_supported"]


async def test_server_metadata_follows_the_configured_issuer(settings, clock: Clock) -> None:
    import msgspec

    from eam.app import create_app
    from tests.conftest import serve_in_process

    configured = msgspec.structs.replace(settings, issuer="https://eam.example.org/")
    async with serve_in_process(create_app(configured, clock=clock, run_housekeeping=False)) as http:
        body = (await http.get("/.well-known/oauth-authorization-server")).json()
    assert body["issuer"] == "https://eam.example.org"
    assert body["token_endpoint"] == "https://eam.example.org/oauth2/token"
    assert body["jwks_uri"] == "https://eam.example.org/.well-known/jwks.json"


async def test_jwks_publishes_public_members_only(api: Api) -> None:
    _, _, access_token = await carol_token(api)
    response = await api.get("/.well-known/jwks.json", None)
    assert response.status_code == 200, response.text
    cache_control = [part.strip() for part in response.headers["cache-control"].split(",")]
    assert "public" in cache_control
    assert any(part.startswith("max-age=") and int(part.split("=")[1]) > 0 for part in cache_control)
    keys = response.json()["keys"]
    assert keys
    private_members = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
    for key in keys:
        assert not private_members & key.keys(), key
        assert key["use"] == "sig" and key["kid"] and key["alg"]
    assert jwt.get_unverified_header(access_token)["kid"] in {key["kid"] for key in keys}
