"""JSON from clients, decoded by one rule wherever it arrives (API bodies, OAuth form fields)."""

from __future__ import annotations

import json
from typing import Any

import msgspec


def decode_untrusted_json(raw: bytes) -> Any:
    """JSON from a client, as an I-JSON message (RFC 7493 section 2.3: no object has two members
    of one name, so no two readers of the same body can see different values).

    msgspec keeps the last of duplicate names silently and reports nesting beyond the
    interpreter's recursion limit as ``RecursionError``; both become ``msgspec.DecodeError``.
    """
    try:
        decoded = msgspec.json.decode(raw)
        if b"{" in raw:
            json.loads(raw, object_pairs_hook=_refuse_duplicate_names)
    except RecursionError:
        raise msgspec.DecodeError("JSON is nested too deeply") from None
    except json.JSONDecodeError as exc:  # msgspec accepted it: only a disagreement between parsers
        raise msgspec.DecodeError(str(exc)) from None
    return decoded


def _refuse_duplicate_names(pairs: list[tuple[str, Any]]) -> None:
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        repeated = sorted({name for name in names if names.count(name) > 1})
        raise msgspec.DecodeError(f"an object names a member more than once: {', '.join(repeated)}")
