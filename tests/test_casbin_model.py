"""The Casbin model and permission file as data, checked table by table (the pycasbin way), and
the exported policy checked by an independent implementation (node-casbin) giving the same answers."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import casbin
import pytest
from casbin.model import Model

from eam.authz.enforcer import read_permissions
from eam.core.settings import SHIPPED_POLICIES_DIR
from tests.conftest import Api
from tests.node import npm_ci

MODEL = SHIPPED_POLICIES_DIR / "model.conf"
PERMISSIONS = SHIPPED_POLICIES_DIR / "permissions.csv"
NODE_DIR = Path(__file__).resolve().parent / "casbin_node"

AM, OTHER_AM, ADMIN, EMPLOYEE = "user:am", "user:other-am", "user:admin", "user:employee"
AUDITOR, PLATFORM_AUDITOR = "user:auditor", "user:platform-auditor"

# (subject, domain, object, action, expected)
API_CASES = [
    (AM, "org:1", "access_request", "approve", True),
    (AM, "org:1", "access_request", "reject", True),
    (AM, "org:2", "access_request", "approve", False),
    (OTHER_AM, "org:1", "access_request", "approve", False),
    (AM, "org:1", "access_request:own", "approve", False),
    (ADMIN, "org:1", "access_request:own", "approve", False),
    (ADMIN, "org:9", "access_request", "approve", True),
    (ADMIN, "platform", "organisation", "create", True),
    (AM, "platform", "organisation", "create", False),
    (EMPLOYEE, "platform", "organisation", "create", False),
    (EMPLOYEE, "org:1", "access_request", "create", True),
    (EMPLOYEE, "org:1", "access_request", "read", False),
    (EMPLOYEE, "org:1", "access_request:own", "read", True),
    (EMPLOYEE, "org:1", "access_request:own", "withdraw", True),
    (EMPLOYEE, "org:1", "access_request", "withdraw", False),
    (AM, "org:1", "access_request", "withdraw", False),
    (AM, "org:1", "assignment", "create", True),
    (AM, "org:1", "assignment:own", "create", False),
    (AM, "org:1", "assignment:own", "update", False),
    (AM, "org:1", "assignment:own", "revoke", True),
    (AM, "org:1", "access_manager", "appoint", True),
    (AM, "org:2", "access_manager", "appoint", False),
    (EMPLOYEE, "org:1", "access_manager", "appoint", False),
    (AM, "org:1", "audit_event", "read", True),
    (EMPLOYEE, "org:1", "audit_event", "read", False),
    (AM, "org:1", "access_request", "approve_all", False),  # actions are anchored
    (AM, "org:1", "auditor", "appoint", True),
    (AM, "org:2", "auditor", "appoint", False),
    (AM, "platform", "platform_auditor", "appoint", False),
    (ADMIN, "platform", "platform_auditor", "appoint", True),
    # an auditor of org:1 reads there, and nowhere else, and changes nothing
    (AUDITOR, "org:1", "audit_event", "read", True),
    (AUDITOR, "org:1", "assignment", "read", True),
    (AUDITOR, "org:1", "access_request", "read", True),
    (AUDITOR, "org:1", "person", "read", True),
    (AUDITOR, "org:2", "audit_event", "read", False),
    (AUDITOR, "platform", "audit_event", "read", False),
    (AUDITOR, "org:1", "access_request", "approve", False),
    (AUDITOR, "org:1", "access_request", "reject", False),
    (AUDITOR, "org:1", "assignment", "create", False),
    (AUDITOR, "org:1", "assignment", "update", False),
    (AUDITOR, "org:1", "assignment", "revoke", False),
    (AUDITOR, "org:1", "access_manager", "appoint", False),
    (AUDITOR, "org:1", "auditor", "appoint", False),
    (AUDITOR, "org:1", "organisation", "update", False),
    # a platform-wide auditor reads everywhere (the platform domain too) and changes nothing
    (PLATFORM_AUDITOR, "org:7", "audit_event", "read", True),
    (PLATFORM_AUDITOR, "platform", "assignment", "read", True),
    (PLATFORM_AUDITOR, "platform", "organisation", "create", False),
    (PLATFORM_AUDITOR, "org:7", "access_request", "approve", False),
    (PLATFORM_AUDITOR, "org:7", "assignment", "revoke", False),
    (PLATFORM_AUDITOR, "platform", "platform_auditor", "read", False),
]

REGISTER_CASES = [
    (EMPLOYEE, "org:1", "healthstat:HDBP0147", "^data_provider/hospital$", "2026-06-01T00:00:00Z", True),
    (EMPLOYEE, "org:1", "healthstat:HDBP0147", "^data_provider/.*$", "2026-06-01T00:00:00Z", True),
    (EMPLOYEE, "org:1", "healthstat:HDBP0147", "^sponsor/.*$", "2026-06-01T00:00:00Z", False),
    (EMPLOYEE, "org:2", "healthstat:HDBP0147", ".*", "2026-06-01T00:00:00Z", False),
    (EMPLOYEE, "org:1", "healthstat:HDBP0031", ".*", "2026-06-01T00:00:00Z", False),
    (EMPLOYEE, "org:1", "healthstat:HDBP0147", ".*", "2025-12-31T23:59:59Z", False),  # before valid_from
    (EMPLOYEE, "org:1", "healthstat:HDBP0147", ".*", "2026-12-01T00:00:00Z", False),  # at valid_until
    (EMPLOYEE, "org:1", "hd4dp2:HDBP0147", "^local_study_support@team-a$", "2030-01-01T00:00:00Z", True),  # open-ended
]

STORED_RULES = [
    ("g", [AM, "role:access_manager", "org:1"]),
    ("g", [OTHER_AM, "role:access_manager", "org:2"]),
    ("g", [ADMIN, "role:platform_admin", "*"]),
    ("g", [AUDITOR, "role:auditor", "org:1"]),
    ("g", [PLATFORM_AUDITOR, "role:auditor", "*"]),
    ("p2", [EMPLOYEE, "org:1", "healthstat:HDBP0147", "data_provider/hospital", "2026-01-01T00:00:00Z", "2026-12-01T00:00:00Z"]),
    ("p2", [EMPLOYEE, "org:1", "hd4dp2:HDBP0147", "local_study_support@team-a", "2026-01-01T00:00:00Z", ""]),
]


@pytest.fixture(scope="module")
def enforcer() -> casbin.Enforcer:
    model = Model()
    model.load_model_from_text(MODEL.read_text())
    enforcer = casbin.Enforcer(model)
    for ptype, values in [*read_permissions(PERMISSIONS), *STORED_RULES]:
        if ptype.startswith("g"):
            enforcer.add_named_grouping_policy(ptype, values)
        else:
            enforcer.add_named_policy(ptype, values)
    return enforcer


@pytest.mark.parametrize(("subject", "domain", "obj", "action", "expected"), API_CASES)
def test_api_permissions(enforcer: casbin.Enforcer, subject: str, domain: str, obj: str, action: str, expected: bool) -> None:
    assert enforcer.enforce(subject, domain, obj, action) is expected


@pytest.mark.parametrize(("subject", "domain", "obj", "profile", "time", "expected"), REGISTER_CASES)
def test_register_access_is_time_bound(
    enforcer: casbin.Enforcer, subject: str, domain: str, obj: str, profile: str, time: str, expected: bool
) -> None:
    context = enforcer.new_enforce_context("2")
    assert enforcer.enforce(context, subject, domain, obj, profile, time) is expected


@pytest.fixture(scope="session")
def node_casbin() -> Path:
    """node-casbin, installed from the committed lock file; the suite fails if it cannot be."""
    npm_ci(NODE_DIR, "casbin")
    return NODE_DIR / "enforce.js"


def node_enforce(script: Path, policy_csv: Path, queries: list[dict]) -> list[bool]:
    completed = subprocess.run(
        ["node", str(script), str(MODEL), str(policy_csv)],
        input=json.dumps(queries),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(completed.stdout)


def test_node_casbin_gives_the_same_answers_on_the_same_policy(node_casbin: Path, tmp_path: Path) -> None:
    policy = tmp_path / "policy.csv"
    with policy.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        for ptype, values in [*read_permissions(PERMISSIONS), *STORED_RULES]:
            writer.writerow([ptype, *values])
    queries = [{"context": "", "args": list(case[:4])} for case in API_CASES]
    queries += [{"context": "2", "args": list(case[:5])} for case in REGISTER_CASES]
    expected = [case[4] for case in API_CASES] + [case[5] for case in REGISTER_CASES]
    assert node_enforce(node_casbin, policy, queries) == expected


async def test_eam_policy_export_loads_in_node_casbin(api: Api, app, database_url: str, node_casbin: Path, tmp_path: Path) -> None:
    org = await api.managed_organisation()
    assignment = await api.approved_assignment(org["id"])
    env = {**os.environ, "EAM_DATABASE_URL": database_url, "EAM_PLATFORM_ADMINS": "admin", "EAM_ENV": "development"}
    exported = subprocess.run(
        [sys.executable, "-m", "eam", "policy", "export"], env=env, capture_output=True, text=True, check=True
    ).stdout
    rows = list(csv.reader(io.StringIO(exported)))
    alice, carol, admin = [f"user:{await api.user_id(name)}" for name in ("alice", "carol", "admin")]
    domain = f"org:{org['id']}"
    assert ["g", alice, "role:access_manager", domain] in rows
    assert ["g", admin, "role:platform_admin", "*"] in rows
    assert [r[:5] for r in rows if r[0] == "p2"] == [["p2", carol, domain, "healthstat:HDBP0147", "data_provider/hospital"]]
    policy = tmp_path / "export.csv"
    policy.write_text(exported)
    queries = [
        {"context": "", "args": [alice, domain, "access_request", "approve"]},
        {"context": "", "args": [carol, domain, "access_request", "approve"]},
        {"context": "", "args": [admin, "platform", "organisation", "create"]},
        {"context": "2", "args": [carol, domain, "healthstat:HDBP0147", "^data_provider/hospital$", assignment["valid_from"][:19] + "Z"]},
        {"context": "2", "args": [carol, domain, "healthstat:HDBP0147", "^sponsor/.*$", assignment["valid_from"][:19] + "Z"]},
    ]
    assert node_enforce(node_casbin, policy, queries) == [True, False, True, True, False]
