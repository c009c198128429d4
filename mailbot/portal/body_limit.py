"""Refuse request bodies over a limit with the portal's own 413 page, before more of them is read.

Starlette's own limit answers a declared oversize body with plain English text, replacing any page an exception
handler renders; here the limit raises an HTTPException in the endpoint that reads the body, so the error page in
the customer's language answers, whether the size was declared (Content-Length) or only counted (chunked).
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SCOPE_KEY = "mailbot.portal.body_limit"


class BodyLimit:
    """App-wide: every request body is limited to `limit` bytes unless its route allows more (`AllowBody`)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope[SCOPE_KEY] = self.limit
        declared = Headers(scope=scope).get("content-length", "")
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            limit: int = scope[SCOPE_KEY]  # read now: the route has set its own by the time its endpoint reads
            if declared.isdigit() and int(declared) > limit:
                raise HTTPException(413)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413)
            return message

        await self.app(scope, limited_receive, send)


class AllowBody:
    """Route middleware: this route takes bodies up to `limit` bytes (a reply or request with its files)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[SCOPE_KEY] = self.limit
        await self.app(scope, receive, send)
