"""Bulk operations: each item its own operation inside a savepoint of the caller's transaction.

One item that fails (refused, lost a compare-and-set race, no longer in the state asked) leaves
nothing of itself written (no row, no policy row, no audit event: :func:`savepoint`) and is
reported with its RFC 9457 problem; the others are kept and commit together with the call.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from eam.core.database import savepoint
from eam.core.errors import EAMError, ItemProblem

T = TypeVar("T")


@dataclass(frozen=True)
class ItemResult(Generic[T]):
    id: uuid.UUID
    #: What the operation returned; None when it failed.
    done: T | None
    problem: ItemProblem | None


async def each_on_its_own(session: AsyncSession, ids: list[uuid.UUID], operation: Callable[[uuid.UUID], Awaitable[T]]) -> list[ItemResult[T]]:
    """``operation`` on each id (in the order given, each id once), each in its own savepoint."""
    results: list[ItemResult[T]] = []
    for item_id in dict.fromkeys(ids):
        try:
            async with savepoint(session):
                done = await operation(item_id)
            results.append(ItemResult(item_id, done, None))
        except EAMError as exc:
            results.append(ItemResult(item_id, None, ItemProblem.of(exc)))
    return results
