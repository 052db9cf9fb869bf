"""Signing in and out, and the language chooser.

Sign-in is the OpenID Connect login of :mod:`eam.auth.routes`. In development only (not in
production, and only with a development token secret), the sign-in page also lists the demo
users and signs in as one of them with a click: that handler is not even registered otherwise.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect, Template

from eam.auth import login
from eam.auth.dev_tokens import DEV_ISSUER
from eam.auth.identity import Identity
from eam.auth.routes import browser_cookie, session_cookie
from eam.core.database import transaction
from eam.core.errors import NotFound, Unauthenticated, ValidationFailed
from eam.demo import DEMO_USERS
from eam.http.context import request_id_of
from eam.http.handler_options import HandlerOptions, RateLimit
from eam.auth.sessions import LANGUAGE_COOKIE
from eam.ui.i18n import LANGUAGES
from eam.ui.visit import Visit
from eam.users.flows import set_language

#: A submitted page form (application/x-www-form-urlencoded).
FormData = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def safe_target(value: str | None) -> str:
    """A path on this service to go back to (never another site), else the home page."""
    try:
        return login.safe_return_to(value or "/")
    except ValidationFailed:
        return "/"


def demo_users_offered(state: State) -> bool:
    return not state.settings.is_production and bool(state.settings.dev_token_secret)


class SignInPages(Controller):
    @get("/sign-in", name="sign-in")
    async def sign_in(
        self, visit: Visit, state: State, return_to: Annotated[str | None, Parameter(max_length=512)] = None, notice: Annotated[str | None, Parameter(max_length=32)] = None
    ) -> Template:
        providers = sorted(state.providers)
        demo = [(username, name) for username, (name, _email) in DEMO_USERS.items()] if demo_users_offered(state) else []
        return visit.page("sign_in.html", providers=providers, demo_users=demo, return_to=safe_target(return_to))

    @post("/sign-out", status_code=303)
    async def sign_out(self, request: Request[Any, Any, Any], state: State, visit: Visit) -> Redirect:
        end_session = await login.logout(state.sessionmaker, state.settings, state.providers, visit.session_token)
        cleared = [session_cookie(state, "", 0)]
        return Redirect(end_session or "/sign-in?notice=signed-out", status_code=303, cookies=cleared)

    @post("/language", status_code=303)
    async def choose_language(self, state: State, visit: Visit, data: FormData) -> Redirect:
        """The chosen language sticks for a year (a cookie of its own; no sign-in needed); for a
        signed-in person it also becomes the language of their e-mails (audited)."""
        language = data.get("language", "")
        if language not in LANGUAGES:
            raise NotFound(f"no language {language[:8]!r}")
        if visit.session_token:
            try:
                async with visit.changing() as ctx:
                    await set_language(ctx, language)
            except Unauthenticated:
                pass  # a session that ended: the cookie alone, as for anyone not signed in
        cookie = browser_cookie(state, LANGUAGE_COOKIE, language, 365 * 24 * 3600)
        return Redirect(safe_target(data.get("return_to")), status_code=303, cookies=[cookie])


@post("/sign-in/demo", status_code=303, opt=HandlerOptions(rate_limit=RateLimit.SIGN_IN, page=True).opt())
async def demo_sign_in(request: Request[Any, Any, Any], state: State, visit: Visit, data: FormData) -> Redirect:
    """Development only: sign in as one of the demo users (registered only outside production)."""
    username = data.get("username", "")
    if username not in DEMO_USERS or not demo_users_offered(state):
        raise NotFound(f"no demo user {username[:32]!r}")
    name, email = DEMO_USERS[username]
    identity = Identity(issuer=DEV_ISSUER, subject=username, display_name=name, email=email)
    now = state.clock()
    async with transaction(state.sessionmaker) as session:
        token = await login.open_session(
            session, state.settings, identity, "demo", now, visit.session_token, request_id_of(request), request.cookies.get(LANGUAGE_COOKIE)
        )
    cookie = session_cookie(state, token, state.settings.session_ttl_seconds)
    return Redirect(safe_target(data.get("return_to")), status_code=303, cookies=[cookie])
