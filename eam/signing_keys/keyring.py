"""Signing keys for grant tokens, kept in the database with their private half encrypted.

- ``kid`` is the RFC 7638 JWK thumbprint, so every party derives the same id from the key.
- Private keys are PKCS#8, encrypted with the key-encryption keys from settings (Fernet,
  AES-128-CBC + HMAC-SHA256); a retired key's private half is erased.
- Rotation is compare-and-set on the one ``current`` row (a partial unique index backs it):
  two concurrent rotations give one new key, and the other caller a conflict.
- After rotation the previous key stays in the JWKS until every token it signed has expired
  (token lifetime + leeway), then it is retired.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from cryptography.fernet import Fernet, MultiFernet
from joserfc.jwk import ECKey, JWKRegistry, OKPKey, RSAKey
from sqlalchemy import event, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from eam.core.audit import Auditor
from eam.core.errors import Conflict, ServiceUnavailable
from eam.core.settings import Settings
from eam.signing_keys.models import SigningKey
from eam.core.enums import KeyStatus

#: Algorithms EAM signs grant tokens with (RFC 9068 section 2.1 requires RS256 support).
SIGNING_ALGORITHMS = ("ES256", "RS256", "EdDSA")


#: The JWK key type (RFC 7518 section 6.1, RFC 8037) each signing algorithm needs.
KEY_TYPES = {"ES256": "EC", "RS256": "RSA", "EdDSA": "OKP"}


def generate_jwk(alg: str) -> ECKey | RSAKey | OKPKey:
    if alg == "ES256":
        return ECKey.generate_key("P-256", private=True)
    if alg == "RS256":
        return RSAKey.generate_key(3072, private=True)
    if alg == "EdDSA":
        return OKPKey.generate_key("Ed25519", private=True)
    raise ValueError(f"unsupported signing algorithm {alg!r}")


def key_fernet(settings: Settings) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.key_encryption_keys])


def new_signing_key(settings: Settings, alg: str, now: dt.datetime) -> SigningKey:
    key = generate_jwk(alg)
    public = dict(key.as_dict(private=False))
    return SigningKey(
        kid=key.thumbprint(),
        alg=alg,
        public_jwk=public,
        private_key_encrypted=key_fernet(settings).encrypt(key.as_pem(private=True)).decode("ascii"),
        status=KeyStatus.CURRENT,
        created_at=now,
    )


def published_jwk(key: SigningKey) -> dict[str, Any]:
    """The public JWK as served in the JWKS (RFC 7517 section 4: ``use``, ``alg``, ``kid``)."""
    return {**key.public_jwk, "kid": key.kid, "alg": key.alg, "use": "sig"}


#: How long a worker signs with the current key it read before reading it again. A key
#: rotated by another process is used from then on; tokens signed meanwhile with the previous
#: key still verify, since it stays published for the longest token lifetime plus leeway.
CURRENT_KEY_SECONDS = 5.0
_KEYS_CHANGED = "eam.signing_keys_changed"


class _Generation:
    """Bumped when a transaction of this process that changed signing keys commits."""

    value = 0


def _bump_generation(session: Session) -> None:
    if session.info.pop(_KEYS_CHANGED, False):
        _Generation.value += 1


def _forget_change(session: Session) -> None:
    session.info.pop(_KEYS_CHANGED, None)


def install_key_change_hooks() -> None:
    """Make this process's own rotations and retirements visible at once (idempotent)."""
    if not event.contains(Session, "after_commit", _bump_generation):
        event.listen(Session, "after_commit", _bump_generation)
        event.listen(Session, "after_rollback", _forget_change)


def _note_key_change(session: AsyncSession) -> None:
    session.sync_session.info[_KEYS_CHANGED] = True


class KeyRing:
    """Per-process cache of decrypted keys; the database stays the only source of truth.

    The current key is read again after :data:`CURRENT_KEY_SECONDS`, or at once after this
    process committed a rotation or retirement.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._private: dict[str, Any] = {}
        self._public: dict[str, Any] = {}
        self._current: tuple[SigningKey, int, float] | None = None

    def private_key(self, key: SigningKey) -> Any:
        cached = self._private.get(key.kid)
        if cached is None:
            pem = key_fernet(self._settings).decrypt(key.private_key_encrypted.encode("ascii"))
            cached = JWKRegistry.import_key(pem, KEY_TYPES[key.alg])
            self._private[key.kid] = cached
        return cached

    def public_key(self, key: SigningKey) -> Any:
        """The verifying key, as a joserfc key (EAM verifies its own tokens with joserfc)."""
        cached = self._public.get(key.kid)
        if cached is None:
            cached = JWKRegistry.import_key(published_jwk(key))
            self._public[key.kid] = cached
        return cached

    async def signing_key(self, session: AsyncSession) -> tuple[SigningKey, Any]:
        cached = self._current
        if cached is not None and cached[1] == _Generation.value and time.monotonic() - cached[2] < CURRENT_KEY_SECONDS:
            return cached[0], self.private_key(cached[0])
        generation, read_at = _Generation.value, time.monotonic()
        key = await session.scalar(select(SigningKey).where(SigningKey.status == KeyStatus.CURRENT))
        if key is None:
            raise ServiceUnavailable("no signing key is configured yet; run 'eam keys rotate'")
        if key.kid not in self._private:
            self._private.clear()  # only the current key signs: forget superseded private keys
        private = self.private_key(key)
        self._current = (key, generation, read_at)
        return key, private


async def published_keys(session: AsyncSession, now: dt.datetime) -> list[SigningKey]:
    rows = await session.scalars(
        select(SigningKey)
        .where(SigningKey.status.in_((KeyStatus.CURRENT, KeyStatus.PREVIOUS)))
        .order_by(SigningKey.created_at.desc(), SigningKey.kid)
    )
    return [key for key in rows if key.is_published(now)]


async def rotate(session: AsyncSession, settings: Settings, auditor: Auditor, *, reason: str) -> SigningKey:
    """Make a new key current; the old one keeps verifying until its tokens (grant and service) have expired."""
    now = auditor.now
    keep_until = now + dt.timedelta(seconds=settings.longest_token_ttl_seconds + settings.token_leeway_seconds)
    old = await session.scalar(select(SigningKey).where(SigningKey.status == KeyStatus.CURRENT))
    if old is not None:
        result = await session.execute(
            update(SigningKey)
            .where(SigningKey.kid == old.kid, SigningKey.status == KeyStatus.CURRENT)
            .values(status=KeyStatus.PREVIOUS, superseded_at=now, retire_after=keep_until)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise Conflict("another rotation replaced the signing key at the same time")
    key = new_signing_key(settings, settings.grant_signing_alg, now)
    _note_key_change(session)
    session.add(key)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict("another rotation replaced the signing key at the same time") from None
    auditor.record(
        "signing_key.rotated",
        target_type="signing_key",
        target_id=key.kid,
        before={"kid": old.kid, "alg": old.alg, "retire_after": keep_until.isoformat()} if old else None,
        after={**key.snapshot(), "reason": reason},
    )
    return key


def rotation_reason(key: SigningKey | None, settings: Settings, now: dt.datetime) -> str | None:
    """Why the current key must be replaced now, or None when it may keep signing."""
    if key is None:
        return "no signing key yet"
    if key.alg != settings.grant_signing_alg:
        return f"EAM_GRANT_SIGNING_ALG changed from {key.alg} to {settings.grant_signing_alg}"
    max_age = settings.signing_key_rotation_days
    if max_age and key.created_at + dt.timedelta(days=max_age) <= now:
        return f"the key is older than {max_age} days"
    return None


async def rotate_if_due(session: AsyncSession, settings: Settings, auditor: Auditor) -> SigningKey | None:
    current = await session.scalar(select(SigningKey).where(SigningKey.status == KeyStatus.CURRENT))
    reason = rotation_reason(current, settings, auditor.now)
    if reason is None:
        return None
    return await rotate(session, settings, auditor, reason=reason)


async def retire_due(session: AsyncSession, auditor: Auditor) -> int:
    """Retire previous keys whose last token has expired, and erase their private half."""
    due = (
        await session.scalars(
            select(SigningKey).where(SigningKey.status == KeyStatus.PREVIOUS, SigningKey.retire_after <= auditor.now)
        )
    ).all()
    count = 0
    for key in due:
        result = await session.execute(
            update(SigningKey)
            .where(SigningKey.kid == key.kid, SigningKey.status == KeyStatus.PREVIOUS)
            .values(status=KeyStatus.RETIRED, retired_at=auditor.now, private_key_encrypted="")
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            _note_key_change(session)
            auditor.record("signing_key.retired", target_type="signing_key", target_id=key.kid, before=key.snapshot())
            count += 1
    return count
