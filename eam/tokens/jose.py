"""The JOSE library EAM uses for its own tokens: joserfc, for signing and verifying alike."""

from __future__ import annotations

from typing import Any

from joserfc import jws


class _JWSRegistry(jws.JWSRegistry):
    """joserfc's registry without its per-use warning on the algorithm *name* ``EdDSA``
    (RFC 9864 prefers ``Ed25519`` for the same signature; EAM signs as ``EdDSA``, which every
    JOSE library understands). The algorithm must still be registered and allowed."""

    def get_alg(self, name: str) -> Any:
        if name == "EdDSA" and self.allowed and name in self.allowed:
            return self.algorithms[name]
        return super().get_alg(name)


_REGISTRIES: dict[str, jws.JWSRegistry] = {}


def registry(alg: str) -> jws.JWSRegistry:
    """A registry that allows exactly ``alg`` (the algorithm of the key in use)."""
    found = _REGISTRIES.get(alg)
    if found is None:
        found = _REGISTRIES[alg] = _JWSRegistry(algorithms=[alg], strict_check_header=False)
    return found
