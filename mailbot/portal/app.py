"""The portal's Starlette application: its routes under the base path, the security layers, the error pages."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from ..config import Config
from ..desk.survey import PATH as SURVEY_PATH
from . import views_auth, views_cases, views_survey
from .body_limit import AllowBody, BodyLimit
from .headers import SecurityHeaders
from .i18n import size_text
from .web import PasswordChangeRequired, Portal, SignInRequired, Visitor, page, portal_of, url, visitor

# Forms without files (login, password, reset, logout) are small; a larger body is refused before it is read.
SMALL_FORM = 64 * 1024


def create_app(config: Config, portal: Portal | None = None) -> Starlette:
    """The ASGI app `mailbot portal` serves. It opens the database now (a missing schema fails here, not at the
    first request) and closes it when the server shuts down."""
    portal = portal or Portal.open(config)
    # A reply or a request with its files may be as large as a mail; other forms are small.
    upload = [Middleware(AllowBody, limit=config.limits.max_message_size)]
    routes: list[BaseRoute] = [
        Route("/", views_auth.home, name="home"),
        Route("/login", views_auth.login_page, name="login"),
        Route("/login", views_auth.login, methods=["POST"], name="login_submit"),
        Route("/logout", views_auth.logout, methods=["POST"], name="logout"),
        Route("/password", views_auth.password_page, name="password"),
        Route("/password", views_auth.change_password, methods=["POST"], name="password_submit"),
        Route("/reset", views_auth.reset_page, name="reset"),
        Route("/reset", views_auth.reset, methods=["POST"], name="reset_submit"),
        Route("/cases", views_cases.cases_page, name="cases"),
        Route("/cases/{number}", views_cases.case_page, name="case"),
        Route("/cases/{number}/reply", views_cases.reply, methods=["POST"], name="reply", middleware=upload),
        Route("/cases/{number}/files/{attachment:int}", views_cases.attachment, name="attachment"),
        Route("/new", views_cases.new_page, name="new"),
        Route("/new", views_cases.new_request, methods=["POST"], name="new_submit", middleware=upload),
        # A closing mail's survey link (desk/survey.py): no login; GET shows, only the button's POST records.
        Route(SURVEY_PATH + "{token}", views_survey.survey_page, name="survey"),
        Route(SURVEY_PATH + "{token}", views_survey.survey_submit, methods=["POST"], name="survey_submit"),
        Route("/static/portal.css", views_cases.stylesheet, name="stylesheet"),
        Route("/static/site.css", views_cases.site_stylesheet, name="site_stylesheet"),
    ]
    base_path = config.portal.base_path
    if base_path:
        routes = [Mount(base_path, routes=routes), Route("/", _to_base(base_path))]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        portal.db.close()

    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders, https=config.portal.secure),
            Middleware(BodyLimit, limit=SMALL_FORM),
            # Only requests for the portal's own host name: a DNS-rebinding page cannot reach it through a browser.
            Middleware(TrustedHostMiddleware, allowed_hosts=[urlsplit(config.portal.base_url).hostname or ""]),
        ],
        exception_handlers={
            SignInRequired: _sign_in,
            PasswordChangeRequired: _change_password,
            HTTPException: _error_page,
            Exception: _server_error,
        },
        lifespan=lifespan,
    )
    app.state.portal = portal
    return app


def _to_base(base_path: str) -> Callable[[Request], Response]:
    """The site's root, when the portal lives under a path, leads to it."""

    def to_base(request: Request) -> Response:
        return RedirectResponse(base_path + "/", status_code=308)

    return to_base


async def _sign_in(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    return RedirectResponse(url(request, "login", {"next": exc.back_to}), status_code=303)


async def _change_password(request: Request, exc: Exception) -> Response:
    return RedirectResponse(url(request, "password"), status_code=303)


async def _error_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    status = exc.status_code if exc.status_code in (400, 403, 404, 405, 413) else 400
    size = size_text(portal_of(request).config.limits.max_message_size)
    response = page(request, _no_new_cookie(request), "error", status,
                    message=portal_of(request).pages.words(f"error_{status}", size=size))
    response.headers.update(exc.headers or {})  # e.g. Allow, with a 405
    return response


async def _server_error(request: Request, exc: Exception) -> Response:
    """A page in the customer's words; Starlette re-raises the exception after it, so the server logs it."""
    return page(request, _no_new_cookie(request), "error", 500,
                message=portal_of(request).pages.words("error_500"))


def _no_new_cookie(request: Request) -> Visitor:
    """Error pages set no CSRF cookie: the browser's /favicon.ico, answered 404 outside the portal's path, would
    otherwise replace the cookie the login form's token was made for."""
    return replace(visitor(request), fresh=False)
