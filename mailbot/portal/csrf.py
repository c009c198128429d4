"""Cross-site request forgery tokens: a signed double-submit cookie (OWASP), bound to the login when there is one.

Every visitor gets a random nonce in an HttpOnly cookie; every form carries HMAC(secret, nonce | login). A forged
form from another site has the cookie sent along (SameSite=Lax lets top-level POSTs through in old browsers) but
cannot read it, so it cannot compute the token; a token stolen before login is worthless after it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

COOKIE = "portal_csrf"
FIELD = "csrf"


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def token(secret: bytes, nonce: str, login: str | None) -> str:
    """The form token for this visitor's nonce and login (the login's stored id, or None before login)."""
    return hmac.new(secret, f"{nonce}|{login or ''}".encode(), hashlib.sha256).hexdigest()


def valid(secret: bytes, nonce: str | None, login: str | None, sent: str | None) -> bool:
    if not nonce or not sent:
        return False
    return hmac.compare_digest(token(secret, nonce, login), sent)
