from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.openapi import ResponseSpec
from litestar.params import Parameter, QueryParameter
from litestar.response import Redirect

from eam.auth import login
from eam.auth.sessions import LANGUAGE_COOKIE, SESSION_COOKIE
from eam.http.context import request_id_of
from eam.http.handler_options import HandlerOptions, RateLimit


#: Holds the ``state`` of the sign-in this browser started, so only it can finish that sign-in.
SIGN_IN_COOKIE = "eam_sign_in"


def browser_cookie(state: State, key: str, value: str, max_age: int, path: str = "/") -> Cookie:
    """EAM's browser cookies: HttpOnly, Secure in production, SameSite=Lax (so they come along
    on the login provider's top-level redirect back to the callback)."""
    return Cookie(
        key=key, value=value, max_age=max_age, path=path, httponly=True, secure=state.settings.is_production, samesite="lax"
    )


def _sign_in_cookie(state: State, value: str, max_age: int) -> Cookie:
    return browser_cookie(state, SIGN_IN_COOKIE, value, max_age, path="/auth")


def session_cookie(state: State, value: str, max_age: int) -> Cookie:
    return browser_cookie(state, SESSION_COOKIE, value, max_age)


class SignInController(Controller):
    path = "/auth"
    tags = ["Sign-in"]
    security = [{}]

    @get("/login", operation_id="signIn", summary="Start signing in at a login provider (OpenID Connect, PKCE)", status_code=302, opt=HandlerOptions(rate_limit=RateLimit.SIGN_IN, problems=(401, 422, 503)).opt())
    async def sign_in(
        self,
        state: State,
        provider: Annotated[str | None, Parameter(max_length=32)] = None,
        return_to: Annotated[str | None, Parameter(max_length=512)] = None,
    ) -> Redirect:
        chosen = login.choose_provider(state.providers, provider)
        target = login.safe_return_to(return_to)
        url, attempt = await login.begin_login(state.sessionmaker, state.settings, chosen, target, state.clock())
        cookie = _sign_in_cookie(state, attempt, int(login.ATTEMPT_TTL.total_seconds()))
        return Redirect(url, status_code=302, cookies=[cookie], headers={"Cache-Control": "no-store"})

    @get("/callback", operation_id="signInCallback", summary="Where the login provider sends the browser back", status_code=303, opt=HandlerOptions(rate_limit=RateLimit.SIGN_IN, problems=(400, 401, 422, 503), ignores_unknown_query=True).opt())
    async def callback(
        self,
        request: Request[Any, Any, Any],
        state: State,
        code: Annotated[str | None, Parameter(max_length=4096, description="The authorization code")] = None,
        oauth_state: Annotated[str | None, QueryParameter(name="state", max_length=512, description="The sign-in attempt")] = None,
        iss: Annotated[str | None, Parameter(max_length=512, description="The provider's issuer (RFC 9207)")] = None,
        error: Annotated[str | None, Parameter(max_length=256, description="Why the provider refused")] = None,
    ) -> Redirect:
        # RFC 6749 section 3.1: no parameter may be included more than once (checked for all four).
        given = {"code": code, "state": oauth_state, "iss": iss, "error": error}
        params = {name: value for name, value in given.items() if value is not None}
        token, return_to = await login.complete_login(
            state.sessionmaker,
            state.settings,
            state.providers,
            params,
            state.clock(),
            request.cookies.get(SESSION_COOKIE),
            request_id_of(request),
            browser_state=request.cookies.get(SIGN_IN_COOKIE),
            language=request.cookies.get(LANGUAGE_COOKIE),
        )
        return Redirect(
            return_to,
            status_code=303,
            cookies=[session_cookie(state, token, state.settings.session_ttl_seconds), _sign_in_cookie(state, "", 0)],
            headers={"Cache-Control": "no-store"},
        )

    @post(
        "/logout",
        operation_id="signOut",
        summary="End the session (and at the provider, when it offers logout)",
        status_code=204,
        responses={303: ResponseSpec(None, description="Signed out here; continue to the provider's end_session_endpoint")},
    )
    async def sign_out(self, request: Request[Any, Any, Any], state: State) -> Response[None]:
        end_session = await login.logout(
            state.sessionmaker, state.settings, state.providers, request.cookies.get(SESSION_COOKIE)
        )
        cleared = [session_cookie(state, "", 0)]
        if end_session:
            return Redirect(end_session, status_code=303, cookies=cleared)  # type: ignore[return-value]
        return Response(None, status_code=204, cookies=cleared)

    # OpenID Connect RP-Initiated Logout 1.0 section 3: the provider may append ``state``.
    @get("/logged-out", operation_id="signedOut", summary="Where the provider returns after logout", opt=HandlerOptions(ignores_unknown_query=True).opt())
    async def signed_out(self) -> dict[str, bool]:
        return {"signed_in": False}
