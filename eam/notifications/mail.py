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

import functools
import re
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

from babel.support import NullTranslations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from eam.core.catalogues import translations_from_po

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


def render(template: str, language: str, **values: Any) -> dict[str, str]:
    """The subject, plain text and HTML of ``template`` (``<template>.subject.txt``, ``.txt``, ``.html``)."""
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    env = _environment(language)
    values = {**values, "language": language}
    subject = env.get_template(f"{template}.subject.txt").render(**values)
    text = env.get_template(f"{template}.txt").render(**values)
    html = env.get_template(f"{template}.html").render(**values)
    return {"subject": one_line(subject), "text": text, "html": html, "language": language}


def one_line(text: str) -> str:
    """A header value: control characters (line breaks included) become one space."""
    return _CONTROL.sub(" ", text).strip()


def build_message(sender: str, recipient: str, payload: dict[str, str]) -> EmailMessage:
    """A ``multipart/alternative`` message: plain text, then the HTML alternative."""
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = one_line(payload["subject"])
    message.set_content(payload["text"])
    message.add_alternative(payload["html"], subtype="html")
    # (after the parts: making the message multipart moves every Content-* header into the first part)
    message["Content-Language"] = payload.get("language", DEFAULT_LANGUAGE)
    return message
