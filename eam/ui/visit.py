"""One browser request to a page: who is signed in (the session cookie), in which language, and
the transactions of what the page reads and changes.

A page opens one read-only transaction to gather what it shows and, for a form, one transaction
per change (:func:`eam.http.context.caller_context`, as the API does): a refused change rolls
back entirely and the form is shown again, with what was typed, from a fresh read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any
from urllib.parse import urlencode

from litestar import Request
from litestar.datastructures import State
from litestar.response import Redirect, Template

from eam.auth.sessions import LANGUAGE_COOKIE, SESSION_COOKIE
from eam.core.context import Context
from eam.core.errors import Unauthenticated
from eam.http.context import caller_context, request_id_of
from eam.ui.i18n import BRUSSELS, LANGUAGES, Formatter, gettext_callables, negotiate, translations
from eam.catalogue.schemas import Profile
from eam.ui.messages import NOTICES, OUTCOMES, STATUSES
from eam.users.flows import Standing


class Visit:
    """What a page handler needs about the request, built per request by :func:`provide_visit`."""

    def __init__(self, state: State, request: Request[Any, Any, Any]) -> None:
        self.state = state
        self.request = request
        self.language = negotiate(request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language"))
        self.fmt = Formatter(self.language)
        self.standing: Standing | None = None

    @property
    def session_token(self) -> str | None:
        return self.request.cookies.get(SESSION_COOKIE)

    def today(self) -> dt.date:
        """Today in Brussels, by the service's clock (dates on forms are Brussels days)."""
        return self.state.clock().astimezone(BRUSSELS).date()

    def gettext(self, message: str, **variables: Any) -> str:
        translated = translations(self.language).gettext(message)
        return translated % variables if variables else translated

    def _operation(self, *, read_only: bool) -> AbstractAsyncContextManager[Context]:
        if not self.session_token:
            raise Unauthenticated("sign in first")
        return caller_context(self.state, request_id_of(self.request), read_only=read_only, session_token=self.session_token)

    def reading(self) -> AbstractAsyncContextManager[Context]:
        """A read-only transaction as the signed-in person."""
        return self._operation(read_only=True)

    def changing(self) -> AbstractAsyncContextManager[Context]:
        """A transaction that commits the change when the block ends, or nothing if it raises."""
        return self._operation(read_only=False)

    def page(self, template: str, *, status: int = 200, **values: Any) -> Template:
        return Template(template_name=template, context=self._context(values), status_code=status, headers=PAGE_HEADERS)

    def render(self, template: str, **values: Any) -> str:
        """The page as text (for a page sent in parts as work goes on)."""
        engine = self.request.app.template_engine
        assert engine is not None
        return engine.get_template(template).render(**self._context(values), request=self.request)

    def _context(self, values: dict[str, Any]) -> dict[str, Any]:
        notice = self.request.query_params.get("notice")
        return {
            **gettext_callables(self.language),
            "lang": self.language,
            "languages": LANGUAGES,
            "fmt": self.fmt,
            "standing": self.standing,
            #: A session cookie is present (pages that read nothing, such as errors, still offer sign-out).
            "signed_in": bool(self.session_token),
            "notice": NOTICES.get(notice) if notice else None,
            "path": self.request.url.path,
            "detail": None,
            "retry": None,
            "status_name": lambda status: STATUSES.get(status, status),
            "outcome_label": lambda outcome: self.gettext(OUTCOMES[outcome]) if outcome in OUTCOMES else outcome,
            "profile_label": self.profile_label,
            **values,
        }

    def profile_label(self, application: str, profile: Profile) -> str:
        """The catalogue's name of a profile, with its author group when it has one."""
        label = next(
            (p.label for app in self.state.catalogue.applications() if app.code == application for p in app.profiles if p.role == profile.role and p.data_level == profile.data_level),
            profile.role,
        )
        return f"{label} ({profile.author_group})" if profile.author_group else label

    def redirect(self, path: str, notice: str | None = None, **query: Any) -> Redirect:
        """Post/Redirect/Get: after a change, the browser asks for the page again (303)."""
        params: Mapping[str, Any] = {**({"notice": notice} if notice else {}), **query}
        return Redirect(f"{path}?{urlencode(params)}" if params else path, status_code=303)


#: Pages are per person: never stored by a cache.
PAGE_HEADERS = {"Cache-Control": "no-store"}


def provide_visit(state: State, request: Request[Any, Any, Any]) -> Visit:
    return Visit(state, request)
