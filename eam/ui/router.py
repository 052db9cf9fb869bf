"""The web application at ``/``: pages for employees, access managers, platform admins and
auditors, on the same domain operations as the API (:mod:`eam.ui.pages`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Request, Response, Router
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.di import Provide
from litestar.exceptions import HTTPException, PermissionDeniedException, ValidationException
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.utils.scope.state import ScopeState

from eam.core.errors import EAMError, Unauthenticated
from eam.core.settings import Settings
from eam.http.handler_options import HandlerOptions
from eam.ui.forms import problem_message
from eam.ui.pages.access_manager import InboxPages
from eam.ui.pages.admin import OrganisationAdminPages
from eam.ui.pages.admin_platform import RegisterAdminPages, ServiceClientAdminPages, SigningKeyAdminPages
from eam.ui.pages.audit import AuditPages
from eam.ui.pages.auditor import AuditorPages
from eam.ui.pages.appointments import AccessManagerPages, OrganisationAuditorPages
from eam.ui.pages.auditor_appointments import PlatformAuditorPages
from eam.ui.pages.employee import EmployeePages
from eam.ui.pages.imports import ImportPages
from eam.ui.pages.register_person import RegisterPersonPages
from eam.ui.pages.admin_deliveries import DeliveryAdminPages
from eam.ui.pages.admin_webhooks import WebhookAdminPages
from eam.ui.pages.departure import DeparturePages
from eam.ui.pages.duties import SeparationOfDutiesPages
from eam.ui.pages.organisation import OrganisationPages
from eam.ui.pages.organisation_people import PersonPickerPages
from eam.ui.pages.people import PeoplePages
from eam.ui.pages.registers import RegisterPages
from eam.ui.pages.reviews import ReviewPages
from eam.ui.pages.sign_in import SignInPages, demo_sign_in
from eam.ui.security import CSRF_COOKIE, add_security_headers, csrf_config, secured
from eam.ui.visit import PAGE_HEADERS, Visit, provide_visit
from eam.ui.messages import PROBLEMS, SIGN_IN_FAILED

UI_DIR = Path(__file__).parent
PAGE = HandlerOptions(page=True)
STATIC_PATH = "/static"


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    environment = Environment(
        loader=FileSystemLoader(UI_DIR / "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.newstyle_gettext = True  # type: ignore[attr-defined]
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment))


def page_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A refused page or change, told as a page: sign-in for the signed-out, else a message."""
    if isinstance(exc, Unauthenticated):
        target = request.url.path if request.method == "GET" else "/"
        return secured(Redirect(f"/sign-in?return_to={quote(target)}", status_code=303))
    visit = Visit(request.app.state, request)
    if isinstance(exc, EAMError):
        status, message = exc.status, problem_message(exc, visit.gettext)
    elif isinstance(exc, ValidationException):
        status, message = 400, visit.gettext(PROBLEMS["malformed-body"])  # a form no page sends (a field twice)
    elif isinstance(exc, PermissionDeniedException) and "CSRF" in str(exc.detail):
        status, message = 403, visit.gettext(PROBLEMS["csrf"])
    elif isinstance(exc, HTTPException):
        status = exc.status_code
        code = {403: "forbidden", 404: "not-found", 429: "too-many-requests"}.get(status, "bad-request")
        message = visit.gettext(PROBLEMS[code])
    else:
        raise exc
    scope_state = ScopeState.from_scope(request.scope)
    if not isinstance(scope_state.csrf_token, str) and request.cookies.get(CSRF_COOKIE):
        # Off the pages' routes (an unknown address) the CSRF middleware did not run: the forms
        # of this page (language, sign-out) carry the browser's token, as the middleware would.
        scope_state.csrf_token = request.cookies[CSRF_COOKIE]
    return secured(visit.page("error.html", status=status, message=message))


def sign_in_failed(request: Request[Any, Any, Any], exc: EAMError) -> Response[Any]:
    """A refused sign-in (at the provider's return, ``/auth/callback``), told to the person as a
    page with what went wrong, rather than as problem+json in their browser."""
    visit = Visit(request.app.state, request)
    message = visit.gettext(SIGN_IN_FAILED)
    return secured(visit.page("error.html", status=exc.status, message=message, detail=exc.detail, retry="/sign-in"))


#: Browser addresses of the sign-in: a refusal there is shown as a page to a browser.
SIGN_IN_PATHS = ("/auth/login", "/auth/callback")

#: Paths that are never pages: machines read what is answered there.
NOT_PAGES = ("/v1/", "/oauth2/", "/.well-known/", "/auth/", "/schema", "/health/", "/metrics", "/static/")


def wants_sign_in_page(request: Request[Any, Any, Any]) -> bool:
    """A browser following the sign-in (it asks for HTML): a refusal is shown as a page."""
    return request.url.path in SIGN_IN_PATHS and "text/html" in request.headers.get("accept", "")


def wants_page(request: Request[Any, Any, Any]) -> bool:
    """A browser asking for a page (not the API or a machine endpoint), so it is told in HTML."""
    accept = request.headers.get("accept", "")
    return "text/html" in accept and not request.url.path.startswith(NOT_PAGES)


def ui_routers(settings: Settings) -> list[Router]:
    """The pages (CSRF-checked, with security headers) and their static files."""
    handlers: list[Any] = [
        SignInPages,
        EmployeePages,
        InboxPages,
        PeoplePages,
        OrganisationPages,
        DeparturePages,
        PersonPickerPages,
        AccessManagerPages,
        OrganisationAdminPages,
        RegisterAdminPages,
        ServiceClientAdminPages,
        SigningKeyAdminPages,
        AuditPages,
        ImportPages,
        RegisterPersonPages,
        AuditorPages,
        OrganisationAuditorPages,
        PlatformAuditorPages,
        RegisterPages,
        SeparationOfDutiesPages,
        DeliveryAdminPages,
        WebhookAdminPages,
        ReviewPages,
    ]
    if not settings.is_production and settings.dev_token_secret:
        handlers.append(demo_sign_in)  # development only: never registered in production
    pages = Router(
        path="/",
        route_handlers=handlers,
        dependencies={"visit": Provide(provide_visit, sync_to_thread=False)},
        middleware=[DefineMiddleware(CSRFMiddleware, config=csrf_config(settings))],
        # ValidationException too: the app's handler for it is more specific than HTTPException.
        exception_handlers={EAMError: page_error, ValidationException: page_error, HTTPException: page_error},
        after_request=add_security_headers,
        include_in_schema=False,
        opt=PAGE.opt(),
    )
    static = create_static_files_router(
        path=STATIC_PATH,
        directories=[UI_DIR / "static"],
        include_in_schema=False,
        after_request=add_security_headers,
        opt=PAGE.opt(),
    )
    return [pages, static]


__all__ = ["PAGE_HEADERS", "Template", "template_config", "ui_routers"]
