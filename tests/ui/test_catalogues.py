"""The pages' Dutch and French catalogues are complete: every string the pages can show (found
by Babel's extraction, as ``pybabel extract`` does) has a translation, with the same placeholders,
and no catalogue keeps a string the pages no longer use."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from eam.ui.i18n import LANGUAGES, LOCALES_DIR, translations

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def extracted() -> set[str]:
    # as eam/ui/babel.cfg says: the pages, and the domain messages pages show (eam.core.texts)
    method_map = [("eam/ui/**.py", "python"), ("eam/imports/**.py", "python"), ("eam/ui/templates/**.html", "jinja2")]
    options = {"eam/ui/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    found = set()
    for _filename, _line, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options, keywords=keywords):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_extraction_finds_the_pages_strings() -> None:
    messages = extracted()
    assert "My access" in messages and "Request access" in messages  # templates
    assert "Your request was withdrawn." in messages  # Python (N_)
    assert len(messages) > 100


@pytest.mark.parametrize("language", [language for language in LANGUAGES if language != "en"])
def test_every_string_is_translated(language: str) -> None:
    with (LOCALES_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalogue = read_po(source, locale=language)
    entries = {message.id: message for message in catalogue if message.id}
    messages = extracted()
    assert sorted(messages - set(entries)) == [], f"untranslated in {language}: run pybabel (README) and translate"
    assert sorted(set(entries) - messages) == [], f"{language} keeps strings no page uses"
    for msgid, entry in entries.items():
        assert entry.string and entry.string.strip(), (language, msgid)
        assert not entry.fuzzy, (language, msgid)
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(entry.string)), (language, msgid)
    # what the pages load is what the file says
    assert translations(language).gettext("My access") == entries["My access"].string
