"""How big each part of a scaled data set is, and how it is skewed.

Sizes for N assignments (at N = 1,000,000 in brackets), modelled on the Belgian platform:

- organisations: N / 400 (2,500): about the number of institutions sending registry data;
- employees: N / 16 (62,500): tens of thousands of people, 16 assignments each on average;
- new registers: N / 3,000, between 3 and 400 (333), beside the catalogue's own registers;
- access managers: 1 (55 %), 2 (35 %) or 3 (10 %) per organisation.

Skew, because real usage is not uniform:

- organisation size is log-normal (sigma 1.5): a few university hospitals hold tens of
  thousands of assignments, most practices a handful; the biggest are hospitals, the smallest
  practices (:data:`eam.seed.names.KINDS`);
- employees per organisation follow organisation size;
- assignments per employee follow a Pareto weight (alpha 1.2): most people hold a few, some
  (data managers, study leads) hundreds; nobody holds the same application x register twice
  in one organisation;
- registers follow a Zipf popularity (s = 1): the catalogue's registers (INTEGO first) and a few
  others are used everywhere, the long tail by a few organisations.

Outcomes of the N approved requests' assignments: 80 % active (a fifth of them with an end
date), 5 % scheduled (starting within 90 days), 9 % revoked, 6 % expired. Beside them, requests
that led to no assignment: 2.5 % of N pending, 4 % rejected, 1.5 % withdrawn, 1 % expired.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from eam.seed.names import KINDS

ASSIGNMENT_OUTCOMES = (("active", 0.80), ("scheduled", 0.05), ("revoked", 0.09), ("expired", 0.06))
#: Requests without an assignment, per assignment.
OTHER_REQUESTS = (("pending", 0.025), ("rejected", 0.04), ("withdrawn", 0.015), ("expired", 0.01))
MANAGERS_PER_ORGANISATION = ((1, 0.55), (2, 0.35), (3, 0.10))
#: healthstat profiles: (role, data_level, weight).
HEALTHSTAT_MIX = {"data_provider/hospital": 0.45, "data_provider/individual": 0.35, "sponsor/sponsor": 0.08, "sponsor/individual": 0.12}
#: hd4dp2 roles: the associate is the default; support needs an author group.
HD4DP2_MIX = {"local_study_associate": 0.70, "local_study_lead": 0.10, "local_study_support": 0.20}
#: Share of approvals narrowed from a wider requested profile (e.g. hospital -> individual).
NARROWED = 0.08


@dataclass(frozen=True)
class Sizes:
    assignments: int
    organisations: int
    employees: int
    registers: int

    @classmethod
    def for_scale(cls, n: int) -> Sizes:
        organisations = max(3, round(n / 400))
        return cls(
            assignments=n,
            organisations=organisations,
            employees=max(4 * organisations, round(n / 16)),
            registers=min(400, max(3, round(n / 3000))),
        )


def kind_at(position: float) -> tuple[str, tuple[str, ...]]:
    """NIHDI prefix and name patterns of the organisation at ``position`` (0 = biggest, 1 = smallest)."""
    for share, prefix, patterns in KINDS:
        if position < share:
            return prefix, patterns
        position -= share
    return KINDS[-1][1], KINDS[-1][2]


def combos_per_organisation(assignments: int, available: int) -> int:
    """How many application x register pairs an organisation uses: more for bigger ones."""
    return max(min(5, available), min(available, int(4 * math.sqrt(assignments)) + 8))


def allocate(rng: random.Random, total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (largest remainders get the rest, ties at random)."""
    whole = sum(weights)
    shares = [total * w / whole for w in weights]
    counts = [math.floor(share) for share in shares]
    left = total - sum(counts)
    order = sorted(range(len(weights)), key=lambda i: (counts[i] - shares[i], rng.random()))
    for index in order[:left]:
        counts[index] += 1
    return counts


def draw_counts(rng: random.Random, total: int, weights: Sequence[float], cap: int) -> list[int]:
    """``total`` items dealt to holders at random by weight (multinomial), none above ``cap``.

    Overflow is dealt again among the holders below the cap, so the total is exact whenever
    ``cap * len(weights) >= total``.
    """
    counts = [0] * len(weights)
    cumulative = list(itertools.accumulate(weights))
    left = total
    while left > 0:
        drawn = Counter(rng.choices(range(len(weights)), cum_weights=cumulative, k=left))
        left = 0
        for index, count in drawn.items():
            room = cap - counts[index]
            counts[index] += min(room, count)
            left += max(0, count - room)
        if left:
            open_weights = [0.0 if counts[i] >= cap else w for i, w in enumerate(weights)]
            if not any(open_weights):
                break
            cumulative = list(itertools.accumulate(open_weights))
    return counts


def zipf_weights(n: int, s: float = 1.0) -> list[float]:
    return [1.0 / (rank + 1) ** s for rank in range(n)]


def weighted_sample(rng: random.Random, items: Sequence[object], weights: Sequence[float], k: int) -> list[object]:
    """``k`` distinct items, more likely the heavier ones (Efraimidis-Spirakis keys)."""
    if k >= len(items):
        return list(items)
    keyed = sorted(range(len(items)), key=lambda i: rng.random() ** (1.0 / weights[i]), reverse=True)
    return [items[i] for i in keyed[:k]]


def pick_distinct(rng: random.Random, items: Sequence[object], cumulative: Sequence[float], k: int) -> list[object]:
    """``k`` distinct items by weight (``cumulative`` weights); fast when ``k`` is small."""
    n = len(items)
    if k >= n:
        return list(items)
    if k * 3 > n:
        return rng.sample(list(items), k)  # a large share of the set: weights matter little
    top = cumulative[-1]
    chosen: dict[int, None] = {}
    while len(chosen) < k:
        chosen[bisect.bisect_right(cumulative, rng.random() * top, hi=n - 1)] = None
    return [items[i] for i in chosen]


def outcome(rng: random.Random, mix: Sequence[tuple[str, float]]) -> str:
    point = rng.random() * sum(weight for _, weight in mix)
    for name, weight in mix:
        point -= weight
        if point < 0:
            return name
    return mix[-1][0]
