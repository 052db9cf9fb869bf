"""Pages speak English, Dutch or French: the browser's Accept-Language first, a chosen language
from then on; dates in Brussels time, written the language's way (CLDR)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from eam.ui.i18n import negotiate
from tests.conftest import Api
from tests.ui.pages import Person, text_of


@pytest.mark.parametrize(
    ("chosen", "accept", "expected"),
    [
        (None, None, "en"),
        (None, "nl-BE,nl;q=0.9,en;q=0.8", "nl"),
        (None, "fr-BE", "fr"),
        (None, "de-DE,de;q=0.9,fr;q=0.5", "fr"),
        (None, "de, en;q=0.1", "en"),
        (None, "en;q=0.2, nl;q=0.9", "nl"),
        (None, "nl;q=0, fr;q=0.1", "fr"),
        (None, "x" * 600, "en"),
        ("fr", "nl", "fr"),
        ("xx", "nl", "nl"),
    ],
)
def test_language_negotiation(chosen: str | None, accept: str | None, expected: str) -> None:
    assert negotiate(chosen, accept) == expected


async def test_pages_follow_the_browser_then_the_chosen_language(api: Api, person: Callable[..., Person]) -> None:
    org = await api.managed_organisation("alice")
    assignment = await api.approved_assignment(org["id"])
    await api.patch(f"/v1/assignments/{assignment['id']}", "alice", json={"valid_until": "2029-12-31T23:00:00Z"})
    carol = person("nl-BE,nl;q=0.9")
    await carol.sign_in("carol")
    home = (await carol.get("/")).text
    assert '<html lang="nl">' in home
    assert "Mijn toegang" in text_of(home) and "31 dec 2029" in text_of(home) and "RIZIV 71000436" in text_of(home)
    chosen = await carol.post("/language", {"language": "fr", "return_to": "/requests"})
    assert chosen.status_code == 303 and chosen.headers["location"] == "/requests"
    page = await carol.follow(chosen)
    assert '<html lang="fr">' in page.text and "Mes demandes" in text_of(page.text)
    home = text_of((await carol.get("/")).text)
    assert "31 déc. 2029" in home and "INAMI 71000436" in home  # the choice sticks over Accept-Language
    # a language the pages do not offer is refused, not silently ignored
    refused = await carol.post("/language", {"language": "de", "return_to": "/"})
    assert refused.status_code == 404
    # somewhere else than this service is never a place to go back to
    away = await carol.post("/language", {"language": "en", "return_to": "//evil.example/"})
    assert away.headers["location"] == "/"
