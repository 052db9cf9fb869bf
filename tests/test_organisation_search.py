"""Tolerant organisation search (eam/organisations/search.py): case, accents, punctuation and
spaces are ignored, "St"/"Sint"/"Saint" stand for each other; on SQLite and PostgreSQL, through
the API, with the key kept in step on rename and filled in by the migration for existing rows."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from eam.migrations import alembic_config, upgrade
from eam.organisations.search import KEY_LENGTH, query_keys, search_key
from tests.conftest import Api

NAMES = {
    "brugge": ("AZ Sint-Jan Brugge", "71000436"),
    "etienne": ("Clinique Saint-Étienne", "71000535"),
    "leuven": ("UZ Leuven", "71000931"),
    "oostende": ("AZ Damiaan — Oostende", "71000145"),
    "gent": ("Ste-Anne Kliniek Gent", "71000244"),
    "orsted": ("Ørsted Zorg", "71000343"),
}

#: query -> the organisations it must find (by the keys of NAMES), nothing else.
CASES = [
    ("sint-jan", {"brugge"}),
    ("sint jan", {"brugge"}),
    ("Sint  Jan", {"brugge"}),
    ("sintjan", {"brugge"}),
    ("SINT-JAN", {"brugge"}),
    ("St-Jan", {"brugge"}),
    ("st jan", {"brugge"}),
    ("St. Jan Brugge", {"brugge"}),
    ("saint jan", {"brugge"}),
    ("az sint-jan brugge", {"brugge"}),
    ("jan brugge", {"brugge"}),
    ("Saint-Étienne", {"etienne"}),
    ("saint etienne", {"etienne"}),
    ("st-etienne", {"etienne"}),
    ("sint-étienne", {"etienne"}),
    ("ETIENNE", {"etienne"}),
    ("étienne", {"etienne"}),
    ("Clinique Saint Etienne", {"etienne"}),
    ("uz-leuven", {"leuven"}),
    ("uzleuven", {"leuven"}),
    ("damiaan oostende", {"oostende"}),
    ("Damiaan-Oostende", {"oostende"}),
    ("sainte anne", {"gent"}),
    ("sinte-anne", {"gent"}),
    ("ste anne", {"gent"}),
    ("orsted", {"orsted"}),
    ("ØRSTED", {"orsted"}),
    ("sint", {"brugge"}),  # one word: not expanded ("st" is part of "Oostende" and "Ørsted")
    ("saint", {"etienne"}),
    ("st", {"oostende", "gent", "orsted"}),
    ("az", {"brugge", "oostende"}),
    ("brussel", set()),
    ("sint-jan gent", set()),
    ("jan-sint", set()),
]


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("AZ Sint-Jan Brugge", "azsintjanbrugge"),
        ("Clinique Saint-Étienne", "cliniquesaintetienne"),
        ("  UZ   Leuven ", "uzleuven"),
        ("Centre 100% Santé", "centre100sante"),
        ("Straße ﬁnance", "strassefinance"),
        ("Ørsted Łódź Æsir", "orstedlodzaesir"),
        ("Ελληνικά Νοσοκομείο", "ελληνικανοσοκομειο"),
        ("日本の病院", "日本の病院"),
        ("%_-/.'", ""),
    ],
)
def test_a_name_is_reduced_to_its_search_key(name: str, key: str) -> None:
    assert search_key(name) == key


@pytest.mark.parametrize(
    ("query", "keys"),
    [
        ("St-Jan", ["stjan", "sintjan", "saintjan"]),
        ("sint jan", ["sintjan", "saintjan", "stjan"]),
        ("Ste Anne", ["steanne", "sinteanne", "sainteanne"]),
        ("sintjan", ["sintjan"]),  # one word: not expanded
        ("sint", ["sint"]),
        ("stad", ["stad"]),
        ("%", []),
    ],
)
def test_a_query_tries_each_spelling_of_saint(query: str, keys: list[str]) -> None:
    assert query_keys(query) == keys


def test_at_most_two_words_of_a_query_are_expanded() -> None:
    assert len(query_keys("st st st st")) == 9
    assert len(query_keys("st jan st")) == 9


@pytest.mark.parametrize("letter", ["ß", "ﬃ", "ﷺ", "ΐ"])
def test_a_key_never_exceeds_its_column(letter: str) -> None:
    assert len(search_key(letter * 200)) <= KEY_LENGTH
    assert all(len(key) <= KEY_LENGTH for key in query_keys(letter * 200))


async def _seed(api: Api) -> dict[str, str]:
    ids = {}
    for label, (name, nihdi) in NAMES.items():
        ids[label] = (await api.organisation(name=name, nihdi=nihdi))["id"]
    return ids


async def test_search_ignores_case_accents_punctuation_and_spaces(api: Api) -> None:
    ids = await _seed(api)
    by_id = {value: key for key, value in ids.items()}
    for query, expected in CASES:
        response = await api.get("/v1/organisations", "carol", params={"q": query})
        assert response.status_code == 200, response.text
        found = {by_id[item["id"]] for item in response.json()["items"]}
        assert found == expected, query


async def test_a_renamed_organisation_is_found_by_its_new_name_only(api: Api) -> None:
    org = await api.organisation(name="AZ Sint-Jan Brugge", nihdi="71000436")
    renamed = await api.patch(f"/v1/organisations/{org['id']}", json={"name": "AZ West – Veurne"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "AZ West – Veurne"
    for query, found in (("az west veurne", [org["id"]]), ("azwest", [org["id"]]), ("sint jan", [])):
        items = (await api.get("/v1/organisations", "carol", params={"q": query})).json()["items"]
        assert [item["id"] for item in items] == found, query


def test_the_migration_fills_in_the_key_of_existing_organisations(empty_database: str) -> None:
    """Organisations created before the key existed get theirs when 0008 runs."""
    upgrade(empty_database, "0007")

    async def insert() -> None:
        engine = create_async_engine(empty_database)
        async with engine.begin() as connection:
            for name, nihdi in NAMES.values():
                await connection.execute(
                    insert_organisation,
                    {"id": uuid.uuid4(), "name": name, "search_name": name.casefold(), "nihdi": nihdi, "now": NOW},
                )
        await engine.dispose()

    async def read() -> dict[str, str]:
        engine = create_async_engine(empty_database)
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT name, search_key FROM organisations"))).all()
        await engine.dispose()
        return {name: key for name, key in rows}

    asyncio.run(insert())
    upgrade(empty_database)
    assert asyncio.run(read()) == {name: search_key(name) for name, _ in NAMES.values()}
    command.check(alembic_config(empty_database))  # NOT NULL and indexed, as the model says


NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
_organisations = sa.table(
    "organisations",
    *(sa.column(name, sa.String()) for name in ("name", "search_name", "nihdi", "status")),
    sa.column("id", sa.Uuid()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
insert_organisation = _organisations.insert().values(
    id=sa.bindparam("id"), name=sa.bindparam("name"), search_name=sa.bindparam("search_name"), nihdi=sa.bindparam("nihdi"),
    status="active", created_at=sa.bindparam("now"), updated_at=sa.bindparam("now"),
)
