"""Languages of the web pages: English, Dutch and French.

The catalogues are gettext ``.po`` files under ``eam/ui/locales`` (extracted and updated with
Babel, see the README), read once at start-up. A visitor's language is the one they chose (the
``eam_lang`` cookie), else the best match of their browser's ``Accept-Language`` (RFC 9110
section 12.5.4), else English. Times are shown in Europe/Brussels, formatted by Babel (CLDR).
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime, format_timedelta
from babel.numbers import format_decimal
from babel.support import NullTranslations
from jinja2 import pass_context
from markupsafe import Markup

from eam.core.catalogues import translations_from_po
from eam.core.times import BRUSSELS, end_of_day, last_day  # noqa: F401  (the pages use them from here)

LOCALES_DIR = Path(__file__).parent / "locales"
LANGUAGES: dict[str, str] = {"en": "English", "nl": "Nederlands", "fr": "Français"}
DEFAULT_LANGUAGE = "en"


def N_(message: str) -> str:
    """Marks ``message`` for extraction; it is translated where it is shown."""
    return message


@functools.cache
def translations(language: str) -> NullTranslations:
    """The catalogue of ``language`` (English is the source language: no catalogue)."""
    if language == DEFAULT_LANGUAGE:
        return NullTranslations()
    return translations_from_po(LOCALES_DIR / language / "LC_MESSAGES" / "messages.po", language)


def negotiate(chosen: str | None, accept_language: str | None) -> str:
    """The chosen language when it is offered, else the browser's best offered one, else English."""
    if chosen in LANGUAGES:
        return chosen  # type: ignore[return-value]
    wanted: list[tuple[float, str]] = []
    for position, part in enumerate((accept_language or "")[:512].split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            wanted.append((-quality + position * 1e-6, tag.replace("_", "-")))
    offered = list(LANGUAGES)
    found = Locale.negotiate([tag for _, tag in sorted(wanted)], offered, sep="-")
    if found is not None:
        return found.language
    for _, tag in sorted(wanted):  # "nl-BE" when only "nl" is offered
        if tag.split("-")[0].lower() in LANGUAGES:
            return tag.split("-")[0].lower()
    return DEFAULT_LANGUAGE


class Formatter:
    """Dates, times and durations for one language, in Europe/Brussels."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.locale = Locale.parse(language)

    def when(self, value: dt.datetime | None) -> str:
        if value is None:
            return ""
        return format_datetime(value, "medium", tzinfo=BRUSSELS, locale=self.locale)

    def day(self, value: dt.datetime | dt.date | None) -> str:
        if value is None:
            return ""
        if isinstance(value, dt.datetime):
            value = value.astimezone(BRUSSELS).date()
        return format_date(value, "medium", locale=self.locale)

    def number(self, value: int) -> str:
        """A count as the language writes it (10,000 · 10.000 · 10 000)."""
        return format_decimal(value, locale=self.locale)

    def waited(self, since: dt.datetime, now: dt.datetime) -> str:
        return format_timedelta(now - since, locale=self.locale, threshold=1.1)

    def until(self, value: dt.datetime | None) -> str:
        """The last day of access ending at ``value`` (the inverse of :func:`end_of_day`)."""
        return self.day(last_day(value)) if value else ""

    def local_input(self, value: dt.datetime) -> str:
        """``YYYY-MM-DDTHH:MM``, ``value`` in Brussels time, for a ``datetime-local`` input."""
        return value.astimezone(BRUSSELS).strftime("%Y-%m-%dT%H:%M")

    def iso_until(self, value: dt.datetime | None) -> str:
        """``YYYY-MM-DD``, the last day of access ending at ``value``, for a date input's value."""
        return last_day(value).isoformat() if value else ""


def start_of_day(day: dt.date) -> dt.datetime:
    """The first instant of a day, Brussels time, as a UTC instant (a period "from" that day)."""
    return dt.datetime.combine(day, dt.time(), tzinfo=BRUSSELS).astimezone(dt.timezone.utc)


def gettext_callables(language: str) -> dict[str, Any]:
    """``gettext``/``ngettext``/``_`` for templates, in Jinja's new style (formatting with named
    placeholders and escaping done by gettext itself), bound to ``language``."""
    catalogue = translations(language)

    @pass_context
    def gettext(context: Any, message: str, **variables: Any) -> str:
        translated = catalogue.gettext(message)
        if context.eval_ctx.autoescape:
            translated = Markup(translated)
        return translated % variables if variables else translated  # type: ignore[no-any-return]

    @pass_context
    def ngettext(context: Any, singular: str, plural: str, num: int, **variables: Any) -> str:
        variables.setdefault("num", num)
        translated = catalogue.ngettext(singular, plural, num)
        if context.eval_ctx.autoescape:
            translated = Markup(translated)
        return translated % variables  # type: ignore[no-any-return]

    return {"gettext": gettext, "ngettext": ngettext, "_": gettext}
