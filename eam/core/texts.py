"""Words that domain code writes for people, kept so that a page can say them in its reader's
language while the API keeps the English text.

:func:`N_` marks a message template for the pages' catalogue (``pybabel extract -k N_``; the
packages whose messages pages show are listed in ``eam/ui/babel.cfg``). :func:`said` makes a
:class:`~eam.core.errors.FieldError` whose ``message`` is the English text and which also keeps
the template and its values (as attributes, not members: an API problem shows the text only),
for a page to translate the template and fill in the same values.
"""

from __future__ import annotations

from eam.core.errors import FieldError


def N_(message: str) -> str:
    """Mark ``message`` for extraction; it is translated where it is shown."""
    return message


def said(field: str, template: str, **values: object) -> FieldError:
    """The problem of ``field``: ``template`` (marked with :func:`N_`) filled with ``values``."""
    words = {name: str(value) for name, value in values.items()}
    error = FieldError(field, template % words if words else template)
    error.said = (template, words)  # type: ignore[attr-defined]  (not .values: a FieldError is a dict)
    return error


def template_of(error: FieldError) -> tuple[str | None, dict[str, str]]:
    """The template and values a problem was said with (None for one written as plain text)."""
    template, values = getattr(error, "said", (None, {}))
    return template, dict(values)
