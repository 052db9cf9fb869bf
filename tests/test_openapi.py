"""The committed contract (openapi/openapi.json) is the one the service serves."""

from __future__ import annotations

import json
from pathlib import Path

from eam.app import create_app
from eam.core.settings import Settings
from eam.core.times import dec_hook

COMMITTED = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"


def test_committed_openapi_matches_the_served_schema() -> None:
    served = create_app(Settings(), run_housekeeping=False).openapi_schema.to_schema()
    committed = json.loads(COMMITTED.read_text())
    assert committed == json.loads(json.dumps(served)), "regenerate with: eam openapi > openapi/openapi.json"


async def test_the_served_document_is_the_committed_one() -> None:
    import httpx

    app = create_app(Settings(), run_housekeeping=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://eam.test") as http:
        response = await http.get("/schema/openapi.json")
    assert response.status_code == 200, response.text
    committed = json.loads(COMMITTED.read_text())
    assert response.json() == committed


def test_every_error_response_is_a_documented_problem() -> None:
    schema = json.loads(COMMITTED.read_text())
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "patch", "put", "delete"}:
                continue
            assert operation.get("summary"), (method, path)
            assert "security" in operation or schema.get("security"), (method, path)
            errors = {code: response for code, response in operation["responses"].items() if code.startswith(("4", "5"))}
            if "security" not in operation:  # the global schemes: a person or a service client
                assert {"401", "403"} <= errors.keys(), (method, path)
            for code, response in errors.items():
                (media_type,) = response["content"]
                expected = "application/json" if path.startswith("/oauth2/") and code in {"400", "401", "403"} else "application/problem+json"
                assert media_type == expected, (method, path, code)
                name = "OAuthError" if media_type == "application/json" else "Problem"
                assert response["content"][media_type]["schema"] == {"$ref": f"#/components/schemas/{name}"}


def test_every_operation_has_a_stable_operation_id() -> None:
    schema = json.loads(COMMITTED.read_text())
    ids = [op["operationId"] for path in schema["paths"].values() for op in path.values() if isinstance(op, dict) and "operationId" in op]
    operations = [op for path in schema["paths"].values() for key, op in path.items() if key in {"get", "post", "patch", "delete", "put"}]
    assert len(ids) == len(operations) == len(set(ids))


def _body_types() -> dict[str, type]:
    """operationId -> the type its handler reads the body into (a JSON body, or an OAuth form)."""
    from litestar.routes import HTTPRoute

    from eam.http.handler_options import options_of

    app = create_app(Settings(), run_housekeeping=False)
    types: dict[str, type] = {}
    for route in app.routes:
        for handler in route.route_handlers if isinstance(route, HTTPRoute) else []:
            if options_of(handler).page:
                continue  # a web page reads HTML forms; it is not part of the API
            data = handler.parsed_fn_signature.parameters.get("data")
            body = options_of(handler).form or (data.annotation if data is not None else None) or (str if options_of(handler).csv_body else None)
            if body is not None:
                types[str(handler.operation_id)] = body
    return types


def test_every_request_body_has_an_example_its_schema_and_its_handler_accept() -> None:
    """Examples are part of the contract: each validates against the published schema (JSON
    Schema 2020-12, checked by jsonschema-rs) and converts into the type the handler reads."""
    import jsonschema_rs
    import msgspec

    document = json.loads(COMMITTED.read_text())
    body_types = _body_types()
    checked = set()
    for item in document["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict) or "requestBody" not in operation:
                continue
            for media_type, content in operation["requestBody"]["content"].items():
                examples = content.get("examples") or {}
                assert examples, (operation["operationId"], media_type)
                validator = jsonschema_rs.Draft202012Validator({**content["schema"], "components": document["components"]})
                for example in examples.values():
                    errors = [error.message for error in validator.iter_errors(example["value"])]
                    assert not errors, (operation["operationId"], errors)
                    body_type = body_types[operation["operationId"]]
                    msgspec.convert(example["value"], body_type, strict=False, dec_hook=dec_hook)
                checked.add(operation["operationId"])
    assert checked == set(body_types), set(body_types) ^ checked
    assert len(checked) >= 17
