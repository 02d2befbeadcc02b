"""``cryoderm serve``: the whole clinic from one command.

- the web: the ASGI application under uvicorn, with its limits (:mod:`.limits`), in one or
  more worker processes on the server's listening socket (:mod:`.workers`);
- the interlock, in a process of its own under its watchdog (:mod:`.interlock`), unless one
  is run separately (``--interlock external``);
- the forwarder thread, which copies the interlock's journal into the records
  (:mod:`cryoderm.clinic.live.forwarder`).

:class:`ClinicServer` starts and stops the three together; the command runs it in the
foreground. This process hosts neither the stop path nor any request.
"""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryoderm.clinic.server.limits import ServingLimits
from cryoderm.clinic.server.protocol import HeaderDeadlineProtocol

INTERLOCK_MODES = ("embedded", "external")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@dataclass(frozen=True)
class ServerOptions:
    """host/port: where to listen; trusted_proxies: addresses whose X-Forwarded-* headers
    are believed; access_log: one line per request on standard error; interlock: embedded
    (start and supervise one) or external (one runs already, e.g. under systemd); workers:
    web worker processes (:mod:`.workers`)."""

    host: str
    port: int
    limits: ServingLimits
    trusted_proxies: tuple[str, ...] = ()
    access_log: bool = False
    interlock: str = "embedded"
    workers: int = 1


def uvicorn_config(options: ServerOptions, app: Any = "cryoderm.clinic.asgi:application") -> Any:
    import uvicorn

    limits = options.limits
    protocol = type(
        "ClinicHttpProtocol",
        (HeaderDeadlineProtocol,),
        {"header_timeout_s": limits.header_timeout_s},
    )
    return uvicorn.Config(
        app,
        host=options.host,
        port=options.port,
        http=protocol,
        lifespan="off",
        limit_concurrency=limits.max_connections,
        timeout_keep_alive=limits.keep_alive_s,
        timeout_graceful_shutdown=limits.graceful_shutdown_s,
        proxy_headers=bool(options.trusted_proxies),
        forwarded_allow_ips=list(options.trusted_proxies) or None,
        server_header=False,
        access_log=options.access_log,
    )


class ClinicServer:
    """The web workers, the interlock and the forwarder of one data directory (Django set
    up in this process, which serves no request itself)."""

    def __init__(self, options: ServerOptions, journal_dir: Path) -> None:
        from cryoderm.clinic.live.forwarder import Forwarder
        from cryoderm.clinic.server.interlock import InterlockSupervisor
        from cryoderm.clinic.server.workers import WebWorkers, listening_socket

        self.options = options
        self.journal_dir = journal_dir
        # Bound here, before anything starts: a port in use is an error now (exit 2), and
        # the workers inherit the socket rather than each binding the port.
        self.listening = listening_socket(options.host, options.port)
        self.web = WebWorkers(self.listening, options.workers, options.access_log)
        self.forwarder = Forwarder(journal_dir)
        self.supervisor = (
            InterlockSupervisor(journal_dir) if options.interlock == "embedded" else None
        )

    def run(self) -> bool:
        """Serve until SIGINT or SIGTERM, then stop the web, the forwarder and the interlock,
        in that order."""
        halt = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: halt.set()) for sig in STOP_SIGNALS}
        try:
            self.start()
            while not halt.wait(0.5):
                pass
            return True
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def start(self) -> None:
        # The interlock first: a session started through the web is guarded from its first
        # request.
        if self.supervisor is not None:
            self.supervisor.start()
        self.forwarder.start()
        self.web.start()

    def stop(self) -> None:
        # Running answers get the graceful shutdown, and a margin for the workers' own exit.
        self.web.stop(timeout_s=self.options.limits.graceful_shutdown_s + 10.0)
        self.listening.close()
        self.forwarder.stop()
        if self.supervisor is not None:
            self.supervisor.stop()
