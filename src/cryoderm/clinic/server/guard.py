"""An ASGI layer in front of Django: request bodies are judged before anyone reads them.

Django's ASGI handler reads the whole body before the first middleware runs, so a limit set
inside Django comes too late: a 50 MB anonymous body would be received (and spooled to
disk) before authentication answers 401. This layer, outermost, decides from the headers:

1. a declared length above the limit for its content type: 413, nothing read;
2. a body larger than ``anonymous_body_bytes`` (or of undeclared length) from a caller who
   is not signed in (no valid session cookie or bearer token): 401, nothing read;
3. otherwise the body is passed on as it arrives, counted (a chunked body that outgrows the
   limit is cut off with 413) and timed (a pause longer than ``body_timeout_s``: 408).

A refused request's connection is closed after the answer. Who is signed in is decided by
Django's own session authentication and the accounts' token check, not here.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from cryoderm.clinic.server.limits import ServingLimits

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]
SignedIn = Callable[[Mapping[str, str]], Awaitable[bool]]

_DISCONNECT: Message = {"type": "http.disconnect"}


def _headers(scope: Scope) -> dict[str, str]:
    return {
        name.decode("latin-1").lower(): value.decode("latin-1")
        for name, value in scope.get("headers", [])
    }


async def refuse(scope: Scope, send: Send, status: int, detail: str) -> None:
    """Answer ``status`` with the API's error shape (or plain text for pages), then close."""
    if str(scope.get("path", "")).startswith("/api/"):
        body, kind = json.dumps({"detail": detail, "field": None}).encode(), b"application/json"
    else:
        body, kind = detail.encode(), b"text/plain; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", kind),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    """Wrap the ASGI ``app``; see the module's rules. ``signed_in`` tells from the request
    headers whether the caller is authenticated (it may use the database)."""

    def __init__(self, app: App, limits: ServingLimits, signed_in: SignedIn) -> None:
        self.app = app
        self.limits = limits
        self.signed_in = signed_in

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        limit = self.limits.body_limit(headers.get("content-type", ""))
        declared = headers.get("content-length")
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        if declared is not None and not declared.strip().isdigit():
            await refuse(scope, send, 400, f"Content-Length = {declared!r}: a whole number")
            return
        length = int(declared) if declared is not None else (None if chunked else 0)
        if length is not None and length > limit:
            await refuse(
                scope,
                send,
                413,
                f"the request body is {length} bytes; at most {limit} bytes are accepted here",
            )
            return
        if (length is None or length > self.limits.anonymous_body_bytes) and not (
            await self.signed_in(headers)
        ):
            await refuse(
                scope,
                send,
                401,
                "sign in (session or bearer token) before sending a body of more than "
                f"{self.limits.anonymous_body_bytes} bytes",
            )
            return
        await _Exchange(self, scope, receive, send, limit).run()


class _Exchange:
    """One request passed through: its body counted and timed, the app's answer dropped
    once this layer has answered instead."""

    def __init__(
        self, guard: RequestGuard, scope: Scope, receive: Receive, send: Send, limit: int
    ) -> None:
        self.guard = guard
        self.scope = scope
        self.outer_receive = receive
        self.outer_send = send
        self.limit = limit
        self.received = 0
        self.body_done = False
        self.answered = False

    async def run(self) -> None:
        await self.guard.app(self.scope, self.receive, self.send)

    async def receive(self) -> Message:
        if self.answered:
            return _DISCONNECT
        if self.body_done:
            # After the body, the app only listens for the client leaving: no deadline.
            return await self.outer_receive()
        try:
            message = await asyncio.wait_for(
                self.outer_receive(), timeout=self.guard.limits.body_timeout_s
            )
        except TimeoutError:
            await self._answer(
                408,
                f"no part of the request body arrived for {self.guard.limits.body_timeout_s:g} s",
            )
            return _DISCONNECT
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                await self._answer(
                    413, f"the request body exceeds {self.limit} bytes, the most accepted here"
                )
                return _DISCONNECT
            if not message.get("more_body", False):
                self.body_done = True
        return message

    async def send(self, message: Message) -> None:
        if not self.answered:
            await self.outer_send(message)

    async def _answer(self, status: int, detail: str) -> None:
        self.answered = True
        await refuse(self.scope, self.outer_send, status, detail)
