"""The pages around a login: log in ("Recordarme"), log out, choose a new password, "Restablecer contraseña"."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ..desk.models import utcnow
from . import auth, sessions
from .forms import Submitted
from .passwords import MAX_LENGTH, MIN_LENGTH
from .web import (SESSION_COOKIE, client_of, delete_cookie, page, portal_of, read_form, redirect, set_cookie,
                  signed_in, visitor)

DAY = 86400


def home(request: Request) -> Response:
    return redirect(request, "cases")


def login_page(request: Request) -> Response:
    portal = portal_of(request)
    with portal.db.read() as session:
        seen = visitor(request, session, utcnow())
    if seen.contact is not None:
        return redirect(request, "cases")
    return page(request, seen, "login", back_to=_back_to(request, request.query_params.get("next")), error=None,
                username="")


async def login(request: Request) -> Response:
    form = await read_form(request)
    return await run_in_threadpool(_login, request, form)


def _login(request: Request, form: Submitted) -> Response:
    portal = portal_of(request)
    remember = form.fields.get("remember") == "on"
    result = auth.log_in(portal.db, portal.config, portal.password_key, form.text("username"),
                         form.fields.get("password", ""), remember, client_of(request), utcnow(),
                         replacing=request.cookies.get(SESSION_COOKIE))
    back_to = _back_to(request, form.fields.get("next"))
    if result.outcome is auth.Outcome.OK:
        assert result.token is not None
        response = (redirect(request, "password") if result.must_change
                    else RedirectResponse(back_to, status_code=303))
        set_cookie(request, response, SESSION_COOKIE, result.token,
                   max_age=portal.config.portal.remember_days * DAY if remember else None)
        return response
    words = portal.pages.words
    minutes = round(portal.config.portal.login_failure_window / 60)
    error, status = {
        auth.Outcome.WRONG: (words("err_login_wrong"), 400),
        auth.Outcome.THROTTLED: (words("err_login_throttled", minutes=minutes), 429),
        auth.Outcome.EXPIRED: (words("err_login_expired"), 400),
    }[result.outcome]
    return page(request, visitor(request), "login", status, back_to=back_to, error=error,
                username=form.text("username"))


async def logout(request: Request) -> Response:
    await read_form(request)
    return await run_in_threadpool(_logout, request)


def _logout(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with portal_of(request).db.write() as session:
            sessions.end(session, token)
    response = redirect(request, "login", {"notice": "logged_out"})
    delete_cookie(request, response, SESSION_COOKIE)
    return response


def password_page(request: Request) -> Response:
    with portal_of(request).db.read() as session:
        seen = signed_in(request, session, utcnow(), allow_temporary=True)
    return page(request, seen, "password", errors=[], min_length=MIN_LENGTH)


async def change_password(request: Request) -> Response:
    form = await read_form(request)
    return await run_in_threadpool(_change_password, request, form)


def _change_password(request: Request, form: Submitted) -> Response:
    portal = portal_of(request)
    now = utcnow()
    with portal.db.read() as session:
        seen = signed_in(request, session, now, allow_temporary=True)
    assert seen.contact is not None and seen.login is not None
    errors, token = auth.change_password(portal.db, portal.config, portal.password_key, seen.contact.id,
                                         form.fields.get("current", ""), form.fields.get("new", ""),
                                         form.fields.get("confirm", ""), seen.login.remember, now)
    if token is None:
        return page(request, seen, "password", 400, min_length=MIN_LENGTH, errors=[portal.pages.words(
            key, length=MAX_LENGTH if key == "err_too_long" else MIN_LENGTH) for key in errors])
    response = redirect(request, "cases", {"notice": "password_changed"})
    set_cookie(request, response, SESSION_COOKIE, token,
               max_age=portal.config.portal.remember_days * DAY if seen.login.remember else None)
    return response


def reset_page(request: Request) -> Response:
    return page(request, visitor(request), "reset", done=False, error=None, temporary_days=_temporary_days(request))


async def reset(request: Request) -> Response:
    form = await read_form(request)
    return await run_in_threadpool(_reset, request, form)


def _reset(request: Request, form: Submitted) -> Response:
    portal = portal_of(request)
    if not auth.request_reset(portal.db, portal.config, form.text("username"), client_of(request), utcnow()):
        return page(request, visitor(request), "reset", 429, done=False,
                    error=portal.pages.words("err_reset_throttled"), temporary_days=_temporary_days(request))
    return page(request, visitor(request), "reset", done=True, error=None, temporary_days=_temporary_days(request))


def _back_to(request: Request, wanted: str | None) -> str:
    """Where to go after logging in: a path of this portal the browser asked for, else the case list. Never
    another site: no scheme, no "//" (a network path), no backslash (browsers read it as a slash)."""
    base = portal_of(request).config.portal.base_path
    if wanted and wanted.startswith(base + "/") and not wanted.startswith("//") and "\\" not in wanted:
        return wanted
    return str(request.app.url_path_for("cases"))


def _temporary_days(request: Request) -> int:
    return portal_of(request).config.portal.temporary_password_days
