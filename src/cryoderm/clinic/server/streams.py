"""Long answers (exports) that hold no worker of the server while they are produced.

Under ASGI, the answer is written by a worker process (the export's own command) and its
output streamed to the client as it comes, at the pace the client reads; the event loop
only copies bytes. Under WSGI (Django's test client) the export's chunks are produced in
the request's thread, as before. Both write the same bytes (the export's :meth:`chunks`
is what the worker runs).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Protocol

from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, StreamingHttpResponse

log = logging.getLogger(__name__)

READ_BYTES = 64 * 1024
#: assumption: a 2-core clinic server runs two exports at once at most; a third waits for
#: one of them rather than taking CPU from the clinic's requests.
MAX_WORKERS = 2
_workers: asyncio.Semaphore | None = None


class Producible(Protocol):
    def chunks(self) -> object: ...

    def worker_command(self) -> list[str]: ...


def streaming(request: HttpRequest, answer: Producible, content_type: str) -> StreamingHttpResponse:
    content = (
        from_worker(answer.worker_command())
        if isinstance(request, ASGIRequest)
        else answer.chunks()
    )
    return StreamingHttpResponse(content, content_type=content_type)


async def from_worker(command: list[str]) -> AsyncIterator[bytes]:
    """Run ``command`` and yield its standard output; it is killed if the client leaves."""
    global _workers
    if _workers is None:
        _workers = asyncio.Semaphore(MAX_WORKERS)
    async with _workers:
        worker = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        assert worker.stdout is not None and worker.stderr is not None
        try:
            while chunk := await worker.stdout.read(READ_BYTES):
                yield chunk
            status = await worker.wait()
            if status != 0:
                error = (await worker.stderr.read()).decode(errors="replace").strip()
                log.error("export worker %s ended with %s: %s", command[3:], status, error)
                # The answer has begun (200): cutting the stream short is all that is left.
                raise RuntimeError(f"the export failed part-way (worker exit {status})")
        finally:
            if worker.returncode is None:
                worker.kill()
                await worker.wait()
