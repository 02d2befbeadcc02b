"""``cryoderm serve``: the whole clinic from one command.

- the web: the ASGI application under uvicorn, with its limits (:mod:`.limits`);
- the interlock, in a process of its own under its watchdog (:mod:`.interlock`), unless one
  is run separately (``--interlock external``);
- the forwarder thread, which copies the interlock's journal into the records
  (:mod:`cryoderm.clinic.live.forwarder`).

:class:`ClinicServer` starts and stops the three together; the command runs it in the
foreground, the tests in a thread (:meth:`ClinicServer.start_in_thread`).
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
    (start and supervise one) or external (one runs already, e.g. under systemd)."""

    host: str
    port: int
    limits: ServingLimits
    trusted_proxies: tuple[str, ...] = ()
    access_log: bool = False
    interlock: str = "embedded"


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
    """The web, the interlock and the forwarder of one data directory (Django set up)."""

    def __init__(self, options: ServerOptions, journal_dir: Path, app: Any = None) -> None:
        import uvicorn

        from cryoderm.clinic.live.forwarder import Forwarder
        from cryoderm.clinic.server.interlock import InterlockSupervisor

        self.options = options
        self.journal_dir = journal_dir
        config = uvicorn_config(options) if app is None else uvicorn_config(options, app)
        self.web = uvicorn.Server(config)
        self.forwarder = Forwarder(journal_dir)
        self.supervisor = (
            InterlockSupervisor(journal_dir) if options.interlock == "embedded" else None
        )
        self._web_thread: threading.Thread | None = None

    def _start_beside(self) -> None:
        if self.supervisor is not None:
            self.supervisor.start()
        self.forwarder.start()

    def _stop_beside(self) -> None:
        self.forwarder.stop()
        if self.supervisor is not None:
            self.supervisor.stop()

    def run(self) -> bool:
        """Serve until SIGINT or SIGTERM, then stop the web, the forwarder and the interlock,
        in that order; False when the web ended by itself (e.g. its port was taken).

        The web runs in a thread so that the signals come here: uvicorn, in the main thread,
        would re-raise a SIGTERM after its own shutdown and end the process before the
        interlock it supervises was stopped."""
        halt = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: halt.set()) for sig in STOP_SIGNALS}
        try:
            self.start_in_thread()
            assert self._web_thread is not None
            while not halt.wait(0.5) and self._web_thread.is_alive():
                pass
            return halt.is_set()
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def start_in_thread(self) -> None:
        self._start_beside()
        self._web_thread = threading.Thread(target=self.web.run, name="uvicorn", daemon=True)
        self._web_thread.start()

    def stop(self) -> None:
        self.web.should_exit = True
        if self._web_thread is not None:
            self._web_thread.join(timeout=30)
        self._stop_beside()
