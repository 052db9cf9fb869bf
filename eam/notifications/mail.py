"""E-mail messages: rendered from templates in English, Dutch or French, built by the stdlib.

The mail strings have a catalogue of their own (``eam/notifications/locales/<lang>/LC_MESSAGES/
mail.po``, extracted with ``eam/notifications/babel.cfg``), read with Babel as the pages read
theirs: mail is domain code and never imports the web pages (``eam.ui``). English is the source
language. Each recipient gets their own rendering in their language (``users.language``, set
from the pages' language or ``PATCH /v1/me``; English when none is stored): :func:`language_of`.

The HTML part is autoescaped (a name or justification typed by a user is text, never markup);
headers are built by :mod:`email` (policy ``SMTP``), which refuses line breaks in a header, and
the subject has control characters replaced first, so user text cannot add a header.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from email.message import EmailMessage
from email.header import Header
from email.policy import SMTP, EmailPolicy
from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.support import NullTranslations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from eam.core.catalogues import translations_from_po
from eam.core import times
from eam.core.times import BRUSSELS

LOCALES_DIR = Path(__file__).parent / "locales"
TEMPLATES_DIR = Path(__file__).parent / "templates"
LANGUAGES = ("en", "nl", "fr")
DEFAULT_LANGUAGE = "en"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


@functools.cache
def translations(language: str) -> NullTranslations:
    if language == DEFAULT_LANGUAGE:
        return NullTranslations()
    return translations_from_po(LOCALES_DIR / language / "LC_MESSAGES" / "mail.po", language)


@functools.cache
def _environment(language: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


def language_of(person: Any) -> str:
    """The language a person's e-mails are written in: their stored choice, else English."""
    language = getattr(person, "language", None)
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def localised(value: Any, language: str) -> Any:
    """``value`` with every day in it (a :class:`datetime.date`, also inside lists and dicts)
    written out as ``language`` writes a day ("December 17, 2026", "17 december 2026",
    "17 décembre 2026"): a mail says the day as its reader says it, never an ISO date."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return format_date(value, "long", locale=language)
    if isinstance(value, dict):
        return {key: localised(item, language) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [localised(item, language) for item in value]
    return value


def day(moment: dt.datetime | None) -> dt.date | None:
    """The Brussels day of ``moment`` (when a request was submitted…), for :func:`render`."""
    return moment.astimezone(BRUSSELS).date() if moment else None


def last_day(until: dt.datetime | None) -> dt.date | None:
    """The last day of something that lasts *until* ``until`` (access, a review): access ending
    at midnight after 17 December (:func:`eam.core.times.end_of_day`) lasts until 17 December."""
    return times.last_day(until) if until else None


def render(template: str, language: str, **values: Any) -> dict[str, str]:
    """The subject, plain text and HTML of ``template`` (``<template>.subject.txt``, ``.txt``,
    ``.html``), days written as ``language`` writes them (:func:`localised`)."""
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    env = _environment(language)
    values = {**localised(values, language), "language": language}
    subject = env.get_template(f"{template}.subject.txt").render(**values)
    text = env.get_template(f"{template}.txt").render(**values)
    html = env.get_template(f"{template}.html").render(**values)
    return {"subject": one_line(subject), "text": text, "html": html, "language": language}


def one_line(text: str) -> str:
    """A header value: control characters (line breaks included) become one space."""
    return _CONTROL.sub(" ", text).strip()


class _MailPolicy(EmailPolicy):
    """The ``SMTP`` policy, but a subject that is not plain ASCII is folded as RFC 2047
    encoded-words only (:class:`email.header.Header`): the standard folder mixes plain and encoded
    words and can cut a word between them ("attend depui" + "=?utf-8?q?s_le…?="), which a mail
    client then shows as "depui s". Adjacent encoded-words join without a space when decoded."""

    def fold(self, name: str, value: str) -> str:
        if name.lower() == "subject" and not str(value).isascii():
            encoded = Header(str(value), "utf-8", header_name=name).encode(linesep=self.linesep, maxlinelen=self.max_line_length)
            return f"{name}: {encoded}{self.linesep}"
        return super().fold(name, value)

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() == "subject" and not str(value).isascii():
            return self.fold(name, value).encode("ascii")
        return super().fold_binary(name, value)


MAIL_POLICY = _MailPolicy(linesep=SMTP.linesep)


def build_message(sender: str, recipient: str, payload: dict[str, str]) -> EmailMessage:
    """A ``multipart/alternative`` message: plain text, then the HTML alternative."""
    message = EmailMessage(policy=MAIL_POLICY)
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = one_line(payload["subject"])
    message.set_content(payload["text"])
    message.add_alternative(payload["html"], subtype="html")
    # (after the parts: making the message multipart moves every Content-* header into the first part)
    message["Content-Language"] = payload.get("language", DEFAULT_LANGUAGE)
    return message
