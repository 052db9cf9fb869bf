"""``eam.verifier`` with joserfc stays as strict about the token's encoding and EAM's keys as it
was with PyJWT (whose per-character base64url check was the cost issue 11 removed).

Each refused token differs from an accepted control, signed with the same key, only in the
defect named; Python's lenient base64 decoder reads the defective segment as the same bytes,
so only a strict parser can tell them apart.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
import warnings
from typing import Any

import pytest
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey, OKPKey, RSAKey

from eam.verifier import TokenRefused, Verifier

ISSUER = "https://eam.example.org"
AUDIENCE = "healthstat"
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def lenient(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def new_key(alg: str) -> Any:
    return {"ES256": lambda: ECKey.generate_key("P-256"), "RS256": lambda: RSAKey.generate_key(2048), "EdDSA": lambda: OKPKey.generate_key("Ed25519")}[alg]()


def published(key: Any, alg: str, **changes: Any) -> dict[str, Any]:
    return {**key.as_dict(private=False), "kid": "k1", "alg": alg, "use": "sig", **changes}


def grant_token(key: Any, alg: str) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": str(uuid.uuid4()), "aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + 300, "jti": str(uuid.uuid4()), "authorization_details": []}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="EdDSA is deprecated")  # signing here is only the test's setup
        return jose_jwt.encode({"alg": alg, "typ": "at+jwt", "kid": "k1"}, claims, key, algorithms=[alg])


def verifier_for(*jwks: dict[str, Any]) -> Verifier:
    document = json.dumps({"keys": list(jwks)}).encode()
    return Verifier(ISSUER, AUDIENCE, fetch=lambda _url: document)


def non_canonical(segment: str) -> str:
    """The same bytes for a lenient decoder, with the unused low bits of the last character set."""
    spare_bits = {2: 4, 3: 2}[len(segment) % 4]
    last = ALPHABET.index(segment[-1])
    variant = segment[:-1] + ALPHABET[last | ((1 << spare_bits) - 1)]
    assert variant != segment and lenient(variant) == lenient(segment)
    return variant


@pytest.fixture(scope="module")
def es256() -> tuple[Any, str, Verifier]:
    key = new_key("ES256")
    return key, grant_token(key, "ES256"), verifier_for(published(key, "ES256"))


def test_control_the_untouched_token_verifies(es256: tuple[Any, str, Verifier]) -> None:
    _, token, verifier = es256
    assert verifier.verify(token).application == AUDIENCE


@pytest.mark.parametrize("part", [1, 2])  # payload, signature (the header is read before the key is chosen)
def test_a_non_canonical_base64url_segment_is_refused(es256: tuple[Any, str, Verifier], part: int) -> None:
    _, token, verifier = es256
    segments = token.split(".")
    if len(segments[part]) % 4 == 0:
        pytest.skip("this segment has no spare bits")  # 2556-byte tokens: both do; kept for honesty
    segments[part] = non_canonical(segments[part])
    with pytest.raises(TokenRefused):
        verifier.verify(".".join(segments))


@pytest.mark.parametrize("junk", ["!", "+", "/", "=", " ", "\n"])
def test_characters_outside_base64url_are_refused(es256: tuple[Any, str, Verifier], junk: str) -> None:
    _, token, verifier = es256
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload[:10]}{junk}{payload[10:]}.{signature}"
    assert lenient(forged.split(".")[1].replace(junk, "")) == lenient(payload)  # the same bytes, leniently
    with pytest.raises(TokenRefused):
        verifier.verify(forged)


def test_padding_is_refused(es256: tuple[Any, str, Verifier]) -> None:
    """RFC 7515 section 2: base64url without padding. (PyJWT 2.15 tolerated '=' padding.)"""
    _, token, verifier = es256
    header, payload, signature = token.split(".")
    padded = signature + "=" * (-len(signature) % 4)
    assert padded != signature
    with pytest.raises(TokenRefused):
        verifier.verify(f"{header}.{payload}.{padded}")


@pytest.mark.parametrize("alg", ["ES256", "RS256", "EdDSA"])
def test_each_algorithm_verifies_without_warnings(alg: str) -> None:
    key = new_key(alg)
    token = grant_token(key, alg)
    verifier = verifier_for(published(key, alg))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # joserfc warns on the name EdDSA unless told the name is wanted
        assert verifier.verify(token).application == AUDIENCE


def test_a_jwk_whose_alg_does_not_fit_its_key_type_is_not_used() -> None:
    key = new_key("ES256")
    token = grant_token(key, "ES256")
    rsa = new_key("RS256")
    # EAM's kid, but an RSA key claiming ES256: never a verification key.
    with pytest.raises(TokenRefused, match="is not in EAM's JWKS"):
        verifier_for(published(rsa, "ES256")).verify(token)
    # A P-384 key claiming ES256 (P-256) is not used either.
    p384 = ECKey.generate_key("P-384")
    with pytest.raises(TokenRefused, match="is not in EAM's JWKS"):
        verifier_for(published(p384, "ES256")).verify(token)


def test_a_jwk_without_alg_gets_the_algorithm_its_type_implies() -> None:
    """As with PyJWT's PyJWK: an EC P-256 key without ``alg`` verifies ES256."""
    key = new_key("ES256")
    token = grant_token(key, "ES256")
    entry = published(key, "ES256")
    del entry["alg"]
    assert verifier_for(entry).verify(token).application == AUDIENCE


def test_changing_issuer_audience_or_leeway_after_construction_takes_effect(es256: tuple[Any, str, Verifier]) -> None:
    key, token, _ = es256
    verifier = verifier_for(published(key, "ES256"))
    verifier.verify(token)
    verifier.audience = "hd4dp2"
    with pytest.raises(TokenRefused, match="Audience doesn't match"):
        verifier.verify(token)
    verifier.audience = AUDIENCE
    verifier.issuer = ISSUER + "/"
    with pytest.raises(TokenRefused, match="Invalid issuer"):
        verifier.verify(token)
