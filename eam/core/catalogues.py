"""Gettext catalogues read from their ``.po`` source (compiled in memory: no ``.mo`` files to
build or ship), shared by the pages (:mod:`eam.ui.i18n`) and the e-mails
(:mod:`eam.notifications.mail`)."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations


def translations_from_po(po: Path, language: str) -> NullTranslations:
    """The catalogue at ``po`` for ``language``; no translation when the file does not exist."""
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as source:
        catalogue = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue, use_fuzzy=False)
    compiled.seek(0)
    return Translations(fp=compiled)
