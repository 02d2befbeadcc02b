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
    listening = socket.socket(fileno=fd)
    threading.Thread(target=_end_with_the_server, args=(server,), daemon=True).start()
    server.run(sockets=[listening])
    return 0


def _end_with_the_server(server: Any) -> None:
    """Wait for end of file on standard input (the server's end), then shut down."""
    while sys.stdin.buffer.read(4096):
        pass
    server.should_exit = True


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
