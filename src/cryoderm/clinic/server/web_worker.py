"""One web worker of ``cryoderm serve``: the clinic's ASGI application under uvicorn, on the
listening socket the server opened and passed down (its file descriptor).

    python -m cryoderm.clinic.server.web_worker FD [--access-log]

Started by :class:`cryoderm.clinic.server.workers.WebWorkers`; not a command of its own.
The limits, timeouts and trusted proxies come from the same settings (environment) as the
server's. Its standard input is a pipe from the server that is never written to: end of
file there means the server is gone (it ended, or was killed with SIGKILL, which no signal
handler sees), and the worker then ends too, after its running answers (the graceful
shutdown), so that no worker outlives its server and goes on serving without supervision.
"""

from __future__ import annotations

import socket
import sys
import threading
from typing import Any


def main(argv: list[str]) -> int:
    if not argv or not argv[0].isdigit():
        print(
            "usage: python -m cryoderm.clinic.server.web_worker FD [--access-log]", file=sys.stderr
        )
        return 2
    fd = int(argv[0])
    from cryoderm.clinic import runtime

    runtime.setup()
    import uvicorn
    from django.conf import settings

    from cryoderm.clinic.server import limits
    from cryoderm.clinic.server.run import ServerOptions, uvicorn_config

    options = ServerOptions(
        host="",
        port=0,
        limits=limits.from_settings(),
        trusted_proxies=tuple(settings.CRYODERM_TRUSTED_PROXIES),
        access_log="--access-log" in argv[1:],
    )
    server = uvicorn.Server(uvicorn_config(options))
    _freeze_what_startup_made()
    listening = socket.socket(fileno=fd)
    threading.Thread(target=_end_with_the_server, args=(server,), daemon=True).start()
    server.run(sockets=[listening])
    return 0


def _freeze_what_startup_made() -> None:
    """Keep the objects made at start-up (Django, the application, their modules: about
    74,000) out of every later garbage collection (:func:`gc.freeze`).

    A full collection walks every tracked object while holding the interpreter lock, so
    every request in this process waits for it: measured 32-35 ms for the start-up objects
    alone on this project's 2-CPU machine, a pause of the size of the load test's whole p99
    target, each time the collector's oldest generation is due. Frozen, a full collection
    walks only what requests made since."""
    import gc

    import cryoderm.clinic.asgi  # noqa: F401  (the application and all it imports)

    gc.collect()
    gc.freeze()


def _end_with_the_server(server: Any) -> None:
    """Wait for end of file on standard input (the server's end), then shut down."""
    while sys.stdin.buffer.read(4096):
        pass
    server.should_exit = True


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
