"""The committed contract (openapi/openapi.json) is the one the service serves."""

from __future__ import annotations

import json

from eam.app import create_app
from eam.settings import PROJECT_ROOT, Settings


def test_committed_openapi_matches_the_served_schema() -> None:
    served = create_app(Settings(), run_housekeeping=False).openapi_schema.to_schema()
    committed = json.loads((PROJECT_ROOT / "openapi" / "openapi.json").read_text())
    assert committed == json.loads(json.dumps(served)), "regenerate with: eam openapi > openapi/openapi.json"


def test_every_operation_has_a_stable_operation_id() -> None:
    schema = json.loads((PROJECT_ROOT / "openapi" / "openapi.json").read_text())
    ids = [op["operationId"] for path in schema["paths"].values() for op in path.values() if isinstance(op, dict) and "operationId" in op]
    operations = [op for path in schema["paths"].values() for key, op in path.items() if key in {"get", "post", "patch", "delete", "put"}]
    assert len(ids) == len(operations) == len(set(ids))
