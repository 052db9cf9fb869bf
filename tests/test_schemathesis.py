"""Property-based API testing with schemathesis against a live EAM (SQLite and PostgreSQL).

Every operation in the committed OpenAPI document is called with generated data, as an
employee, an access manager and a platform admin, and every default schemathesis check must
hold: no 5xx, status codes, content types, headers and bodies as the schema declares them.
All operations run before the test reports, so one run lists every broken operation.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.failures import Failure
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.conftest import LiveServer, auth

OPENAPI = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"
USERS = {"employee": "carol", "access-manager": "alice", "admin": "admin"}
#: Examples per operation and role; enough to find shape bugs, bounded for the suite's run time.
MAX_EXAMPLES = 12


async def _seed(server: LiveServer) -> None:
    """An organisation with an access manager, one assignment and one pending request, so that
    listings have rows to serialise."""
    api = server.api
    org = await api.managed_organisation("alice")
    await api.approved_assignment(org["id"], "dave", "alice")
    submitted = await api.request_access(org["id"], "carol")
    assert submitted.status_code == 201, submitted.text


#: Fields whose validity no schema can state, because it depends on what is stored or on the
#: catalogue: a 422 that names only these is the right answer to a schema-valid request. Any other
#: 422 to schema-valid data still fails (the schema would be looser than the service).
STATE_DEPENDENT = {
    "query.cursor": "an opaque pagination cursor is valid only if EAM issued it",
    "$.organisation_id": "the organisation must exist",
    "$.user_id": "the person appointed must exist (have signed in to EAM once)",
    "$.register": "the register must exist and be available in the application",
    "$.profile": "which role, data level or author group an application allows is catalogue data",
    "$.kbo": "an enterprise number's check digits (mod 97) are not a pattern",
    "$.national_number": "a national number's check digits (mod 97) are not a pattern",
    "$.url": "whether EAM may push to a URL depends on what its host resolves to and on EAM_WEBHOOK_ALLOWED_HOSTS (the SSRF guard)",
    "$.application": "the application must be in the catalogue (and a secevent subscription must name one)",
    "$.events": "a secevent subscription takes only the security events (a rule across fields)",
    "$.deadline": "an access review's deadline must lie ahead: that depends on when the request arrives",
    "$.decision": "only an access review's change decision takes a profile or an end date (a rule across fields)",
    "file": "what a CSV file holds (its columns and lines) is not something a JSON schema states",
}


def positive_data_acceptance_but_state_dependent(ctx: Any, response: Any, case: Any) -> bool | None:
    """schemathesis's positive-data check, scoped: a 422 naming only state-dependent fields passes."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except Failure:
        if response.status_code == 422:
            fields = {error.get("field") for error in response.json().get("errors", [])}
            if fields and fields <= STATE_DEPENDENT.keys():
                return None
        raise


def _exercise(operation: Any, base_url: str, headers: dict[str, str]) -> list[str]:
    """Run the operation's generated cases; return the failures (empty when it keeps its contract)."""
    session = requests.Session()
    failures: list[str] = []

    @given(case=operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        case.call_and_validate(
            base_url=base_url,
            session=session,
            headers=headers,
            excluded_checks=[positive_data_acceptance],
            additional_checks=[positive_data_acceptance_but_state_dependent],
        )

    try:
        run()
    except Exception as exc:  # noqa: BLE001 - every failure of every operation is reported together
        failures.append(f"{operation.label}: {exc}")
    return failures


@pytest.mark.parametrize("role", sorted(USERS))
async def test_every_operation_keeps_its_contract(live_server_factory: Any, role: str) -> None:
    server: LiveServer = live_server_factory(
        rate_limit_sign_in_per_minute=0, rate_limit_tokens_per_minute=0, rate_limit_introspection_per_minute=0
    )
    await _seed(server)
    schema = schemathesis.openapi.from_dict(json.loads(OPENAPI.read_text(encoding="utf-8")))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30
    headers = auth(USERS[role])
    failures: list[str] = []
    for operation in operations:
        failures += await asyncio.to_thread(_exercise, operation, server.base_url, headers)
    assert not failures, "\n\n".join(failures)
