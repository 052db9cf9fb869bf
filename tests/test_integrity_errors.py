"""Only a unique violation is a lost race (409); other integrity errors are bugs (500)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from eam.core.database import create_engine, is_unique_violation, make_sessionmaker, transaction


async def _error(database_url: str, statement: str) -> IntegrityError:
    engine = create_engine(database_url)
    try:
        with pytest.raises(IntegrityError) as caught:
            async with transaction(make_sessionmaker(engine)) as session:
                await session.execute(text(statement))
        return caught.value
    finally:
        await engine.dispose()


USER = "INSERT INTO users (id, issuer, subject, display_name, created_at, updated_at) VALUES ('{id}', 'urn:test', 'same', 'x', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')"


async def test_a_unique_violation_is_a_race(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            await session.execute(text(USER.format(id=uuid.uuid4())))
    finally:
        await engine.dispose()
    assert is_unique_violation(await _error(database_url, USER.format(id=uuid.uuid4())))


@pytest.mark.parametrize(
    "statement",
    [
        # a foreign key to no organisation
        "INSERT INTO access_managers (organisation_id, user_id, appointed_at) VALUES ('{a}', '{b}', '2026-01-01T00:00:00+00:00')",
        # NOT NULL
        "INSERT INTO users (id, issuer, subject, display_name, created_at, updated_at) VALUES ('{a}', 'urn:test', 'n', NULL, '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')",
    ],
    ids=["foreign-key", "not-null"],
)
async def test_other_integrity_errors_are_not_races(database_url: str, statement: str) -> None:
    error = await _error(database_url, statement.format(a=uuid.uuid4(), b=uuid.uuid4()))
    assert not is_unique_violation(error)
