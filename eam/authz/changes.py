"""Entries of the policy change log and a worker's position in it.

The log (``casbin_rule_changes``) names every ``casbin_rule`` row added or removed, under a
sequence number taken when the row was written. Sequence numbers are handed out without any
lock, so concurrent writers may commit out of order: number 8 can become visible after 9, or
never (rolled back). A worker therefore applies entries as **invalidations** (the subject's
rows are read again, or dropped from the cache), for which order does not matter, and it
keeps reading the numbers it skipped (holes) for :data:`HOLE_SECONDS`. On PostgreSQL each
entry is also announced with ``NOTIFY`` after its commit, naming its number, so even a writer
slower than that is seen.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

ADDED = "add"
REMOVED = "remove"
#: How long a skipped sequence number is read again (a writer that took it may still commit).
HOLE_SECONDS = 60.0
#: At a batch load, the numbers missing among the last this many are treated as holes.
RECENT = 1_000


class Change:
    """One committed entry of the change log."""

    __slots__ = ("seq", "op", "ptype", "values")

    def __init__(self, seq: int, op: str, ptype: str, values: list[str]) -> None:
        self.seq, self.op, self.ptype, self.values = seq, op, ptype, values

    @property
    def subject(self) -> str:
        return self.values[0] if self.values else ""


class LogPosition:
    """What a worker has read of the log: the highest number, the holes below it, the
    numbers announced by ``NOTIFY`` and not read yet, and the bulk-change generation."""

    def __init__(self, newest: int, present: Iterable[int], generation: int) -> None:
        self.newest = newest
        self.generation = generation
        self.notified: set[int] = set()
        #: Entries this worker is committing: it applies them itself after the commit, so their
        #: ``NOTIFY`` needs no read.
        self.own: set[int] = set()
        now = time.monotonic()
        seen = set(present)
        self.holes: dict[int, float] = {
            seq: now for seq in range(max(1, newest - RECENT + 1), newest + 1) if seq not in seen
        }

    def wanted(self) -> list[int]:
        """Numbers at or below ``newest`` still to read: live holes and announced numbers."""
        now = time.monotonic()
        for seq in [seq for seq, since in self.holes.items() if now - since > HOLE_SECONDS]:
            del self.holes[seq]  # rolled back, most likely; a late commit is still announced
        return sorted(set(self.holes) | {seq for seq in self.notified if seq <= self.newest})

    def advance(self, read: Iterable[int], asked: Iterable[int]) -> None:
        """Record what a read returned (``read``) for the numbers it asked for below ``newest``."""
        now = time.monotonic()
        read = sorted(set(read))
        for seq in read:
            self.holes.pop(seq, None)
        self.notified.difference_update(asked)
        self.notified.difference_update(read)
        if read and read[-1] > self.newest:
            present = set(read)
            for seq in range(self.newest + 1, read[-1]):
                if seq not in present:
                    self.holes[seq] = now
            self.newest = read[-1]
        self.own = {seq for seq in self.own if seq > self.newest}

    def needs_read(self, announced: int) -> bool:
        """Whether an announced entry must be read: not when this worker wrote and applied it."""
        if announced in self.own:
            self.own.discard(announced)
            return False
        self.notified.add(announced)
        return True
