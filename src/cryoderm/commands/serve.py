"""``cryoderm serve``: the whole clinic from one command: the web (pages and JSON API)
under uvicorn, the interlock in a process of its own under its watchdog, and the forwarder
that copies the interlock's journal into the records.

    cryoderm serve [--host 127.0.0.1] [--port 8000] [--interlock embedded|external]
                   [--workers N] [--access-log]

--interlock embedded (the default) starts ``cryoderm interlock --watchdog --source embedded``
on the journal under the data directory (simulated devices) and restarts it if it ends;
external leaves the interlock to a service manager (e.g. ``--source mqtt`` with real
devices) and only reads its journal and sends it commands. --workers: web worker processes
sharing the port (default CRYODERM_WEB_WORKERS, else one per core, at most 8); the
interlock and the forwarder stay one each in the serving process. The data directory comes from
CRYODERM_DATA_DIR, the database from DATABASE_URL when set; request limits, timeouts and
trusted proxies from the variables in docs/deployment.md. The configuration is checked
before the port opens: a database that does not answer or unapplied migrations stop it
with exit 2 and the reason.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve the clinic (web pages and JSON API) with uvicorn",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    parser.add_argument(
        "--interlock",
        choices=("embedded", "external"),
        default="embedded",
        help="start and supervise the interlock with simulated devices (embedded, the "
        "default), or use one run separately (external)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="web worker processes (default CRYODERM_WEB_WORKERS, else one per core, max 8)",
    )
    parser.add_argument(
        "--access-log", action="store_true", help="log one line per request on standard error"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import os

    from cryoderm.clinic import runtime
    from cryoderm.errors import UserInputError

    if not 0 < args.port < 65536:
        raise UserInputError(f"--port = {args.port}: a TCP port, 1-65535")
    # The pages offer simulated-device faults only when the devices are simulated.
    os.environ["CRYODERM_INTERLOCK_SOURCE"] = args.interlock
    runtime.setup()
    runtime.require_ready()

    from django.conf import settings
    from django.db import connection

    from cryoderm.clinic import storage
    from cryoderm.clinic.audit import keys as audit_keys
    from cryoderm.clinic.live import channel
    from cryoderm.clinic.server import limits
    from cryoderm.clinic.server.run import ClinicServer, ServerOptions

    if settings.HTTPS and not settings.CRYODERM_TRUSTED_PROXIES:
        raise UserInputError(
            "CRYODERM_HTTPS=true needs CRYODERM_TRUSTED_PROXIES: the address of the TLS proxy "
            "whose X-Forwarded-Proto the server may believe"
        )
    options = ServerOptions(
        host=args.host,
        port=args.port,
        limits=limits.from_settings(),
        trusted_proxies=tuple(settings.CRYODERM_TRUSTED_PROXIES),
        access_log=args.access_log,
        interlock=args.interlock,
        workers=settings.CRYODERM_WEB_WORKERS if args.workers is None else args.workers,
    )
    if options.workers < 1:
        raise UserInputError(f"--workers = {options.workers}: at least 1 web worker process")
    # The audit keys exist before the web workers start: several processes each finding
    # none would each generate their own first key.
    audit_keys.keyring()
    audit_keys.signing_key()
    journal_dir = channel.journal_dir()
    server = ClinicServer(options, journal_dir)
    print(
        f"cryoderm clinic on http://{args.host}:{args.port}/ "
        f"({storage.describe(connection.settings_dict)}); {options.workers} web worker"
        f"{'s' if options.workers != 1 else ''}, interlock {args.interlock}, "
        f"journal {journal_dir}; Ctrl-C stops it",
        flush=True,
    )
    connection.close()
    return 0 if server.run() else 1
