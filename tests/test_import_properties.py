"""Properties of imports over generated files (Hypothesis): a dry run never writes; applying
writes what the dry run announced; applying the same file again changes nothing; a file with an
error line writes nothing. Files vary in separator, BOM, line ends, quoting, line order, repeated
lines, people, organisations (managed, not managed, unknown), applications, roles and author groups."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from sqlalchemy import select

from eam.models import Base
from tests.conftest import Api
from tests.test_imports import upload


def number(birth: str) -> str:
    base = birth + "123"
    return base + "%02d" % (97 - int(base) % 97)


PEOPLE = [(f"Person{n}", f"Tester{n}", f"person{n}@example.be", number(f"8{n}0101")) for n in range(5)]
ORGANISATIONS = ["71000436"] * 8 + ["71000931", "99999999"]  # mostly alice's; bob's and an unknown one now and then
ACCESS = [("hd4dp2", "1", ""), ("hd4dp2", "2", ""), ("hd4dp2", "3", "team a"), ("hd4dp2", "3", ""), ("hd4dp2", "1", "team b"),
          ("healthstat", "DATA_PROVIDER_HOSPITAL", ""), ("healthstat", "SPONSOR_INDIVIDUAL", ""), ("healthstat", "NOPE", "")]
HEADER = ["first_name", "last_name", "email", "ssin", "org_nihdi", "role", "app", "authorgroup", "register"]

line = st.tuples(
    st.sampled_from(PEOPLE),
    st.sampled_from(ORGANISATIONS),
    st.one_of(st.sampled_from(["access_manager", "default"]).map(lambda role: ("", role, "")), st.sampled_from(ACCESS)),
    st.sampled_from(["HDBP0147", "HDBP0031", "HDBP0211"]),
)


def render(lines: list[Any], delimiter: str, bom: bool, ending: str, quote_all: bool) -> bytes:
    def row(cells: list[str]) -> str:
        return delimiter.join(f'"{cell}"' if quote_all else cell for cell in cells)

    rows = [row(HEADER)]
    for (first, last, email, ssin), nihdi, access, register in lines:
        if access[0]:
            app, role, group = access
            rows.append(row([first, last, email, ssin, nihdi, role, app, group, register]))
        else:
            rows.append(row([first, last, email, ssin, nihdi, access[1], "", "", ""]))
    return (("\ufeff" if bom else "") + ending.join(rows) + ending).encode()


async def stored(app: Litestar) -> dict[str, list[str]]:
    """Every row of every table, as text, sorted (order of tables does not matter)."""
    async with app.state.sessionmaker() as session:
        return {
            name: sorted(repr(tuple(row)) for row in (await session.execute(select(table))).all())
            for name, table in Base.metadata.tables.items()
        }


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    lines=st.lists(line, min_size=1, max_size=8),
    delimiter=st.sampled_from([",", ";"]),
    bom=st.booleans(),
    ending=st.sampled_from(["\r\n", "\n", "\r"]),
    quote_all=st.booleans(),
    mode=st.sampled_from(["awaiting_approval", "pre_approved"]),
)
async def test_dry_run_never_writes_and_applying_is_all_or_nothing_and_idempotent(
    api: Api, app: Litestar, lines: list[Any], delimiter: str, bom: bool, ending: str, quote_all: bool, mode: str
) -> None:
    if not (await api.get("/v1/organisations", params={"q": "71000436"})).json()["items"]:
        await api.managed_organisation("alice")
        await api.managed_organisation("bob", name="UZ Leuven", nihdi="71000931")
    body = render(lines, delimiter, bom, ending, quote_all)
    before = await stored(app)
    preview = await upload(api, body, dry_run=True, mode=mode)
    assert preview.status_code == 200, preview.text
    assert await stored(app) == before
    receipt = preview.json()
    assert [entry["line"] for entry in receipt["lines"]] == list(range(2, len(lines) + 2))

    applied = await upload(api, body, mode=mode)
    if receipt["summary"]["error"]:
        assert applied.status_code == 422, applied.text
        assert applied.json()["receipt"]["lines"] == receipt["lines"]
        assert await stored(app) == before
        return
    assert applied.status_code == 201, applied.text
    assert [(entry["line"], entry["outcome"]) for entry in applied.json()["lines"]] == [(entry["line"], entry["outcome"]) for entry in receipt["lines"]]
    after = await stored(app)
    again = await upload(api, body, mode=mode)
    assert again.status_code == 201, again.text
    assert {entry["outcome"] for entry in again.json()["lines"]} == {"unchanged"}
    # nothing changed but the record of the import itself (its row and its audit events)
    changed = {name for name in after if (await stored(app))[name] != after[name]}
    assert changed <= {"imports", "audit_events"}
