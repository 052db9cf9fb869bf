"""What EAM's input check costs per JSON body: msgspec's decode alone, against
``eam.http.inputs.decode_untrusted_json`` (the same decode plus the I-JSON duplicate-name check).

    .venv/bin/python bench/json_bodies.py [--seconds 2]

Prints, per body, decodes per second and microseconds per decode for both, and the difference.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import msgspec

from eam.http.inputs import decode_untrusted_json

ACCESS_REQUEST = {
    "organisation_id": "3f0c1c4e-8d7a-4b8e-9d52-0b6a3c1f2e77",
    "application": "healthstat",
    "register": "HDBP0147",
    "profile": {"role": "data_provider", "data_level": "hospital"},
    "justification": "I report on our hospital's registrations for this register.",
}
BODIES = {
    "access request (typical)": json.dumps(ACCESS_REQUEST).encode(),
    "justification of 60 KiB": json.dumps({**ACCESS_REQUEST, "justification": "x" * 60_000}).encode(),
    "small objects filling 60 KiB": json.dumps([{"type": "eam_register_access", "register": f"HDBP{i:04d}"} for i in range(1200)]).encode()[:60_000].rsplit(b"},", 1)[0] + b"}]",
}


def rate(decode: Callable[[bytes], object], body: bytes, seconds: float) -> float:
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(100):
            decode(body)
        count += 100
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="measuring time per body and decoder")
    args = parser.parse_args()
    print(f"{'body':28} {'bytes':>7} {'msgspec/s':>11} {'checked/s':>11} {'µs msgspec':>11} {'µs checked':>11} {'µs added':>9}")
    for name, body in BODIES.items():
        plain = rate(msgspec.json.decode, body, args.seconds)
        checked = rate(decode_untrusted_json, body, args.seconds)
        print(
            f"{name:28} {len(body):>7} {plain:>11.0f} {checked:>11.0f} "
            f"{1e6 / plain:>11.1f} {1e6 / checked:>11.1f} {1e6 / checked - 1e6 / plain:>9.1f}"
        )


if __name__ == "__main__":
    main()
