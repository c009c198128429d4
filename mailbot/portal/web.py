"""What every page and form shares: the portal's state, cookies, the login a request carries, CSRF and rendering."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast
from urllib.parse import urlencode

from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ..config import Config
from ..desk.models import Contact, PortalSession
from ..desk.password_hashes import temporary_key
from ..desk.settings import derived_key, desk_secret
from ..desk.survey import survey_key
from . import csrf, sessions
from .database import Database
from .forms import Submitted, uploads_of
from .pages import Pages

log = logging.getLogger(__name__)
SESSION_COOKIE = "portal_session"
# Notices a redirect may ask the next page to show (?notice=…): only these, so a link cannot inject text.
NOTICES = frozenset({"reply_sent", "request_sent", "password_changed", "logged_out"})
# Fields and files a form may carry; more is not a person using the portal (Starlette answers 400).
MAX_FIELDS = 50
MAX_PARTS = 50


@dataclass
class Portal:
    """Built once per process: the configuration, the database, the pages, the key that signs forms, the key
    that checks survey links (desk/survey.py) and the one that checks temporary passwords (desk/password_hashes.py)."""

    config: Config
    db: Database
    pages: Pages
    secret: bytes = field(repr=False)
    survey_key: bytes = field(repr=False)
    password_key: bytes = field(repr=False)

    @classmethod
    def open(cls, config: Config) -> Portal:
        secret = config.portal.session_secret or config.desk.secret
        if secret is None:
            log.info("portal: no [portal] session_secret configured; forms opened before a restart must be sent "
                     "again, and several portal processes need a shared one")
        # A key of the forms' own, derived: the desk secret also signs agents' Message-IDs, and a form token must
        # never be an HMAC a visitor can have that key compute over a text of their choosing.
        key = derived_key(secret.encode(), b"mailbot portal forms") if secret else secrets.token_bytes(32)
        db = Database(config.database_url)
        with db.write() as session:  # the desk secret the daemon signs survey links with (made if still missing)
            shared = desk_secret(session, config)
        return cls(config, db, Pages(config), key, survey_key(shared), temporary_key(shared))


@dataclass(frozen=True)
class Visitor:
    """Who is asking: the CSRF nonce (a new one to set when `fresh`), and the login, if any is live."""

    nonce: str
    fresh: bool
    token: str | None
    login: PortalSession | None = None
    contact: Contact | None = None


class SignInRequired(Exception):
    """No live login: the handler sends the browser to the login page, and back here after it."""

    def __init__(self, back_to: str) -> None:
        self.back_to = back_to


class PasswordChangeRequired(Exception):
    """Logged in with a temporary password: nothing else until a new one is chosen."""


def portal_of(request: Request) -> Portal:
    return cast(Portal, request.app.state.portal)


def client_of(request: Request) -> str:
    """The client's address (the proxy's X-Forwarded-For when it is a trusted proxy: uvicorn's job)."""
    return request.client.host if request.client else "unknown"


def visitor(request: Request, session: Session | None = None, now: datetime | None = None) -> Visitor:
    """The cookies read; with a database session, the login looked up (expired or stale logins are none)."""
    nonce = request.cookies.get(csrf.COOKIE)
    token = request.cookies.get(SESSION_COOKIE)
    found = sessions.find(session, token, now) if session is not None and token and now is not None else None
    login, contact = found if found else (None, None)
    return Visitor(nonce or csrf.new_nonce(), nonce is None, token, login, contact)


def signed_in(request: Request, session: Session, now: datetime, allow_temporary: bool = False) -> Visitor:
    """The visitor, who must be logged in, and past a temporary password unless `allow_temporary`."""
    seen = visitor(request, session, now)
    if seen.contact is None:
        raise SignInRequired(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    if seen.contact.must_change_password and not allow_temporary:
        raise PasswordChangeRequired()
    return seen


def url(request: Request, name: str, query: dict[str, str] | None = None, **params: Any) -> str:
    """A path on this portal (under its base path), never an absolute URL built from the Host header."""
    path = str(request.app.url_path_for(name, **params))
    return f"{path}?{urlencode(query)}" if query else path


def page(request: Request, seen: Visitor, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """The template rendered for this visitor: its CSRF token, who is logged in, a notice a redirect asked for."""
    portal = portal_of(request)
    notice = request.query_params.get("notice")
    html = portal.pages.render(template, {
        "url": lambda name, query=None, **params: url(request, name, query, **params),
        "current": template,
        "csrf_field": csrf.FIELD,
        "csrf_token": csrf.token(portal.secret, seen.nonce, _login_ref(seen.token)),
        "contact": seen.contact,
        "notice": portal.pages.words(f"notice_{notice}", number=request.path_params.get("number", ""))
        if notice in NOTICES else None,
        **context,
    })
    response = HTMLResponse(html, status)
    if seen.fresh:
        set_cookie(request, response, csrf.COOKIE, seen.nonce)
    return response


def redirect(request: Request, name: str, query: dict[str, str] | None = None, **params: Any) -> RedirectResponse:
    """303 See Other: after a form, the browser GETs the next page (RFC 9110 §15.4.4)."""
    return RedirectResponse(url(request, name, query, **params), status_code=303)


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None = None) -> None:
    """HttpOnly, SameSite=Lax, limited to the portal's path, and Secure when the portal is served over HTTPS."""
    config = portal_of(request).config.portal
    response.set_cookie(name, value, max_age=max_age, path=config.base_path or "/", secure=config.secure,
                        httponly=True, samesite="lax")


def delete_cookie(request: Request, response: Response, name: str) -> None:
    config = portal_of(request).config.portal
    response.delete_cookie(name, path=config.base_path or "/", secure=config.secure, httponly=True, samesite="lax")


async def read_form(request: Request, files: bool = False) -> Submitted:
    """The posted form, refused (403) unless its CSRF token matches this visitor's cookies. Files are read up to
    one byte past the attachment limit: enough to tell that one is too big."""
    portal = portal_of(request)
    limit = portal.config.limits.max_attachment_size
    async with request.form(max_files=MAX_PARTS if files else 0, max_fields=MAX_FIELDS) as data:
        fields = {key: value for key, value in data.multi_items() if isinstance(value, str)}
        sent = [(upload.filename or "", upload.content_type or "", await upload.read(limit + 1))
                for key, upload in data.multi_items() if not isinstance(upload, str)]
    if not csrf.valid(portal.secret, request.cookies.get(csrf.COOKIE), _login_ref(request.cookies.get(SESSION_COOKIE)),
                      fields.get(csrf.FIELD)):
        raise HTTPException(403)
    uploads, too_big = uploads_of(sent, limit)
    return Submitted(fields, uploads, too_big)


def _login_ref(token: str | None) -> str | None:
    """What CSRF tokens are bound to: the session cookie's stored id, so no database read is needed to check one."""
    return sessions.token_id(token) if token else None
