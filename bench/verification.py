"""Benchmark: offline verification of one EAM grant token, per JOSE library, per CPU-second.

Verifies the same token, with the same checks (signature with the key chosen by ``kid``, ``typ``
``at+jwt``, ``iss``, ``aud``, ``exp``/``nbf`` with 30 s leeway, required claims), with:

- ``eam.verifier.Verifier.verify`` (JWKS cached; what a downstream application runs),
- raw PyJWT (``jwt.decode`` with those options),
- raw joserfc (``jwt.decode`` + ``JWTClaimsRegistry``),
- raw jwcrypto, when it is installed (it is not an EAM dependency; ``pip install jwcrypto``).

Rates are verifications per CPU-second of this process (``time.process_time``), so a busy
machine lowers them less than wall-clock rates. Usage (standalone, a synthetic token of the size
EAM issues with 6 assignments; ``bench/grant_tokens.py`` runs the same on tokens the server issued)::

    .venv/bin/python bench/verification.py [--seconds 2] [--alg ES256] [--assignments 6]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import jwt  # noqa: E402
from joserfc import jwt as jose_jwt  # noqa: E402
from joserfc.errors import SecurityWarning  # noqa: E402
from joserfc.jwk import KeySet  # noqa: E402

from eam.verifier import Verifier  # noqa: E402

# Raw joserfc warns on every use of the algorithm name EdDSA (RFC 9864 prefers Ed25519, same
# signature); eam.verifier does not, and the benchmark output should not drown in it either.
warnings.filterwarnings("ignore", message="EdDSA is deprecated", category=SecurityWarning)

AUDIENCE = "healthstat"
LEEWAY = 30
REQUIRED = ["iss", "sub", "aud", "exp", "iat", "jti"]


def per_cpu_second(verify: Callable[[], object], seconds: float) -> float:
    """Calls per CPU-second of this process, after one untimed call (which must succeed)."""
    verify()
    count, cpu_start, wall_start = 0, time.process_time(), time.perf_counter()
    while time.perf_counter() - wall_start < seconds:
        for _ in range(20):
            verify()
        count += 20
    return count / (time.process_time() - cpu_start)


def verifiers(token: str, jwks: dict[str, Any], issuer: str) -> dict[str, Callable[[], object]]:
    """One callable per library, each doing the checks ``eam.verifier`` does, on ``token``."""
    header = jwt.get_unverified_header(token)
    alg, kid = header["alg"], header["kid"]
    (raw_key,) = [key for key in jwks["keys"] if key["kid"] == kid]

    eam = Verifier(issuer, AUDIENCE, fetch=lambda _url: json.dumps(jwks).encode(), leeway=LEEWAY)

    pyjwt_key = jwt.PyJWK(raw_key).key

    def pyjwt_verify() -> object:
        decoded = jwt.decode_complete(token, pyjwt_key, algorithms=[alg], audience=AUDIENCE, issuer=issuer, leeway=LEEWAY, options={"require": REQUIRED})
        if decoded["header"].get("typ") != "at+jwt":
            raise ValueError("typ")
        return decoded["payload"]

    keyset = KeySet.import_key_set({"keys": [raw_key]})
    registry = jose_jwt.JWTClaimsRegistry(
        leeway=LEEWAY, iss={"essential": True, "value": issuer}, aud={"essential": True, "value": AUDIENCE},
        sub={"essential": True}, exp={"essential": True}, iat={"essential": True}, jti={"essential": True},
    )

    def joserfc_verify() -> object:
        decoded = jose_jwt.decode(token, keyset, algorithms=[alg])
        if decoded.header.get("typ") != "at+jwt":
            raise ValueError("typ")
        registry.validate(decoded.claims)
        return decoded.claims

    found = {"eam.verifier": lambda: eam.verify(token), "PyJWT": pyjwt_verify, "joserfc": joserfc_verify}
    try:
        from jwcrypto import jwk as jwc_jwk
        from jwcrypto import jwt as jwc_jwt
    except ImportError:
        return found
    jwc_keys = jwc_jwk.JWKSet.from_json(json.dumps({"keys": [raw_key]}))

    def jwcrypto_verify() -> object:
        verified = jwc_jwt.JWT(
            jwt=token, key=jwc_keys, algs=[alg], expected_type="JWS",
            check_claims={"iss": issuer, "aud": AUDIENCE, "exp": None, "sub": None, "iat": None, "jti": None},
        )
        verified.leeway = LEEWAY
        if verified.token.jose_header.get("typ") != "at+jwt":
            raise ValueError("typ")
        return json.loads(verified.claims)

    found["jwcrypto"] = jwcrypto_verify
    return found


def measure(token: str, jwks: dict[str, Any], issuer: str, seconds: float, rounds: int = 3) -> dict[str, float]:
    """Each library's best of ``rounds`` interleaved runs of ``seconds / rounds`` (the machine is
    shared: interleaving spreads a busy moment over all of them, the best run is the least disturbed)."""
    found = verifiers(token, jwks, issuer)
    rates: dict[str, float] = {name: 0.0 for name in found}
    for _ in range(rounds):
        for name, verify in found.items():
            rates[name] = max(rates[name], per_cpu_second(verify, seconds / rounds))
    return rates


def synthetic_token(alg: str, assignments: int) -> tuple[str, dict[str, Any], str]:
    """A token shaped like the ones EAM issues (its claims, ``typ``, RFC 7638 ``kid``), and its JWKS."""
    from joserfc.jwk import ECKey, OKPKey, RSAKey

    private = {"ES256": lambda: ECKey.generate_key("P-256"), "RS256": lambda: RSAKey.generate_key(3072), "EdDSA": lambda: OKPKey.generate_key("Ed25519")}[alg]()
    kid = private.thumbprint()
    issuer, now = "https://eam.example.org", int(time.time())
    organisation = {"id": str(uuid.uuid4()), "nihdi": "71000436"}
    claims = {
        "iss": issuer, "sub": str(uuid.uuid4()), "aud": AUDIENCE, "client_id": "urn:eam:api",
        "iat": now, "nbf": now, "exp": now + 3600, "jti": str(uuid.uuid4()),
        "authorization_details": [
            {"type": "eam_register_access", "organisation": organisation, "register": f"BENCH{index:03d}", "role": "data_provider",
             "data_level": "hospital", "author_group": None, "assignment_id": str(uuid.uuid4()), "valid_until": None}
            for index in range(assignments)
        ],
    }
    token = jose_jwt.encode({"alg": alg, "typ": "at+jwt", "kid": kid}, claims, private, algorithms=[alg])
    jwks = {"keys": [{**private.as_dict(private=False), "kid": kid, "alg": alg, "use": "sig"}]}
    return token, jwks, issuer


def print_rates(rates: dict[str, float], token: str) -> None:
    base = rates.get("eam.verifier")
    print(f"verification of one {len(token)}-byte token, per CPU-second (single thread):")
    for name, rate in rates.items():
        relative = f"  ({rate / base:.2f}x eam.verifier)" if base and name != "eam.verifier" else ""
        print(f"  {name:<13} {rate:>8.0f}/s  {1e6 / rate:>6.0f} µs{relative}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per library")
    parser.add_argument("--alg", default="ES256", choices=["ES256", "RS256", "EdDSA"])
    parser.add_argument("--assignments", type=int, default=6)
    args = parser.parse_args()
    token, jwks, issuer = synthetic_token(args.alg, args.assignments)
    print(f"{args.alg}, {args.assignments} assignments")
    print_rates(measure(token, jwks, issuer, args.seconds), token)


if __name__ == "__main__":
    main()
