"""Django under ASGI with one thread hop per request.

Django's own ASGI handler builds the middleware chain in async mode and sends the request
signals from the event loop; the clinic's views and most of its middleware are synchronous,
so each request crossed between the event loop and the request thread five times (the
``request_started`` signal, into the first synchronous middleware, back out to the
asynchronous ones after it, into the view, and ``response.close``), each crossing a few
hundred microseconds of CPU. Here everything synchronous about a request (the signal, the
request object, the whole middleware chain built as under WSGI, the view and, for an answer
that is already complete, its closing) runs in one hop. The event loop reads the body and
sends the answer. A streaming answer (a live page, an export) is sent as Django sends it,
asynchronous iterators included, and ends when its client leaves.

Requests run on a fixed set of :data:`REQUEST_THREADS` threads that outlive them, where
Django gives each request a thread of its own: a new thread per request cost its start and,
on SQLite, a new database connection (opened, configured and its page cache filled again)
each time. A thread keeps its connection between requests (``CONN_MAX_AGE``,
:mod:`cryoderm.clinic.storage`); the requests of one thread never overlap, so neither do
their uses of it.
"""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse, HttpResponseBase
from django.urls import set_script_prefix

#: assumption: a request is a few milliseconds of Python and database work; twelve at once
#: per web process covers the database waits of a busy clinic (and a request waiting up to
#: SQLite's busy timeout for the write lock) without a pool of idle threads and connections.
REQUEST_THREADS = 12


class OneHopASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self._threads = ThreadPoolExecutor(REQUEST_THREADS, thread_name_prefix="request")

    def _in_thread(self, function: Any) -> Any:
        return sync_to_async(function, thread_sensitive=False, executor=self._threads)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django serves HTTP only, not {scope['type']}")
        await self.handle(scope, receive, send)

    def _respond(self, scope: dict[str, Any], body_file: Any) -> HttpResponseBase:
        """Everything synchronous about one request (in the request thread)."""
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            response: HttpResponseBase = error_response
        else:
            response = self.get_response(request)
            response._handler_class = self.__class__  # type: ignore[attr-defined]
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        if not response.streaming:
            # Complete already: its resources are freed (request_finished) before it is
            # sent, as WSGI servers do once they hold the bytes.
            response.close()
        return response

    async def handle(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        try:
            response = await self._in_thread(self._respond)(scope, body_file)
            if not response.streaming:
                await self.send_response(response, send)
                return
            await self._stream(response, receive, send)
        finally:
            body_file.close()

    async def _stream(self, response: HttpResponseBase, receive: Any, send: Any) -> None:
        """Send a streaming answer until it ends or its client leaves, then close it."""
        sending = asyncio.create_task(self.send_response(response, send))
        listening = asyncio.create_task(self.listen_for_disconnect(receive))
        try:
            await asyncio.wait((sending, listening), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (listening, sending):
                if not task.done():
                    task.cancel()
                with contextlib.suppress(asyncio.CancelledError, RequestAborted):
                    await task
            await self._in_thread(response.close)()
