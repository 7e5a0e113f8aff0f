"""What a POST (to the Twilio webhooks, and to the dashboard's forms) may look like before any of our code reads
it: a form (`application/x-www-form-urlencoded`, as Twilio and browsers send) of at most `max_bytes`.

The size is counted as the body arrives, so a chunked body (no Content-Length) or a wrong Content-Length cannot
get a larger body past it. Rejected requests never reach a handler: nothing is parsed, checked or written.
"""

from __future__ import annotations

import logging

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("outreach.web")
FORM = "application/x-www-form-urlencoded"


class FormBodyLimits:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        content_type = headers.get("content-type", "").partition(";")[0].strip().lower()
        declared = headers.get("content-length")
        if not content_type and declared == "0":  # an empty form (a button); nothing to parse
            await self.app(scope, receive, send)
            return
        if content_type != FORM:
            await self._reject(scope, receive, send, 415, f"expected {FORM}")
            return
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._reject(scope, receive, send, 413, "request body too large")
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await self._reject(scope, receive, send, 413, "request body too large")
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send, status: int, reason: str) -> None:
        logger.warning("rejected request to %s: %s (%s)", scope["path"], reason, status)
        await PlainTextResponse(reason, status_code=status)(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body read above, handed to the app as one message; after it, the server's own messages (disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
