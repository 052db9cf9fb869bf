from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from litestar import Litestar

from tests.ui.pages import Person


@pytest.fixture
async def person(app: Litestar, client: object) -> AsyncIterator[Callable[..., Person]]:
    """``person(language=None)``: a new browser-like client of the running app (``client``
    starts the app's lifespan)."""
    made: list[Person] = []

    def make(language: str | None = None) -> Person:
        made.append(Person(app, language))
        return made[-1]

    yield make
    for each in made:
        await each.close()
