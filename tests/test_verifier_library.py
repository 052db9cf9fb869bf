"""``eam.verifier`` stands alone: it imports without the server's dependencies, and its only JOSE
library is joserfc (PyJWT, which the server still signs with, is blocked too)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: What the server needs and a downstream application must not: importing any of these fails.
#: (``jwt`` is PyJWT: the verifier verifies with joserfc, so a downstream application needs only that.)
SERVER_ONLY = ["litestar", "sqlalchemy", "msgspec", "alembic", "casbin", "authlib", "jwt", "asyncpg", "aiosqlite", "httpx", "uvicorn", "click"]

SCRIPT = textwrap.dedent(
    """
    import importlib.abc, json, sys, time

    BLOCKED = set(sys.argv[1].split(","))

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{name} is a server dependency")
            return None

    sys.meta_path.insert(0, Block())

    from joserfc import jwt
    from joserfc.jwk import ECKey
    from eam.verifier import AccessDenied, Verifier

    key = ECKey.generate_key("P-256")
    jwk = {**key.as_dict(private=False), "kid": "k1", "alg": "ES256", "use": "sig"}
    now = int(time.time())
    claims = {
        "iss": "https://eam.example", "sub": "u1", "aud": "healthstat", "iat": now, "nbf": now, "exp": now + 60,
        "jti": "t1", "client_id": "c",
        "authorization_details": [{"type": "eam_register_access", "organisation": {"id": "o1", "nihdi": "71000436"},
            "register": "HDBP0147", "role": "data_provider", "data_level": "hospital", "assignment_id": "a1", "valid_until": None}],
    }
    token = jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": "k1"}, claims, key)
    verifier = Verifier("https://eam.example", "healthstat", fetch=lambda url: json.dumps({"keys": [jwk]}).encode())
    access = verifier.require(token, register="HDBP0147", data_level="hospital")
    try:
        verifier.require(token, register="HDBP0147", data_level="individual")
        raise SystemExit("a profile the token does not carry was granted")
    except AccessDenied:
        pass
    loaded = sorted(name for name in sys.modules if name.split(".")[0] in BLOCKED)
    print(json.dumps({"nihdi": access.organisation.nihdi, "loaded": loaded}))
    """
)


def test_verifier_imports_and_verifies_without_server_dependencies() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, ",".join(SERVER_ONLY)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '{"nihdi": "71000436", "loaded": []}'


def test_the_import_blocker_works() -> None:
    """Control: the same blocker makes importing the server fail, so the test above means something."""
    blocker = SCRIPT.split("from joserfc import jwt")[0]
    result = subprocess.run(
        [sys.executable, "-c", blocker + "import eam.app\n", ",".join(SERVER_ONLY)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "is a server dependency" in result.stderr
