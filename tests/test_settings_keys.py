"""Settings for grant tokens and their keys, read by Settings.from_env from an explicit environ."""

from __future__ import annotations

import datetime as dt
from typing import Any

import jwt
import pytest
from cryptography.fernet import Fernet, InvalidToken

from eam.core.settings import DEV_KEY_ENCRYPTION_KEY, Settings, SettingsError
from eam.signing_keys.keyring import KeyRing, new_signing_key, published_jwk

KEK_1 = Fernet.generate_key().decode()
KEK_2 = Fernet.generate_key().decode()
NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


def production(**overrides: str | None) -> dict[str, str]:
    """A complete production environment; an override of None removes that variable."""
    environ: dict[str, str | None] = {
        "EAM_ENV": "production",
        "EAM_DATABASE_URL": "postgresql+asyncpg://eam@db.internal:5432/eam",
        "EAM_NATIONAL_NUMBER_KEY": "a-production-national-number-key-0123456789",
        "EAM_ISSUER": "https://eam.example.org",
        "EAM_KEY_ENCRYPTION_KEY": KEK_1,
        "EAM_PLATFORM_ADMINS": "https://idp.example.org#ops-admin",
        "EAM_OIDC_PROVIDERS": '[{"name": "national", "issuer": "https://idp.example.org", "client_id": "eam", "client_secret": "s3cret"}]',
    }
    environ.update(overrides)
    return {name: value for name, value in environ.items() if value is not None}


def refused(environ: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(environ)
    return str(raised.value)


def test_a_complete_production_environment_loads() -> None:
    settings = Settings.from_env(production())
    assert settings.is_production
    assert settings.issuer == "https://eam.example.org"
    assert settings.issuer_url == "https://eam.example.org"
    assert settings.key_encryption_keys == (KEK_1,)
    assert settings.dev_token_secret is None
    assert settings.platform_admins == ("https://idp.example.org#ops-admin",)
    assert settings.grant_signing_alg == "ES256"
    assert settings.grant_token_ttl_seconds == 300


def test_the_development_defaults_load_without_any_variable() -> None:
    settings = Settings.from_env({})
    assert not settings.is_production
    assert settings.key_encryption_keys == (DEV_KEY_ENCRYPTION_KEY,)
    Fernet(DEV_KEY_ENCRYPTION_KEY)  # the default is a usable Fernet key


@pytest.mark.parametrize(
    "keys",
    [
        DEV_KEY_ENCRYPTION_KEY,
        f"{KEK_1},{DEV_KEY_ENCRYPTION_KEY}",
        f"{DEV_KEY_ENCRYPTION_KEY},{KEK_1}",
        DEV_KEY_ENCRYPTION_KEY + "=",  # the same key, spelt with extra padding (Fernet accepts it)
        f" {DEV_KEY_ENCRYPTION_KEY} ",
    ],
    # Fixed ids: KEK_1 is generated per process, and pytest-xdist workers must collect the same names.
    ids=["dev-key", "dev-key-second", "dev-key-first", "dev-key-extra-padding", "dev-key-spaced"],
)
def test_production_refuses_the_development_key_encryption_key(keys: str) -> None:
    Fernet(keys.split(",")[0].strip())  # each spelling is a key Fernet would use
    message = refused(production(EAM_KEY_ENCRYPTION_KEY=keys))
    assert "EAM_KEY_ENCRYPTION_KEY" in message and "development key" in message


def test_production_requires_a_key_encryption_key() -> None:
    missing = refused(production(EAM_KEY_ENCRYPTION_KEY=None))
    assert "EAM_KEY_ENCRYPTION_KEY" in missing and "must be set" in missing
    assert "EAM_KEY_ENCRYPTION_KEY" in refused(production(EAM_KEY_ENCRYPTION_KEY=""))
    assert "EAM_KEY_ENCRYPTION_KEY" in refused(production(EAM_KEY_ENCRYPTION_KEY=" , "))


@pytest.mark.parametrize("issuer", [None, "http://eam.example.org", "http://127.0.0.1:8000"])
def test_production_requires_an_https_issuer(issuer: str | None) -> None:
    message = refused(production(EAM_ISSUER=issuer))
    assert "EAM_ISSUER" in message and "https://" in message


@pytest.mark.parametrize(
    "issuer", ["eam.example.org", "ftp://eam.example.org", "https://", "https://eam.example.org/?tenant=1", "https://eam.example.org/#x"]
)
def test_an_issuer_that_is_not_an_http_url_without_query_or_fragment_is_refused(issuer: str) -> None:
    assert "EAM_ISSUER" in refused({"EAM_ISSUER": issuer})


def test_development_accepts_an_http_issuer_and_strips_a_trailing_slash() -> None:
    settings = Settings.from_env({"EAM_ISSUER": "http://localhost:8000/"})
    assert settings.issuer_url == "http://localhost:8000"
    assert Settings.from_env({}).issuer_url == "http://127.0.0.1:8000"


@pytest.mark.parametrize(
    "key",
    [
        "not-a-fernet-key",
        "c2hvcnQ=",  # valid base64 of too few bytes
        Fernet.generate_key().decode()[:-2],
        "ZGV2LW9ubHkta2V5LWVuY3J5cHRpb24ta2V5LTAwMDA",  # unpadded
        "é" * 44,
    ],
    ids=["not-a-fernet-key", "too-few-bytes", "fresh-key-cut-short", "unpadded", "non-ascii"],  # fixed: one key is random
)
def test_an_invalid_fernet_key_is_refused(key: str) -> None:
    assert "EAM_KEY_ENCRYPTION_KEY" in refused({"EAM_KEY_ENCRYPTION_KEY": key})
    assert "EAM_KEY_ENCRYPTION_KEY" in refused({"EAM_KEY_ENCRYPTION_KEY": f"{KEK_1},{key}"})
    assert "EAM_KEY_ENCRYPTION_KEY" in refused(production(EAM_KEY_ENCRYPTION_KEY=key))


@pytest.mark.parametrize("alg", ["HS256", "none", "es256", "PS256", ""])
def test_a_symmetric_or_unknown_signing_algorithm_is_refused(alg: str) -> None:
    message = refused({"EAM_GRANT_SIGNING_ALG": alg})
    assert "EAM_GRANT_SIGNING_ALG" in message


@pytest.mark.parametrize("alg", ["ES256", "RS256", "EdDSA"])
def test_the_supported_signing_algorithms_load(alg: str) -> None:
    assert Settings.from_env({"EAM_GRANT_SIGNING_ALG": alg}).grant_signing_alg == alg


@pytest.mark.parametrize(("ttl", "ok"), [("29", False), ("30", True), ("3600", True), ("3601", False), ("0", False), ("-300", False)])
def test_the_grant_token_lifetime_must_be_between_30_seconds_and_an_hour(ttl: str, ok: bool) -> None:
    if ok:
        assert Settings.from_env({"EAM_GRANT_TOKEN_TTL_SECONDS": ttl}).grant_token_ttl_seconds == int(ttl)
    else:
        assert "EAM_GRANT_TOKEN_TTL_SECONDS" in refused({"EAM_GRANT_TOKEN_TTL_SECONDS": ttl})


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("EAM_GRANT_TOKEN_TTL_SECONDS", "5m"),
        ("EAM_TOKEN_LEEWAY_SECONDS", "-1"),
        ("EAM_TOKEN_LEEWAY_SECONDS", "301"),
        ("EAM_SIGNING_KEY_ROTATION_DAYS", "-1"),
        ("EAM_SIGNING_KEY_ROTATION_DAYS", "ninety"),
    ],
)
def test_other_key_settings_out_of_range_are_refused(variable: str, value: str) -> None:
    assert variable in refused({variable: value})


def test_rotation_days_zero_means_never() -> None:
    assert Settings.from_env({"EAM_SIGNING_KEY_ROTATION_DAYS": "0"}).signing_key_rotation_days == 0


def test_a_comma_separated_variable_gives_several_key_encryption_keys() -> None:
    settings = Settings.from_env({"EAM_KEY_ENCRYPTION_KEY": f" {KEK_1} ,{KEK_2},"})
    assert settings.key_encryption_keys == (KEK_1, KEK_2)
    assert Settings.from_env(production(EAM_KEY_ENCRYPTION_KEY=f"{KEK_1},{KEK_2}")).key_encryption_keys == (KEK_1, KEK_2)


def signs_and_verifies(keyring: KeyRing, key: Any) -> None:
    token = jwt.encode({"sub": "x"}, keyring.private_key(key).private_key, algorithm=key.alg, headers={"kid": key.kid})
    assert jwt.decode(token, jwt.PyJWK(published_jwk(key)).key, algorithms=[key.alg]) == {"sub": "x"}


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_a_private_key_still_decrypts_after_a_new_key_encryption_key_is_put_in_front(alg: str) -> None:
    before = Settings.from_env({"EAM_KEY_ENCRYPTION_KEY": KEK_2})
    key = new_signing_key(before, alg, NOW)
    Fernet(KEK_2).decrypt(key.private_key_encrypted.encode())
    signs_and_verifies(KeyRing(before), key)

    after = Settings.from_env({"EAM_KEY_ENCRYPTION_KEY": f"{KEK_1},{KEK_2}"})
    signs_and_verifies(KeyRing(after), key)

    # new keys are encrypted under the first key only
    newer = new_signing_key(after, alg, NOW)
    Fernet(KEK_1).decrypt(newer.private_key_encrypted.encode())
    with pytest.raises(InvalidToken):
        Fernet(KEK_2).decrypt(newer.private_key_encrypted.encode())
    signs_and_verifies(KeyRing(after), newer)

    # once the old key-encryption key is dropped, keys encrypted under it no longer decrypt
    with pytest.raises(InvalidToken):
        KeyRing(Settings.from_env({"EAM_KEY_ENCRYPTION_KEY": KEK_1})).private_key(key)
