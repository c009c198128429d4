"""Security headers on every response: a strict CSP without inline script or style, no framing, no sniffing."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Pages are plain HTML forms with one stylesheet: nothing else may load, run, frame them or be posted elsewhere.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
# Attachments are downloads: even if a browser rendered one, it would run in a sandbox with nothing allowed.
DOWNLOAD_CSP = "default-src 'none'; sandbox"
HSTS = "max-age=31536000"


class SecurityHeaders:
    """Adds the headers unless the response set its own; Cache-Control defaults to no-store (pages are private)."""

    def __init__(self, app: ASGIApp, https: bool) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                download = headers.get("content-disposition", "").startswith("attachment")
                headers["Content-Security-Policy"] = DOWNLOAD_CSP if download else CSP
                headers["X-Frame-Options"] = "DENY"  # frame-ancestors for browsers without CSP level 2
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "same-origin"
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
                headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
                headers.setdefault("Cache-Control", "no-store")
                if self.https:
                    headers["Strict-Transport-Security"] = HSTS
            await send(message)

        await self.app(scope, receive, send_with_headers)
