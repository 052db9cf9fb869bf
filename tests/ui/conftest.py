"""Fixtures of the page tests: in-process people (``person``), and for the real-browser tests one
Chromium per pytest-xdist worker and one ``eam serve`` with a new database per test (so no
journey depends on another's data)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from litestar import Litestar

from tests.ui.browser import CHROMIUM, BrowserThread, EamServer
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


@pytest.fixture(scope="session")
def chromium() -> Iterator[BrowserThread]:
    # tests/conftest.py installed it at the start of the run, or stopped the run.
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing although the run's start-up should have installed it"
    browser = BrowserThread()
    yield browser
    browser.close()


@pytest.fixture
def eam() -> Iterator[EamServer]:
    server = EamServer()
    yield server
    server.close()
